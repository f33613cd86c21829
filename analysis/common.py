"""Shared helpers of the analysis scripts: paths, tidy tables (CSV + markdown), figures, the learner engine."""

from __future__ import annotations

import csv
import io
from fractions import Fraction
from pathlib import Path

from tabturn.runs.files import write_atomic

ROOT = Path(__file__).resolve().parents[1]

EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))
# The learner studies at the shared budget grid (convergence, learned_agents) leave out supervised_until: its
# 20-step episodes on a 10x10 grid need a larger grid, run with flag-blind learners in analysis/supervised_until.py.
LEARNER_EXAMPLES = [p for p in EXAMPLES if p.stem != "supervised_until"]
REPORTS = ROOT / "reports"


def csv_text(rows: list[dict], columns: list[str]) -> str:
    """Deterministic CSV text of ``rows`` restricted to ``columns``."""
    buf = io.StringIO()
    writer = csv.DictWriter(buf, fieldnames=columns, lineterminator="\n", extrasaction="ignore")
    writer.writeheader()
    writer.writerows(rows)
    return buf.getvalue()


def markdown_table(rows: list[dict], columns: list[str]) -> list[str]:
    """Markdown table lines of ``rows``."""
    return ["| " + " | ".join(columns) + " |", "|" + "---|" * len(columns)] + [
        "| " + " | ".join(str(r[c]) for c in columns) + " |" for r in rows
    ]


def read_csv(path: Path) -> list[dict]:
    """Rows of a CSV file as dicts of strings."""
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def engine() -> str:
    """The learner engine: numba when installed (bit-identical to numpy, only faster)."""
    from tabturn.learners import numba_kernel

    return "numba" if numba_kernel.available() else "numpy"


def seed_study(config, learner: dict, seeds, axes: dict | None = None) -> list:
    """Run a sweep of one config (a TurnConfig) over ``seeds`` (and ``axes``, if any) in this process and
    return one Comparison per point, in point order (for tabturn.experiments.study.summarise)."""
    import tempfile

    from tabturn.runs.sweep import comparison_from_rows, parse_sweep, run_sweep

    seeds = list(seeds)
    sweep = parse_sweep(
        {
            "sweep": {"seeds": seeds, "chunk": len(seeds), "engine": engine()},
            **config.to_dict(),
            "learner": learner,
            "axes": axes or {},
        }
    )
    with tempfile.TemporaryDirectory() as out:
        rows = run_sweep(sweep, out, workers=1)["rows"]  # one process: the numba engine already uses every core
    return [comparison_from_rows([r for r in rows if r["point"] == p]) for p in range(len(sweep.points))]


def save_figure(fig, path: Path) -> None:
    """Write a matplotlib figure as PNG atomically, without a software/date stamp."""
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=110, metadata={"Software": None}, bbox_inches="tight")
    write_atomic(path, buf.getvalue())


def shown(value: str) -> str:
    """A table cell: an exact value longer than 24 characters as ~its float (6 digits; the CSV keeps it exact)."""
    if len(value) <= 24 or not all(ch in "-/0123456789" for ch in value):
        return value
    return f"~{float(Fraction(value)):.6g}"
