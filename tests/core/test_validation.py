"""The shared validators: one rule, one message form, naming the field."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabturn.core.errors import InputError
from tabturn.core.validation import check_choice, check_discount, check_horizon, check_int


@given(st.fractions(-2, 2, max_denominator=50), st.booleans())
def test_a_discount_is_accepted_exactly_when_it_lies_in_its_range(gamma, infinite):
    inside = 0 <= gamma < 1 if infinite else 0 <= gamma <= 1
    if inside:
        assert check_discount(str(gamma), infinite) == gamma
    else:
        with pytest.raises(InputError) as err:
            check_discount(gamma, infinite)
        assert err.value.field == "discount"


@pytest.mark.parametrize(
    ("value", "infinite", "message"),
    [
        (1, True, "must lie in [0, 1) for an infinite horizon, not 1"),
        ("3/2", False, "must lie in [0, 1] for a finite horizon, not 3/2"),
        (-0.5, True, "must lie in [0, 1) for an infinite horizon, not -1/2"),
    ],
)
def test_a_discount_out_of_range_is_refused_with_one_message_form(value, infinite, message):
    with pytest.raises(InputError) as err:
        check_discount(value, infinite, "--discount")
    assert (err.value.field, err.value.message) == ("--discount", message)


def test_the_discount_arrives_as_an_exact_fraction():
    assert check_discount(0.99, infinite=True) == Fraction(99, 100)
    assert type(check_discount(1, infinite=False)) is Fraction


def test_every_discount_entry_point_uses_the_one_rule():
    from tabturn.envs.solve import solve
    from tabturn.envs.turn.config import TurnConfig
    from tabturn.envs.turn.model import turn_mdp
    from tabturn.exact.discounted import certify, policy_values, solve_discounted, value_iteration
    from tabturn.exact.finite import backward_induction

    mdp = turn_mdp(TurnConfig(x_bounds=(0, 1), y_bounds=(0, 1), horizon=2))
    policy = [0] * mdp.n_states
    calls = {
        "solve": lambda: solve(mdp, None, 1),
        "solve_discounted": lambda: solve_discounted(mdp, 1),
        "value_iteration": lambda: value_iteration(mdp, 1),
        "policy_values": lambda: policy_values(mdp, policy, 1),
        "certify": lambda: certify(mdp, policy, 1),
        "config": lambda: TurnConfig(horizon=None, discount=1),
    }
    for name, call in calls.items():
        with pytest.raises(InputError) as err:
            call()
        assert err.value.message == "must lie in [0, 1) for an infinite horizon, not 1", name
    with pytest.raises(InputError) as err:
        backward_induction(mdp, 2, "11/10")
    assert err.value.message == "must lie in [0, 1] for a finite horizon, not 11/10"


def test_horizons_are_positive_integers_or_none():
    assert check_horizon(None) is None and check_horizon(3) == 3
    for bad in (0, -1, 2.5, True, "3"):
        with pytest.raises(InputError) as err:
            check_horizon(bad)
        assert err.value.field == "horizon"


def test_integers_and_choices_name_their_field():
    assert check_int(5, "seeds", 1) == 5
    with pytest.raises(InputError, match="seeds: must be an integer >= 1, not 0"):
        check_int(0, "seeds", 1)
    with pytest.raises(InputError, match="engine: must be one of numpy, numba; got 'c'"):
        check_choice("c", "engine", ("numpy", "numba"))


def test_seeds_are_a_count_or_a_sequence_of_integers():
    from tabturn.core.validation import check_seeds

    assert check_seeds(3) == (0, 1, 2)
    assert check_seeds(range(5, 7)) == (5, 6)
    assert check_seeds([4, 4, -1]) == (4, 4, -1)  # keys are taken modulo 2^64; duplicates give the same seed twice
    for bad in (0, [], [1.5], "12", True, None):
        with pytest.raises(InputError) as err:
            check_seeds(bad, "--seeds")
        assert err.value.field == "--seeds"
