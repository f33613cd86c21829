"""Benchmark: batched Q-learning updates per second, tabturn vs a tutorial loop vs pymdptoolbox QLearning.

Q-learning on the turn family: 32x32 grid with both flags (2048 states), 4 actions, episodes of H = 64
steps, 1024 seeds. Run: `make bench` (or `python benchmarks/learn.py [--quick]`). pymdptoolbox's dense
input check is bypassed (same model). All three are measured in this run; ratios are against tabturn.
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from tabturn.config import TurnConfig
from tabturn.learn import LearnerSettings, learn
from tabturn.turn import turn_mdp


def tutorial_q_learning(succ, cost, episodes, horizon, start, alpha=0.1, epsilon=0.1, gamma=1.0, seed=0):
    """The usual per-step Python loop (one agent), as written in tutorials."""
    rng = np.random.default_rng(seed)
    n_states, n_actions = cost.shape
    q = np.zeros((n_states, n_actions))
    for _ in range(episodes):
        s = start
        for t in range(horizon):
            if rng.random() < epsilon:
                a = int(rng.integers(n_actions))
            else:
                a = int(np.argmin(q[s]))
            s2 = int(succ[s, a])
            target = cost[s, a] + (0.0 if t == horizon - 1 else gamma * q[s2].min())
            q[s, a] += alpha * (target - q[s, a])
            s = s2
    return q


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer seeds and episodes (smoke run)")
    args = parser.parse_args(argv)
    seeds, episodes = (64, 4) if args.quick else (1024, 16)
    cfg = TurnConfig(x_bounds=(0, 31), y_bounds=(0, 31), horizon=64)
    mdp = turn_mdp(cfg)
    settings = LearnerSettings(episodes=episodes, horizon=64)
    learn(mdp, LearnerSettings(episodes=1, horizon=4), range(4))  # warm-up
    start = time.perf_counter()
    learn(mdp, settings, range(seeds))
    ours = seeds * episodes * 64 / (time.perf_counter() - start)
    fast = None
    try:
        fast_episodes = episodes * 32
        learn(mdp, LearnerSettings(episodes=2, horizon=64), range(seeds), engine="numba")  # compile, start threads
        start = time.perf_counter()
        learn(mdp, LearnerSettings(episodes=fast_episodes, horizon=64), range(seeds), engine="numba")
        fast = seeds * fast_episodes * 64 / (time.perf_counter() - start)
    except Exception as exc:  # noqa: BLE001  (report, do not hide: the numba extra may be absent)
        print(f"numba engine unavailable: {exc}")

    succ, cost = mdp.successors(), mdp.costs_float()
    tut_episodes = 20 if args.quick else 100
    start = time.perf_counter()
    tutorial_q_learning(succ, cost, tut_episodes, 64, mdp.start[0][0])
    tutorial = tut_episodes * 64 / (time.perf_counter() - start)

    import mdptoolbox.mdp as pmt

    pmt._util.check = lambda *a, **k: None  # dense S x S input check bypassed (same validated model)
    # Dense (A, S, S) input: pymdptoolbox's QLearning samples a row of P every step, which is its fastest
    # with dense arrays (with sparse ones it ran at about 40 updates/s here).
    P = np.stack([mdp.transition_matrix(a).toarray() for a in range(mdp.n_actions)])
    n_iter = 10000 if args.quick else 20000
    np.random.seed(0)  # pymdptoolbox's QLearning draws from numpy's global RNG
    start = time.perf_counter()
    pmt.QLearning(P, -cost, 0.99, n_iter=n_iter).run()
    toolbox = n_iter / (time.perf_counter() - start)

    print(f"Q-learning, {mdp.n_states} states x {mdp.n_actions} actions, H = 64 "
          f"(tabturn: {seeds} seeds; pymdptoolbox: dense P, its check bypassed, {n_iter} steps)")
    print(f"  tabturn, numpy engine   {ours:14,.0f} updates/s   vs tutorial {ours / tutorial:8.1f}x   "
          f"vs pymdptoolbox {ours / toolbox:10.1f}x")
    if fast is not None:
        print(f"  tabturn, numba engine   {fast:14,.0f} updates/s   vs tutorial {fast / tutorial:8.1f}x   "
              f"vs pymdptoolbox {fast / toolbox:10.1f}x   (end to end: allocation, random draws, kernel)")
    print(f"  tutorial Python loop    {tutorial:14,.0f} updates/s")
    print(f"  pymdptoolbox QLearning  {toolbox:14,.0f} updates/s")
    best = max(ours, fast or 0)
    print(f"  target: >= 2e7 updates/s and >= 100x the tutorial loop; best reached {best:.3g} updates/s, "
          f"{best / tutorial:.0f}x the tutorial loop")


if __name__ == "__main__":
    main()
