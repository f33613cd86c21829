"""Benchmark: cells per second of a 10 000-cell sweep (examples/sweeps/ten_thousand.toml) with 1 and 2 local
workers, measured in the same run; the two tables must be byte-identical.

Run: `python benchmarks/sweep.py` (or `make bench`).
"""

from __future__ import annotations

import tempfile
from pathlib import Path

from tabturn.sweep import load_sweep, run_sweep

SWEEP = Path(__file__).resolve().parent.parent / "examples" / "sweeps" / "ten_thousand.toml"


def main() -> None:
    sweep = load_sweep(str(SWEEP))
    tables = {}
    print("workers | cells | seconds | cells/s")
    for workers in (1, 2):
        with tempfile.TemporaryDirectory() as out:
            result = run_sweep(sweep, out, "local", workers)
            tables[workers] = (Path(out) / "table.csv").read_bytes()
        print(f"{workers} | {result['cells']} | {result['seconds']:.2f} | {result['cells'] / result['seconds']:.0f}",
              flush=True)
    print(f"tables identical: {tables[1] == tables[2]}")


if __name__ == "__main__":
    main()
