"""Benchmark: command-line start-up and the attribution command, wall clock of fresh processes.

Targets (issue "speed"): `tabturn --version` <= 0.2 s, `tabturn solve` on an example <= 0.3 s, and
`tabturn attribute` with 1000 seeds <= 10 s (beside it, the same command with a tenth of the seeds).
The package's bytecode is compiled first (as an installed package's is): with PYTHONDONTWRITEBYTECODE set, every
fresh process would otherwise recompile each changed module. `solve` must not import scipy (tested).
Run: `make bench` or `python -m benchmarks.cli [--quick]`.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
from pathlib import Path

from benchmarks.common import ROOT, Row, repeat, seconds, show

TABTURN = [sys.executable, "-m", "tabturn"]


def run(*args: str) -> None:
    subprocess.run([*TABTURN, *args], cwd=ROOT, check=True, capture_output=True)


def measure(quick: bool = False) -> list[Row]:
    import compileall

    compileall.compile_dir(str(ROOT / "tabturn"), quiet=1)
    times = 3 if quick else 5
    python = repeat(lambda: subprocess.run([sys.executable, "-c", "pass"], check=True), times)
    version = repeat(lambda: run("--version"), times)
    solve = repeat(lambda: run("solve", "--config", "examples/always.toml"), times)
    rows = [
        show(
            Row(
                "`tabturn --version`, fresh process",
                seconds(version),
                f"bare `python -c pass` {python.median:.3g} s",
                f"{version.median / python.median:.1f}",
                "<= 0.2 s",
                version.median <= 0.2,
            )
        ),
        show(
            Row(
                "`tabturn solve --config examples/always.toml`, fresh process",
                seconds(solve),
                f"bare `python -c pass` {python.median:.3g} s",
                f"{solve.median / python.median:.1f}",
                "<= 0.3 s",
                solve.median <= 0.3,
            )
        ),
    ]
    config = str(Path("examples") / "always.toml")

    def attribute(seeds: int) -> None:
        run("attribute", "--config", config, "--seeds", str(seeds), "--engine", "numba", "--quiet")

    seeds = 100 if quick else 1000
    fast = repeat(lambda: attribute(seeds), 1 if quick else 2)
    tenth = repeat(lambda: attribute(seeds // 10), 1 if quick else 2)
    rows.append(
        show(
            Row(
                f"`tabturn attribute --config {config} --seeds {seeds} --engine numba` (fresh process)",
                seconds(fast),
                f"{seeds // 10} seeds, same command: {tenth.median:.3g} s",
                f"{fast.median / tenth.median:.2f}",
                "<= 10 s",
                fast.median <= 10,
            )
        )
    )
    return rows


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="fewer repeats, 100 seeds")
    measure(parser.parse_args(argv).quick)


if __name__ == "__main__":
    main()
