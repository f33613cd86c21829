"""Closed-form chi-square tail and homogeneity test against scipy.stats."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy.stats import chi2, chi2_contingency

from tabturn.core.stats import chi2_sf, homogeneity_p


@settings(max_examples=300, deadline=None)
@given(st.floats(0.0, 400.0), st.integers(1, 40))
def test_chi2_tail_matches_scipy(x, dof):
    want = chi2.sf(x, dof)
    assert chi2_sf(x, dof) == pytest.approx(want, rel=1e-11, abs=1e-300)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(st.integers(1, 300), st.integers(1, 300)), min_size=2, max_size=6))
def test_homogeneity_p_matches_chi2_contingency_with_its_continuity_correction(rows):
    table = np.array(rows)
    assert homogeneity_p(table) == pytest.approx(float(chi2_contingency(table).pvalue), rel=1e-10, abs=1e-300)


def test_a_table_without_variation_has_p_one_and_bad_dof_is_refused():
    assert homogeneity_p(np.array([[5, 5]])) == 1.0
    assert homogeneity_p(np.array([[10, 10], [10, 10]])) == pytest.approx(1.0)
    with pytest.raises(ValueError, match="dof"):
        chi2_sf(1.0, 0)
