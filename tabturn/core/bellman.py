"""Exact Bellman backups in scaled-integer arithmetic (numerators over one common denominator).

Internally every solver minimises ``sign * cost`` (sign = +1 for loss, -1 for reward). A value vector
is (N, den): V = N / den with N an int64 array when every intermediate provably fits in int64, and a
Python-int object array otherwise, so overflow can never happen silently.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from fractions import Fraction
from typing import Any

import numpy as np
from numpy.typing import DTypeLike

from tabturn.core.csr import ExactCSR
from tabturn.core.limits import INT64_SAFE
from tabturn.core.mdp import TabularMDP


def max_abs(array: np.ndarray) -> int:
    """Largest absolute entry as a Python int (0 for an empty array)."""
    if array.size == 0:
        return 0
    return max(abs(int(array.max())), abs(int(array.min())))


def as_dtype(array: np.ndarray, dtype: DTypeLike) -> np.ndarray:
    """``array`` converted to int64 or object (Python ints), exactly."""
    if array.dtype == dtype:
        return array
    if dtype is object:
        if array.dtype.kind in "iu":  # numpy converts integer entries to Python ints
            return array.astype(object)
        return np.array([int(v) for v in array.ravel()], dtype=object).reshape(array.shape)
    return array.astype(np.int64)


def _matvec(numerators: ExactCSR, vector: np.ndarray) -> np.ndarray:
    """Exact sparse product of an int64 numerator matrix with an int64 or object vector."""
    return numerators.matvec(vector)


class ExactBackup:
    """Q-values Q_a = c_a + gamma * P_a V in exact scaled integers for one MDP and discount.

    Value arrays have ``state_shape``: the grid's shape when the MDP carries a GridLayout (the fast
    path: neighbours are slices of an edge-padded copy), else (S,).
    """

    def __init__(self, mdp: TabularMDP, discount: Fraction):
        self.mdp = mdp
        self.g, self.h = discount.numerator, discount.denominator
        self.costs = mdp.sign * np.asarray(mdp.cost_numerators)
        self.cost_bound = max_abs(self.costs)
        self.grid = mdp.grid
        self.state_shape = mdp.grid.shape if mdp.grid is not None else (mdp.n_states,)
        if self.grid is not None:
            self.arrival = mdp.sign * np.asarray(self.grid.arrival_cost)
        self._scaled_costs: dict[tuple[str, int], np.ndarray] = {}
        self._pad: np.ndarray | None = None

    def initial(self) -> tuple[np.ndarray, int]:
        """(N, den) of the end-of-horizon values sign * final cost, in state_shape."""
        final = self.mdp.sign * np.asarray(self.mdp.final_numerators)
        return final.reshape(self.state_shape), self.mdp.cost_denominator

    def _costs(self, dtype: DTypeLike, scale: int) -> np.ndarray:
        key = (np.dtype(dtype).str, scale)
        if key not in self._scaled_costs:
            base = self.arrival if self.grid is not None else self.costs
            self._scaled_costs = {key: as_dtype(base, dtype) * scale}
        return self._scaled_costs[key]

    def q_values(self, N: np.ndarray, den: int, n_bound: int | None = None) -> tuple[list[np.ndarray], int, int]:
        """Per-action Q numerators (state_shape) over a new common denominator, and a bound on |Q|.

        ``n_bound`` may give a known upper bound on max|N| (e.g. the previous call's Q bound).
        """
        mdp, g, h = self.mdp, self.g, self.h
        D, cden = mdp.prob_denominator, mdp.cost_denominator
        new_den = math.lcm(cden, h * D * den)
        cost_scale, value_scale = new_den // cden, g * new_den // (h * D * den)
        n_bound = max_abs(N) if n_bound is None else n_bound
        bound = self.cost_bound * cost_scale + n_bound * D * value_scale
        dtype = np.int64 if bound < INT64_SAFE else object
        N = as_dtype(N, dtype)
        costs = self._costs(dtype, cost_scale)
        if self.grid is not None:
            W = costs + N * (value_scale * D) if value_scale * D != 1 else costs + N
            if self._pad is None or self._pad.dtype != W.dtype:
                nf, ny, nx = W.shape
                self._pad = np.empty((nf, ny + 2, nx + 2), dtype=W.dtype)
            return shifted_views(W, self.grid.shifts, self._pad), new_den, bound
        N = N * value_scale if value_scale != 1 else N  # scaled once, not once per action
        return [costs[:, a] + _matvec(mdp.transition_numerators[a], N) for a in range(mdp.n_actions)], new_den, bound


def shifted_views(W: np.ndarray, shifts: Sequence[tuple[int, int]], pad: np.ndarray | None = None) -> list[np.ndarray]:
    """For each (dy, dx), the array of W at the clamped neighbour (views into an edge-padded copy)."""
    nf, ny, nx = W.shape
    if pad is None:
        pad = np.empty((nf, ny + 2, nx + 2), dtype=W.dtype)
    pad[:, 1:-1, 1:-1] = W
    pad[:, 0, 1:-1] = W[:, 0]
    pad[:, -1, 1:-1] = W[:, -1]
    pad[:, :, 0] = pad[:, :, 1]
    pad[:, :, -1] = pad[:, :, -2]
    return [pad[:, 1 + dy : 1 + dy + ny, 1 + dx : 1 + dx + nx] for dy, dx in shifts]


def minimum_and_mask(Q: list[np.ndarray], mask_dtype: type[np.unsignedinteger[Any]]) -> tuple[np.ndarray, np.ndarray]:
    """Elementwise minimum over actions and the bitmask of actions attaining it."""
    V = Q[0].copy()
    for q in Q[1:]:
        np.minimum(V, q, out=V)
    mask = np.zeros(V.shape, dtype=mask_dtype)
    if V.dtype == object:
        for a, q in enumerate(Q):
            mask |= np.asarray(q == V, dtype=bool).astype(mask_dtype) << mask_dtype(a)
        return V, mask
    hit = np.empty(V.shape, dtype=bool)
    bits = np.empty(V.shape, dtype=mask_dtype)
    for a, q in enumerate(Q):
        np.equal(q, V, out=hit)
        if mask_dtype == np.uint8:
            np.left_shift(hit.view(np.uint8), a, out=bits)
        else:
            np.left_shift(hit, a, out=bits, dtype=mask_dtype, casting="unsafe")
        np.bitwise_or(mask, bits, out=mask)
    return V, mask


def gaps_to_second(Q: list[np.ndarray], V: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """For each state, (best non-optimal Q) - V and whether a non-optimal action exists."""
    has = np.zeros(V.shape, dtype=bool)
    second = V.copy()
    for q in Q:
        worse = np.asarray(q > V, dtype=bool)
        fresh, both = worse & ~has, worse & has
        second[fresh] = q[fresh]
        second[both] = np.minimum(second[both], q[both])
        has |= worse
    return np.where(has, second - V, 0 * V), has


def reduce_fraction(N: np.ndarray, den: int) -> tuple[np.ndarray, int]:
    """Divide numerators and denominator by their common gcd."""
    g = den
    if N.size:
        g = math.gcd(den, int(np.gcd.reduce(N.ravel())) if N.dtype != object else math.gcd(*N.ravel().tolist()))
    if g <= 1:
        return N, den
    return N // g, den // g
