"""Compiled loops of tabturn.envs.tomato: multi-precision integers as little-endian 32-bit limbs held in uint64
words, the four value tracks side by side in the last axis (V[cell, mask, limb, track]; the ``L`` low limbs are
in use). A drying pass multiplies by at most 20, so up to six passes run without carrying (every word stays
below 2^58) before one carry pass restores 32-bit limbs; the passes of one chunk of six tomatoes run on a group
of 64 masks at a time, which stays in cache. Optional: needs numba (the ``fast`` extra); tabturn.envs.tomato
falls back to Python integers without it."""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without the extra
    numba = None  # type: ignore[assignment]

MASK32 = np.uint64(0xFFFFFFFF)
TRACKS = 4
CHUNK = 6  # drying passes between carries: 20^6 * 2^32 < 2^58


def available() -> bool:
    """True when numba is importable."""
    return numba is not None


if numba is not None:
    _jit = numba.njit(cache=True, fastmath=False, nogil=True, parallel=True)
    _inline = numba.njit(cache=True, fastmath=False, inline="always")

    @_inline
    def _carry(x, L):  # x: (L0, 4) words; propagate carries so every limb < 2^32 (four chains interleaved)
        c0 = c1 = c2 = c3 = np.uint64(0)
        s = np.uint64(32)
        for k in range(L):
            v0, v1, v2, v3 = x[k, 0] + c0, x[k, 1] + c1, x[k, 2] + c2, x[k, 3] + c3
            x[k, 0], x[k, 1], x[k, 2], x[k, 3] = v0 & MASK32, v1 & MASK32, v2 & MASK32, v3 & MASK32
            c0, c1, c2, c3 = v0 >> s, v1 >> s, v2 >> s, v3 >> s

    @_inline
    def _compare(x, y, t, L):  # -1, 0, 1 as track t of x <, =, > that of y (both carried)
        for k in range(L - 1, -1, -1):
            if x[k, t] != y[k, t]:
                return 1 if x[k, t] > y[k, t] else -1
        return 0

    @_jit
    def _dry_twentieth(V, n, L):  # pragma: no cover - compiled
        """tomato_dry for drying probability 1/20 (keep 19, dry 1, scale 20) with the factors as constants."""
        C, M = V.shape[0], V.shape[1]
        for c in numba.prange(C):
            for lo in range(0, n, CHUNK):
                hi = min(n, lo + CHUNK)
                width = 1 << (hi - lo)
                inside = (width - 1) << lo
                for g in range(M):
                    if g & inside:
                        continue
                    for i in range(lo, hi):
                        b = 1 << i
                        for j in range(width):
                            m = g | (j << lo)
                            if m & b:
                                x, y = V[c, m].ravel(), V[c, m ^ b].ravel()
                                for k in range(L * TRACKS):
                                    x[k] = np.uint64(19) * x[k] + y[k]
                        for j in range(width):
                            m = g | (j << lo)
                            if not m & b:
                                x = V[c, m].ravel()
                                for k in range(L * TRACKS):
                                    x[k] = np.uint64(20) * x[k]
                    for j in range(width):
                        _carry(V[c, g | (j << lo)], L)

    @_jit
    def tomato_dry(V, n, keep, dry, scale, L):  # pragma: no cover - compiled
        """In place, every cell and track: the expectation over independent drying, numerators times scale^n;
        the result is carried."""
        C, M = V.shape[0], V.shape[1]
        if (keep, dry, scale) == (19, 1, 20):  # the original's 1/20: constants the compiler turns into shifts
            _dry_twentieth(V, n, L)
            return
        keep, dry, scale = np.uint64(keep), np.uint64(dry), np.uint64(scale)
        for c in numba.prange(C):
            for lo in range(0, n, CHUNK):
                hi = min(n, lo + CHUNK)
                width = 1 << (hi - lo)
                inside = (width - 1) << lo
                for g in range(M):
                    if g & inside:
                        continue  # g: a group's base (its chunk bits clear); members g | (j << lo)
                    for i in range(lo, hi):
                        b = 1 << i
                        for j in range(width):
                            m = g | (j << lo)
                            if m & b:
                                x, y = V[c, m], V[c, m ^ b]
                                for k in range(L):
                                    for t in range(TRACKS):
                                        x[k, t] = keep * x[k, t] + dry * y[k, t]
                        for j in range(width):
                            m = g | (j << lo)
                            if not m & b:
                                x = V[c, m]
                                for k in range(L):
                                    for t in range(TRACKS):
                                        x[k, t] = scale * x[k, t]
                    for j in range(width):
                        _carry(V[c, g | (j << lo)], L)

    @_jit
    def tomato_backup(W, out, succ, water, vis, hid, K, L):  # pragma: no cover - compiled
        """out[c, m] from the carried, dried values W: reward max (track 0), performance max (1), worst (2) and
        best (3) performance over the reward-optimal actions (exact comparisons). Actions with the same successor
        cell as an earlier one have the same value and are skipped."""
        C, M, L0 = W.shape[0], W.shape[1], W.shape[2]
        A = succ.shape[1]
        for c in numba.prange(C):
            q = np.zeros((L0, TRACKS), dtype=np.uint64)
            r = np.zeros(TRACKS, dtype=np.uint64)
            for m in range(M):
                o = out[c, m]
                for a in range(A):
                    to = succ[c, a]
                    seen = False
                    for e in range(a):
                        seen = seen or succ[c, e] == to
                    if seen:
                        continue
                    m2 = m | water[to]
                    r[0] = vis[to, m2]
                    r[1] = r[2] = r[3] = hid[to, m2]
                    w = W[to, m2]
                    for k in range(L):
                        for t in range(TRACKS):
                            q[k, t] = r[t] * K[k] + w[k, t]
                    _carry(q, L)
                    if a == 0:
                        o[:L, :] = q[:L, :]
                        continue
                    order = _compare(q, o, 0, L)
                    if _compare(q, o, 1, L) > 0:
                        o[:L, 1] = q[:L, 1]
                    if order > 0:
                        o[:L, 0] = q[:L, 0]
                        o[:L, 2] = q[:L, 2]
                        o[:L, 3] = q[:L, 3]
                    elif order == 0:
                        if _compare(q, o, 2, L) < 0:
                            o[:L, 2] = q[:L, 2]
                        if _compare(q, o, 3, L) > 0:
                            o[:L, 3] = q[:L, 3]
