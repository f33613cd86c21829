"""Input checks shared by every layer: one message per rule, naming the field (InputError, exit status 2)."""

from __future__ import annotations

import numpy as np

from tabturn.core.errors import InputError


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
