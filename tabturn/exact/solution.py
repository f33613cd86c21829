"""Solver results: exact vectors and the immutable Solution every solver returns."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import TYPE_CHECKING, Any

import numpy as np

from tabturn.core.limits import INT64_SAFE
from tabturn.core.mdp import TabularMDP

if TYPE_CHECKING:
    import pandas as pd


@dataclass(frozen=True, eq=False)
class ExactVector:
    """Exact rationals numerators[i] / denominator (numerators int64 or Python-int object array)."""

    numerators: np.ndarray
    denominator: int

    def __len__(self) -> int:
        return len(self.numerators)

    def __getitem__(self, index: int) -> Fraction:
        return Fraction(int(self.numerators[index]), self.denominator)

    def to_fractions(self) -> list[Fraction]:
        """All entries as Fractions."""
        return [Fraction(int(n), self.denominator) for n in self.numerators]

    def to_float(self) -> np.ndarray:
        """Float64 view (rounded)."""
        if self.numerators.dtype == object:
            return np.array([float(f) for f in self.to_fractions()])
        return self.numerators.astype(np.float64) / self.denominator

    @classmethod
    def from_fractions(cls, values: Iterable[Fraction | int]) -> ExactVector:
        """Common-denominator form of a sequence of Fractions."""
        import math

        exact = [Fraction(v) for v in values]
        den = math.lcm(1, *{v.denominator for v in exact})
        nums = [v.numerator * (den // v.denominator) for v in exact]
        arr = np.array(nums, dtype=object)
        if not nums or max(abs(n) for n in nums) < INT64_SAFE:
            arr = arr.astype(np.int64)
        return cls(arr, den)


@dataclass(frozen=True, eq=False)
class Solution:
    """The exact optimum of an MDP, with ties.

    Attributes:
      mdp: the solved TabularMDP.
      horizon: finite horizon H, or None for the infinite discounted horizon.
      discount: gamma (exact).
      method: how it was computed (e.g. "backward-induction/grid-int64", "value-iteration+certificate").
      certified: True when values and action sets are exact (integer/rational arithmetic or a passed
        rational certificate); False otherwise, with ``reason``.
      reason: why the result is or is not certified.
      values: optimal values at step 0 in the objective's units (loss for MIN, reward for MAX).
      action_masks: (T, S) unsigned bitmasks; bit a of [t, s] is set when action a is optimal at
        state s with t steps elapsed (T = H; T = 1 for a stationary, infinite-horizon optimum).
      gaps: at step 0, how much worse (>= 0, objective units) the best non-optimal action is;
        entries where ``has_gap`` is False (every action optimal) are 0 and meaningless.
      has_gap: (S,) bool.
      stats: solver statistics (iterations, float error bound, exact improvement rounds, ...).
    """

    mdp: TabularMDP
    horizon: int | None
    discount: Fraction
    method: str
    certified: bool
    reason: str
    values: ExactVector
    action_masks: np.ndarray
    gaps: ExactVector
    has_gap: np.ndarray
    stats: dict[str, Any] = field(default_factory=dict)
    _values_at: dict[int, list[Fraction]] = field(default_factory=dict, repr=False)  # cache of values_at

    def optimal_actions(self, state: int, step: int = 0) -> tuple[int, ...]:
        """Indices of all optimal actions at ``state`` after ``step`` steps."""
        mask = int(self.action_masks[min(step, len(self.action_masks) - 1), state])
        return tuple(a for a in range(self.mdp.n_actions) if mask >> a & 1)

    def optimal_action_names(self, state: int, step: int = 0) -> tuple[str, ...]:
        """Names of all optimal actions at ``state`` after ``step`` steps, in action order."""
        return tuple(self.mdp.action_names[a] for a in self.optimal_actions(state, step))

    def value(self, state: int) -> Fraction:
        """Exact optimal value of ``state`` at step 0."""
        return self.values[state]

    def gap(self, state: int) -> Fraction | None:
        """Exact gap to the best non-optimal action at step 0, or None when every action is optimal."""
        return self.gaps[state] if self.has_gap[state] else None

    def values_at(self, step: int) -> list[Fraction]:
        """Exact optimal values with ``step`` steps elapsed (the final costs at step H; step 0 for an infinite
        horizon). Steps after 0 are solved on demand (the remaining horizon) and cached."""
        if self.horizon is None or step == 0:
            return self.values.to_fractions()
        if not 0 <= step <= self.horizon:
            raise ValueError(f"step must lie in 0..{self.horizon}")
        cache = self._values_at
        if step not in cache:
            from tabturn.exact.finite import _backward_induction

            remaining = self.horizon - step
            cache[step] = (
                _backward_induction(self.mdp, remaining, self.discount).values.to_fractions()
                if remaining
                else [self.mdp.final_cost(s) for s in range(self.mdp.n_states)]
            )
        return cache[step]

    def to_frame(self) -> pd.DataFrame:
        """A pandas DataFrame, one row per (step, state): label, optimal actions, optimal value as a float and as
        an exact string (steps 0..H-1 for a finite horizon, step 0 for an infinite one)."""
        import pandas as pd

        from tabturn.core.rational import format_rational

        rows = []
        for t in range(len(self.action_masks) if self.horizon is not None else 1):
            values = self.values_at(t)
            for s, label in enumerate(self.mdp.state_labels):
                head = (
                    {"x": int(label[0]), "y": int(label[1]), "observed": bool(label[2])}
                    if isinstance(label, tuple) and len(label) == 3
                    else {"state": str(label)}
                )
                rows.append(
                    {
                        "t": t,
                        **head,
                        "optimal_actions": " ".join(self.optimal_action_names(s, t)),
                        "value": float(values[s]),
                        "value_exact": format_rational(values[s]),
                    }
                )
        return pd.DataFrame(rows)

    def start_value(self) -> Fraction:
        """Exact optimal expected value from the MDP's start distribution."""
        return sum((p * self.values[s] for s, p in self.mdp.start), Fraction(0))


def mask_dtype(n_actions: int) -> type[np.unsignedinteger[Any]]:
    """Smallest unsigned dtype holding one bit per action."""
    for dtype, bits in ((np.uint8, 8), (np.uint16, 16), (np.uint32, 32), (np.uint64, 64)):
        if n_actions <= bits:
            return dtype
    raise ValueError("more than 64 actions")
