"""State graphs of an MDP and of its optimal policy (networkx): reachability, trajectories, attractors."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from tabturn.core.mdp import TabularMDP
from tabturn.exact.solution import Solution

if TYPE_CHECKING:
    import networkx as nx


def transition_graph(mdp: TabularMDP) -> nx.DiGraph:
    """Directed graph with an edge s -> t whenever some action moves s to t with positive probability."""
    import networkx as nx

    union = sum((m.to_scipy() != 0).astype(np.int8) for m in mdp.transition_numerators)
    return nx.from_scipy_sparse_array(union, create_using=nx.DiGraph)


def reachable_states(mdp: TabularMDP) -> set[int]:
    """States reachable from the start distribution under some sequence of actions."""
    import networkx as nx

    graph = transition_graph(mdp)
    out: set[int] = set()
    for s, _ in mdp.start:
        out |= {s} | nx.descendants(graph, s)
    return out


def first_optimal_action(solution: Solution, state: int, step: int = 0) -> int:
    """The first optimal action in action order (the tie-break used for trajectories)."""
    return solution.optimal_actions(state, step)[0]


def optimal_trajectory(solution: Solution, start: int | None = None, max_steps: int | None = None) -> dict[str, Any]:
    """Trajectory of the first-index optimal policy from ``start`` on a deterministic MDP.

    Follows the step-indexed optimal sets for a finite horizon (H steps), the stationary ones
    otherwise, until a state repeats or a terminal state ends the episode. Returns {"states", "actions", "cycle",
    "offset_cycle", "terminal"} (``terminal``: the terminal state reached, else None):
    ``cycle`` is the first repeated loop of states (or None); ``offset_cycle`` the repeating pattern of
    labels' y - x over the trajectory's second half when labels are (x, y, observed[, clock]), else None.
    """
    mdp = solution.mdp
    if not mdp.is_deterministic():
        raise ValueError("optimal_trajectory needs deterministic dynamics; use policy_attractors")
    succ = mdp.successors()
    s = mdp.start[0][0] if start is None else start
    steps = solution.horizon if solution.horizon is not None else (max_steps or mdp.n_states + 1)
    states, actions, cycle = [s], [], None
    for t in range(steps):
        a = first_optimal_action(solution, s, t)
        actions.append(a)
        s = int(succ[s, a])
        states.append(s)
        if mdp.terminal[s]:  # the episode is over: a terminal state has no actions
            break
        if solution.horizon is None and s in states[:-1]:
            cycle = states[states.index(s) : -1]
            break
    if cycle is None and solution.horizon is not None and not mdp.terminal[s]:
        first: dict[int, int] = {}
        for i, st in enumerate(states):
            if st in first:
                cycle = states[first[st] : i]
                break
            first[st] = i
    labels = [mdp.state_labels[i] for i in states]
    return {
        "states": labels,
        "actions": [mdp.action_names[a] for a in actions],
        "cycle": None if cycle is None else [mdp.state_labels[i] for i in cycle],
        "offset_cycle": _offset_cycle(labels),
        "terminal": mdp.state_labels[s] if mdp.terminal[s] else None,
    }


def _offset_cycle(labels: list[Any]) -> list[int] | None:
    if not labels or not (isinstance(labels[0], tuple) and len(labels[0]) in (3, 4)):
        return None
    offsets = [y - x for x, y, *_ in labels]
    tail = offsets[len(offsets) // 2 :]
    for period in range(1, len(tail) // 2 + 1):
        if all(tail[i] == tail[i - period] for i in range(period, len(tail))):
            return tail[-period:]
    return None


def policy_graph(solution: Solution, step: int = 0) -> nx.DiGraph:
    """Graph over states reachable from the start under the first-index optimal actions of ``step``."""
    import networkx as nx

    mdp = solution.mdp
    graph = nx.DiGraph()
    frontier = [s for s, _ in mdp.start]
    graph.add_nodes_from(frontier)
    while frontier:
        s = frontier.pop()
        for t, _ in mdp.next_states(s, first_optimal_action(solution, s, step)):
            if t not in graph:
                frontier.append(t)
            graph.add_edge(s, t)
    return graph


def policy_attractors(solution: Solution, step: int = 0) -> list[list[Any]]:
    """Attracting components (closed recurrent classes) of the optimal policy graph, as sorted labels."""
    import networkx as nx

    graph = policy_graph(solution, step)
    comps = [sorted(solution.mdp.state_labels[s] for s in comp) for comp in nx.attracting_components(graph)]
    return sorted(comps)
