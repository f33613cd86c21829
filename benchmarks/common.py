"""Shared pieces of the benchmarks: repeated timing with its spread, one row per measured ratio, the results file.

Every figure is measured in the run that prints it; a row's spread is the min-max over its repeats.
"""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
RESULTS = ROOT / "benchmarks" / "RESULTS.md"


@dataclass(frozen=True)
class Timing:
    """Median and range of repeated wall-clock measurements (seconds)."""

    median: float
    low: float
    high: float

    def spread(self) -> str:
        """The range relative to the median, e.g. "+-7%"."""
        half = (self.high - self.low) / 2 / self.median if self.median else 0.0
        return f"+-{100 * half:.0f}%"


def repeat(fn, times: int) -> Timing:
    """Time ``fn()`` ``times`` times."""
    values = []
    for _ in range(times):
        start = time.perf_counter()
        fn()
        values.append(time.perf_counter() - start)
    return Timing(statistics.median(values), min(values), max(values))


@dataclass(frozen=True)
class Row:
    """One benchmark line: what, tabturn's figure, the peer's figure measured in the same run, their ratio,
    the target, and whether it is met."""

    case: str
    ours: str
    peer: str
    ratio: str
    target: str
    met: bool | None  # None: no target, a reference figure

    def markdown(self) -> str:
        met = {True: "yes", False: "**no**", None: ""}[self.met]
        return f"| {self.case} | {self.ours} | {self.peer} | {self.ratio} | {self.target} | {met} |"


HEADER = "| case | tabturn | peer (same run) | ratio | target | met |\n|---|---|---|---|---|---|"


def show(row: Row) -> Row:
    """Print a row as it is measured (flushed: benchmarks are long)."""
    print(row.markdown(), flush=True)
    return row


def seconds(t: Timing) -> str:
    return f"{t.median:.3g} s ({t.spread()})"
