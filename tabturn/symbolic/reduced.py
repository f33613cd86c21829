"""Shared notation of the symbolic analysis: moves, the Claim record, G_n, and the reduced 1-D model in the offset.

The reduced model is the Bellman equation of ``tabturn.symbolic.claims`` (value = -b*y*G + U(d, f)) written as a
TabularMDP over offsets d = y - x in -K..K (clamped) and, for the switching regime, the observed flag.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import sympy

from tabturn.core.mdp import MIN, TabularMDP, exact_csr
from tabturn.envs.turn.config import MOVES
from tabturn.envs.turn.model import OBSERVED, UNOBSERVED

ACTIONS = ("up", "down", "left", "right", "stay")


@dataclass(frozen=True)
class Claim:
    """One symbolic claim: a sympy identity or inequality that sympy verified, and its exact-instance check."""

    name: str
    statement: str
    expression: sympy.Basic
    parameter_range: str
    symbolic_verified: bool


def G(gamma_value: Fraction, n: int) -> Fraction:
    """sum_{t<n} gamma^t, exactly."""
    return sum((gamma_value**t for t in range(n)), Fraction(0))


def reduced_mdp(
    a_value: Fraction,
    b_value: Fraction,
    gamma_value: Fraction,
    c_value: Fraction,
    K: int = 24,
    actions: tuple[str, ...] = ("up", "right", "stay"),
    p: Fraction | None = None,
    q: Fraction = Fraction(0),
) -> TabularMDP:
    """The reduced 1-D model of the infinite discounted horizon: offsets -K..K (clamped), cost
    a*c*d'^2*w(f) - b*dy/(1 - gamma), start at d = 0 (observed).

    ``p is None``: always observed, one flag, states labelled by the offset. Otherwise the switching regime
    (observed -> unobserved with probability p, back with probability q): states labelled (d, f), w(1) = 1 - p,
    w(0) = q.
    The clamp at +-K stands in for the unbounded grid (a clamp that mattered near d = 0 would show up as a
    disagreement of the certified checks).
    """
    offsets = range(-K, K + 1)
    S = len(offsets)
    flags = (OBSERVED,) if p is None else (UNOBSERVED, OBSERVED)
    flag_next = (
        {OBSERVED: {OBSERVED: Fraction(1)}}
        if p is None
        else {OBSERVED: {OBSERVED: 1 - p, UNOBSERVED: p}, UNOBSERVED: {UNOBSERVED: 1 - q, OBSERVED: q}}
    )
    charge = {f: flag_next[f].get(OBSERVED, Fraction(0)) for f in flags}
    B = b_value / (1 - gamma_value)
    L = math.lcm(B.denominator, *(Fraction(a_value * c_value * w).denominator for w in charge.values()))
    D = math.lcm(*(pr.denominator for row in flag_next.values() for pr in row.values()))
    align = {f: int(a_value * c_value * charge[f] * L) for f in flags}
    bonus = int(B * L)
    base = {f: i * S for i, f in enumerate(flags)}
    mats, cost_cols = [], []
    for name in actions:
        dx, dy = MOVES[name]
        rows, cols, nums, col = [], [], [], []
        for f in flags:
            for o in offsets:
                t = min(max(o + dy - dx, -K), K)
                col.append(align[f] * t * t - bonus * dy)
                for f2, pr in flag_next[f].items():
                    rows.append(base[f] + o + K)
                    cols.append(base[f2] + t + K)
                    nums.append(int(pr * D))
        mats.append(exact_csr(rows, cols, nums, S * len(flags)))
        cost_cols.append(col)
    labels = tuple(offsets) if p is None else tuple((o, f) for f in flags for o in offsets)
    n = len(labels)
    costs = np.array(cost_cols, dtype=object).T
    return TabularMDP(
        labels,
        tuple(actions),
        tuple(mats),
        D,
        costs,
        np.zeros(n, dtype=object),
        L,
        np.zeros(n, dtype=bool),
        ((base[OBSERVED] + K, Fraction(1)),),
        MIN,
    )
