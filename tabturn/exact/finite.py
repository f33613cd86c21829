"""Finite-horizon backward induction, exact (integers or scaled rationals, never silent overflow)."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from tabturn.core.bellman import ExactBackup, gaps_to_second, minimum_and_mask, reduce_fraction
from tabturn.core.limits import require, solve_needs
from tabturn.core.mdp import TabularMDP
from tabturn.core.rational import RationalLike
from tabturn.core.validation import check_discount, check_int
from tabturn.exact.solution import ExactVector, Solution, mask_dtype


def backward_induction(mdp: TabularMDP, horizon: int, discount: RationalLike = 1) -> Solution:
    """Exact optimum of sum_{t<H} gamma^t cost(s_t, a_t) + final(s_H), with all optimal action sets.

    Returns a certified Solution whose action_masks[t] are the optimal sets with t steps elapsed.
    """
    return _backward_induction(mdp, check_int(horizon, "horizon", 1), check_discount(discount, infinite=False))


def _backward_induction(mdp: TabularMDP, horizon: int, gamma: Fraction) -> Solution:
    """backward_induction on normalised inputs (exact evaluation calls it without re-checking)."""
    nbytes, work = solve_needs(mdp.n_states, mdp.n_actions, horizon, np.dtype(mask_dtype(mdp.n_actions)).itemsize)
    require("horizon", f"backward induction over {horizon} steps x {mdp.n_states} states", nbytes, work)
    backup = ExactBackup(mdp, gamma)
    masks = np.empty((horizon, mdp.n_states), dtype=mask_dtype(mdp.n_actions))
    N, den = backup.initial()
    bound = None
    for t in range(horizon - 1, -1, -1):
        Q, den, bound = backup.q_values(N, den, bound)
        N, mask = minimum_and_mask(Q, masks.dtype.type)
        masks[t] = mask.ravel()
        if t == 0:
            gap_num, has_gap = gaps_to_second(Q, N)
            gap_num, has_gap, gap_den = gap_num.ravel(), has_gap.ravel(), den
        if den != mdp.cost_denominator:
            N, reduced = reduce_fraction(N, den)
            bound, den = bound // (den // reduced), reduced
    N = N.ravel()
    kind = "object" if N.dtype == object else "int64"
    path = "grid" if mdp.grid is not None else "sparse"
    return Solution(
        mdp=mdp,
        horizon=int(horizon),
        discount=gamma,
        method=f"backward-induction/{path}-{kind}",
        certified=True,
        reason="exact integer/rational backward induction",
        values=ExactVector(mdp.sign * N, den),
        action_masks=masks,
        gaps=ExactVector(gap_num, gap_den),
        has_gap=has_gap,
        stats={"steps": int(horizon)},
    )
