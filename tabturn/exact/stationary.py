"""The best stationary deterministic policy from one start: does the class of stationary tables hold an optimum?

A finite-horizon optimum may need the step (a policy indexed by t); a stationary policy picks one action per
state for every step. On a deterministic MDP a stationary policy's path from the start is rho-shaped (distinct
states, then a cycle), so the class can be searched exactly: a depth-first search over paths that assigns an
action the first time the path enters a state and must reuse it on every return, with the bound
``prefix + gamma^t V*_t(s)`` (the unrestricted optimum can only be better). First the search keeps only bound =
V*_0(start) — the optimal action sets — which decides whether an exactly optimal stationary policy exists; if
none does, a branch-and-bound finds the best stationary value. Every number is an integer or a Fraction, and a
policy found is re-evaluated by exact path evaluation before it is returned.

With an ``observation`` map (states that look alike to the agent, e.g. a flag-blind one) the class is the
stationary policies over observations: the search assigns an action per observation and must reuse it in every
state that shows it; the bound stays valid, so the answer is exact in the same way. Such classes can also miss
the optimum of an infinite horizon, so they are searched there only with a finite horizon.

Infinite discounted horizons always have a stationary deterministic optimum. Stochastic finite horizons are
decided only when one action is optimal at every step of every state (then that policy is optimal, checked by
exact evaluation); otherwise the answer is "undecided".
"""

from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.mdp import TabularMDP
from tabturn.exact.evaluate import path_value, policy_value
from tabturn.exact.solution import Solution

MAX_STEP_STATES = 4_000_000  # horizon x states of the step values the search holds
MAX_NODES = 2_000_000  # search nodes per phase (a node: one (step, state, action) on a path)
STATUSES = ("exists", "none", "undecided")


@dataclass(frozen=True)
class StationaryOptimum:
    """Whether a stationary deterministic policy is exactly optimal from ``start``.

    Attributes:
      status: "exists" (one is; ``policy`` holds it), "none" (none is: decided exactly; ``policy`` holds a best
        stationary policy and ``regret`` its exact regret), or "undecided" (``reason`` says why).
      start: the start state.
      optimum: the exact optimal value from ``start`` (objective units, any policy).
      value: the best stationary policy's exact value, or None when undecided.
      regret: optimum minus that value in the objective's direction (>= 0), or None.
      policy: {state: action} along the best stationary policy's path from ``start`` (other states do not matter),
        or None.
      path: the actions along that path (first-horizon steps), by index; ``action_names`` the same by name.
      nodes: search nodes visited.
      reason: how the answer was reached.
    """

    status: str
    start: int
    optimum: Fraction
    value: Fraction | None
    regret: Fraction | None
    policy: dict[int, int] | None
    path: tuple[int, ...] = ()
    nodes: int = 0
    reason: str = ""
    action_names: tuple[str, ...] = ()

    @classmethod
    def undecided(cls, start: int, optimum: Fraction, reason: str, nodes: int = 0) -> StationaryOptimum:
        """No exact answer: ``reason`` says why."""
        return cls("undecided", start, optimum, None, None, None, nodes=nodes, reason=reason)


