"""ExactCSR, the hub's scipy-free sparse numerators, against dense arithmetic and scipy.sparse."""

import numpy as np
import pytest
import scipy.sparse as sp
from hypothesis import given, settings
from hypothesis import strategies as st

from tabturn.core.csr import ExactCSR, as_exact_csr, exact_csr, segment_sums


@st.composite
def triples(draw):
    n = draw(st.integers(1, 7))
    k = draw(st.integers(0, 25))
    idx = st.integers(0, n - 1)
    rows = draw(st.lists(idx, min_size=k, max_size=k))
    cols = draw(st.lists(idx, min_size=k, max_size=k))
    vals = draw(st.lists(st.integers(-5, 5), min_size=k, max_size=k))
    return n, rows, cols, vals


def dense(n, rows, cols, vals):
    out = np.zeros((n, n), dtype=np.int64)
    for r, c, v in zip(rows, cols, vals):
        out[r, c] += v
    return out


@settings(max_examples=150, deadline=None)
@given(triples())
def test_exact_csr_sums_duplicates_sorts_and_drops_zeros(case):
    n, rows, cols, vals = case
    mat = exact_csr(rows, cols, vals, n)
    want = dense(*case)
    assert np.array_equal(mat.toarray(), want)
    assert mat.nnz == np.count_nonzero(want)
    assert np.all(mat.data != 0)
    for s in range(n):
        c, _ = mat.row(s)
        assert np.all(np.diff(c) > 0)
        for t in range(n):
            assert mat.entry(s, t) == want[s, t]
    assert np.array_equal(mat.row_sums(), want.sum(axis=1))


@settings(max_examples=100, deadline=None)
@given(triples(), st.data())
def test_matvec_matches_dense_products_for_int_object_and_float_vectors(case, data):
    n = case[0]
    mat, want = exact_csr(*case[1:], n), dense(*case)
    v = np.array(data.draw(st.lists(st.integers(-(10**6), 10**6), min_size=n, max_size=n)), dtype=np.int64)
    assert np.array_equal(mat.matvec(v), want @ v)
    big = np.array([int(x) * 10**30 for x in v], dtype=object)  # beyond int64: Python integers
    assert list(mat.matvec(big)) == [sum(int(want[s, t]) * big[t] for t in range(n)) for s in range(n)]
    assert np.allclose(mat.matvec(v / 7.0), want @ (v / 7.0))


@settings(max_examples=60, deadline=None)
@given(triples())
def test_round_trip_through_scipy_keeps_every_entry(case):
    n = case[0]
    mat = exact_csr(*case[1:], n)
    back = mat.to_scipy()
    assert isinstance(back, sp.csr_matrix) and back.shape == (n, n)
    assert np.array_equal(back.toarray(), mat.toarray())
    again = as_exact_csr(sp.csr_matrix(dense(*case)))
    assert np.array_equal(again.indptr, mat.indptr) and np.array_equal(again.indices, mat.indices)
    assert np.array_equal(again.data, mat.data)
    assert as_exact_csr(mat) is mat


def test_out_of_range_indices_and_non_matrices_are_refused():
    with pytest.raises(ValueError, match="indices"):
        exact_csr([0], [3], [1], 3)
    with pytest.raises(TypeError, match="sparse matrix"):
        as_exact_csr([[1]])
    assert isinstance(exact_csr([], [], [], 2), ExactCSR) and exact_csr([], [], [], 2).row_sums().tolist() == [0, 0]


@settings(max_examples=100, deadline=None)
@given(triples(), st.integers(0, 3))
def test_padded_rows_hold_each_row_then_repeat_its_last_column_with_zero(case, extra):
    n = case[0]
    mat = exact_csr(*case[1:], n)
    width = int(np.diff(mat.indptr).max(initial=0)) + extra
    cols, vals = mat.padded_rows(width)
    assert cols.shape == vals.shape == (n, width)
    for s in range(n):
        c, v = mat.row(s)
        k = len(c)
        assert cols[s, :k].tolist() == c.tolist() and vals[s, :k].tolist() == v.tolist()
        assert np.all(vals[s, k:] == 0) and np.all(cols[s, k:] == (c[-1] if k else 0))


@settings(max_examples=100, deadline=None)
@given(triples(), st.data())
def test_rows_of_and_widest_row_match_the_dense_rows(case, data):
    n = case[0]
    mat, want = exact_csr(*case[1:], n), dense(*case)
    picked = np.array(data.draw(st.lists(st.integers(0, n - 1), max_size=6)), dtype=np.int64)
    owner, cols, vals = mat.rows_of(picked)
    got = [(int(picked[o]), int(c), int(v)) for o, c, v in zip(owner, cols, vals)]
    expect = [(int(s), t, int(want[s, t])) for s in picked for t in range(n) if want[s, t] != 0]
    assert got == expect
    assert mat.widest_row() == max(int(np.count_nonzero(r)) for r in want)


@settings(max_examples=100, deadline=None)
@given(st.lists(st.integers(0, 4), max_size=8), st.data())
def test_segment_sums_add_each_segment_and_give_zero_for_empty_ones(lengths, data):
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int64)
    values = np.array(data.draw(st.lists(st.integers(-9, 9), min_size=int(indptr[-1]), max_size=int(indptr[-1]))))
    values = values.astype(object)
    got = segment_sums(indptr, values)
    assert [int(x) for x in got] == [sum(values[indptr[i] : indptr[i + 1]]) for i in range(len(lengths))]
