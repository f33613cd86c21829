"""Batched tabular learners (Q-learning, SARSA, expected SARSA, double Q-learning) on any TabularMDP.

Every learner minimises ``sign * cost`` (the loss for the turn family; minus the reward for reward
MDPs): Q estimates the expected discounted future loss and the greedy action is an argmin. Returned
Q-tables are in the MDP's objective units (loss for MIN, reward for MAX).

Many seeds run at once on a batch axis. Seed s's uniforms are counter-based (tabturn.learners.counter_rng): a
hash of (seed key, episode, step, column), with the columns fixed by the settings (``draw_columns``: never
by states or history), and every update is elementwise along the batch axis, so seed s gives a
bit-identical Q-table alone, in any batch, or split across workers. Results are floating point.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

import numpy as np

from tabturn.core import detmath
from tabturn.core.errors import InputError
from tabturn.core.limits import MAX_TABLE_BYTES, require
from tabturn.core.mdp import TabularMDP
from tabturn.core.validation import check_choice, check_int, check_seeds
from tabturn.learners import counter_rng

ALGORITHMS = ("q", "sarsa", "expected-sarsa", "double-q")
TIE_BREAKS = ("first", "last", "random")
EXPLORATIONS = ("epsilon", "softmax")
SCHEDULES = ("constant", "linear", "exponential")
EPISODE_CHUNK = 32  # numpy engine: its uniforms for a chunk are materialised, (seeds, chunk, H + 1, columns)
HASH_BYTES = 2**23  # numba engine: a chunk's counter hashes (chunk, H + 1, columns) stay within 8 MiB, and long
# chunks keep each seed's table in cache across many episodes


@dataclass(frozen=True)
class LearnerSettings:
    """Training settings of one tabular learner.

    Attributes:
      algorithm: one of ALGORITHMS.
      episodes: training episodes; each starts from the MDP's start distribution and lasts ``horizon`` steps.
      horizon: steps per episode.
      truncation: what the last step of an episode bootstraps from: "terminal" (the step cost alone, as
        if the episode ended the task) or "bootstrap" (the usual target, right for infinite horizons).
      discount: gamma used in the targets.
      step_size: alpha for "constant"; for "1/n" alpha = 1/n(s,a)^omega (omega = 1 gives 1/n).
      step_schedule: "constant" or "1/n".
      omega: exponent of the 1/n(s,a)^omega step size, in (1/2, 1].
      exploration: "epsilon" (epsilon-greedy) or "softmax" (Boltzmann with ``temperature``).
      epsilon, epsilon_final, epsilon_schedule: epsilon decays from epsilon to epsilon_final over the
        episodes ("linear", "exponential") or stays ("constant").
      temperature: softmax temperature (> 0), in loss units.
      tie_break: greedy choice among equal Q-values: "first" or "last" index, or "random".
      initial_value: initial Q-value (objective units) of every (state, action).
      action_order: the learner's view of the actions as a permutation of the MDP's action indices
        (learner index i is MDP action action_order[i]); ties broken "first" then favour earlier entries.
      time_indexed: one Q-table per step of the episode, Q[t, s, a] (the form a finite-horizon optimum
        takes); step t bootstraps from step t + 1's table and the last step from nothing. Needs
        truncation "terminal". False: one stationary table for every step.
      observe_flag: the table is indexed by what the agent observes (tabturn.envs.turn.model.observation_index):
        True, the state (turn family: (x, y, observed), without supervised-until's clock); False (flag-blind,
        turn family only), the position (x, y). States that look alike share one row: the learner is the textbook
        algorithm run on observations, and the returned tables repeat a row for every state that shows it.
    """

    algorithm: str = "q"
    episodes: int = 500
    horizon: int = 16
    truncation: str = "terminal"
    discount: float = 1.0
    step_size: float = 0.1
    step_schedule: str = "constant"
    omega: float = 1.0
    exploration: str = "epsilon"
    epsilon: float = 0.1
    epsilon_final: float = 0.1
    epsilon_schedule: str = "constant"
    temperature: float = 1.0
    tie_break: str = "first"
    initial_value: float = 0.0
    action_order: tuple[int, ...] | None = None
    time_indexed: bool = False
    observe_flag: bool = True

    def __post_init__(self) -> None:
        for name, allowed in (
            ("algorithm", ALGORITHMS),
            ("tie_break", TIE_BREAKS),
            ("exploration", EXPLORATIONS),
            ("epsilon_schedule", SCHEDULES),
            ("step_schedule", ("constant", "1/n")),
            ("truncation", ("terminal", "bootstrap")),
        ):
            if getattr(self, name) not in allowed:
                raise InputError(name, f"must be one of {', '.join(allowed)}; got {getattr(self, name)!r}")
        for name in ("episodes", "horizon"):
            check_int(getattr(self, name), name, 1)
        checks = {
            "discount": (0, 1),
            "step_size": (0, 1),
            "epsilon": (0, 1),
            "epsilon_final": (0, 1),
            "omega": (0.5, 1),
        }
        for name, (low, high) in checks.items():
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
                raise InputError(name, f"must be a number in [{low}, {high}], not {value!r}")
        if self.step_size == 0 or self.omega == 0.5:
            raise InputError("step_size" if self.step_size == 0 else "omega", "must be > 0 (and omega > 1/2)")
        if (
            not isinstance(self.temperature, (int, float))
            or not self.temperature > 0
            or self.temperature == float("inf")
        ):
            raise InputError("temperature", f"must be a positive finite number, not {self.temperature!r}")
        if not isinstance(self.initial_value, (int, float)) or not np.isfinite(self.initial_value):
            raise InputError("initial_value", f"must be a finite number, not {self.initial_value!r}")
        for name in ("time_indexed", "observe_flag"):
            if not isinstance(getattr(self, name), bool):
                raise InputError(name, f"must be true or false, not {getattr(self, name)!r}")
        if self.time_indexed and self.truncation != "terminal":
            raise InputError("time_indexed", "a step-indexed table needs truncation = terminal (a finite horizon)")

    def epsilon_at(self, episode: int) -> float:
        """Exploration rate of ``episode`` (0-based)."""
        if self.epsilon_schedule == "constant" or self.episodes == 1:
            return self.epsilon
        frac = episode / (self.episodes - 1)
        if self.epsilon_schedule == "linear":
            return self.epsilon + frac * (self.epsilon_final - self.epsilon)
        if self.epsilon == 0:
            return 0.0
        return self.epsilon * detmath.exp_scalar(frac * detmath.log_ratio(max(self.epsilon_final, 1e-12), self.epsilon))


@dataclass(frozen=True, eq=False)
class LearnResult:
    """Q-tables (objective units) of a batch of seeds: q has shape (len(seeds), S, A) in MDP action order,
    or (len(seeds), H, S, A) for a step-indexed learner; ``visits`` has the same shape (updates counted).

    ``sign`` is +1 when Q holds losses (greedy = argmin), -1 when it holds rewards (greedy = argmax).
    """

    seeds: tuple[int, ...]
    base_seed: int
    settings: LearnerSettings
    q: np.ndarray
    visits: np.ndarray
    sign: int

    def greedy(self, tie_break: str | None = None) -> np.ndarray:
        """(B, S) greedy MDP action per seed and state ((B, H, S) when step-indexed), ties broken as the
        learner does.

        With "random", each seed draws its deployment tie-breaks from its own stream
        SeedSequence([base_seed, seed, 1]), so the result is reproducible per seed.
        """
        rule = tie_break or self.settings.tie_break
        B, A = self.q.shape[0], self.q.shape[-1]
        rows = int(np.prod(self.q.shape[1:-1]))
        order = _order(self.settings, A)
        q = self.q if np.array_equal(order, np.arange(A)) else self.q[..., order]
        cost = (q if self.sign == 1 else -q).reshape(B * rows, A)  # no copies for a loss table in MDP order
        u = None
        if rule == "random":
            u = np.concatenate(
                [
                    np.random.Generator(np.random.PCG64(np.random.SeedSequence([self.base_seed, s, 1]))).random(rows)
                    for s in self.seeds
                ]
            )
        return order[_greedy(cost, u, rule).reshape(self.q.shape[:-1])]

    def visited(self) -> np.ndarray:
        """(B, S) bool, or (B, H, S) when step-indexed: whether training updated any action there."""
        visits = self.visits.reshape(-1, self.visits.shape[-1])
        seen = visits[:, 0] != 0
        for a in range(1, visits.shape[1]):  # column by column: faster than a reduction per short row
            seen |= visits[:, a] != 0
        return seen.reshape(self.visits.shape[:-1])


def draw_columns(settings: LearnerSettings, stochastic: bool, multi_start: bool) -> dict[str, int]:
    """Which uniform of each step serves what: "action" always; "explore" for epsilon-greedy; "next" to
    sample transitions (and, in row 0, the start state); "tie" for random tie-breaks; "coin" for double Q."""
    names = ["action"]
    names += ["explore"] if settings.exploration == "epsilon" else []
    names += ["next"] if stochastic or multi_start else []
    names += ["tie"] if settings.tie_break == "random" else []
    names += ["coin"] if settings.algorithm == "double-q" else []
    return {name: i for i, name in enumerate(names)}


def _order(settings: LearnerSettings, n_actions: int) -> np.ndarray:
    order = settings.action_order if settings.action_order is not None else tuple(range(n_actions))
    if sorted(order) != list(range(n_actions)):
        raise InputError("action_order", f"must be a permutation of 0..{n_actions - 1}, not {list(order)}")
    return np.asarray(order, dtype=np.int64)


def _transition_tables(mdp: TabularMDP) -> tuple[np.ndarray, np.ndarray]:
    """Padded successors (S, A, K) and cumulative probabilities (S, A, K) for inverse-CDF sampling."""
    K = mdp.max_successors()
    S, A = mdp.n_states, mdp.n_actions
    nexts = np.zeros((S, A, K), dtype=np.int64)
    cum = np.ones((S, A, K), dtype=np.float64)
    for a, m in enumerate(mdp.transition_numerators):
        nexts[:, a, :], nums = m.padded_rows(K)
        cum[:, a, :] = np.cumsum(nums, axis=1) / mdp.prob_denominator  # exact integer sums, one division
    cum[..., -1] = 1.0
    return nexts, cum


ENGINES = ("numpy", "numba")


@dataclass(frozen=True, eq=False)
class _Problem:
    """The MDP as the learner sees it (learner action i = MDP action order[i]), for either engine.

    nexts, cum: (S, A, K) padded successors and cumulative probabilities; cost: (S, A) in minimisation units;
    final: (S,) loss at the horizon; obs: (S,) the table row block of each state (what the agent observes);
    stride: table row of (step t, state s) is obs[s] + t * stride; cols: the column of each uniform of a step
    (draw_columns); expand: obs when states share rows (the tables are mapped back to states), else None."""

    nexts: np.ndarray
    cum: np.ndarray
    deterministic: bool
    cost: np.ndarray
    final: np.ndarray
    terminal: np.ndarray
    start_states: np.ndarray
    start_cum: np.ndarray
    obs: np.ndarray
    n_obs: int
    stride: int
    cols: dict
    expand: np.ndarray | None


@dataclass(frozen=True, eq=False)
class _Tables:
    """The tables being trained, (B, rows, A) each; q2 only for double Q."""

    q: np.ndarray
    q2: np.ndarray | None
    visits: np.ndarray


def learn(
    mdp: TabularMDP,
    settings: LearnerSettings,
    seeds,
    base_seed: int = 0,
    start=None,
    progress=None,
    engine: str = "numpy",
    checkpoints=(),
    on_checkpoint=None,
) -> LearnResult:
    """Train one learner per seed (batched) and return their Q-tables.

    ``start`` overrides the MDP's start distribution for training episodes (pairs (state, probability));
    ``progress``, if given, is called with the number of episodes finished after each chunk.
    ``on_checkpoint(n, result)`` is called after n episodes for each n in ``checkpoints`` with the tables so far
    (settings.episodes = n); with a constant epsilon schedule that result is bit-identical to a run of n
    episodes, so one run gives a whole grid of budgets. A true return value stops training there.
    ``engine`` "numba" (extra ``fast``) runs a compiled loop with bit-identical results. Every transcendental
    value (n^-omega step sizes, exponential epsilon, softmax exp) comes from tabturn.core.detmath, so the tables
    do not depend on the CPU or on numpy's SIMD dispatch either.
    """
    seeds, checkpoints = _validate(mdp, settings, seeds, engine, checkpoints)
    order = _order(settings, mdp.n_actions)
    problem = _problem(mdp, settings, order, mdp.start if start is None else start, engine)
    B, A, H = len(seeds), mdp.n_actions, settings.horizon
    R = problem.n_obs * (H if settings.time_indexed else 1)  # table rows: observations, or step x observation
    q = np.full((B, R, A), mdp.sign * settings.initial_value, dtype=np.float64)
    tables = _Tables(q, q.copy() if settings.algorithm == "double-q" else None, np.zeros((B, R, A), dtype=np.int64))
    keys = counter_rng.seed_keys(base_seed, seeds)
    columns = len(problem.cols)
    size = EPISODE_CHUNK if engine == "numpy" else max(EPISODE_CHUNK, HASH_BYTES // (8 * (H + 1) * columns))
    if engine == "numpy":  # its uniforms for a chunk are materialised: (B, chunk, H + 1, columns) doubles
        require(
            "seeds",
            f"the numpy engine's draws for {B} seeds x {H + 1} steps (use engine numba)",
            8 * B * min(size, settings.episodes) * (H + 1) * columns,
        )
    run_chunk = _numba_chunk if engine == "numba" else _numpy_chunk
    for first, count in _chunks(settings.episodes, checkpoints, size):
        # step sizes n^-omega from one CPU-independent table (shared by both engines), long enough for this chunk
        alphas = (
            detmath.step_sizes(settings.omega, int(tables.visits.max()) + count * H + 2)
            if settings.step_schedule == "1/n"
            else np.ones(1)
        )
        run_chunk(
            problem,
            tables,
            settings,
            keys,
            counter_rng.counter_hashes(first, count, H + 1, columns),
            np.array([settings.epsilon_at(first + e) for e in range(count)]),
            alphas,
        )
        if progress is not None:
            progress(first + count)
        if (
            first + count in checkpoints
            and on_checkpoint is not None
            and on_checkpoint(
                first + count,
                _result(
                    tables,
                    order,
                    mdp.sign,
                    seeds,
                    base_seed,
                    dataclasses.replace(settings, episodes=first + count),
                    problem.expand,
                ),
            )
        ):
            break
    return _result(tables, order, mdp.sign, seeds, base_seed, settings, problem.expand, copy=False)


def _validate(mdp: TabularMDP, settings: LearnerSettings, seeds, engine: str, checkpoints) -> tuple[tuple, list]:
    """The seeds as a tuple of ints and the sorted checkpoints, or InputError naming what is wrong."""
    if not isinstance(seeds, range):  # a range is checked after the memory bound, so a huge one is never built
        seeds = check_seeds(seeds)
    R = mdp.n_states * (settings.horizon if settings.time_indexed else 1)
    need = len(seeds) * R * mdp.n_actions * 8 * (3 if settings.algorithm == "double-q" else 2)
    if need > MAX_TABLE_BYTES:  # Q (twice for double Q) and visit counts, checked before anything is allocated
        raise InputError(
            "seeds",
            f"{len(seeds)} seeds of {R} x {mdp.n_actions} tables would need about "
            f"{need / 2**30:.1f} GiB; the limit is {MAX_TABLE_BYTES / 2**30:.0f} GiB (run them in "
            "batches, e.g. with a sweep)",
        )
    require(
        "episodes",
        f"{len(seeds)} seeds x {settings.episodes} episodes x {settings.horizon} steps",
        0,
        len(seeds) * settings.episodes * settings.horizon,
    )
    seeds = check_seeds(seeds)
    check_choice(engine, "engine", ENGINES)
    if engine == "numba":
        from tabturn.learners import numba_kernel

        if not numba_kernel.available():
            raise InputError(
                "engine",
                "numba is not installed; install the 'fast' extra (pip install -e '.[fast]' in a tabturn checkout)",
            )
    checkpoints = sorted({int(n) for n in checkpoints})
    if checkpoints and (settings.epsilon_schedule != "constant" and settings.epsilon != settings.epsilon_final):
        raise InputError("checkpoints", "need a constant epsilon schedule (a decaying one depends on the total budget)")
    if checkpoints and not 1 <= checkpoints[0] <= checkpoints[-1] <= settings.episodes:
        raise InputError("checkpoints", f"must lie in 1..{settings.episodes}, not {checkpoints}")
    return seeds, checkpoints


def _problem(mdp: TabularMDP, settings: LearnerSettings, order: np.ndarray, start, engine: str) -> _Problem:
    """The arrays both engines read, in learner action order."""
    from tabturn.envs.turn.model import observation_index  # the turn family's view of its states

    view = observation_index(mdp, settings.observe_flag)
    obs = np.arange(mdp.n_states, dtype=np.int64) if view is None else view
    n_obs = int(obs.max()) + 1
    nexts, cum = _transition_tables(mdp)
    deterministic = nexts.shape[2] == 1
    nexts, cum = nexts[:, order], cum[:, order]
    if engine == "numba":
        nexts = nexts.astype(np.int32)  # half the bytes per lookup; S < 2^31 always holds for a table in memory
    start = tuple(start)
    start_cum = np.cumsum([float(p) for _, p in start])
    start_cum[-1] = 1.0
    return _Problem(
        nexts=nexts,
        cum=cum,
        deterministic=deterministic,
        cost=(mdp.sign * mdp.costs_float())[:, order],
        final=mdp.sign * np.asarray(mdp.final_numerators, dtype=np.float64) / mdp.cost_denominator,
        terminal=mdp.terminal,
        start_states=np.array([s for s, _ in start]),
        start_cum=start_cum,
        obs=obs.astype(np.int32) if engine == "numba" else obs,
        n_obs=n_obs,
        stride=n_obs if settings.time_indexed else 0,
        cols=draw_columns(settings, not deterministic, len(start) > 1),
        expand=view,
    )


def _numba_chunk(
    p: _Problem,
    tables: _Tables,
    settings: LearnerSettings,
    keys: np.ndarray,
    hashes: np.ndarray,
    eps: np.ndarray,
    alphas: np.ndarray,
) -> None:
    """One chunk of episodes in the compiled loop (the smaller one when it applies)."""
    from tabturn.learners import numba_kernel

    shared = dict(
        visits=tables.visits,
        keys=keys,
        hashes=hashes,
        eps_arr=eps,
        nexts=p.nexts,
        cum=p.cum,
        deterministic=p.deterministic,
        cost=p.cost,
        terminal=p.terminal,
        final=p.final,
        start_states=p.start_states,
        start_cum=p.start_cum,
        obs=p.obs,
        algorithm=numba_kernel.ALGORITHM_CODES[settings.algorithm],
        tie=numba_kernel.TIE_CODES[settings.tie_break],
        constant=settings.step_schedule == "constant",
        step_size=float(settings.step_size),
        alphas=alphas,
        g=float(settings.discount),
        trunc_terminal=settings.truncation == "terminal",
        stride=p.stride,
        c_explore=p.cols.get("explore", -1),
        c_action=p.cols.get("action", -1),
        c_next=p.cols.get("next", -1),
    )
    if settings.algorithm != "double-q" and settings.exploration == "epsilon" and settings.tie_break != "random":
        direct = p.stride == 0 and bool(np.array_equal(p.obs, np.arange(len(p.obs))))
        _in_lanes(numba_kernel.run_chunk_greedy, numba_kernel.LANES, tables, keys, dict(shared, direct=direct))
    else:
        numba_kernel.run_chunk(
            q=tables.q,
            q2=tables.q if tables.q2 is None else tables.q2,
            softmax=settings.exploration == "softmax",
            temperature=float(settings.temperature),
            c_tie=p.cols.get("tie", -1),
            c_coin=p.cols.get("coin", -1),
            **shared,
        )


def _in_lanes(kernel, lanes: int, tables: _Tables, keys: np.ndarray, shared: dict) -> None:
    """Run a kernel that advances seeds ``lanes`` at a time: the leading multiple of ``lanes`` in place, the rest
    padded to a full group with copies of the last seed (thrown away; seeds are independent)."""
    q, visits = tables.q, tables.visits
    full = len(keys) - len(keys) % lanes
    if full:
        kernel(q=q[:full], **dict(shared, visits=visits[:full], keys=keys[:full]))
    if full < len(keys):
        pad = np.r_[np.arange(full, len(keys)), np.full(full + lanes - len(keys), len(keys) - 1)]
        q_tail, v_tail = q[pad], visits[pad]  # copies
        kernel(q=q_tail, **dict(shared, visits=v_tail, keys=keys[pad]))
        q[full:], visits[full:] = q_tail[: len(keys) - full], v_tail[: len(keys) - full]


def _numpy_chunk(
    p: _Problem,
    tables: _Tables,
    settings: LearnerSettings,
    keys: np.ndarray,
    hashes: np.ndarray,
    eps_chunk: np.ndarray,
    alphas: np.ndarray,
) -> None:
    """One chunk of episodes, vectorised over the seeds: the same operations as numba_kernel.run_chunk."""
    q, q2, visits, cols = tables.q, tables.q2, tables.visits, p.cols
    B, H, g = len(keys), settings.horizon, float(settings.discount)
    rows = np.arange(B)
    draws = counter_rng.uniforms(keys, hashes)  # (B, count, H + 1, columns)
    for e, eps in enumerate(eps_chunk.tolist()):
        u = draws[:, e]  # (B, H + 1, columns)
        s = p.start_states[0] + np.zeros(B, dtype=np.int64)
        if len(p.start_cum) > 1:
            pick = (u[:, 0, cols["next"]][:, None] > p.start_cum[None, :]).sum(1)
            s = p.start_states[np.minimum(pick, len(p.start_cum) - 1)]
        o = p.obs[s]
        a = _behaviour(q[rows, o] if q2 is None else q[rows, o] + q2[rows, o], u[:, 0], eps, settings, cols)
        alive = ~p.terminal[s]
        for t in range(H):
            ut = u[:, t + 1]
            if p.deterministic:
                s_next = p.nexts[s, a, 0]
            else:
                k = (ut[:, cols["next"]][:, None] > p.cum[s, a]).sum(1)
                s_next = p.nexts[s, a, np.minimum(k, p.nexts.shape[2] - 1)]
            c = p.cost[s, a]
            last = t == H - 1 and settings.truncation == "terminal"
            done = p.terminal[s_next] | last
            end = p.final[s_next] if last else 0.0  # the end-of-horizon (terminal-timing) loss
            i, i_next = p.obs[s] + t * p.stride, p.obs[s_next] + min(t + 1, H - 1) * p.stride
            qn = q[rows, i_next]  # the successor's row before the update (a copy)
            if q2 is None:
                if settings.algorithm == "q":
                    boot = qn.min(axis=1)
                elif settings.algorithm == "sarsa":  # SARSA needs A' for its target: chosen before the update
                    a_next = _behaviour(qn, ut, eps, settings, cols)
                    boot = qn[rows, a_next]
                else:
                    boot = _row_sum(_policy_probs(qn, eps, settings, _column(ut, cols, "tie")) * qn)
                target = c + g * np.where(done, end, boot)
                _update(q, visits, rows, i, a, target, alive, settings, alphas)
                if settings.algorithm != "sarsa":  # textbook order: A' from the updated table
                    a_next = _behaviour(q[rows, i_next], ut, eps, settings, cols)
            else:
                qn2 = q2[rows, i_next]
                coin = ut[:, cols["coin"]] < 0.5
                chosen = np.where(coin[:, None], qn, qn2)
                other = np.where(coin[:, None], qn2, qn)
                boot = other[rows, _greedy(chosen, _column(ut, cols, "tie"), settings.tie_break)]
                target = c + g * np.where(done, end, boot)
                _update(q, visits, rows, i, a, target, alive & coin, settings, alphas, count_visit=False)
                _update(q2, visits, rows, i, a, target, alive & ~coin, settings, alphas, count_visit=False)
                visits[rows, i, a] += alive
                a_next = _behaviour(q[rows, i_next] + q2[rows, i_next], ut, eps, settings, cols)
            alive = alive & ~p.terminal[s_next]
            s, a = s_next, a_next


def _chunks(episodes: int, checkpoints, size: int = EPISODE_CHUNK) -> list[tuple[int, int]]:
    """(first episode, count) of each training chunk: at most ``size`` episodes, split at checkpoints
    (the per-seed streams are sequential, so where chunks split never changes a result)."""
    cuts = sorted(set(range(0, episodes, size)) | set(checkpoints) | {episodes})
    return [(a, b - a) for a, b in zip(cuts, cuts[1:]) if b > a]


def _result(tables: _Tables, order, sign, seeds, base_seed, settings, expand=None, copy: bool = True) -> LearnResult:
    """The LearnResult of the current tables (objective units, MDP action order, one row per state: ``expand``
    maps states to their observation's row); copies unless ``copy`` is False (the final result: training is
    over, the tables can be handed over)."""
    q, q2, visits = tables.q, tables.q2, tables.visits
    B, R, A = q.shape
    final = (q.copy() if copy else q) if q2 is None else (q + q2) / 2
    if sign != 1:
        final = sign * final
    visits = visits.copy() if copy else visits
    if settings.time_indexed:
        H = settings.horizon
        final, visits = final.reshape(B, H, R // H, A), visits.reshape(B, H, R // H, A)
    if expand is not None:
        final, visits = final[..., expand, :], visits[..., expand, :]
    if np.array_equal(order, np.arange(A)):
        return LearnResult(seeds, int(base_seed), settings, final, visits, sign)
    out, vis = np.empty_like(final), np.empty_like(visits)
    out[..., order], vis[..., order] = final, visits
    return LearnResult(seeds, int(base_seed), settings, out, vis, sign)


def _update(q, visits, rows, s, a, target, active, settings, alphas, count_visit: bool = True) -> None:
    if count_visit:
        visits[rows, s, a] += active
    if settings.step_schedule == "constant":
        alpha = settings.step_size
    else:
        alpha = alphas[np.maximum(visits[rows, s, a] + (0 if count_visit else 1), 1)]
    current = q[rows, s, a]
    q[rows, s, a] = np.where(active, current + alpha * (target - current), current)


def _greedy(qs: np.ndarray, u_tie: np.ndarray | None, tie_break: str) -> np.ndarray:
    """Greedy (argmin) learner action per row of (B, A) costs, with the tie-break rule."""
    if tie_break == "first":
        return np.argmin(qs, axis=1)
    if tie_break == "last":
        return qs.shape[1] - 1 - np.argmin(qs[:, ::-1], axis=1)
    if u_tie is None:
        raise ValueError("tie_break 'random' needs one tie uniform per row")
    ties = qs == qs.min(axis=1, keepdims=True)
    pick = np.minimum((u_tie * ties.sum(1)).astype(np.int64), ties.sum(1) - 1)
    return np.argmax(np.cumsum(ties, axis=1) > pick[:, None], axis=1)


def _softmax(qs: np.ndarray, temperature: float) -> np.ndarray:
    z = detmath.exp_array(-(qs - qs.min(axis=1, keepdims=True)) / temperature)
    return z / _row_sum(z)[:, None]


def _row_sum(z: np.ndarray) -> np.ndarray:
    """Sum of each row, left to right from 0.0 (the numba engine's order, whatever numpy's reduction does)."""
    total = np.zeros(len(z))
    for i in range(z.shape[1]):
        total = total + z[:, i]
    return total


def _policy_probs(qs: np.ndarray, eps: float, settings: LearnerSettings, u_tie: np.ndarray | None) -> np.ndarray:
    """Behaviour-policy probabilities (B, A) at states with Q rows ``qs``."""
    if settings.exploration == "softmax":
        return _softmax(qs, settings.temperature)
    A = qs.shape[1]
    probs = np.full(qs.shape, eps / A)
    probs[np.arange(len(qs)), _greedy(qs, u_tie, settings.tie_break)] += 1 - eps
    return probs


def _column(u: np.ndarray, cols: dict[str, int], name: str) -> np.ndarray | None:
    return u[:, cols[name]] if name in cols else None


def _behaviour(qs: np.ndarray, u: np.ndarray, eps: float, settings: LearnerSettings, cols: dict) -> np.ndarray:
    """Sample behaviour actions (B,) from Q rows (B, A) with one step's uniforms u (B, columns)."""
    A = qs.shape[1]
    if settings.exploration == "softmax":
        cdf = np.cumsum(_softmax(qs, settings.temperature), axis=1)
        return np.minimum((u[:, cols["action"]][:, None] > cdf).sum(1), A - 1)
    greedy = _greedy(qs, _column(u, cols, "tie"), settings.tie_break)
    random_action = np.minimum((u[:, cols["action"]] * A).astype(np.int64), A - 1)
    return np.where(u[:, cols["explore"]] < eps, random_action, greedy)
