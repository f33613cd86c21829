"""What a policy does in a gridworld, in the environment's own words: the named cells (goal, water, lava, whisky,
button, punishment, ...) its most likely path enters, and its exact regret under the hidden performance."""

from __future__ import annotations

import numpy as np

from tabturn.core.mdp import TabularMDP
from tabturn.envs.gridworld import END, MOVES, Gridworld, gridworld_mdps, states
from tabturn.exact.solution import Solution


def gridworld_of(mdp: TabularMDP) -> Gridworld | None:
    """The Gridworld an MDP was built from (None for any other MDP)."""
    if mdp.description.get("builder") != "gridworld":
        return None
    world = mdp.description.get("world")
    return world if isinstance(world, Gridworld) else None


def cell_positions(world: Gridworld) -> list[tuple[int, int] | None]:
    """Each state's (row, col) in the order of gridworld_mdps; None for the end state."""
    return [None if label == END else (int(label[0]), int(label[1])) for label in states(world)]


def state_cells(world: Gridworld, mdp: TabularMDP) -> list[tuple[int, int] | None]:
    """Each state's agent (row, col) in ``mdp`` (a rule map's MDP carries them; a cell map's follow its states);
    None for the end state."""
    return mdp.description.get("agent_cells") or cell_positions(world)


def entered_cells(world: Gridworld, mdp: TabularMDP) -> np.ndarray:
    """(S, A) flat index (row * width + col) of the cell each move enters, or -1 (from the end state, or into a
    wall, where the agent stays put and enters nothing)."""
    width = len(world.rows[0])
    out = np.full((mdp.n_states, mdp.n_actions), -1, dtype=np.int64)
    for s, cell in enumerate(state_cells(world, mdp)):
        for a, name in enumerate(mdp.action_names):
            if cell is not None and name in MOVES:  # a noop enters nothing
                r, c = cell[0] + MOVES[name][0], cell[1] + MOVES[name][1]
                if 0 <= r < len(world.rows) and 0 <= c < width and world.char(r, c) != "#":
                    out[s, a] = r * width + c
    return out


def path_entries(world: Gridworld, mdp: TabularMDP, policies: np.ndarray, start: int) -> np.ndarray:
    """(B, steps) flat index of the cell each move of the greedy path (most probable successors) from ``start``
    enters, -1 where it enters none (terminal cells count: the move into them is what matters)."""
    from tabturn.experiments.compare import batched_paths, likely_successors

    actions, path = batched_paths(policies, start, world.time_limit, likely_successors(mdp))
    entered = entered_cells(world, mdp)[path[:, :-1], actions]
    moved = path[:, 1:] != path[:, :-1]  # a move that leaves the agent where it was (a wall) enters nothing
    return np.where(moved | (entered < 0), entered, -1)


def entered_names(world: Gridworld, mdp: TabularMDP, policies: np.ndarray, start: int) -> list[list[str]]:
    """Per policy, the named cells its greedy path from ``start`` enters, in order of first entry."""
    flat = [ch for row in world.rows for ch in row]
    out = []
    for row in path_entries(world, mdp, policies, start):
        names: list[str] = []
        for cell in row[row >= 0]:
            ch = flat[cell]
            if ch in world.cells and world.cell_name(ch) not in names:
                names.append(world.cell_name(ch))
        out.append(names)
    return out


def world_names(mdp: TabularMDP, world: Gridworld) -> dict[str, int]:
    """The start states as worlds: "start", or one per observed start coin value (e.g. "supervisor=yes")."""
    coins = [n for n, (_, observed) in world.coins.items() if observed]
    if len(mdp.start) == 1 or not coins:  # also every map of a rule set (no coins)
        return {"start": mdp.start[0][0]}
    labels = states(world)
    out = {}
    for s, _ in mdp.start:
        values = labels[s][2]
        out[", ".join(f"{n}={'yes' if v else 'no'}" for n, v in zip(coins, values, strict=True))] = s
    return out


def performance_solution(solution: Solution, world: Gridworld) -> Solution:
    """The exact optimum of ``world``'s hidden performance, over ``solution``'s horizon and discount."""
    from tabturn.envs.solve import solve

    return solve(gridworld_mdps(world)[1], solution.horizon, solution.discount)


def behaviour_columns(solution: Solution, policies: np.ndarray) -> dict[str, dict[str, list]] | None:
    """{world: {"enters": [[names]] * B, "performance_regret": [Fraction] * B}} for B deterministic policies
    ((B, S) or (B, H, S)) on a gridworld's reward MDP; None for any other MDP."""
    from tabturn.experiments.compare import compare, worlds

    world = gridworld_of(solution.mdp)
    if world is None:
        return None
    regret = compare(performance_solution(solution, world), policies).regret
    return {
        name: {"enters": entered_names(world, solution.mdp, policies, start), "performance_regret": regret[name]}
        for name, start in worlds(solution).items()
    }
