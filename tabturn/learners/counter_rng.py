"""Counter-based uniforms: the random number of (seed, episode, row, column) is a hash of those four numbers.

Each learner seed has a 64-bit key, ``seed_keys(base_seed, seeds)``; draw ``c`` of row ``r`` (row 0 starts an
episode, row t + 1 is step t) of episode ``e`` is

    unit(splitmix(key XOR splitmix(counter))),  counter = (e (H + 1) + r) C + c,

where splitmix(x) is the SplitMix64 output function applied to x + 0x9E3779B97F4A7C15 (a bijection of 64-bit
integers) and unit(z) = (z >> 11) 2^-53, a double in [0, 1). Nothing is drawn ahead or carried between
draws, so a seed's numbers do not depend on batch, chunk or worker count, and the compiled kernel
(tabturn.learners.numba_kernel) computes the same integers as the vectorised numpy version here, bit for bit.
"""

from __future__ import annotations

import numpy as np

STREAMS = (
    "splitmix64-counter-1+textbook-loops"  # names the generator and the loop order; caches of learner results key on it
)
GOLDEN = np.uint64(0x9E3779B97F4A7C15)
MIX1 = np.uint64(0xBF58476D1CE4E5B9)
MIX2 = np.uint64(0x94D049BB133111EB)
S30, S27, S31, S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
UNIT = 2.0**-53


def splitmix(x: np.ndarray) -> np.ndarray:
    """SplitMix64's output for state x (uint64 array, wrapping arithmetic)."""
    z = np.asarray(x, dtype=np.uint64) + GOLDEN
    z = (z ^ (z >> S30)) * MIX1
    z = (z ^ (z >> S27)) * MIX2
    return z ^ (z >> S31)


def unit(z: np.ndarray) -> np.ndarray:
    """The top 53 bits of z as a double in [0, 1) (exact)."""
    return (z >> S11).astype(np.float64) * UNIT


def seed_keys(base_seed: int, seeds) -> np.ndarray:
    """(B,) uint64 key of each seed: splitmix(splitmix(base_seed) XOR seed), integers taken modulo 2^64."""
    base = splitmix(np.array([int(base_seed) % 2**64], dtype=np.uint64))
    return splitmix(base ^ np.array([int(s) % 2**64 for s in seeds], dtype=np.uint64))


def counter_hashes(first_episode: int, episodes: int, rows: int, columns: int) -> np.ndarray:
    """(episodes, rows, columns) uint64: splitmix of the counter of each draw of those episodes."""
    e = np.arange(first_episode, first_episode + episodes, dtype=np.uint64)[:, None, None]
    r = np.arange(rows, dtype=np.uint64)[None, :, None]
    c = np.arange(columns, dtype=np.uint64)[None, None, :]
    return splitmix((e * np.uint64(rows) + r) * np.uint64(columns) + c)


def uniforms(keys: np.ndarray, hashes: np.ndarray) -> np.ndarray:
    """(B, *hashes.shape) uniforms of each key for each counter hash."""
    return unit(splitmix(keys.reshape((-1,) + (1,) * hashes.ndim) ^ hashes[None]))
