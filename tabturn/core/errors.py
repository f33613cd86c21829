"""The one exception type for bad user input."""

from __future__ import annotations


class InputError(ValueError):
    """A user-supplied value is not allowed; ``field`` names it, the message says what is allowed."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
