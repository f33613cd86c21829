"""The exact best policy of a tabular learner's class: a stationary or step-indexed table, indexed by what the
agent observes (turn family: (x, y, observed), or flag-blind (x, y))."""

from __future__ import annotations

from tabturn.envs.turn.model import observation_index
from tabturn.exact.solution import Solution
from tabturn.exact.stationary import StationaryOptimum, stationary_optimum, step_observation_optimum


def observation_class_optimum(
    solution: Solution, start: int, observe_flag: bool, time_indexed: bool
) -> StationaryOptimum:
    """Whether the class holds an optimal policy from ``start``, decided exactly; if not, its best policy and exact
    regret (StationaryOptimum; "undecided" with the reason where no exact method applies)."""
    view = observation_index(solution.mdp, observe_flag)
    if time_indexed:
        if view is None:  # a step-indexed table of states holds the finite-horizon optimum
            return step_observation_optimum(solution, start, range_view(solution))
        return step_observation_optimum(solution, start, view)
    return stationary_optimum(solution, start, observation=view)


def range_view(solution: Solution):
    """The identity view: every state its own observation."""
    import numpy as np

    return np.arange(solution.mdp.n_states)
