"""Generic MDPs in the (P, R) convention of pymdptoolbox: P (A, S, S), R (S, A) or (A, S, S), rewards."""

from __future__ import annotations

import math
import os
import zipfile
from fractions import Fraction

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.limits import INT64_SAFE, numpy_file_bytes, require
from tabturn.core.mdp import MAX, TabularMDP, exact_csr
from tabturn.core.rational import small_fraction

ROW_TOLERANCE = 1e-9


MAX_MAGNITUDE = 1e15  # rewards (and anything else) beyond this are refused: exact sums of them stay representable


def _finite_array(value, name: str, ndim: tuple[int, ...]) -> np.ndarray:
    try:
        arr = np.asarray(value)
    except Exception:  # noqa: BLE001  (any conversion failure is a bad input)
        raise InputError(name, "must be a numeric array") from None
    if arr.dtype == object or not (np.issubdtype(arr.dtype, np.number) or arr.dtype == bool):
        raise InputError(name, f"must be a numeric array, not dtype {arr.dtype}")
    if np.iscomplexobj(arr):
        raise InputError(name, "must be real, not complex")
    if arr.ndim not in ndim:
        raise InputError(name, f"must have {' or '.join(map(str, ndim))} dimensions, not shape {arr.shape}")
    arr = arr.astype(np.float64)
    if not np.all(np.isfinite(arr)):
        raise InputError(name, "contains NaN or infinity")
    if arr.size and float(np.abs(arr).max()) > MAX_MAGNITUDE:
        raise InputError(name, f"has a value of magnitude {float(np.abs(arr).max()):.3g}; at most {MAX_MAGNITUDE:g}")
    return arr


def _rationals(values: np.ndarray) -> list[Fraction]:
    cache: dict[float, Fraction] = {}
    out = []
    for v in values.ravel().tolist():
        if v not in cache:
            cache[v] = small_fraction(v)[0]
        out.append(cache[v])
    return out


def mdp_from_arrays(P, R, labels=None, start=None, actions=None) -> TabularMDP:
    """Build a reward-maximising TabularMDP from float arrays, converting them to exact rationals.

    Each float becomes the small fraction it rounds from when there is one (0.1 -> 1/10), else its
    exact binary value. Rows must sum to 1 within 1e-9; rows off by a rounding residue are renormalised
    exactly (counted in ``description["renormalised_rows"]``). ``start`` is a state index or a
    probability vector (default: state 0).
    """
    P = _finite_array(P, "P", (3,))
    A, S, S2 = P.shape
    if S != S2 or S < 1 or A < 1:
        raise InputError("P", f"must have shape (A, S, S) with A, S >= 1, not {P.shape}")
    if np.any(P < 0):
        raise InputError("P", "contains a negative probability")
    R = _finite_array(R, "R", (2, 3))
    if R.shape == (A, S, S):
        R = np.einsum("ast,ast->sa", P, R)
    elif R.shape != (S, A):
        raise InputError("R", f"must have shape (S, A) = {(S, A)} or (A, S, S) = {(A, S, S)}, not {R.shape}")
    sums = P.sum(axis=2)
    worst = float(np.abs(sums - 1).max())
    if worst > ROW_TOLERANCE:
        bad_a, bad_s = np.unravel_index(int(np.abs(sums - 1).argmax()), sums.shape)
        raise InputError("P", f"row of state {bad_s} under action {bad_a} sums to {sums[bad_a, bad_s]!r}, must be 1")
    rows_exact, renormalised = [], 0
    for a in range(A):
        for s in range(S):
            support = np.flatnonzero(P[a, s])
            probs = _rationals(P[a, s, support])
            total = sum(probs, Fraction(0))
            if total != 1:
                renormalised += 1
                probs = [p / total for p in probs]
            rows_exact.append((a, s, support, probs))
    D = math.lcm(1, *{p.denominator for _, _, _, probs in rows_exact for p in probs})
    if D >= INT64_SAFE:
        raise InputError("P", "probabilities need a common denominator of 2^62 or more; give small fractions")
    mats = []
    for a in range(A):
        rows: list[int] = []
        cols: list[int] = []
        nums: list[int] = []
        for _aa, s, cs, probs in rows_exact[a * S : (a + 1) * S]:
            rows += [s] * len(cs)
            cols += cs.tolist()
            nums += [int(p * D) for p in probs]
        mats.append(exact_csr(rows, cols, nums, S))
    rewards = _rationals(R)
    L = math.lcm(1, *{r.denominator for r in rewards})
    nums = [int(r * L) for r in rewards]
    dtype = np.int64 if max(map(abs, nums), default=0) < INT64_SAFE else object
    cost = np.array(nums, dtype=object).reshape(S, A).astype(dtype)
    return TabularMDP(
        state_labels=_labels(labels, S),
        action_names=_actions(actions, A),
        transition_numerators=tuple(mats),
        prob_denominator=D,
        cost_numerators=cost,
        final_numerators=np.zeros(S, dtype=dtype),
        cost_denominator=L,
        terminal=np.zeros(S, dtype=bool),
        start=_start(start, S),
        objective=MAX,
        description={"builder": "arrays", "renormalised_rows": renormalised},
    )


