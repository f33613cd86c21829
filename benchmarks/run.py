"""Run every benchmark, print each row as it is measured, and write benchmarks/RESULTS.md and the README's
performance table (between its bench markers). `make bench` runs this; `--quick` is a smoke run that writes
nothing."""

from __future__ import annotations

import argparse
import platform
import time

from benchmarks import cli, exact, learn, storm, sweep
from benchmarks.common import HEADER, RESULTS, ROOT, Row

START, END = "<!-- bench:start -->", "<!-- bench:end -->"


def table(rows: list[Row], seconds: float) -> str:
    import numpy

    lines = [
        f"Measured by `make bench` on {platform.machine()} with {_cores()} cores, Python "
        f"{platform.python_version()}, numpy {numpy.__version__}; every peer in the same run; spreads are the "
        f"min-max range over the repeats, relative to the median. Whole run: {seconds:.0f} s.",
        "",
        HEADER,
    ]
    return "\n".join(lines + [row.markdown() for row in rows]) + "\n"


def _cores() -> int:
    import os

    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def write(text: str) -> None:
    RESULTS.write_text("# Benchmark results\n\n" + text)
    readme = ROOT / "README.md"
    body = readme.read_text()
    if START in body and END in body:
        head, rest = body.split(START, 1)
        readme.write_text(head + START + "\n" + text + END + rest.split(END, 1)[1])


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes, writes nothing")
    args = parser.parse_args(argv)
    start = time.perf_counter()
    print(HEADER, flush=True)
    rows = [row for module in (learn, exact, storm, cli, sweep) for row in module.measure(args.quick)]
    elapsed = time.perf_counter() - start
    print(
        f"\nwhole run {elapsed:.0f} s; targets met: {sum(r.met is True for r in rows)} of "
        f"{sum(r.met is not None for r in rows)}"
    )
    if not args.quick:
        write(table(rows, elapsed))
        print(f"wrote {RESULTS.relative_to(ROOT)} and the README's performance table")


if __name__ == "__main__":
    main()
