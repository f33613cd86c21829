"""One entry point: the exact optimum of an MDP for a finite horizon or an infinite discounted one."""

from __future__ import annotations

from fractions import Fraction

from tabturn.core.mdp import TabularMDP
from tabturn.core.validation import check_horizon
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.solution import Solution


def solve(mdp: TabularMDP, horizon: int | None, discount: Fraction | int | str = 1, status=None) -> Solution:
    """Backward induction when ``horizon`` is finite, else the certified discounted solver (which reports
    its stages to ``status``, if given)."""
    horizon = check_horizon(horizon)  # the solver called normalises the discount
    if horizon is None:
        from tabturn.exact.discounted import solve_discounted  # imported when needed: the CLI's start-up stays short

        return solve_discounted(mdp, discount, status=status)
    from tabturn.exact.finite import backward_induction

    return backward_induction(mdp, horizon, discount)


def solve_config(config: TurnConfig) -> Solution:
    """Build and solve one member of the turn family."""
    return solve(turn_mdp(config), config.horizon, config.discount)
