"""Exact rational parsing and formatting ("p/q" strings, integers, decimals)."""

from __future__ import annotations

import math
from fractions import Fraction
from numbers import Integral

from tabturn.core.errors import InputError

RationalLike = Fraction | int | float | str  # what parse_rational reads exactly


def parse_rational(value: object, field: str) -> Fraction:
    """Return ``value`` as an exact Fraction.

    Accepts integers, Fractions, strings such as ``"3"``, ``"-1/2"`` or ``"0.99"`` (read as the exact
    decimal), and finite floats (read as their shortest decimal form, so ``0.99`` is 99/100).
    Raises InputError naming ``field`` for anything else.
    """
    if isinstance(value, bool):
        raise InputError(field, f'must be a number or a rational string such as "1/2", not {value!r}')
    if isinstance(value, Fraction):
        return value
    if isinstance(value, Integral):
        return Fraction(int(value))
    if isinstance(value, float):
        if not math.isfinite(value):
            raise InputError(field, f"must be finite, not {value!r}")
        return Fraction(repr(value))
    if isinstance(value, str):
        text = value.strip()
        try:
            result = rational_text(text, field)
        except InputError:
            raise
        except (ValueError, ZeroDivisionError):
            raise InputError(field, f'{value!r} is not a rational number; write e.g. "3", "-1/2" or "0.99"') from None
        return result
    raise InputError(field, f'must be a number or a rational string such as "1/2", not {type(value).__name__}')


MAX_DIGITS = 1000  # digits of a rational's text, and the largest decimal exponent read exactly


def rational_text(text: str, field: str) -> Fraction:
    """Fraction(text), refusing (InputError) texts whose exact value would take more than MAX_DIGITS digits
    (e.g. "1e999999999", which Fraction would expand into a billion-digit integer); ValueError if not a number."""
    import re

    exponent = re.search(r"[eE]\s*([+-]?\d+)\s*$", text)
    digits = sum(ch.isdigit() for ch in text)
    if digits > MAX_DIGITS or (exponent and abs(int(exponent.group(1)[:12])) > MAX_DIGITS):
        raise InputError(
            field,
            f"{text[:40]!r}{'…' if len(text) > 40 else ''} needs more than {MAX_DIGITS} digits exactly; not supported",
        )
    return Fraction(text)


def format_rational(value: Fraction | int) -> str:
    """Return ``"p/q"`` (or ``"n"`` for an integer) for an exact number."""
    value = Fraction(value)
    if value.denominator == 1:
        return str(value.numerator)
    return f"{value.numerator}/{value.denominator}"


def small_fraction(x: float, max_denominator: int = 10**6) -> tuple[Fraction, bool]:
    """Return the exact rational meant by float ``x`` and whether it is a small fraction.

    If a fraction with denominator at most ``max_denominator`` rounds to exactly ``x`` it is
    returned with True (0.1 -> 1/10, 1/3 -> 1/3); otherwise the exact binary value of ``x`` with False.
    """
    exact = Fraction(x)
    small = exact.limit_denominator(max_denominator)
    if float(small) == x:
        return small, True
    return exact, False


def near_fraction(x: float, max_denominator: int = 10**6, tolerance: float = 1e-12) -> tuple[Fraction, bool]:
    """Return the small fraction within ``tolerance`` (relative, at least absolute) of float ``x`` and whether it
    is exactly ``x``; the exact binary value of ``x`` (and False) when there is none.

    Unlike ``small_fraction`` this accepts floats one rounding step off (0.33333333333333337 -> 1/3), as tabular
    environments produce them, and says so through the flag.
    """
    small = Fraction(x).limit_denominator(max_denominator)
    if abs(float(small) - x) <= tolerance * max(1.0, abs(x)):
        return small, float(small) == x
    return Fraction(x), False
