"""Backward induction against brute force, and the fast grid path against the sparse path."""

import dataclasses
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabturn.envs.turn.config import ACTION_NAMES, REGIMES, TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.finite import backward_induction
from tests.helpers import brute_force_sequences, expectimax

DETERMINISTIC = [r for r in REGIMES if r not in ("switching", "supervised-until")]  # supervised-until: its own tests


def _cases():
    for regime in DETERMINISTIC:
        for timing in ("per-step", "terminal"):
            for distance in ("vertical", "perpendicular"):
                yield TurnConfig(
                    x_bounds=(0, 2),
                    y_bounds=(0, 2),
                    regime=regime,
                    timing=timing,
                    distance=distance,
                    horizon=4,
                    a="3/2",
                    b=2,
                    actions=("up", "down", "left", "right"),
                )


@pytest.mark.parametrize("cfg", list(_cases()), ids=lambda c: f"{c.regime}-{c.timing}-{c.distance}")
def test_backward_induction_equals_enumeration_of_all_sequences(cfg):
    sol = backward_induction(turn_mdp(cfg), cfg.horizon, cfg.discount)
    assert sol.certified
    for s, label in enumerate(sol.mdp.state_labels):
        value, firsts = brute_force_sequences(cfg, label, cfg.horizon)
        assert sol.value(s) == value
        assert set(sol.optimal_action_names(s)) == firsts


def test_step_indexed_sets_equal_enumeration_of_the_remaining_horizon():
    cfg = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 3), horizon=5, b=3, actions=("up", "right", "stay"), discount="1/2")
    sol = backward_induction(turn_mdp(cfg), cfg.horizon, cfg.discount)
    for t in range(cfg.horizon):
        for s, label in enumerate(sol.mdp.state_labels):
            assert set(sol.optimal_action_names(s, t)) == brute_force_sequences(cfg, label, cfg.horizon - t)[1]


@pytest.mark.parametrize("timing", ["per-step", "terminal"])
@pytest.mark.parametrize("pq", [("1/3", "1/2"), ("1", "0"), ("0", "1")])
def test_switching_equals_closed_loop_tree_search(timing, pq):
    cfg = TurnConfig(
        x_bounds=(0, 1),
        y_bounds=(0, 2),
        regime="switching",
        p=pq[0],
        q=pq[1],
        timing=timing,
        horizon=3,
        discount="2/3" if timing == "per-step" else 1,
        a=2,
        b=1,
        actions=("up", "down", "right"),
    )
    sol = backward_induction(turn_mdp(cfg), cfg.horizon, cfg.discount)
    for s, label in enumerate(sol.mdp.state_labels):
        value, firsts = expectimax(cfg, label, cfg.horizon)
        assert sol.value(s) == value
        assert set(sol.optimal_action_names(s)) == firsts


def _config(timing, discount, **kw):
    return TurnConfig(timing=timing, discount=discount if timing == "per-step" else 1, **kw)


small_configs = st.builds(
    _config,
    x_bounds=st.tuples(st.integers(-2, 0), st.integers(0, 3)),
    y_bounds=st.tuples(st.integers(-2, 0), st.integers(0, 3)),
    start=st.just((0, 0, True)),
    actions=st.permutations(ACTION_NAMES).flatmap(lambda p: st.integers(1, 5).map(lambda k: tuple(p[:k]))),
    a=st.fractions(0, 4, max_denominator=5),
    b=st.fractions(0, 4, max_denominator=5),
    distance=st.sampled_from(["vertical", "perpendicular"]),
    timing=st.sampled_from(["per-step", "terminal"]),
    regime=st.sampled_from(DETERMINISTIC),
    horizon=st.integers(1, 12),
    discount=st.fractions(0, 1, max_denominator=7),
)


@given(small_configs)
def test_grid_kernel_equals_sparse_path(cfg):
    mdp = turn_mdp(cfg)
    fast = backward_induction(mdp, cfg.horizon, cfg.discount)
    slow = backward_induction(dataclasses.replace(mdp, grid=None), cfg.horizon, cfg.discount)
    assert fast.method.startswith("backward-induction/grid") and slow.method.startswith("backward-induction/sparse")
    assert fast.values.to_fractions() == slow.values.to_fractions()
    assert (fast.action_masks == slow.action_masks).all()
    assert [fast.gap(s) for s in range(mdp.n_states)] == [slow.gap(s) for s in range(mdp.n_states)]


