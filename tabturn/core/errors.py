"""The one exception type for bad user input."""

from __future__ import annotations


class InputError(ValueError):
    """A user-supplied value is not allowed; ``field`` names it, the message says what is allowed."""

    LIMIT = 300  # characters of a message; the rest of a huge offending value is cut with "…"

    def __init__(self, field: str, message: str):
        field = field if len(field) <= 100 else field[:100] + "…"
        message = message if len(message) <= self.LIMIT else message[: self.LIMIT] + "…"
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