def _actions(actions, A: int) -> tuple[str, ...]:
    if actions is None:
        return tuple(f"a{a}" for a in range(A))
    actions = np.asarray(actions)
    if actions.shape != (A,) or actions.dtype.kind not in "U":
        raise InputError("actions", f"must be a 1-D array of {A} action names")
    names = tuple(str(a) for a in actions.tolist())
    if len(set(names)) != A or not all(names):
        raise InputError("actions", "must be distinct, non-empty names")
    return names


def _labels(labels, S: int) -> tuple:
    if labels is None:
        return tuple(range(S))
    labels = np.asarray(labels)
    if labels.dtype.kind == "S":  # byte strings (e.g. written by another tool): read as UTF-8 text
        labels = np.array([b.decode("utf-8", "replace") for b in labels.tolist()])
    if labels.shape != (S,) or labels.dtype == object:
        raise InputError("labels", f"must be a 1-D array of {S} strings or numbers")
    out = tuple(labels.tolist())
    if len(set(out)) != S:
        raise InputError("labels", "must be distinct")
    return out


def _start(start, S: int) -> tuple:
    if start is None:
        return ((0, Fraction(1)),)
    arr = _finite_array(start, "start", (0, 1))
    if arr.ndim == 0:
        idx = float(arr)
        if idx != int(idx) or not 0 <= idx < S:
            raise InputError("start", f"must be a state index in [0, {S}) or a distribution of length {S}")
        return ((int(idx), Fraction(1)),)
    if arr.shape != (S,) or np.any(arr < 0) or abs(arr.sum() - 1) > ROW_TOLERANCE:
        raise InputError("start", f"must be a state index in [0, {S}) or a distribution of length {S}")
    probs = _rationals(arr)
    total = sum(probs, Fraction(0))
    return tuple((s, p / total) for s, p in enumerate(probs) if p)


def load_npz(path: str) -> TabularMDP:
    """Read keys P, R (and optional labels, start, actions) from an .npz file; never unpickles."""
    if os.path.splitext(str(path))[1] not in ("", ".npz"):
        raise InputError("mdp", f"{path!r} is not an .npz; expected an .npz with arrays P (A, S, S) and R (S, A)")
    try:
        require("mdp", f"loading {os.path.basename(str(path))}", numpy_file_bytes(path))  # headers only
        with np.load(path, allow_pickle=False) as data:
            keys = set(data.files)
            missing = {"P", "R"} - keys
            if missing:
                raise InputError("mdp", f"{path!r} lacks key {sorted(missing)[0]!r}; needs P and R")
            unknown = keys - {"P", "R", "labels", "start", "actions"}
            if unknown:
                raise InputError("mdp", f"unknown key {sorted(unknown)[0]!r}; allowed: P, R, labels, start, actions")
            arrays = {k: data[k] for k in keys}
    except InputError:
        raise
    except ValueError as exc:
        if "pickle" in str(exc):  # numpy's word for a file that is not .npy/.npz at all
            raise InputError("mdp", f"{path!r} is not an .npz; expected an .npz with arrays P and R") from None
        raise InputError("mdp", f"{path!r}: {exc}") from None
    except (OSError, zipfile.BadZipFile, EOFError) as exc:
        raise InputError("mdp", f"cannot read {path!r} as .npz: {exc}") from None
    return mdp_from_arrays(arrays["P"], arrays["R"], arrays.get("labels"), arrays.get("start"), arrays.get("actions"))
