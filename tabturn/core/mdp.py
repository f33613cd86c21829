"""TabularMDP: the hub every environment builder produces and every solver and learner consumes."""

from __future__ import annotations

from collections.abc import Hashable
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any

import numpy as np

from tabturn.core.csr import ExactCSR, as_exact_csr, exact_csr
from tabturn.core.errors import InputError

__all__ = ["MAX", "MIN", "ExactCSR", "GridLayout", "TabularMDP", "exact_csr"]

MIN, MAX = "minimise-loss", "maximise-reward"


@dataclass(frozen=True, eq=False)
class GridLayout:
    """Optional structure hint: deterministic clamped moves on a product grid.

    States are laid out C-order over ``shape`` (first axis static, e.g. the observed flag); action a
    moves by ``shifts[a]`` (dy, dx) on the last two axes, clamped at the edges; the cost of (s, a) is
    ``arrival_cost[next(s, a)]`` (numerators over the MDP's cost denominator). Solvers may use it for
    speed; TabularMDP checks it against the transitions.
    """

    shape: tuple[int, int, int]
    shifts: tuple[tuple[int, int], ...]
    arrival_cost: np.ndarray

    def successors(self) -> np.ndarray:
        """(S, A) int64 array of next-state indices."""
        f, y, x = np.indices(self.shape)
        nf, ny, nx = self.shape
        cols = []
        for dy, dx in self.shifts:
            y2 = np.clip(y + dy, 0, ny - 1)
            x2 = np.clip(x + dx, 0, nx - 1)
            cols.append(((f * ny + y2) * nx + x2).ravel())
        return np.stack(cols, axis=1).astype(np.int64)


