"""Chi-square tests in closed form (floating point, accurate to rounding), so no command imports scipy.stats
(about a second of import time) for a p-value."""

from __future__ import annotations

import math

import numpy as np


def chi2_sf(x: float, dof: int) -> float:
    """P(X >= x) for X chi-square with a positive integer number of degrees of freedom.

    Closed forms: even dof, exp(-x/2) sum_{i < dof/2} (x/2)^i / i!; odd dof, erfc(sqrt(x/2)) plus
    exp(-x/2) sum_{i=1}^{(dof-1)/2} (x/2)^(i - 1/2) / Gamma(i + 1/2). Floating; relative error near 1e-14."""
    if dof < 1 or int(dof) != dof:
        raise ValueError(f"dof must be a positive integer, not {dof}")
    if x <= 0:
        return 1.0
    h = x / 2
    if dof % 2 == 0:
        term, total = 1.0, 1.0
        for i in range(1, dof // 2):
            term *= h / i
            total += term
        return min(1.0, math.exp(-h) * total)
    term = math.sqrt(h) / math.gamma(1.5)  # (x/2)^(1/2) / Gamma(3/2)
    total = 0.0
    for i in range(1, (dof - 1) // 2 + 1):
        total += term
        term *= h / (i + 0.5)
    return min(1.0, math.erfc(math.sqrt(h)) + math.exp(-h) * total)


def homogeneity_p(table: np.ndarray) -> float:
    """p-value of Pearson's chi-square test of independence on an r x c table of counts with no empty row or
    column (Yates' continuity correction when dof = 1), as scipy.stats.chi2_contingency computes it."""
    observed = np.asarray(table, dtype=np.float64)
    expected = np.outer(observed.sum(axis=1), observed.sum(axis=0)) / observed.sum()
    dof = (observed.shape[0] - 1) * (observed.shape[1] - 1)
    if dof == 0:
        return 1.0
    if dof == 1:
        diff = expected - observed
        observed = observed + np.sign(diff) * np.minimum(0.5, np.abs(diff))
    return chi2_sf(float(((observed - expected) ** 2 / expected).sum()), dof)
