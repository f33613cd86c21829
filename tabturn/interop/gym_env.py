"""The turn family (or any TabularMDP) as a Gymnasium environment: ``gymnasium.make("tabturn/Turn-v0", config=...)``.

Observations and actions are ``Discrete``: the observation is the TabularMDP's state index (for the turn family,
``turn.state_index(config, x, y, observed)``; ``info["label"]`` gives (x, y, observed)). The reward is the negated
loss (Gymnasium maximises), as a float; ``info["reward"]`` carries it exactly as a "p/q" string. Next states are
drawn with exact integer arithmetic from the MDP's rational probabilities, so the dynamics are the TabularMDP's.
A finite horizon ends the episode with ``truncated=True``; with terminal timing the final loss is paid on that step.
An infinite horizon is truncated after ``max_episode_steps`` (for the turn family 4 x (width + height) by default,
the learners' episode length). ``reset(options={"observed": False})`` starts from the start cell with that flag
(e.g. train observed, deploy unobserved); ``options={"start": (x, y, observed)}`` from any state.
"""

from __future__ import annotations

import copy
from fractions import Fraction

import gymnasium
import numpy as np
from gymnasium import spaces

from tabturn.core.mdp import TabularMDP
from tabturn.core.rational import format_rational
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp

ENV_ID = "tabturn/Turn-v0"


class TabularEnv(gymnasium.Env):
    """Any TabularMDP as a Gymnasium environment, with an optional finite horizon."""

    metadata = {"render_modes": []}

    def __init__(self, mdp: TabularMDP, horizon: int | None = None, max_episode_steps: int | None = None):
        if max_episode_steps is not None and (not isinstance(max_episode_steps, int) or max_episode_steps < 1):
            raise ValueError(f"max_episode_steps must be a positive integer, not {max_episode_steps!r}")
        self.mdp, self.horizon, self.max_episode_steps = mdp, horizon, max_episode_steps
        self.observation_space = spaces.Discrete(mdp.n_states)
        self.action_space = spaces.Discrete(mdp.n_actions)
        self._cum = [np.cumsum(m.data) for m in mdp.transition_numerators]
        self._state: int = -1  # no state before reset()
        self._t = 0

    def __deepcopy__(self, memo):
        """A copy that shares the (immutable) MDP and copies the position, clock and random stream."""
        clone = copy.copy(self)
        clone._np_random = copy.deepcopy(self._np_random, memo)
        memo[id(self)] = clone
        return clone

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        super().reset(seed=seed)
        states, probs = zip(*self.mdp.start)
        denominator = np.lcm.reduce([p.denominator for p in probs])
        cum = np.cumsum([int(p * denominator) for p in probs])
        self._state = int(states[int(np.searchsorted(cum, self.np_random.integers(denominator), side="right"))])
        self._t = 0
        if options and "start" in options:
            self._state = self.mdp.index_of(
                tuple(options["start"]) if isinstance(options["start"], list) else options["start"]
            )
        return self._state, {"label": self.mdp.state_labels[self._state]}

    def step(self, action):
        if self._state < 0:
            raise RuntimeError("call reset() before step()")
        if not self.action_space.contains(action):
            raise ValueError(f"action must be an integer in [0, {self.mdp.n_actions}), not {action!r}")
        s, a = self._state, int(action)
        mat = self.mdp.transition_numerators[a]
        lo, hi = mat.indptr[s], mat.indptr[s + 1]
        base = int(self._cum[a][lo - 1]) if lo else 0
        draw = base + int(self.np_random.integers(self.mdp.prob_denominator))
        nxt = int(mat.indices[lo + int(np.searchsorted(self._cum[a][lo:hi], draw, side="right"))])
        self._t += 1
        truncated = self.horizon is not None and self._t >= self.horizon
        value = self.mdp.cost(s, a) + (self.mdp.final_cost(nxt) if truncated else Fraction(0))
        reward = -self.mdp.sign * value
        self._state = nxt
        terminated = bool(self.mdp.terminal[nxt])
        truncated = truncated or (self.max_episode_steps is not None and self._t >= self.max_episode_steps)
        info = {"label": self.mdp.state_labels[nxt], "reward": format_rational(reward)}
        return nxt, float(reward), terminated, bool(truncated and not terminated), info

    @property
    def P(self) -> dict:
        """The model in the toy-text convention: P[s][a] = [(probability, next, reward, terminated)] (floats)."""
        out = {}
        for s in range(self.mdp.n_states):
            out[s] = {
                a: [
                    (float(p), t, float(-self.mdp.sign * self.mdp.cost(s, a)), bool(self.mdp.terminal[t]))
                    for t, p in self.mdp.next_states(s, a)
                ]
                for a in range(self.mdp.n_actions)
            }
        return out


class TurnEnv(TabularEnv):
    """The turn family: ``TurnEnv(config)`` with a TurnConfig, a TOML path, or None for the defaults."""

    def __init__(self, config: TurnConfig | str | None = None, max_episode_steps: int | None = None):
        if config is None:
            config = TurnConfig()
        elif isinstance(config, str):
            config = TurnConfig.load(config)
        self.config = config
        _, ny, nx = config.shape
        if config.horizon is None and max_episode_steps is None:
            max_episode_steps = 4 * (nx + ny)
        super().__init__(turn_mdp(config), config.horizon, max_episode_steps)

    def reset(self, *, seed: int | None = None, options: dict | None = None):
        options = dict(options or {})
        if "observed" in options:
            x, y, _ = self.config.start
            options.setdefault("start", (x, y, bool(options.pop("observed"))))
        return super().reset(seed=seed, options=options)


def register() -> None:
    """Register ``tabturn/Turn-v0`` with Gymnasium (done on import of this module)."""
    if ENV_ID not in gymnasium.registry:
        gymnasium.register(id=ENV_ID, entry_point="tabturn.interop.gym_env:TurnEnv")


register()


def predict_policy(predict, env=None):
    """A policy for ``tabturn.check`` from an agent's ``predict(observation)``.

    ``env``: a tabturn TabularEnv / ``tabturn/Turn-v0`` (wrapped or not) or its TabularMDP, whose observation of
    a state is the state's index; or None for a Gymnasium env imported with ``mdp_from_gym`` (toy-text), whose
    state labels are the env's own observations. ``predict`` returns an action index (a numpy scalar or
    0-d array too) or, as Stable-Baselines3 does, a tuple whose first entry is the action.
    """
    mdp = getattr(getattr(env, "unwrapped", env), "mdp", env)

    def policy(label):
        answer = predict(label if mdp is None else mdp.index_of(label))
        return answer[0] if isinstance(answer, tuple) else answer

    return policy
