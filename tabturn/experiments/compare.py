"""Learned greedy policies against the exact optimum, seed by seed: agreement, exact regret, class."""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from tabturn.core.limits import INT64_SAFE
from tabturn.exact.evaluate import path_value, policy_value, step_policy_value
from tabturn.exact.solution import Solution
from tabturn.exact.trajectory import optimal_trajectory, policy_graph

CLASSES = ("optimal", "always-up", "other", "untrained-path", "unvisited")
# Exclusive, decided in this order: "unvisited" (training never visited the world), "untrained-path" (the greedy
# policy from the world's start reaches a state, or state-step, whose row training never updated: what it does
# there is the initial value and the tie-break), then "optimal" (zero exact regret), "always-up" (not optimal and
# the greedy path goes up at every step), "other".


def worlds(solution: Solution) -> dict[str, int]:
    """Start states to report on: for the turn family the start cell observed and unobserved; for a gridworld one per
    observed start coin value (gridworld_behaviour.world_names); else the start."""
    from tabturn.experiments.gridworld_behaviour import gridworld_of, world_names

    mdp = solution.mdp
    world = gridworld_of(mdp)
    if world is not None:
        return world_names(mdp, world)
    start = mdp.start[0][0]
    label = mdp.state_labels[start]
    if isinstance(label, tuple) and len(label) == 3:
        x, y, _ = label
        return {"observed": mdp.index_of((x, y, True)), "unobserved": mdp.index_of((x, y, False))}
    return {"start": start}  # also supervised-until: one world, watched until the switch step


def world_states(solution: Solution, world: str) -> np.ndarray:
    """(S,) bool: the states of ``world`` (for the turn family, the copy with that observed flag; else all)."""
    mdp = solution.mdp
    if world in ("observed", "unobserved"):
        flag = world == "observed"
        return np.array([label[2] == flag for label in mdp.state_labels])
    return np.ones(mdp.n_states, dtype=bool)


def world_coverage(solution: Solution, visited: np.ndarray) -> dict[str, np.ndarray]:
    """{world: (B,) fraction of the world's states (state-steps for (B, H, S) input) that training visited}."""
    visited = np.asarray(visited, dtype=bool)
    flat = visited.reshape(len(visited), -1, visited.shape[-1])  # (B, steps, S)
    return {world: flat[:, :, world_states(solution, world)].mean(axis=(1, 2)) for world in worlds(solution)}


def successor_table(mdp) -> np.ndarray:
    """(S, A, K) int64: the possible successors of each (state, action), padded by repeating the last."""
    K = mdp.max_successors()
    return np.stack([m.padded_rows(K)[0] for m in mdp.transition_numerators], axis=1)


def reachable_part(policy: np.ndarray, start: int, succ: np.ndarray) -> np.ndarray:
    """``policy`` with every entry that cannot be reached from ``start`` under it set to action 0.

    Stationary (S,) or time-indexed (T, S). The value at ``start`` is unchanged, so policies that agree
    where they can be reached share one exact evaluation."""
    out = np.zeros_like(policy)
    if policy.ndim == 1:
        seen, frontier = {start}, [start]
        while frontier:
            s = frontier.pop()
            out[s] = policy[s]
            for n in succ[s, policy[s]].tolist():
                if n not in seen:
                    seen.add(n)
                    frontier.append(n)
        return out
    layer = np.array([start])
    for t in range(len(policy)):
        out[t, layer] = policy[t, layer]
        layer = np.unique(succ[layer, policy[t, layer]])
    return out


def likely_successors(mdp) -> np.ndarray:
    """(S, A) int64: the most probable successor of each (state, action), ties to the lowest index."""
    out = np.zeros((mdp.n_states, mdp.n_actions), dtype=np.int64)
    for a, m in enumerate(mdp.transition_numerators):
        cols, nums = m.padded_rows()
        best = np.where(nums > 0, nums, -1)  # padding never wins; columns ascend, so argmax's first is the lowest
        out[:, a] = cols[np.arange(mdp.n_states), np.argmax(best, axis=1)]
    return out