def stationary_optimum(
    solution: Solution, start: int, max_nodes: int = MAX_NODES, observation: np.ndarray | None = None
) -> StationaryOptimum:
    """Decide exactly whether some stationary deterministic policy (over ``observation`` classes of states, when
    given: one action per class) is optimal from ``start`` (see module doc)."""
    mdp = solution.mdp
    optimum = solution.value(start)
    if observation is not None and solution.horizon is None:
        return StationaryOptimum.undecided(start, optimum, "observation classes are searched for finite horizons only")
    if observation is not None and not mdp.is_deterministic():
        return StationaryOptimum.undecided(
            start, optimum, "stochastic dynamics with observation classes: no exact method applies"
        )
    if solution.horizon is None:
        policy = np.array([solution.optimal_actions(s)[0] for s in range(mdp.n_states)])
        return StationaryOptimum(
            "exists",
            start,
            optimum,
            optimum,
            Fraction(0),
            _on_path(mdp, policy, start),
            reason="an infinite discounted horizon has a stationary deterministic optimal policy",
        )
    if not mdp.is_deterministic():
        return _stochastic(solution, start, optimum)
    H, S = solution.horizon, mdp.n_states
    if H * S > MAX_STEP_STATES:
        raise InputError(
            "horizon",
            f"the stationary-policy search holds horizon x states values; {H} x {S} = {H * S} exceeds "
            f"{MAX_STEP_STATES}",
        )
    search = _Search(mdp, H, solution.discount, start, observation)
    found = search.run(bound_limit=search.v_start, strict=False, max_nodes=max_nodes)
    if found is None and search.exhausted:
        nodes_first = search.nodes
        found = search.run(bound_limit=None, strict=True, max_nodes=max_nodes)
        search.nodes += nodes_first
    if found is None:
        return StationaryOptimum.undecided(start, optimum, f"the search stopped at {max_nodes} nodes", search.nodes)
    value_units, assign = found
    policy = np.zeros(S, dtype=np.int64)
    classes = np.arange(S) if observation is None else np.asarray(observation)
    for s in range(S):
        policy[s] = assign.get(int(classes[s]), 0)
    if observation is not None:
        assign = _on_path(mdp, policy, start)
    value = path_value(mdp, policy, start, H, solution.discount)
    if mdp.sign * value != Fraction(value_units) / mdp.cost_denominator:  # the search's arithmetic, re-checked
        raise AssertionError("stationary search value disagrees with exact path evaluation")
    regret = mdp.sign * (value - optimum)
    path = _path_actions(mdp, policy, start, H)
    if regret == 0:
        return StationaryOptimum(
            "exists",
            start,
            optimum,
            value,
            regret,
            assign,
            path,
            search.nodes,
            "exact search over the optimal action sets found a stationary policy with regret 0",
            tuple(mdp.action_names[a] for a in path),
        )
    return StationaryOptimum(
        "none",
        start,
        optimum,
        value,
        regret,
        assign,
        path,
        search.nodes,
        "exact search: no path through the optimal action sets reuses one action per state; "
        "branch-and-bound gives the best stationary policy",
        tuple(mdp.action_names[a] for a in path),
    )


class _Search:
    """Depth-first search over rho-shaped paths in cost units (sign x numerators; exact integers/Fractions)."""

    def __init__(
        self, mdp: TabularMDP, horizon: int, gamma: Fraction, start: int, observation: np.ndarray | None = None
    ) -> None:
        self.H, self.start = horizon, start
        self.key = list(range(mdp.n_states)) if observation is None else [int(o) for o in observation]
        sign = mdp.sign
        self.cost = [[sign * int(c) for c in row] for row in np.asarray(mdp.cost_numerators).tolist()]
        self.terminal = mdp.terminal.tolist()
        self.gamma: Fraction | int = 1 if gamma == 1 else Fraction(gamma)
        self.weights = [self.gamma**t for t in range(horizon + 1)]
        S, A = mdp.n_states, mdp.n_actions
        # values[t][s]: the optimal cost-to-go with t steps elapsed (step H: the final cost), cost units
        final = [sign * int(f) for f in np.asarray(mdp.final_numerators).tolist()]
        values = [final]
        succ = mdp.successors().tolist()
        for _ in range(horizon):
            nxt = values[-1]
            values.append(
                [
                    min(self.cost[s][a] + self.gamma * nxt[succ[s][a]] for a in range(A))  # terminal: absorbing, 0
                    for s in range(S)
                ]
            )
        self.values = values[::-1]  # values[t]
        self.succ_list = succ
        self.A = A
        self.v_start = self.values[0][start]
        self.nodes = 0
        self.exhausted = False

    def run(self, bound_limit: Any, strict: bool, max_nodes: int) -> tuple[Any, dict[int, int]] | None:
        """(value, {state: action}) of the best path found whose bound stays within ``bound_limit`` (None: branch
        and bound against the best so far, ``strict`` improvement); None if there is none or the limit hit."""
        self.nodes, self.exhausted = 0, False
        best: list[Any] = [None, None]
        assign: dict[int, int] = {}
        H, succ, cost, values, w, key = self.H, self.succ_list, self.cost, self.values, self.weights, self.key

        def limit() -> Any:
            return bound_limit if bound_limit is not None else best[0]

        # frames: [t, s, prefix, options, next option index, assigned here]
        stack: list[list[Any]] = []

        def push(t: int, s: int, prefix: Any) -> None:
            if t == H or self.terminal[s]:
                total = prefix + w[t] * values[t][s]
                if best[0] is None or total < best[0]:
                    best[0], best[1] = total, dict(assign)
                return
            if key[s] in assign:
                options, fresh = [assign[key[s]]], False
            else:
                options = sorted(range(self.A), key=lambda a: cost[s][a] + self.gamma * values[t + 1][succ[s][a]])
                fresh = True
            stack.append([t, s, prefix, options, 0, fresh])

        push(0, self.start, 0)
        while stack:
            if bound_limit is not None and best[0] is not None:
                break  # phase 1: any path within the optimal sets will do
            frame = stack[-1]
            t, s, prefix, options, i, fresh = frame
            if fresh:
                assign.pop(key[s], None)  # the option tried last is undone
            if i == len(options):
                stack.pop()
                continue
            frame[4] = i + 1
            a = options[i]
            bound = prefix + w[t] * (cost[s][a] + self.gamma * values[t + 1][succ[s][a]])
            lim = limit()
            if lim is not None and (bound > lim or (strict and bound >= lim)):
                if fresh:
                    frame[4] = len(options)  # options are sorted by bound: the rest are no better
                continue
            self.nodes += 1
            if self.nodes > max_nodes:
                return None
            if fresh:
                assign[key[s]] = a
            push(t + 1, succ[s][a], prefix + w[t] * cost[s][a])
        self.exhausted = True
        return None if best[0] is None else (best[0], best[1])


