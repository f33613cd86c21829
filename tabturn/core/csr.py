"""ExactCSR: a square sparse matrix of integer numerators held as plain numpy CSR arrays.

The hub keeps its transition numerators in this form so that building and solving a model never imports
scipy.sparse (0.2-0.3 s of import time); a routine that needs a scipy matrix asks for one with ``to_scipy``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import ArrayLike


@dataclass(frozen=True, eq=False)
class ExactCSR:
    """An n x n matrix in CSR form: row s holds ``indices[indptr[s]:indptr[s+1]]`` (sorted, distinct columns)
    with values ``data`` at the same positions (int64 or object integers, no stored zeros)."""

    indptr: np.ndarray
    indices: np.ndarray
    data: np.ndarray
    n: int

    @property
    def shape(self) -> tuple[int, int]:
        return (self.n, self.n)

    @property
    def nnz(self) -> int:
        return int(self.indices.shape[0])

    def row_sums(self) -> np.ndarray:
        """(n,) sum of each row's entries (exact integers)."""
        return self._reduce_rows(self.data)

    def matvec(self, vector: np.ndarray) -> np.ndarray:
        """The product with ``vector`` (int64, object or float; int64 products wrap like numpy's, so callers bound
        them first)."""
        data = self._cached("object_data", lambda: self.data.astype(object)) if vector.dtype == object else self.data
        return self._reduce_rows(data * vector[self.indices])

    def _reduce_rows(self, values: np.ndarray) -> np.ndarray:
        """(n,) sums of ``values`` (one per stored entry) over each row; 0 for an empty row."""
        full = self._cached("full_rows", lambda: np.flatnonzero(np.diff(self.indptr) > 0))
        return segment_sums(self.indptr, values, full)

    def widest_row(self) -> int:
        """The largest number of entries stored in one row (0 for an empty matrix)."""
        return int(np.diff(self.indptr).max(initial=0))

    def rows_of(self, rows: np.ndarray) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """(position in ``rows``, column, value) of every stored entry of the rows ``rows``, row by row."""
        starts, counts = self.indptr[rows], self.indptr[rows + 1] - self.indptr[rows]
        owner = np.repeat(np.arange(len(rows)), counts)
        at = np.arange(int(counts.sum())) - np.repeat(np.cumsum(counts) - counts, counts) + np.repeat(starts, counts)
        return owner, self.indices[at], self.data[at]

    def _cached(self, name: str, make: Callable[[], Any]) -> Any:
        """A derived array computed once (the matrix is immutable)."""
        if name not in self.__dict__:
            object.__setattr__(self, name, make())
        return self.__dict__[name]

    def row(self, s: int) -> tuple[np.ndarray, np.ndarray]:
        """(columns, values) of row s."""
        lo, hi = self.indptr[s], self.indptr[s + 1]
        return self.indices[lo:hi], self.data[lo:hi]

    def entry(self, s: int, t: int) -> Any:
        """The value at (s, t) (0 when not stored)."""
        cols, vals = self.row(s)
        k = int(np.searchsorted(cols, t))
        return vals[k] if k < cols.shape[0] and cols[k] == t else 0

    def padded_rows(self, width: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """(n, K) columns and values of each row, K = ``width`` or the longest row's length: a shorter row is padded
        by repeating its last column (column 0 for an empty row) with value 0."""
        counts = np.diff(self.indptr)
        K = int(counts.max(initial=0)) if width is None else int(width)
        rows = np.repeat(np.arange(self.n), counts)
        slot = np.arange(self.nnz) - self.indptr[:-1][rows]
        last = np.where(counts > 0, self.indices[np.maximum(self.indptr[1:] - 1, 0)] if self.nnz else 0, 0)
        cols = np.repeat(last[:, None].astype(np.int64), K, axis=1)
        vals = np.zeros((self.n, K), dtype=self.data.dtype)
        cols[rows, slot], vals[rows, slot] = self.indices, self.data
        return cols, vals

    def toarray(self) -> np.ndarray:
        """Dense (n, n) copy."""
        out = np.zeros(self.shape, dtype=self.data.dtype)
        out[np.repeat(np.arange(self.n), np.diff(self.indptr)), self.indices] = self.data
        return out

    def to_scipy(self, dtype: Any = None) -> Any:
        """A scipy.sparse CSR matrix of the same entries (scipy imported here, on first need)."""
        import scipy.sparse as sp

        data = self.data if dtype is None else self.data.astype(dtype)
        return sp.csr_matrix((data, self.indices, self.indptr), shape=self.shape)


def segment_sums(indptr: np.ndarray, values: np.ndarray, full: np.ndarray | None = None) -> np.ndarray:
    """(len(indptr) - 1,) sums of ``values`` over the segments ``values[indptr[i]:indptr[i + 1]]``; 0 for an
    empty segment. ``full`` (the indices of the non-empty segments) may be passed when already known."""
    n = indptr.shape[0] - 1
    full = np.flatnonzero(np.diff(indptr) > 0) if full is None else full
    if full.size == n:  # no empty segment: one reduction
        return np.add.reduceat(values, indptr[:-1]) if n else np.zeros(0, dtype=values.dtype)
    out = np.zeros(n, dtype=values.dtype)
    if full.size:
        out[full] = np.add.reduceat(values, indptr[full])
    return out


def exact_csr(rows: ArrayLike, cols: ArrayLike, numerators: ArrayLike, n: int) -> ExactCSR:
    """An n x n ExactCSR of int64 numerators from (row, column, value) triples: duplicates summed, columns
    sorted within each row, zeros dropped."""
    r = np.asarray(rows, dtype=np.int64).ravel()
    c = np.asarray(cols, dtype=np.int64).ravel()
    v = np.asarray(numerators, dtype=np.int64).ravel()
    if not r.shape == c.shape == v.shape:
        raise ValueError("rows, cols and numerators must have the same length")
    if r.size and (r.min() < 0 or c.min() < 0 or r.max() >= n or c.max() >= n):
        raise ValueError(f"row and column indices must lie in [0, {n})")
    flat = r * n + c
    keys, inverse = np.unique(flat, return_inverse=True)
    sums = np.zeros(keys.shape[0], dtype=np.int64)
    np.add.at(sums, inverse.ravel(), v)
    keep = sums != 0
    keys, sums = keys[keep], sums[keep]
    counts = np.bincount(keys // n, minlength=n) if keys.size else np.zeros(n, dtype=np.int64)
    indptr = np.concatenate([[0], np.cumsum(counts)]).astype(np.int64)
    return ExactCSR(indptr, (keys % n).astype(np.int64), sums, int(n))


def as_exact_csr(matrix: Any) -> ExactCSR:
    """An ExactCSR of ``matrix`` (an ExactCSR, or a square scipy sparse matrix of integers)."""
    if isinstance(matrix, ExactCSR):
        return matrix
    if not hasattr(matrix, "tocoo"):
        raise TypeError(f"expected a square sparse matrix, got {type(matrix).__name__}")
    coo = matrix.tocoo()
    if coo.shape[0] != coo.shape[1]:
        raise ValueError(f"matrix must be square, got shape {coo.shape}")
    return exact_csr(coo.row, coo.col, coo.data, coo.shape[0])
