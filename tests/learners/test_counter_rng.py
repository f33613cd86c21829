"""Counter-based uniforms: SplitMix64 reference values, independence from batch and chunking, and uniformity."""

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from tabturn.learners import counter_rng


def test_splitmix_matches_the_reference_generator():
    # SplitMix64 (Steele, Lea and Flood 2014; Vigna's splitmix64.c) seeded with 0 outputs e220a8397b1dcdaf,
    # 6e789e6aa1b965f4, 06c45d188009454f: its n-th output is splitmix(n * golden gamma).
    states = np.array([0, 0x9E3779B97F4A7C15, 2 * 0x9E3779B97F4A7C15 % 2**64], dtype=np.uint64)
    assert [int(v) for v in counter_rng.splitmix(states)] == [
        0xE220A8397B1DCDAF,
        0x6E789E6AA1B965F4,
        0x06C45D188009454F,
    ]


@given(
    st.lists(st.integers(0, 2**40), min_size=1, max_size=6, unique=True),
    st.integers(0, 200),
    st.integers(1, 40),
    st.integers(-5, 2**63),
)
def test_a_seeds_draws_do_not_depend_on_its_batch_or_chunk(seeds, first, count, base_seed):
    hashes = counter_rng.counter_hashes(first, count, 4, 3)
    together = counter_rng.uniforms(counter_rng.seed_keys(base_seed, seeds), hashes)
    for i, seed in enumerate(seeds):
        alone = counter_rng.uniforms(counter_rng.seed_keys(base_seed, [seed]), hashes)[0]
        assert np.array_equal(together[i], alone)
    if count > 1:  # episodes first..first+count split into two chunks give the same numbers
        keys = counter_rng.seed_keys(base_seed, seeds)
        head = counter_rng.uniforms(keys, counter_rng.counter_hashes(first, 1, 4, 3))
        tail = counter_rng.uniforms(keys, counter_rng.counter_hashes(first + 1, count - 1, 4, 3))
        assert np.array_equal(np.concatenate([head, tail], axis=1), together)


def test_uniforms_are_uniform_and_seeds_uncorrelated():
    keys = counter_rng.seed_keys(0, range(64))
    u = counter_rng.uniforms(keys, counter_rng.counter_hashes(0, 64, 65, 2))  # (64 seeds, 64, 65, 2)
    assert u.min() >= 0 and u.max() < 1
    counts = np.bincount((u.ravel() * 100).astype(int), minlength=100)
    expected = u.size / 100
    chi2 = float(((counts - expected) ** 2 / expected).sum())
    assert chi2 < 160  # 99 degrees of freedom: P(chi2 > 160) < 1e-4 for uniform draws
    flat = u.reshape(64, -1) - 0.5
    corr = np.corrcoef(flat)
    z2 = corr[np.triu_indices(64, 1)] ** 2 * flat.shape[1]  # n r^2 ~ chi-square(1) for independent seeds
    assert 0.85 < z2.mean() < 1.15  # 2016 pairs: the mean's sd is about 0.03
    assert z2.max() < 36  # no pair beyond 6 sd
    assert len(np.unique(keys)) == 64
