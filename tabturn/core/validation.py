"""Input checks shared by every layer: one message per rule, naming the field (InputError, exit status 2)."""

from __future__ import annotations

from collections.abc import Iterable
from fractions import Fraction

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.rational import format_rational, parse_rational


def check_int(value: object, name: str, minimum: int | None = None) -> int:
    """``value`` as an int if it is an integer (not a bool) of at least ``minimum``, else InputError naming
    ``name``."""
    bound = f" >= {minimum}" if minimum is not None else ""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise InputError(name, f"must be an integer{bound}, not {value!r}")
    if minimum is not None and value < minimum:
        raise InputError(name, f"must be an integer{bound}, not {value}")
    return int(value)


def check_choice(value: object, name: str, allowed: tuple[str, ...]) -> str:
    """``value`` if it is one of the ``allowed`` strings, else InputError naming ``name``."""
    if not isinstance(value, str) or value not in allowed:
        raise InputError(name, f"must be one of {', '.join(allowed)}; got {value!r}")
    return value


def check_discount(value: object, infinite: bool, name: str = "discount") -> Fraction:
    """``value`` as an exact Fraction gamma: in [0, 1] for a finite horizon, in [0, 1) for an infinite one (the
    discounted sum must converge); else InputError naming ``name``."""
    gamma = parse_rational(value, name)
    if not 0 <= gamma <= 1 or (infinite and gamma == 1):
        allowed = "[0, 1) for an infinite horizon" if infinite else "[0, 1] for a finite horizon"
        raise InputError(name, f"must lie in {allowed}, not {format_rational(gamma)}")
    return gamma


def check_horizon(value: object, name: str = "horizon") -> int | None:
    """``value`` as a finite horizon (an integer >= 1) or None for the infinite discounted horizon."""
    return None if value is None else check_int(value, name, 1)


def check_seeds(value: object, name: str = "seeds") -> tuple[int, ...]:
    """Learner seeds as a non-empty tuple of integers: a count n >= 1 gives 0..n-1, a sequence gives its own."""
    if isinstance(value, (int, np.integer)) and not isinstance(value, bool):
        return tuple(range(check_int(value, name, 1)))
    if isinstance(value, range) and value.step > 0:  # integers by construction: no per-seed check
        if not value:
            raise InputError(name, "must name at least one seed")
        return tuple(value)
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise InputError(name, f"must be a count or a sequence of integers, not {value!r}")
    seeds = tuple(check_int(s, name) for s in value)
    if not seeds:
        raise InputError(name, "must name at least one seed")
    return seeds
