"""Exact models of small deterministic Gymnasium environments, by enumerating the states reachable from reset.

``enumerate_env(env)`` searches breadth-first from ``env.reset(seed=reset_seed)``: every action from every
reachable state, each stepped on a copy (``copy.deepcopy``) of the simulator as it stood in that state, with the
env's own rewards and terminations. A state is named by ``state_key(env, observation)``: by default, for
MiniGrid, what its ``hash()`` covers (grid, position, direction) plus what the agent carries, else the
observation itself (a ``Discrete`` observation, or any hashable one, which must then identify the state).
Rewards become exact rationals by the toy-text importer's rule (the small fraction within 1e-12; the count of
distinct floats that were not exactly it is ``description["inexact_values"]``). The model has a finite horizon ``T``,
the env's time limit, and discount 1.

Determinism is checked, not assumed: every (state, action) is stepped twice, the second time with the env's
``np_random`` and the global ``random`` / ``numpy.random`` streams reseeded, and both must give the same
successor, reward and flags; otherwise ``InputError`` names the first state and action that differed.

Two models, both exact for what they check:

- **step-count model** (the env's core exposes a settable ``step_count`` and ``max_steps``, as MiniGrid does):
  the states are the env's states and ``T = max_steps``. Every (state, action) is stepped at step counts 0,
  T // 2 and T - 1, which must agree on successor and termination (and on reward unless it terminates); a
  terminating (state, action) is stepped at *every* step count, and its reward must be ``alpha - beta*(t+1)``
  (MiniGrid's success reward ``1 - 0.9*step_count/max_steps`` is one). Such a transition pays ``alpha`` and
  leads to an absorbing state labelled ``("terminal", beta)`` that pays ``beta`` per remaining step and
  ``-beta*T`` at the horizon, so every return and every step-t value is the env's exactly (beta = 0: the plain
  zero-reward ``"terminal"``).
- **layered model** (any other env): the states are (state, t) for every step count t reached, so any
  dependence on the step count is modelled; when every layer of every state agrees (same successor, flags and
  reward, the last step's reward differing only by an amount that depends on the successor), the layers are
  merged into one state each, the last step's difference becoming the successor's final reward.
"""

from __future__ import annotations

import copy
import math
import random
from collections import deque
from collections.abc import Callable, Hashable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.limits import INT64_SAFE
from tabturn.core.mdp import MAX, TabularMDP, exact_csr
from tabturn.core.progress import Progress
from tabturn.core.rational import format_rational, near_fraction

FIELD = "--gym-enumerate"
TERMINAL = "terminal"
END = "end"  # layered model: where an episode is once the time limit has cut it
MERGED = "merged layers"
PERTURB_SEED = 20_240_601
DEFAULT_MAX_STATES = 200_000
DIRECTIONS = ("right", "down", "left", "up")  # MiniGrid's agent_dir 0..3 (y grows downwards)

StateKey = Callable[[Any, Any], Hashable]


@dataclass(frozen=True)
class Outcome:
    """What one step did: the successor's key, the exact reward and the two flags."""

    key: Hashable
    reward: Fraction
    terminated: bool
    truncated: bool


@dataclass(frozen=True)
class Enumerated:
    """An enumerated env: its exact TabularMDP (reward maximised) and the horizon (the env's time limit)."""

    mdp: TabularMDP
    horizon: int


def minigrid_key(env, observation) -> Hashable:
    """What MiniGrid's ``hash()`` covers (the grid's encoding, agent position and direction) plus what the agent
    carries, as values: ``hash()`` itself hashes ``str(agent_pos)``, which differs between numpy and Python
    integers for the same cell (so the start state would count twice)."""
    core = env.unwrapped
    carrying = core.carrying
    return (
        core.grid.encode().tobytes(),
        int(core.agent_pos[0]),
        int(core.agent_pos[1]),
        int(core.agent_dir),
        None if carrying is None else tuple(int(v) for v in carrying.encode()),
    )


def observation_key(env, observation) -> Hashable:
    """The observation itself, as a hashable value (numpy scalars become ints)."""
    if isinstance(observation, np.generic):
        return observation.item()
    if isinstance(observation, np.ndarray):
        raise InputError(FIELD, "array observations do not identify a state; pass state_key=(env, obs) -> key")
    try:
        hash(observation)
    except TypeError:
        raise InputError(FIELD, f"observations of type {type(observation).__name__} are not hashable") from None
    return observation


