"""Exact rational parsing and formatting."""

from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabturn.core.errors import InputError
from tabturn.core.rational import format_rational, parse_rational


def test_rational_parsing_is_exact():
    assert parse_rational("1/2", "a") == Fraction(1, 2)
    assert parse_rational("0.99", "a") == Fraction(99, 100)
    assert parse_rational(0.99, "a") == Fraction(99, 100)
    assert parse_rational(3, "a") == 3
    assert format_rational(Fraction(-6, 4)) == "-3/2"
    assert format_rational(Fraction(4, 2)) == "2"


@pytest.mark.parametrize("bad", ["abc", "1/0", "nan", "inf", float("nan"), float("inf"), True, None, [1]])
def test_rational_parsing_refuses(bad):
    with pytest.raises(InputError) as err:
        parse_rational(bad, "discount")
    assert err.value.field == "discount"


@given(st.fractions())
def test_formatting_then_parsing_gives_the_same_fraction(value):
    assert parse_rational(format_rational(value), "a") == value


@given(st.floats(allow_nan=False, allow_infinity=False))
def test_a_float_is_read_as_its_shortest_decimal(value):
    assert parse_rational(value, "a") == Fraction(repr(value))
