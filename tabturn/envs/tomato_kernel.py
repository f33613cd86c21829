"""Compiled loops of tabturn.envs.tomato: multi-precision integers as little-endian 32-bit limbs held in uint64
words, T value tracks side by side in the last axis (V[cell, mask, limb, track]; the ``L`` low limbs are in use).
A drying pass (probability 1/20: x = 19 x + y where the tomato is watered, x = 20 x where not, by shifts and adds)
multiplies by at most 20, so up to six passes run without carrying (every word stays below 2^58) before one carry
pass restores 32-bit limbs; the passes of one chunk of six tomatoes run on a group of 64 masks at a time, which
stays in cache. The rewards are added in the last carry, so the backups only compare and copy. Optional: needs
numba (the ``fast`` extra); tabturn.envs.tomato falls back to Python integers without it."""

from __future__ import annotations

import numpy as np

try:
    import numba
except ImportError:  # pragma: no cover - exercised only without the extra
    numba = None  # type: ignore[assignment]

MASK32 = np.uint64(0xFFFFFFFF)
CHUNK = 6  # drying passes between carries: 20^6 * 2^32 < 2^58


def available() -> bool:
    """True when numba is importable."""
    return numba is not None


if numba is not None:
    _jit = numba.njit(cache=True, fastmath=False, nogil=True, parallel=True)
    _inline = numba.njit(cache=True, fastmath=False, inline="always")
    _plain = numba.njit(cache=True, fastmath=False, nogil=True)

    @_plain
    def _add_reward_and_carry(x, r, K, L):  # x[:, t] += r[t] * K for each track t, then carry every limb
        T = x.shape[1]
        for k in range(L):
            for t in range(T):
                x[k, t] += np.uint64(r[t]) * K[k]
        carry = np.zeros(T, dtype=np.uint64)
        for k in range(L):
            for t in range(T):
                v = x[k, t] + carry[t]
                x[k, t] = v & MASK32
                carry[t] = v >> np.uint64(32)

    @_inline
    def _compare(x, y, t, L):  # -1, 0, 1 as track t of x <, =, > that of y (both carried)
        for k in range(L - 1, -1, -1):
            if x[k, t] != y[k, t]:
                return 1 if x[k, t] > y[k, t] else -1
        return 0

    @_jit
    def tomato_dry(V, n, L, rewards, K, cells):  # pragma: no cover - compiled
        """In place, for each cell of ``cells`` and every track: the expectation over independent drying with
        probability 1/20 (numerators times 20^n), plus rewards[track, cell, mask] * K; carried."""
        C, M, L0, T = V.shape
        words = L * T
        F = V.reshape(C, M, L0 * T)  # each (cell, mask) row flat: its first L * T words are in use
        four, two, one = np.uint64(4), np.uint64(2), np.uint64(1)
        for job in numba.prange(cells.shape[0]):
            c = cells[job]
            r = np.zeros(T, dtype=np.int64)
            for lo in range(0, max(n, 1), CHUNK):
                hi = min(n, lo + CHUNK)
                width = 1 << (hi - lo)
                inside = (width - 1) << lo
                for g in range(M):
                    if g & inside:
                        continue  # g: a group's base (its chunk bits clear); members g | (j << lo)
                    for i in range(lo, hi):
                        b = 1 << i
                        for j in range(width - 1, -1, -1):  # descending: m ^ b is read before it is scaled
                            m = g | (j << lo)
                            if m & b:
                                for k in range(words):
                                    v = F[c, m, k]
                                    F[c, m, k] = (v << four) + (v << one) + v + F[c, m ^ b, k]
                            else:
                                for k in range(words):
                                    v = F[c, m, k]
                                    F[c, m, k] = (v << four) + (v << two)
                    for j in range(width):
                        m = g | (j << lo)
                        last = hi == n
                        for t in range(T):
                            r[t] = rewards[t, c, m] if last else 0
                        _add_reward_and_carry(V[c, m], r, K, L)

    @_jit
    def tomato_backup_optimal(W, out, succ, water, L, optimal):  # pragma: no cover - compiled
        """out[c, m] from W: track 0 the reward maximum (``optimal[c, m]`` gets the bitmask of the actions that
        reach it, exactly), track 1 the performance maximum. Actions with the same successor cell as an earlier
        one have the same values."""
        C, M, A = W.shape[0], W.shape[1], succ.shape[1]
        for c in numba.prange(C):
            for m in range(M):
                o = out[c, m]
                bits = 0
                for a in range(A):
                    to = succ[c, a]
                    first = a
                    for e in range(a - 1, -1, -1):
                        if succ[c, e] == to:
                            first = e
                    if first < a:  # the same successor as action `first`: the same values
                        if bits >> first & 1:
                            bits |= 1 << a
                        continue
                    q = W[to, m | water[to]]
                    if a == 0:
                        o[:L, :] = q[:L, :]
                        bits = 1
                        continue
                    order = _compare(q, o, 0, L)
                    if _compare(q, o, 1, L) > 0:
                        o[:L, 1] = q[:L, 1]
                    if order > 0:
                        o[:L, 0] = q[:L, 0]
                        bits = 1 << a
                    elif order == 0:
                        bits |= 1 << a
                optimal[c, m] = bits

    @_jit
    def tomato_backup_restricted(W, out, succ, water, L, optimal, cells):  # pragma: no cover - compiled
        """out[c, m] for c in ``cells``: the minimum (track 0) and maximum (track 1) of W over the actions in the
        bitmask ``optimal[c, m]``."""
        M, A = W.shape[1], succ.shape[1]
        for job in numba.prange(cells.shape[0]):
            c = cells[job]
            for m in range(M):
                o = out[c, m]
                started = False
                for a in range(A):
                    if not optimal[c, m] >> a & 1:
                        continue
                    to = succ[c, a]
                    q = W[to, m | water[to]]
                    if not started:
                        o[:L, :] = q[:L, :]
                        started = True
                        continue
                    if _compare(q, o, 0, L) < 0:
                        o[:L, 0] = q[:L, 0]
                    if _compare(q, o, 1, L) > 0:
                        o[:L, 1] = q[:L, 1]