def _path_actions(mdp: TabularMDP, policy: np.ndarray, start: int, horizon: int) -> tuple[int, ...]:
    succ, s, out = mdp.successors(), start, []
    for _ in range(horizon):
        if mdp.terminal[s]:
            break
        out.append(int(policy[s]))
        s = int(succ[s, policy[s]])
    return tuple(out)


def _on_path(mdp: TabularMDP, policy: np.ndarray, start: int) -> dict[int, int]:
    """{state: action} of ``policy`` at the states its path (or, stochastic, its reach) from ``start`` visits."""
    seen, frontier = {start}, [start]
    while frontier:
        s = frontier.pop()
        for n, _ in mdp.next_states(s, int(policy[s])):
            if n not in seen:
                seen.add(n)
                frontier.append(n)
    return {s: int(policy[s]) for s in sorted(seen)}


def _stochastic(solution: Solution, start: int, optimum: Fraction) -> StationaryOptimum:
    """Stochastic finite horizon: decided only when an action is optimal at every step of every state."""
    mdp = solution.mdp
    masks = np.bitwise_and.reduce(solution.action_masks.astype(np.uint64), axis=0)
    if not masks.all():
        return StationaryOptimum.undecided(
            start,
            optimum,
            "stochastic dynamics and no action optimal at every step of every state: no exact method applies",
        )
    policy = np.array([(int(m) & -int(m)).bit_length() - 1 for m in masks])
    value = policy_value(mdp, policy, solution.horizon, solution.discount)[start]
    regret = mdp.sign * (value - optimum)
    if regret != 0:  # cannot happen: every action of the policy is optimal at every step
        raise AssertionError("a policy of always-optimal actions has nonzero exact regret")
    return StationaryOptimum(
        "exists",
        start,
        optimum,
        value,
        regret,
        _on_path(mdp, policy, start),
        reason="one action is optimal at every step of every state; exact evaluation gives regret 0",
    )


def step_observation_optimum(solution: Solution, start: int, observation: np.ndarray) -> StationaryOptimum:
    """Whether a step-indexed policy over ``observation`` classes (one action per (step, class)) is optimal from
    ``start``: on deterministic dynamics always (each step of a path visits one state, so the optimal path's
    actions fit one table row per step), checked by exact evaluation of that policy; else undecided."""
    mdp = solution.mdp
    optimum = solution.value(start)
    if solution.horizon is None or not mdp.is_deterministic():
        return StationaryOptimum.undecided(
            start, optimum, "step-indexed observation policies are decided on deterministic finite horizons only"
        )
    from tabturn.exact.evaluate import step_policy_value

    H, succ, obs = solution.horizon, mdp.successors(), np.asarray(observation)
    table = np.zeros((H, int(obs.max()) + 1), dtype=np.int64)
    s, path = start, []
    for t in range(H):
        if mdp.terminal[s]:
            break
        a = solution.optimal_actions(s, t)[0]
        table[t, obs[s]] = a
        path.append(a)
        s = int(succ[s, a])
    value = step_policy_value(mdp, table[:, obs], solution.discount)[start]
    regret = mdp.sign * (value - optimum)
    if regret != 0:  # cannot happen: the policy follows an optimal path
        raise AssertionError("a step-indexed observation policy along an optimal path has nonzero exact regret")
    return StationaryOptimum(
        "exists",
        start,
        optimum,
        value,
        regret,
        None,
        tuple(path),
        reason="deterministic dynamics: the optimal path's actions fit one row per step; exact evaluation gives "
        "regret 0",
        action_names=tuple(mdp.action_names[a] for a in path),
    )