def batched_paths(policies: np.ndarray, start: int, steps: int, likely: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(actions (B, steps), states (B, steps + 1)) of B policies, stationary (B, S) or time-indexed (B, T, S),
    from ``start`` along the most probable successors (ties: lowest index), all policies at once."""
    B = len(policies)
    states = np.empty((B, steps + 1), dtype=np.int64)
    actions = np.empty((B, steps), dtype=np.int64)
    states[:, 0] = start
    rows = np.arange(B)
    for t in range(steps):
        s = states[:, t]
        a = policies[rows, s] if policies.ndim == 2 else policies[rows, min(t, policies.shape[1] - 1), s]
        actions[:, t] = a
        states[:, t + 1] = likely[s, a]
    return actions, states


def untrained_reach(
    policies: np.ndarray, start: int, steps: int, succ: np.ndarray, visited: np.ndarray, terminal: np.ndarray
) -> np.ndarray:
    """(B,) bool: whether policy b, followed from ``start`` for ``steps`` decisions, can reach (with positive
    probability: every successor counts) a non-terminal state whose row training never updated.

    ``policies`` and ``visited`` are both stationary (B, S) or both step-indexed (B, H, S); a step-indexed policy
    decides at step t with row t (the last row beyond H). For deterministic dynamics this is the greedy path."""
    reach = np.zeros((len(policies), policies.shape[-1]), dtype=bool)
    reach[:, start] = True
    found = np.zeros(len(policies), dtype=bool)
    timed = policies.ndim == 3
    seen = reach.copy()  # stationary: every state reached so far (a fixpoint ends the walk early)
    for t in range(steps):
        k = min(t, policies.shape[1] - 1) if timed else 0
        pol = policies[:, k] if timed else policies
        trained = visited[:, min(t, visited.shape[1] - 1)] if timed else visited
        found |= (reach & ~trained & ~terminal[None, :]).any(axis=1)
        nxt = np.zeros_like(reach)
        b_idx, s_idx = np.nonzero(reach)
        nxt[b_idx[:, None], succ[s_idx, pol[b_idx, s_idx]]] = True  # every possible successor of a reached state
        reach = nxt
        if not timed:
            reach &= ~seen  # a state reached before was checked then, and its successors followed
            if not reach.any():
                break
            seen |= reach
    return found


def _batched_path_values(mdp, actions: np.ndarray, states: np.ndarray) -> list[Fraction] | None:
    """Exact values (objective units) of deterministic finite paths with discount 1, summed in int64 when provably
    safe; None when a bound could overflow (the caller then evaluates each policy exactly)."""
    cost, final = np.asarray(mdp.cost_numerators), np.asarray(mdp.final_numerators)
    if cost.dtype == object or final.dtype == object:
        return None
    bound = int(np.abs(cost).max(initial=0)) * actions.shape[1] + int(np.abs(final).max(initial=0))
    if bound >= INT64_SAFE:
        return None
    totals = cost[states[:, :-1], actions].sum(axis=1) + final[states[:, -1]]
    return [Fraction(int(v), mdp.cost_denominator) for v in totals]


def optimal_path_steps(solution: Solution) -> list[tuple[int, int]]:
    """(step, state) pairs visited by the first-index optimal policy from the start."""
    mdp = solution.mdp
    if mdp.is_deterministic() and len(mdp.start) == 1:
        traj = optimal_trajectory(solution)
        states = [mdp.index_of(lab) for lab in traj["states"][:-1]]
        return list(enumerate(states))
    return [(0, s) for s in sorted(policy_graph(solution).nodes)]


@dataclass(frozen=True, eq=False)
class Comparison:
    """Per-seed comparison of greedy policies with the exact optimum.

    Attributes:
      agreement_all: (B,) fraction of non-terminal states where the greedy action is in the step-0 optimal set.
      agreement_path: (B,) the same over the states (and steps) of the optimal trajectory from the start.
      regret: {world: [Fraction] * B} exact regret at the world's start state (>= 0, objective units).
      up_forever: {world: (B,) bool} whether the greedy path from the world's start goes up at every step,
        whatever its regret (the class "always-up" is the part of these that is visited and not optimal).
      classes: {world: [str] * B}: "optimal" (zero regret), "always-up", "other", or "unvisited" (training
        never visited a state of that world: its greedy choices are the initial values and the tie-break).
      exact_up_forever_optimal: {world: bool} whether going up forever is itself optimal from that start.
      coverage: {world: (B,) fraction of the world's states (or state-steps) visited in training}, or None
        when the visits are unknown (then no seed is classed "unvisited").
      first_action: {world: (B,) int} the greedy action at the world's start (step 0), or None.
      path_down: {world: (B,) bool} whether the greedy path from the world's start moves "down" at some step,
        or None.
      agreement_trained: (B,) share of the states (state-steps for a step-indexed policy) training updated where
        the greedy action is in the optimal set (of that step), or None when the visits are unknown.
      untrained_path: {world: (B,) bool} whether the greedy policy from the world's start reaches a state (or
        state-step) training never updated (untrained_reach), or None when the visits are unknown.
    """

    agreement_all: np.ndarray
    agreement_path: np.ndarray
    regret: dict[str, list[Fraction]]
    up_forever: dict[str, np.ndarray]
    classes: dict[str, list[str]]
    exact_up_forever_optimal: dict[str, bool | None]
    coverage: dict[str, np.ndarray] | None = None
    first_action: dict[str, np.ndarray] | None = None
    path_down: dict[str, np.ndarray] | None = None
    untrained_path: dict[str, np.ndarray] | None = None
    agreement_trained: np.ndarray | None = None
    class_names: tuple[str, ...] = CLASSES

    def coverage_of(self, world: str) -> np.ndarray:
        """(B,) share of ``world``'s states visited in training; ValueError when the visits are unknown."""
        if self.coverage is None:
            raise ValueError("this comparison was made without the training visits (compare(..., visited))")
        return self.coverage[world]


def compare(solution: Solution, greedy: np.ndarray, visited: np.ndarray | None = None) -> Comparison:
    """Compare policies with ``solution``: stationary (B, S) arrays of MDP action indices, or time-indexed
    (B, H, S) arrays for a finite horizon H (regret and paths then follow step t's row; agreement uses step 0).

    ``visited`` ((B, S) or (B, H, S) bool, e.g. LearnResult.visited()) gives each world's coverage; a seed
    that never visited a world is classed "unvisited" there."""
    mdp = solution.mdp
    greedy = np.asarray(greedy, dtype=np.int64)
    timed = greedy.ndim == 3
    if timed and (solution.horizon is None or greedy.shape[1] != solution.horizon):
        raise ValueError("time-indexed policies need a finite-horizon solution with the same horizon")
    steps_of = greedy
    greedy = greedy[:, 0, :] if timed else np.atleast_2d(greedy)
    steps = solution.horizon if solution.horizon is not None else mdp.n_states
    masks = solution.action_masks.astype(np.uint64)
    in_set = (masks[0][None, :] >> greedy.astype(np.uint64)) & np.uint64(1)
    path = optimal_path_steps(solution)
    acting = (lambda t, s: steps_of[:, min(t, steps_of.shape[1] - 1), s]) if timed else (lambda t, s: greedy[:, s])
    path_hits = np.stack(
        [(masks[min(t, len(masks) - 1), s] >> acting(t, s).astype(np.uint64)) & np.uint64(1) for t, s in path], axis=1
    )
    cache: dict[tuple[int, bytes], Fraction] = {}
    succ = successor_table(mdp)
    deterministic = succ.shape[2] == 1
    likely = likely_successors(mdp)
    regret: dict[str, list[Fraction]] = {}
    classes: dict[str, list[str]] = {}
    up_forever: dict[str, np.ndarray] = {}
    first: dict[str, np.ndarray] = {}
    down: dict[str, np.ndarray] = {}
    names = mdp.action_names
    gridworld = mdp.description.get("builder") == "gridworld"  # "always-up" is the turn family's word, not theirs
    up_index = names.index("up") if "up" in names and not gridworld else -1
    down_index = names.index("down") if "down" in names else -1
    starts = worlds(solution)
    coverage = None if visited is None else world_coverage(solution, visited)
    policies = steps_of if timed else greedy
    trained = None if visited is None else _visits_like(np.asarray(visited, dtype=bool), policies)
    untrained: dict[str, np.ndarray] = {}
    for world, start in starts.items():
        optimum = solution.value(start)
        actions, states = batched_paths(policies, start, steps, likely)
        up_forever[world] = (actions == up_index).all(axis=1) if steps else np.zeros(len(greedy), dtype=bool)
        down[world] = (actions == down_index).any(axis=1)
        first[world] = greedy[:, start].copy()
        values = (
            _batched_path_values(mdp, actions, states)
            if deterministic and solution.horizon is not None and solution.discount == 1
            else None
        )
        untrained[world] = (
            np.zeros(len(greedy), dtype=bool)
            if trained is None
            else untrained_reach(policies, start, steps, succ, trained, mdp.terminal)
        )
        regret[world], classes[world] = [], []
        for b in range(len(greedy)):
            if values is not None:
                value = values[b]
            else:
                policy = steps_of[b] if timed else greedy[b]
                restricted = reachable_part(policy, start, succ)  # the value at start depends on nothing else
                key = (start, restricted.tobytes())
                if key not in cache:
                    cache[key] = (
                        path_value(mdp, restricted, start, solution.horizon, solution.discount)
                        if deterministic
                        else step_policy_value(mdp, restricted, solution.discount)[start]
                        if timed
                        else policy_value(mdp, restricted, solution.horizon, solution.discount)[start]
                    )
                value = cache[key]
            r = mdp.sign * (value - optimum)
            regret[world].append(r)
            never = coverage is not None and coverage[world][b] == 0
            classes[world].append(
                "unvisited"
                if never
                else "untrained-path"
                if untrained[world][b]
                else "optimal"
                if r == 0
                else "always-up"
                if up_forever[world][b]
                else "other"
            )
    exact_up: dict[str, bool | None] = {}
    if "up" in mdp.action_names and not gridworld:
        up_policy = np.full(mdp.n_states, mdp.action_names.index("up"))
        up_values = policy_value(mdp, up_policy, solution.horizon, solution.discount)
        exact_up = {w: up_values[s] == solution.value(s) for w, s in starts.items()}
    return Comparison(
        in_set[:, ~mdp.terminal].mean(axis=1),  # over the states where the policy acts (as check's agreement)
        path_hits.mean(axis=1),
        regret,
        up_forever,
        classes,
        exact_up,
        coverage,
        first,
        down,
        None if trained is None else untrained,
        _agreement_trained(masks, policies, trained),
        tuple(c for c in CLASSES if c != "always-up") if gridworld else CLASSES,
    )


def _agreement_trained(masks: np.ndarray, policies: np.ndarray, trained: np.ndarray | None) -> np.ndarray | None:
    """(B,) share of the state(-step)s training updated where the greedy action is in the optimal set (step t's
    set for a step-indexed policy, step 0's for a stationary one); NaN for a seed that updated nothing."""
    if trained is None:
        return None
    if policies.ndim == 3:
        t = np.minimum(np.arange(policies.shape[1]), len(masks) - 1)
        hits = (masks[t][None, :, :] >> policies.astype(np.uint64)) & np.uint64(1)
    else:
        hits = (masks[0][None, :] >> policies.astype(np.uint64)) & np.uint64(1)
    hits = hits.astype(bool).reshape(len(policies), -1)
    counted = trained.reshape(len(policies), -1)
    n = counted.sum(axis=1)
    return np.where(n > 0, (hits & counted).sum(axis=1) / np.maximum(n, 1), np.nan)


def _visits_like(visited: np.ndarray, policies: np.ndarray) -> np.ndarray:
    """The visits, checked to have the policies' shape (stationary (B, S) or step-indexed (B, H, S))."""
    if visited.shape != policies.shape:
        raise ValueError(f"visits of shape {visited.shape} do not fit policies of shape {policies.shape}")
    return visited


def class_counts(classes: list[str]) -> dict[str, int]:
    """How many seeds fall in each class."""
    return {c: sum(1 for x in classes if x == c) for c in CLASSES}