def _is_minigrid(core) -> bool:
    return all(hasattr(core, name) for name in ("hash", "agent_pos", "agent_dir", "carrying", "grid"))


def _has_step_count(core) -> bool:
    return isinstance(getattr(core, "step_count", None), int) and isinstance(getattr(core, "max_steps", None), int)


def _time_limit_wrappers(env):
    """The env's TimeLimit wrappers, outermost first."""
    layer = env
    while layer is not None:
        if type(layer).__name__ == "TimeLimit":
            yield layer
        layer = getattr(layer, "env", None)


def _time_limit(env) -> int | None:
    """The smallest time limit among the env's wrappers (TimeLimit) and its core (``max_steps``)."""
    limits = [int(wrapper._max_episode_steps) for wrapper in _time_limit_wrappers(env)]
    core = env.unwrapped
    if _has_step_count(core):
        limits.append(int(core.max_steps))
    for name in ("horizon", "max_episode_steps"):  # tabturn's own TabularEnv
        if type(core).__module__ == "tabturn.interop.gym_env" and isinstance(getattr(core, name, None), int):
            limits.append(int(getattr(core, name)))
    return min(limits) if limits else None


def _set_step_count(env, t: int) -> None:
    """Put the core's step counter (and any TimeLimit wrapper's) at ``t``."""
    for wrapper in _time_limit_wrappers(env):
        wrapper._elapsed_steps = t
    env.unwrapped.step_count = t


class _Stepper:
    """Steps copies of saved simulators, reading rewards exactly and collecting the floats that were not exactly
    the fraction read (each once, however often a probe meets it)."""

    def __init__(self, key: StateKey):
        self.key = key
        self.inexact: set[float] = set()

    def step(self, saved, action: int, t: int | None = None, perturb: bool = False):
        env = copy.deepcopy(saved)
        if t is not None:
            _set_step_count(env, t)
        if not perturb:
            observation, reward, terminated, truncated, _ = env.step(action)
        else:
            py_state, np_state = random.getstate(), np.random.get_state()
            random.seed(PERTURB_SEED)
            np.random.seed(PERTURB_SEED % 2**32)
            env.unwrapped.np_random = np.random.default_rng(PERTURB_SEED)
            try:
                observation, reward, terminated, truncated, _ = env.step(action)
            finally:
                random.setstate(py_state)
                np.random.set_state(np_state)
        return env, Outcome(self.key(env, observation), self._exact(reward), bool(terminated), bool(truncated))

    def checked(self, saved, action: int, label, t: int | None = None):
        """Step twice (the second time with reseeded random streams); refuse an env where the two differ."""
        env, first = self.step(saved, action, t)
        _, second = self.step(saved, action, t, perturb=True)
        if first != second:
            raise InputError(
                FIELD,
                f"the env is not deterministic: state {label}, action {action} gave "
                f"{_describe(first, first)} and then {_describe(second, first)}",
            )
        return env, first

    def _exact(self, value) -> Fraction:
        value = float(value)
        if not math.isfinite(value):
            raise InputError(FIELD, f"a reward is {value!r}; rewards must be finite")
        frac, same = near_fraction(value)
        if not same:
            self.inexact.add(value)
        return frac


def _describe(outcome: Outcome, other: Outcome) -> str:
    """The outcome, in words, with 'another successor' when only the successor tells it from ``other``."""
    flags = "terminated" if outcome.terminated else "truncated" if outcome.truncated else "running"
    successor = ", another successor" if outcome.key != other.key else ""
    return f"(reward {format_rational(outcome.reward)}, {flags}{successor})"