def test_gaps_are_exact_differences_of_q_values():
    cfg = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=3, a=1, b="1/3")
    sol = backward_induction(turn_mdp(cfg), 3)
    for s, label in enumerate(sol.mdp.state_labels):
        qs = {}
        for act in cfg.actions:
            rest = cfg.replace(horizon=2)
            # Q(s, act) = loss on arrival + optimum of the remaining 2 steps from the arrival state.
            from tests.helpers import reference_loss, reference_move

            x, y = reference_move(cfg, label[0], label[1], act)
            qs[act] = reference_loss(cfg, x, y, label[2]) + brute_force_sequences(rest, (x, y, label[2]), 2)[0]
        best = min(qs.values())
        worse = [v - best for v in qs.values() if v > best]
        assert sol.gap(s) == (min(worse) if worse else None)


def test_huge_weights_switch_to_python_integers_without_overflow():
    big = 10**17
    cfg = TurnConfig(x_bounds=(0, 0), y_bounds=(0, 40), actions=("up",), a=big, b=big, horizon=60)
    sol = backward_induction(turn_mdp(cfg), 60)
    # Only "up": y climbs to 40 and stays; loss a*y^2 - b*y at each arrival, computed in Python ints.
    expected = sum(big * y * y - big * y for y in [min(t, 40) for t in range(1, 61)])
    assert sol.start_value() == expected
    assert abs(expected) > 2**63 and "object" in sol.method


def test_huge_horizon_discount_denominators_stay_exact():
    cfg = TurnConfig(
        x_bounds=(0, 0), y_bounds=(0, 2), actions=("up", "stay"), horizon=80, discount="999/1000", b=1, a=0
    )
    sol = backward_induction(turn_mdp(cfg), 80, cfg.discount)
    g = Fraction(999, 1000)
    expected = sum(-(g**t) * min(t + 1, 2) for t in range(80))
    assert sol.start_value() == expected


def _tree_search(mdp, s, steps, gamma):
    """Generic closed-loop optimum (reward maximisation) by plain recursion over TabularMDP accessors."""
    if steps == 0:
        return mdp.final_cost(s), set()
    q = [
        mdp.cost(s, a) + gamma * sum(p * _tree_search(mdp, t, steps - 1, gamma)[0] for t, p in mdp.next_states(s, a))
        for a in range(mdp.n_actions)
    ]
    best = max(q)
    return best, {a for a, v in enumerate(q) if v == best}


def test_generic_many_action_mdp_equals_tree_search():
    import numpy as np

    from tabturn.interop.arrays import mdp_from_arrays

    rng = np.random.default_rng(7)
    A, S = 10, 3  # more than 8 actions: exercises the uint16 action masks
    P = rng.integers(0, 3, size=(A, S, S)).astype(float)
    P[:, :, 0] += 1
    P /= P.sum(axis=2, keepdims=True)
    R = rng.integers(-3, 4, size=(S, A)).astype(float)
    mdp = mdp_from_arrays(P, R)
    sol = backward_induction(mdp, 3, "3/4")
    assert sol.action_masks.dtype.itemsize == 2
    for s in range(S):
        value, best = _tree_search(mdp, s, 3, Fraction(3, 4))
        assert sol.value(s) == value and set(sol.optimal_actions(s)) == best


def test_object_values_keep_the_grid_shape_when_reduced():
    # Regression: with Python-int values on the grid kernel, the gcd reduction flattened the value array and the
    # next step failed to broadcast (found by the adversarial-weights test; b near 2^58, gamma = 7/9).
    cfg = TurnConfig(
        x_bounds=(-2, 2),
        y_bounds=(-2, 2),
        actions=("up", "right", "stay"),
        horizon=2,
        a=0,
        b=256_204_778_801_521_551,
        discount=Fraction(7, 9),
        start=(0, 0, True),
    )
    mdp = turn_mdp(cfg)
    assert backward_induction(mdp, 2, cfg.discount).value(mdp.index_of(cfg.start)) == expectimax(cfg, cfg.start, 2)[0]
