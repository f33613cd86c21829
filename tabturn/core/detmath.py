"""CPU-independent transcendental values for the learners: step sizes, epsilon schedules, softmax exp.

numpy's vectorised ``**``, ``exp`` and ``log`` use SIMD kernels whose last bit depends on the CPU (AVX-512
or not), and libm's scalar routines may pick FMA variants at run time. Every transcendental value that
enters a learner's arithmetic therefore comes from here, computed in one of two CPU-independent ways:

- tables and schedule constants in multiple-precision arithmetic on Python integers (mpmath, 96 or 128
  bits), rounded to float64: ``step_sizes`` (alpha = n^-omega) and ``log_ratio`` (exponential epsilon);
- ``exp_array`` / ``exp_scalar``: exp from IEEE +, -, *, floor and a table of powers of two only, in the
  same operation order for a numpy array and for one float (the numba engine compiles ``exp_scalar``),
  so both engines get the same bits on every CPU. Accuracy: within 2 ulp of exp (tested against mpmath).
"""

from __future__ import annotations

import functools
import math

import mpmath
import numpy as np

LN2_HI = 6.93147180369123816490e-01  # ln 2 split for Cody-Waite reduction: k * LN2_HI is exact for |k| < 2**20
LN2_LO = 1.90821492927058770002e-10
INV_LN2 = 1.44269504088896338700e00
EXP_LIMIT = 700.0  # |x| beyond this: exp underflows to 0.0 (x < -700) or is refused (x > 700)
TWO_POW = np.array([math.ldexp(1.0, k) for k in range(-1022, 1024)])  # TWO_POW[k + 1022] = 2.0**k, exact
# Taylor coefficients 1/j! for j = 13 .. 0 (|r| <= ln2/2: the truncation error is below 2**-60)
EXP_COEFFS = tuple(float(mpmath.mpf(1) / mpmath.factorial(j)) for j in range(13, -1, -1))

_STEP_TABLES: dict[float, np.ndarray] = {}


def exp_array(x: np.ndarray) -> np.ndarray:
    """exp(x) elementwise for float64 x <= 700, bit-identical to ``exp_scalar`` on every CPU."""
    x = np.asarray(x, dtype=np.float64)
    if np.any(x > EXP_LIMIT):
        raise ValueError("exp_array: argument above 700")
    k = np.floor(x * INV_LN2 + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = np.full(x.shape, EXP_COEFFS[0])
    for c in EXP_COEFFS[1:]:
        p = p * r + c
    k_index = np.clip(k, -1022, 1023).astype(np.int64) + 1022
    return np.where(x < -EXP_LIMIT, 0.0, p * TWO_POW[k_index])


def exp_scalar(x: float) -> float:
    """exp(x) for one float x <= 700 with exactly the operations of ``exp_array`` (compiled by the numba engine)."""
    if x < -EXP_LIMIT:
        return 0.0
    k = math.floor(x * INV_LN2 + 0.5)
    r = (x - k * LN2_HI) - k * LN2_LO
    p = EXP_COEFFS[0]
    for i in range(1, len(EXP_COEFFS)):
        p = p * r + EXP_COEFFS[i]
    return float(p * TWO_POW[int(k) + 1022])


def step_sizes(omega: float, n_max: int) -> np.ndarray:
    """alpha[n] = n^-omega (alpha[0] = alpha[1] = 1) for n = 0 .. n_max, rounded to float64 from 96 bits.

    Computed once per omega in exact arithmetic and extended on demand (a table per process).
    """
    omega = float(omega)
    table = _STEP_TABLES.get(omega)
    if table is None or len(table) <= n_max:
        start = 0 if table is None else len(table)
        size = max(n_max + 1, 2 * start, 1024)
        fresh = np.array([_inverse_power(max(n, 1), omega) for n in range(start, size)], dtype=np.float64)
        table = fresh if table is None else np.concatenate([table, fresh])
        table.setflags(write=False)
        _STEP_TABLES[omega] = table
    return table


def _inverse_power(n: int, omega: float) -> float:
    if omega == 1.0:
        return 1.0 / n  # IEEE division is correctly rounded
    with mpmath.workprec(96):
        return float(mpmath.power(mpmath.mpf(n), -mpmath.mpf(omega)))


@functools.lru_cache(maxsize=256)
def log_ratio(numerator: float, denominator: float) -> float:
    """ln(numerator / denominator) for positive floats, rounded to float64 from 128 bits."""
    with mpmath.workprec(128):
        return float(mpmath.log(mpmath.mpf(numerator) / mpmath.mpf(denominator)))