def enumerate_env(
    env,
    *,
    reset_seed: int = 0,
    max_states: int = DEFAULT_MAX_STATES,
    state_key: StateKey | None = None,
    quiet: bool = True,
) -> Enumerated:
    """The exact model of a deterministic Gymnasium env with ``Discrete`` actions, by breadth-first search."""
    n_actions = getattr(env.action_space, "n", None)
    if n_actions is None or getattr(env.action_space, "start", 0) != 0:
        raise InputError(FIELD, f"needs a Discrete action space starting at 0, not {env.action_space}")
    if not isinstance(max_states, int) or max_states < 1:
        raise InputError("--max-states", f"must be a positive integer, not {max_states!r}")
    observation, _ = env.reset(seed=reset_seed)
    core = env.unwrapped
    key = state_key or (minigrid_key if _is_minigrid(core) else observation_key)
    horizon = _time_limit(env)
    if horizon is None or horizon < 1:
        raise InputError(FIELD, "the env has no time limit (max_episode_steps); wrap it in TimeLimit")
    start_key = key(env, observation)
    twin = copy.deepcopy(env)
    again, _ = twin.reset(seed=reset_seed)
    if key(twin, again) != start_key:
        raise InputError(FIELD, f"reset(seed={reset_seed}) gave two different start states")
    stepper = _Stepper(key)
    step_count = _has_step_count(core)
    estimate = _estimate(env, horizon, step_count)
    budget = _Budget(max_states, estimate, Progress(min(estimate or max_states, max_states), "states", quiet=quiet))
    build = _step_count_model if step_count else _layered_model
    model = build(env, start_key, int(n_actions), horizon, budget, stepper)
    budget.progress.close()
    mdp = _assemble(model, int(n_actions), core)
    mdp.description.update(
        {
            "builder": "gym-enumerate",
            "env": getattr(getattr(env, "spec", None), "id", None),
            "reset_seed": reset_seed,
            "horizon": horizon,
            "model": model.kind,
            "inexact_values": len(stepper.inexact),
            "estimated_states": estimate,
        }
    )
    return Enumerated(mdp, horizon)


class _Model(NamedTuple):
    """A deterministic model over (state index, action): labels, successor, exact reward; per state the final
    reward and whether it is terminal; and which model it is ('step-count', 'layered' or 'merged layers')."""

    labels: list
    successors: dict[tuple[int, int], int]
    rewards: dict[tuple[int, int], Fraction]
    finals: list[Fraction]
    terminal: list[bool]
    kind: str


@dataclass
class _Budget:
    """The state limit, the up-front estimate and the progress bar of one enumeration."""

    max_states: int
    estimate: int | None
    progress: Progress

    def admit(self, n_known: int) -> None:
        """Count one more state, refusing once ``max_states`` are known."""
        if n_known >= self.max_states:
            guess = f" (estimated up to {self.estimate})" if self.estimate else ""
            raise InputError(
                "--max-states", f"the env has more than {self.max_states} reachable states{guess}; raise --max-states"
            )
        self.progress.advance()


def _estimate(env, horizon: int, step_count: bool) -> int | None:
    """An upper estimate of the reachable states: MiniGrid cells x 4 directions x object placements, or the size
    of a Discrete observation space (times the horizon for the layered model)."""
    core = env.unwrapped
    if _is_minigrid(core):
        cells = [core.grid.get(i, j) for i in range(core.grid.width) for j in range(core.grid.height)]
        free = sum(1 for c in cells if c is None or c.type != "wall")
        movable = sum(1 for c in cells if c is not None and c.type in ("key", "ball", "box"))
        doors = sum(1 for c in cells if c is not None and c.type == "door")
        return free * 4 * (free + 1) ** movable * 3**doors
    n = getattr(env.observation_space, "n", None)
    if n is None:
        return None
    return int(n) * (1 if step_count else horizon)


