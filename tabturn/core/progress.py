"""A minimal progress line on stderr: done/total, rate and time left; silent off a terminal or when quiet."""

from __future__ import annotations

import sys
import time
from collections.abc import Callable
from typing import TextIO

Status = Callable[[str], None]  # receives one progress message per stage (e.g. a StatusLine)


class Progress:
    """Call ``update(done)``; prints only when stderr is a terminal and ``quiet`` is False."""

    def __init__(self, total: int, label: str, quiet: bool = False, stream: TextIO | None = None):
        self.total, self.label = max(int(total), 1), label
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = not quiet and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.perf_counter()
        self.done = 0

    def update(self, done: int) -> None:
        self.done = done
        if not self.enabled:
            return
        elapsed = time.perf_counter() - self.started
        rate = done / elapsed if elapsed > 0 else 0.0
        left = f"{(self.total - done) / rate:.0f}s" if rate > 0 else "?"
        self.stream.write(f"\r{self.label}: {done}/{self.total} ({rate:.1f}/s, {left} left)   ")
        self.stream.flush()

    def advance(self, step: int = 1) -> None:
        self.update(self.done + step)

    def close(self) -> None:
        if self.enabled:
            self.stream.write("\n")
            self.stream.flush()


class StatusLine:
    """A stage line for one long computation: ``status(message)`` rewrites it on stderr, but only once the
    computation has run for ``delay`` seconds and only on a terminal (so short solves print nothing)."""

    def __init__(self, label: str, delay: float = 1.0, quiet: bool = False, stream: TextIO | None = None):
        self.label, self.delay = label, delay
        self.stream = stream if stream is not None else sys.stderr
        self.enabled = not quiet and hasattr(self.stream, "isatty") and self.stream.isatty()
        self.started = time.perf_counter()
        self.shown = False

    def __call__(self, message: str) -> None:
        elapsed = time.perf_counter() - self.started
        if not self.enabled or elapsed < self.delay:
            return
        self.stream.write(f"\r{self.label}: {message} ({elapsed:.1f}s)\033[K")
        self.stream.flush()
        self.shown = True

    def close(self) -> None:
        if self.shown:
            self.stream.write("\n")
            self.stream.flush()
