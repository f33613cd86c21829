"""When does a trajectory turn? The step from which it goes up at every step until the top row (the start of its
final run of ups), for the exact optimum (earliest and latest over every optimal path) and for learned policies."""

from __future__ import annotations

import numpy as np

from tabturn.exact.solution import Solution


def turn_step(actions, ys, y_high: int) -> int | None:
    """The turn step of one trajectory (actions[t] taken at height ys[t]), or None when it does not end in a run of
    ups (or starts at the top row)."""
    turn = None
    for t, action in enumerate(actions):
        if ys[t] >= y_high:
            break
        if action != "up":
            turn = None
        elif turn is None:
            turn = t
    return turn


def optimal_turn_steps(solution: Solution) -> tuple[int | None, int | None]:
    """(earliest, latest) turn step over every optimal path from the start of a deterministic finite-horizon
    turn-family solution (None, None when no optimal path turns)."""
    mdp, H = solution.mdp, solution.horizon
    if H is None or not mdp.is_deterministic():
        raise ValueError("optimal_turn_steps needs a deterministic finite-horizon solution")
    succ, up = mdp.successors(), mdp.action_names.index("up") if "up" in mdp.action_names else -1
    y_high = max(label[1] for label in mdp.state_labels)
    ys = np.array([label[1] for label in mdp.state_labels])
    # climbs[t][s]: from step t at s, going up at every step until the top row (or the horizon) is optimal
    climbs = [np.ones(mdp.n_states, dtype=bool)]
    for t in range(H - 1, -1, -1):
        nxt = climbs[-1]
        ok = np.zeros(mdp.n_states, dtype=bool)
        if up >= 0:
            masks = solution.action_masks[min(t, len(solution.action_masks) - 1)].astype(np.uint64)
            up_optimal = ((masks >> np.uint64(up)) & np.uint64(1)).astype(bool)
            ok = up_optimal & nxt[succ[:, up]]
        climbs.append(ok | (ys >= y_high))
    climbs = climbs[::-1]
    # forward over optimal paths: (state, whether the last action was up)
    frontier = {(mdp.start[0][0], False)}
    turns = []
    for t in range(H):
        nxt_frontier = set()
        for s, last_up in frontier:
            if ys[s] < y_high and not last_up and climbs[t][s]:
                turns.append(t)
            for a in solution.optimal_actions(s, t):
                nxt_frontier.add((int(succ[s, a]), a == up))
        frontier = nxt_frontier
    return (min(turns), max(turns)) if turns else (None, None)


def greedy_turn_steps(mdp, policies: np.ndarray, start: int, horizon: int) -> list[int | None]:
    """The turn step of each seed's greedy trajectory ((B, S) stationary or (B, H, S) step-indexed actions)."""
    succ = mdp.successors()
    y_high = max(label[1] for label in mdp.state_labels)
    names = mdp.action_names
    out = []
    for policy in np.asarray(policies):
        s, actions, ys = start, [], []
        for t in range(horizon):
            a = int(policy[t, s] if policy.ndim == 2 else policy[s])
            actions.append(names[a])
            ys.append(mdp.state_labels[s][1])
            s = int(succ[s, a])
        out.append(turn_step(actions, ys, y_high))
    return out
