"""Benchmark: cells per second of a 10 000-cell sweep (examples/sweeps/ten_thousand.toml) with 1 and 2 local
workers, measured in the same run; the two tables must be byte-identical.

Run: `make bench` or `python -m benchmarks.sweep [--quick]` (quick: the first 1000 cells' worth, i.e. a
smaller copy of the sweep is not made; quick runs 1 worker only).
"""

from __future__ import annotations

import argparse
import tempfile
from pathlib import Path

from benchmarks.common import ROOT, Row, show
from tabturn.runs.sweep import load_sweep, run_sweep

SWEEP = ROOT / "examples" / "sweeps" / "ten_thousand.toml"


def measure(quick: bool = False) -> list[Row]:
    sweep = load_sweep(str(SWEEP))
    tables, rates = {}, {}
    for workers in (1,) if quick else (1, 2):
        with tempfile.TemporaryDirectory() as out:
            result = run_sweep(sweep, out, "local", workers)
            tables[workers] = (Path(out) / "table.csv").read_bytes()
        rates[workers] = (result["cells"] / result["seconds"], result["cells"], result["seconds"])
    if quick:
        return [show(Row("sweep cells/s, 1 worker", f"{rates[1][0]:.0f}/s", "", "", "", None))]
    identical = tables[1] == tables[2]
    return [
        show(
            Row(
                f"sweep of {rates[2][1]} cells, 2 local workers (tables byte-identical: {identical})",
                f"{rates[2][0]:.0f} cells/s",
                f"1 worker {rates[1][0]:.0f} cells/s",
                f"{rates[2][0] / rates[1][0]:.2f}x",
                "identical tables",
                identical,
            )
        )
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="one worker only")
    measure(parser.parse_args(argv).quick)


if __name__ == "__main__":
    main()
