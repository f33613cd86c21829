"""Benchmark: batched Q-learning updates per second, tabturn vs a plain user-written numba loop, a JAX vmap +
lax.scan learner, a tutorial loop and pymdptoolbox QLearning.

Q-learning on the turn family: 32x32 grid with both flags (2048 states), 4 actions, episodes of H = 64
steps, 1024 seeds. Targets (issue "speed"): numba engine >= 1e8 updates/s and >= 500x the tutorial loop;
>= 1.5x the plain numba loop and >= 1.5e8 updates/s.
It also prints a memory-bandwidth limit: the bytes one update touches over the copy bandwidth measured here.
Run: `make bench` (all benchmarks, results table) or `python -m benchmarks.learn [--quick]`.
pymdptoolbox's dense input check is bypassed (same model). Every figure is measured in this run.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from benchmarks.common import Row, Timing, repeat, show
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.learners.tabular import LearnerSettings, learn

BYTES_PER_UPDATE = 4 * 8 + 4 + 8 + 2 * 8 + 2 * 8  # next row of Q, successor (int32), cost, Q r/w, visits r/w


def tutorial_q_learning(succ, cost, episodes, horizon, start, alpha=0.1, epsilon=0.1, gamma=1.0, seed=0):
    """The usual per-step Python loop (one agent), as written in tutorials."""
    rng = np.random.default_rng(seed)
    n_states, n_actions = cost.shape
    q = np.zeros((n_states, n_actions))
    for _ in range(episodes):
        s = start
        for t in range(horizon):
            a = int(rng.integers(n_actions)) if rng.random() < epsilon else int(np.argmin(q[s]))
            s2 = int(succ[s, a])
            target = cost[s, a] + (0.0 if t == horizon - 1 else gamma * q[s2].min())
            q[s, a] += alpha * (target - q[s, a])
            s = s2
    return q


def plain_numba_q_learning():
    """The batched Q-learning a user would write in an afternoon: numba, prange over seeds, numpy's RNG inside
    numba, ties to the first action, no visit counts or checkpoints (compiled on first call)."""
    import numba

    @numba.njit(parallel=True, cache=False)
    def run(succ, cost, episodes, horizon, start, seeds, alpha, epsilon):
        n_states, n_actions = cost.shape
        q = np.zeros((seeds, n_states, n_actions))
        for b in numba.prange(seeds):
            np.random.seed(b)
            for _ in range(episodes):
                s = start
                for t in range(horizon):
                    if np.random.random() < epsilon:
                        a = np.random.randint(n_actions)
                    else:
                        a = 0
                        for k in range(1, n_actions):
                            if q[b, s, k] < q[b, s, a]:
                                a = k
                    s2 = succ[s, a]
                    best = q[b, s2, 0]
                    for k in range(1, n_actions):
                        best = min(best, q[b, s2, k])
                    target = cost[s, a] + (0.0 if t == horizon - 1 else best)
                    q[b, s, a] += alpha * (target - q[b, s, a])
                    s = s2
        return q

    return run


def jax_q_learning(succ, cost, episodes, horizon, start, alpha=0.1, epsilon=0.1):
    """Batched Q-learning the PureJaxRL way: one agent written for a single seed, ``jax.vmap`` over seeds,
    ``lax.scan`` over episodes and steps, jit-compiled for the CPU (float32, JAX's default; ties to the first
    action by argmin). Returns the function of the (seeds, 2) key array, not yet compiled."""
    import jax
    import jax.numpy as jnp

    succ_j, cost_j = jnp.asarray(succ, dtype=jnp.int32), jnp.asarray(cost, dtype=jnp.float32)
    n_states, n_actions = cost.shape

    def step(carry, t):
        q, s, key = carry
        key, k_explore, k_action = jax.random.split(key, 3)
        explore = jax.random.uniform(k_explore) < epsilon
        a = jnp.where(explore, jax.random.randint(k_action, (), 0, n_actions), jnp.argmin(q[s]))
        s2 = succ_j[s, a]
        target = cost_j[s, a] + jnp.where(t == horizon - 1, 0.0, q[s2].min())
        return (q.at[s, a].add(alpha * (target - q[s, a])), s2, key), None

    def episode(carry, _):
        q, key = carry
        (q, _, key), _ = jax.lax.scan(step, (q, jnp.int32(start), key), jnp.arange(horizon))
        return (q, key), None

    def agent(key):
        (q, _), _ = jax.lax.scan(episode, (jnp.zeros((n_states, n_actions), jnp.float32), key), None, length=episodes)
        return q

    return jax.jit(jax.vmap(agent))


def rate(updates: int, t: Timing) -> Timing:
    """Updates per second (median, and the range from the slowest to the fastest repeat)."""
    return Timing(updates / t.median, updates / t.high, updates / t.low)


def fmt(r: Timing) -> str:
    return f"{r.median:.3g}/s ({r.spread()})"


def copy_bandwidth(n_bytes: int = 2**28, times: int = 3) -> float:
    """Bytes per second moved by a large array copy (read + write), best of ``times``."""
    src, dst = np.ones(n_bytes // 8), np.empty(n_bytes // 8)
    np.copyto(dst, src)
    t = repeat(lambda: np.copyto(dst, src), times)
    return 2 * n_bytes / t.low


def measure(quick: bool = False) -> list[Row]:
    seeds, episodes, times = (256, 64, 2) if quick else (1024, 1024, 3)
    mdp = turn_mdp(TurnConfig(x_bounds=(0, 31), y_bounds=(0, 31), horizon=64))
    succ, cost = mdp.successors(), mdp.costs_float()
    tut_episodes = 20 if quick else 100
    tutorial = rate(
        tut_episodes * 64, repeat(lambda: tutorial_q_learning(succ, cost, tut_episodes, 64, mdp.start[0][0]), times)
    )
    learn(mdp, LearnerSettings(episodes=2, horizon=64), range(seeds), engine="numba")  # compile, start threads
    settings = LearnerSettings(episodes=episodes, horizon=64)
    fast = rate(seeds * episodes * 64, repeat(lambda: learn(mdp, settings, range(seeds), engine="numba"), times))
    plain = plain_numba_q_learning()
    succ64, start0 = succ.astype(np.int64), mdp.start[0][0]
    plain(succ64, cost, 2, 64, start0, seeds, 0.1, 0.1)  # compile
    user = rate(
        seeds * episodes * 64, repeat(lambda: plain(succ64, cost, episodes, 64, start0, seeds, 0.1, 0.1), times)
    )
    import jax

    jax_episodes = 16 if quick else 128  # its rate is flat in the episode count; fewer keep the run short
    keys = jax.random.split(jax.random.PRNGKey(0), seeds)
    begin = time.perf_counter()
    compiled = jax_q_learning(succ, cost, jax_episodes, 64, start0).lower(keys).compile()
    jax_compile = time.perf_counter() - begin
    jax_rate = rate(seeds * jax_episodes * 64, repeat(lambda: compiled(keys).block_until_ready(), times))
    slow_settings = LearnerSettings(episodes=4 if quick else 16, horizon=64)
    slow = rate(seeds * slow_settings.episodes * 64, repeat(lambda: learn(mdp, slow_settings, range(seeds)), times))

    import mdptoolbox.mdp as pmt

    pmt._util.check = lambda *a, **k: None  # dense S x S input check bypassed (same validated model)
    P = np.stack([mdp.transition_matrix(a).toarray() for a in range(mdp.n_actions)])  # its fastest input form
    n_iter = 10000 if quick else 20000
    np.random.seed(0)  # pymdptoolbox's QLearning draws from numpy's global RNG
    start = time.perf_counter()
    pmt.QLearning(P, -cost, 0.99, n_iter=n_iter).run()
    toolbox = n_iter / (time.perf_counter() - start)

    bandwidth = copy_bandwidth()
    limit = bandwidth / BYTES_PER_UPDATE
    case = f"Q-learning updates/s, {mdp.n_states} states x 4 actions, H = 64, {seeds} seeds x {episodes} episodes"
    return [
        show(
            Row(
                f"{case}, numba engine (end to end)",
                fmt(fast),
                f"tutorial loop {tutorial.median:.3g}/s",
                f"{fast.median / tutorial.median:.0f}x",
                ">= 1e8/s and >= 500x",
                fast.median >= 1e8 and fast.median / tutorial.median >= 500,
            )
        ),
        show(
            Row(
                f"{case}, numba engine vs a plain user-written numba loop (prange over seeds, numpy RNG)",
                fmt(fast),
                fmt(user),
                f"{fast.median / user.median:.2f}x",
                ">= 1.5x and >= 1.5e8/s",
                fast.median >= 1.5 * user.median and fast.median >= 1.5e8,
            )
        ),
        show(
            Row(
                f"Q-learning updates/s, {mdp.n_states} states x 4 actions, H = 64, {seeds} seeds x {jax_episodes} "
                f"episodes: JAX vmap + lax.scan on the CPU (jit compile {jax_compile:.2f} s, not in its rate)",
                f"numba {fast.median:.3g}/s",
                fmt(jax_rate),
                f"{fast.median / jax_rate.median:.1f}x",
                "",
                None,
            )
        ),
        show(
            Row(
                f"{case}, numpy engine",
                fmt(slow),
                f"tutorial loop {tutorial.median:.3g}/s",
                f"{slow.median / tutorial.median:.1f}x",
                "",
                None,
            )
        ),
        show(
            Row(
                "Q-learning updates/s, pymdptoolbox QLearning (dense P)",
                f"numba {fast.median:.3g}/s",
                f"{toolbox:.3g}/s",
                f"{fast.median / toolbox:.0f}x",
                "",
                None,
            )
        ),
        show(
            Row(
                f"memory-bandwidth limit: {BYTES_PER_UPDATE} B per update over copy bandwidth "
                f"{bandwidth / 1e9:.1f} GB/s",
                f"numba {fast.median:.3g}/s",
                f"limit {limit:.3g}/s",
                f"{100 * fast.median / limit:.0f}% of the limit",
                "",
                None,
            )
        ),
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and episodes (smoke run)")
    measure(parser.parse_args(argv).quick)


if __name__ == "__main__":
    main()