@dataclass(frozen=True, eq=False)
class TabularMDP:
    """A finite MDP with exact rational data and float views.

    Attributes:
      state_labels: one hashable label per state (e.g. (x, y, observed) or an index).
      action_names: one name per action, in order.
      transition_numerators: per action an (S x S) ExactCSR of int64 numerators; P_a = N_a / prob_denominator
        (a scipy sparse matrix given here is converted).
      prob_denominator: common positive denominator of all transition probabilities.
      cost_numerators: (S, A) int64 or object array; the expected one-step cost (loss or reward, see
        ``objective``) of (s, a) is cost_numerators[s, a] / cost_denominator.
      final_numerators: (S,) charged at the end of a finite horizon (terminal-timing losses), same denominator.
      cost_denominator: common positive denominator of all costs.
      terminal: (S,) bool; terminal states are absorbing with zero cost.
      start: tuple of (state index, probability) pairs, probabilities exact and summing to 1.
      objective: MIN (loss to minimise, the turn family) or MAX (reward to maximise, generic arrays).
      grid: optional GridLayout hint.
      description: dict of provenance (builder name, config).
    """

    state_labels: tuple[Any, ...]
    action_names: tuple[str, ...]
    transition_numerators: tuple[ExactCSR, ...]
    prob_denominator: int
    cost_numerators: np.ndarray
    final_numerators: np.ndarray
    cost_denominator: int
    terminal: np.ndarray
    start: tuple[tuple[int, Fraction], ...]
    objective: str = MIN
    grid: GridLayout | None = None
    description: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        S, A = self.n_states, self.n_actions
        if S < 1 or A < 1:
            raise InputError("mdp", "needs at least one state and one action")
        if len(set(self.action_names)) != A:
            raise InputError("actions", "action names must be distinct")
        if A > 64:
            raise InputError("actions", f"at most 64 actions are supported, not {A}")
        if len(self.transition_numerators) != A:
            raise InputError(
                "P", f"needs one transition matrix per action ({A}), got {len(self.transition_numerators)}"
            )
        if self.prob_denominator < 1 or self.cost_denominator < 1:
            raise InputError("mdp", "denominators must be positive")
        if self.objective not in (MIN, MAX):
            raise InputError("objective", f"must be {MIN!r} or {MAX!r}")
        for a, mat in enumerate(self.transition_numerators):
            if tuple(mat.shape) != (S, S):
                raise InputError("P", f"action {a} has shape {tuple(mat.shape)}, expected {(S, S)}")
        mats = tuple(as_exact_csr(m) for m in self.transition_numerators)
        object.__setattr__(self, "transition_numerators", mats)
        for a, mat in enumerate(mats):
            if mat.nnz and mat.data.min() < 0:
                raise InputError("P", f"action {a} has a negative probability")
            sums = mat.row_sums()
            bad = np.flatnonzero(sums != self.prob_denominator)
            if bad.size:
                s = int(bad[0])
                raise InputError(
                    "P",
                    f"row of state {s} under action {a} sums to "
                    f"{Fraction(int(sums[s]), self.prob_denominator)}, must be 1",
                )
        if self.cost_numerators.shape != (S, A):
            raise InputError("R", f"costs have shape {self.cost_numerators.shape}, expected {(S, A)}")
        if self.final_numerators.shape != (S,):
            raise InputError("final", f"final costs have shape {self.final_numerators.shape}, expected {(S,)}")
        if self.terminal.shape != (S,):
            raise InputError("terminal", f"mask has shape {self.terminal.shape}, expected {(S,)}")
        for end in np.flatnonzero(self.terminal):
            for a in range(A):
                cols, _ = mats[a].row(int(end))
                if cols.shape[0] != 1 or cols[0] != end or self.cost_numerators[end, a] != 0:
                    raise InputError("terminal", f"terminal state {int(end)} must be absorbing with zero cost")
        total = sum((p for _, p in self.start), Fraction(0))
        if total != 1 or any(p < 0 or not 0 <= s < S for s, p in self.start):
            raise InputError("start", "must be a distribution over existing states summing to 1")
        if self.grid is not None and not _grid_matches(self):
            raise InputError("grid", "layout hint does not match the transitions and costs")

    @property
    def n_states(self) -> int:
        return len(self.state_labels)

    @property
    def n_actions(self) -> int:
        return len(self.action_names)

    @property
    def sign(self) -> int:
        """+1 when minimising loss, -1 when maximising reward: solvers minimise sign * cost."""
        return 1 if self.objective == MIN else -1

    def transition_matrix(self, action: int) -> Any:
        """Float64 view of P_action as a scipy.sparse CSR matrix (imports scipy.sparse)."""
        mat = self.transition_numerators[action].to_scipy(np.float64)
        mat.data /= self.prob_denominator
        return mat

    def probability(self, state: int, action: int, next_state: int) -> Fraction:
        """Exact P(next_state | state, action)."""
        return Fraction(int(self.transition_numerators[action].entry(state, next_state)), self.prob_denominator)

    def cost(self, state: int, action: int) -> Fraction:
        """Exact expected one-step loss (MIN) or reward (MAX) of (state, action)."""
        return Fraction(int(self.cost_numerators[state, action]), self.cost_denominator)

    def final_cost(self, state: int) -> Fraction:
        """Exact end-of-horizon loss (MIN) or reward (MAX) of ``state``."""
        return Fraction(int(self.final_numerators[state]), self.cost_denominator)

    def costs_float(self) -> np.ndarray:
        """(S, A) float64 view of the one-step costs."""
        return np.asarray(self.cost_numerators, dtype=np.float64) / self.cost_denominator

    def next_states(self, state: int, action: int) -> list[tuple[int, Fraction]]:
        """Exact (next state, probability) pairs of (state, action)."""
        mat = self.transition_numerators[action]
        lo, hi = mat.indptr[state], mat.indptr[state + 1]
        return [(int(t), Fraction(int(n), self.prob_denominator)) for t, n in zip(mat.indices[lo:hi], mat.data[lo:hi])]

    def max_successors(self) -> int:
        """The largest number of possible successors of one (state, action)."""
        return max(m.widest_row() for m in self.transition_numerators)

    def is_deterministic(self) -> bool:
        """True when every (state, action) has a single successor."""
        return all(np.all(np.diff(m.indptr) == 1) for m in self.transition_numerators)

    def successors(self) -> np.ndarray:
        """(S, A) int64 successor table of a deterministic MDP."""
        if not self.is_deterministic():
            raise ValueError("successors() needs deterministic transitions")
        return np.stack([m.indices.astype(np.int64) for m in self.transition_numerators], axis=1)

    def index_of(self, label: Hashable) -> int:
        """The state index of ``label``."""
        index: dict[Hashable, int] | None = self.__dict__.get("_index")
        if index is None:
            index = {lab: i for i, lab in enumerate(self.state_labels)}
            object.__setattr__(self, "_index", index)
        return index[label]


def _grid_matches(mdp: TabularMDP) -> bool:
    grid = mdp.grid
    assert grid is not None
    if int(np.prod(grid.shape)) != mdp.n_states or len(grid.shifts) != mdp.n_actions:
        return False
    if not mdp.is_deterministic():
        return False
    succ = grid.successors()
    if not np.array_equal(succ, mdp.successors()):
        return False
    arrival = np.asarray(grid.arrival_cost).ravel()
    return bool(np.all(arrival[succ] == mdp.cost_numerators))