def _step_count_model(env, start_key, n_actions, horizon, budget, stepper):
    """States are the env's states; the step count is set on each copy (see the module docstring)."""
    T = horizon
    probes = sorted({0, T // 2, T - 1})
    saved = {start_key: env}
    index = {start_key: 0}
    labels = [_state_label(env, start_key)]
    queue = deque([start_key])
    successors: dict[tuple[int, int], Hashable] = {}
    rewards: dict[tuple[int, int], Fraction] = {}
    while queue:
        state = queue.popleft()
        s = index[state]
        for a in range(n_actions):
            next_env, first = stepper.checked(saved[state], a, labels[s], t=0)
            for t in probes:
                _, other = (next_env, first) if t == 0 else stepper.step(saved[state], a, t)
                if other.truncated and not other.terminated and t < T - 1:
                    raise InputError(
                        FIELD,
                        f"state {labels[s]}, action {a}: truncated at step count {t}, before the time limit {T} "
                        "(not modelled)",
                    )
                if (other.key, other.terminated) != (first.key, first.terminated) or (
                    not first.terminated and other.reward != first.reward
                ):
                    raise InputError(
                        FIELD,
                        f"state {labels[s]}, action {a}: the outcome at step count {t} differs from step count 0 "
                        "on a step that does not end the episode (not modelled; a time-dependent env needs its "
                        "step count in the state key)",
                    )
            if first.terminated:
                alpha, beta = _affine_in_step(stepper, saved[state], a, T, labels[s])
                rewards[s, a], successors[s, a] = alpha, (TERMINAL, beta)
                continue
            rewards[s, a], successors[s, a] = first.reward, first.key
            if first.key not in index:
                budget.admit(len(index))
                index[first.key] = len(labels)
                saved[first.key] = next_env
                labels.append(_state_label(next_env, first.key))
                queue.append(first.key)
    finals = [Fraction(0)] * len(labels)
    terminal = [False] * len(labels)
    for beta in sorted({k[1] for k in successors.values() if isinstance(k, tuple) and k[:1] == (TERMINAL,)}):
        z = index[TERMINAL, beta] = len(labels)
        labels.append(TERMINAL if beta == 0 else (TERMINAL, format_rational(beta)))
        for a in range(n_actions):
            successors[z, a], rewards[z, a] = (TERMINAL, beta), beta
        finals.append(-beta * T)
        terminal.append(beta == 0)
    return _Model(labels, {sa: index[k] for sa, k in successors.items()}, rewards, finals, terminal, "step-count")


def _state_label(env, key) -> Hashable:
    return _minigrid_label(env) if _is_minigrid(env.unwrapped) else key


def _affine_in_step(stepper, saved, action, T, label) -> tuple[Fraction, Fraction]:
    """(alpha, beta) with reward = alpha - beta*(t+1) at every step count t of a terminating step, or refuse."""
    rewards = []
    for t in range(T):
        _, outcome = stepper.step(saved, action, t)
        if not outcome.terminated:
            raise InputError(FIELD, f"state {label}, action {action} ends the episode at some step counts only")
        rewards.append(outcome.reward)
    beta = rewards[0] - rewards[1] if T > 1 else Fraction(0)
    alpha = rewards[0] + beta
    for t, r in enumerate(rewards):
        if r != alpha - beta * (t + 1):
            raise InputError(
                FIELD,
                f"state {label}, action {action}: the reward on ending the episode is not affine in the step "
                f"count (step count {t}: {format_rational(r)})",
            )
    return alpha, beta


def _layered_model(env, start_key, n_actions, horizon, budget, stepper):
    """States are (state, t); merged into the states alone when every layer agrees."""
    T = horizon
    nodes = [(start_key, 0)]
    index = {(start_key, 0): 0}
    saved = {(start_key, 0): env}
    outcome: dict[tuple[int, int], Outcome] = {}
    queue = deque([(start_key, 0)])
    while queue:
        node = queue.popleft()
        s = index[node]
        state, t = node
        for a in range(n_actions):
            next_env, out = stepper.checked(saved[node], a, _layer_label(node))
            outcome[s, a] = out
            if out.terminated or out.truncated or t + 1 >= T:
                continue
            nxt = (out.key, t + 1)
            if nxt not in index:
                budget.admit(len(index))
                index[nxt] = len(nodes)
                nodes.append(nxt)
                saved[nxt] = next_env
                queue.append(nxt)
    merged = _merge_layers(nodes, outcome, n_actions, T)
    if merged is not None:
        return merged
    labels = [_layer_label(n) for n in nodes] + [TERMINAL, END]
    term, end = len(nodes), len(nodes) + 1
    successors, rewards = {}, {}
    for (s, a), out in outcome.items():
        _, t = nodes[s]
        rewards[s, a] = out.reward
        ends = out.truncated or t + 1 >= T
        successors[s, a] = term if out.terminated else end if ends else index[(out.key, t + 1)]
    for extra in (term, end):
        for a in range(n_actions):
            successors[extra, a], rewards[extra, a] = extra, Fraction(0)
    finals = [Fraction(0)] * len(labels)
    return _Model(labels, successors, rewards, finals, [False] * len(nodes) + [True, True], "layered")


def _layer_label(node) -> tuple:
    state, t = node
    return ("layer", (state, t))


def _merge_layers(nodes, outcome, n_actions, T):
    """The model over states alone, if every layer of every state gives the same step (see the docstring)."""
    keys = list(dict.fromkeys(k for k, _ in nodes))
    where = {k: i for i, k in enumerate(keys)}
    rows: dict[tuple[int, int], tuple] = {}
    last: dict[tuple[int, int], tuple] = {}
    for (s, a), out in outcome.items():
        k, t = nodes[s]
        if out.truncated and not out.terminated and t < T - 1:
            return None  # cut before the limit: only the layers say when
        entry = (out.key, out.terminated, out.reward)
        book = last if t == T - 1 else rows
        if book.setdefault((where[k], a), entry) != entry:
            return None
    finals: dict[Hashable, Fraction] = {}
    for sa, (succ, terminated, reward) in last.items():
        if sa not in rows:
            continue
        succ0, terminated0, reward0 = rows[sa]
        if (succ0, terminated0) != (succ, terminated):
            return None
        if terminated:
            if reward != reward0:
                return None
            continue
        if finals.setdefault(succ, reward - reward0) != reward - reward0:
            return None
    for sa, (succ, terminated, reward) in last.items():
        if sa not in rows:
            rows[sa] = (succ, terminated, reward - (Fraction(0) if terminated else finals.get(succ, Fraction(0))))
    ends = any(terminated for _, terminated, _ in rows.values())
    term = len(keys)
    successors, rewards = {}, {}
    for (s, a), (succ, terminated, reward) in rows.items():
        if not terminated and succ not in where:
            return None  # a successor reached only past the limit: keep the layers
        successors[s, a] = term if terminated else where[succ]
        rewards[s, a] = reward
    final_list = [finals.get(k, Fraction(0)) for k in keys]
    if not ends:
        return _Model(list(keys), successors, rewards, final_list, [False] * len(keys), MERGED)
    for a in range(n_actions):
        successors[term, a], rewards[term, a] = term, Fraction(0)
    return _Model(
        [*keys, TERMINAL], successors, rewards, [*final_list, Fraction(0)], [False] * len(keys) + [True], MERGED
    )


def _minigrid_label(env) -> tuple:
    """(x, y, facing, carried object or '-', grid id) of a MiniGrid env (MiniGrid's direction 0 faces +x)."""
    core = env.unwrapped
    carrying = core.carrying
    held = "-" if carrying is None else f"{carrying.color} {carrying.type}"
    facing = DIRECTIONS[int(core.agent_dir)] if 0 <= int(core.agent_dir) < 4 else int(core.agent_dir)
    return int(core.agent_pos[0]), int(core.agent_pos[1]), facing, held, _grid_id(core)


def _grid_id(core) -> str:
    """Eight hex digits naming the grid's contents (doors, keys, boxes where they are), agent excluded."""
    import hashlib

    return hashlib.sha256(core.grid.encode().tobytes()).hexdigest()[:8]


def _assemble(model: _Model, n_actions: int, core) -> TabularMDP:
    """The TabularMDP of a deterministic model."""
    labels, successors, rewards, finals = model.labels, model.successors, model.rewards, model.finals
    n = len(labels)
    L = math.lcm(1, *(r.denominator for r in rewards.values()), *(f.denominator for f in finals))
    mats = []
    for a in range(n_actions):
        rows = list(range(n))
        mats.append(exact_csr(rows, [successors[s, a] for s in rows], [1] * n, n))
    cost = np.array([[int(rewards[s, a] * L) for a in range(n_actions)] for s in range(n)], dtype=object)
    final = np.array([int(f * L) for f in finals], dtype=object)
    if max((abs(v) for v in (*cost.ravel(), *final)), default=0) < INT64_SAFE:
        cost, final = cost.astype(np.int64), final.astype(np.int64)
    names = _action_names(core, n_actions)
    return TabularMDP(
        state_labels=tuple(labels),
        action_names=names,
        transition_numerators=tuple(mats),
        prob_denominator=1,
        cost_numerators=cost,
        final_numerators=final,
        cost_denominator=L,
        terminal=np.array(model.terminal, dtype=bool),
        start=((0, Fraction(1)),),
        objective=MAX,
        description={},
    )


def _action_names(core, n_actions: int) -> tuple[str, ...]:
    actions = getattr(core, "actions", None)
    try:
        names = tuple(actions(a).name for a in range(n_actions)) if actions is not None else ()
    except (TypeError, ValueError):
        names = ()
    return names if len(set(names)) == n_actions else tuple(f"a{a}" for a in range(n_actions))
