"""Learned agents over 1000 seeds per setting, compared state by state with the exact optimum.

For every example config and every learner: class fractions (optimal / always-up / other / untrained-path /
unvisited, mutually exclusive) with 95% Wilson intervals, observed and unobserved, exact regret, agreement with the
optimal action sets.
Per-seed rows go to learned_agents_seeds.csv (they are bit-reproducible, so any subset can be recomputed and checked).
Writes reports/learned_agents.{md,csv}, reports/learned_agents_seeds.csv, reports/regret.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from analysis.common import LEARNER_EXAMPLES, REPORTS, csv_text, markdown_table, save_figure, seed_study, write_atomic
from tabturn.core.rational import format_rational
from tabturn.envs.turn.config import TurnConfig
from tabturn.experiments.study import summarise, wilson

# Settings (data).
SEEDS = 1000
BASE_SEED = 0
LEARNERS = ("q", "sarsa", "expected-sarsa", "double-q")
SETTINGS = {"episodes": 500, "epsilon": 0.1, "epsilon_final": 0.1, "step_size": 0.1, "tie_break": "first"}
COLUMNS = [
    "example",
    "regime",
    "learner",
    "world",
    "seeds",
    "optimal",
    "optimal_ci95",
    "always_up",
    "always_up_ci95",
    "other",
    "untrained_path",
    "unvisited",
    "coverage_mean",
    "exact_up_forever_optimal",
    "regret_mean",
    "regret_max",
    "agreement_all",
    "agreement_path",
]
SEED_COLUMNS = [
    "example",
    "learner",
    "seed",
    "world",
    "class",
    "up_forever",
    "regret",
    "agreement_all",
    "agreement_path",
]


def study(path: Path, learner: str, seeds: range):
    """(aggregate rows, per-seed rows) of one example and learner, run as a sweep (one point, these seeds)."""
    config = TurnConfig.load(str(path))
    comp = seed_study(config, {"algorithm": learner, **SETTINGS}, seeds)[0]
    summary = summarise(comp)
    rows, seed_rows = [], []
    for world, w in summary.worlds.items():
        n = w.seeds
        opt, up = w.classes["optimal"].count, w.classes["always-up"].count
        ci = lambda k, n=n: "[{:.3f}, {:.3f}]".format(*wilson(k, n))  # noqa: E731
        rows.append(
            {
                "example": path.stem,
                "regime": config.regime,
                "learner": learner,
                "world": world,
                "seeds": n,
                "optimal": f"{opt / n:.3f}",
                "optimal_ci95": ci(opt),
                "always_up": f"{up / n:.3f}",
                "always_up_ci95": ci(up),
                "other": f"{w.classes['other'].count / n:.3f}",
                "untrained_path": f"{w.classes['untrained-path'].count / n:.3f}",
                "unvisited": f"{w.classes['unvisited'].count / n:.3f}",
                "coverage_mean": f"{w.coverage['mean']:.3f}",
                "exact_up_forever_optimal": str(w.exact_up_forever_optimal).lower(),
                "regret_mean": f"{float(w.regret_mean):.6g}",
                "regret_max": f"{float(w.regret_max):.6g}",
                "agreement_all": f"{summary.agreement_all_mean:.4f}",
                "agreement_path": f"{summary.agreement_path_mean:.4f}",
            }
        )
        for i, seed in enumerate(seeds):
            seed_rows.append(
                {
                    "example": path.stem,
                    "learner": learner,
                    "seed": seed,
                    "world": world,
                    "class": comp.classes[world][i],
                    "up_forever": str(bool(comp.up_forever[world][i])).lower(),
                    "regret": format_rational(comp.regret[world][i]),
                    "agreement_all": f"{comp.agreement_all[i]:.6f}",
                    "agreement_path": f"{comp.agreement_path[i]:.6f}",
                }
            )
    return rows, seed_rows


def regret_figure(seed_rows: list[dict]):
    """Distribution of exact regret across seeds, per example (Q-learning), observed vs unobserved."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    examples = sorted({r["example"] for r in seed_rows})
    fig, axes = plt.subplots(1, len(examples), figsize=(3.2 * len(examples), 3), squeeze=False)
    for ax, ex in zip(axes[0], examples):
        for world, color in (("observed", "tab:blue"), ("unobserved", "tab:red")):
            vals = [
                float(eval_fraction(r["regret"]))
                for r in seed_rows
                if r["example"] == ex and r["world"] == world and r["learner"] == "q"
            ]
            ax.hist(vals, bins=30, alpha=0.6, color=color, label=world)
        ax.set_title(ex, fontsize=9)
        ax.set_xlabel("exact regret at the start (Q-learning)", fontsize=8)
    axes[0][0].set_ylabel("seeds")
    axes[0][0].legend(fontsize=8)
    fig.tight_layout()
    return fig


def eval_fraction(text: str):
    from fractions import Fraction

    return Fraction(text)


def tables(seeds: range = range(SEEDS), examples=LEARNER_EXAMPLES, learners=LEARNERS):
    rows, seed_rows = [], []
    for path in examples:
        for learner in learners:
            r, sr = study(path, learner, seeds)
            rows += r
            seed_rows += sr
    return rows, seed_rows


def side_by_side(rows: list[dict], out: Path) -> list[str]:
    """Default budget next to the converged budget of convergence_summary.csv (trained world, best table)."""
    path = out / "convergence_summary.csv"
    if not path.exists():
        return []
    from analysis.common import read_csv

    summary = read_csv(path)
    table = []
    for r in summary:
        default = next(
            (
                d
                for d in rows
                if d["example"] == r["example"] and d["learner"] == r["learner"] and d["world"] == r["world"]
            ),
            None,
        )
        if default is None:
            continue
        table.append(
            {
                "example": r["example"],
                "learner": r["learner"],
                "world": r["world"],
                "default_optimal": default["optimal"],
                "table": r["table"],
                "recipe": r["recipe"],
                "converged_episodes": r["converged_episodes"],
                "best_optimal": r["best_fraction"],
                "best_episodes": r["best_episodes"],
            }
        )
    return [
        "",
        "## Default budget vs converged budget (trained world)",
        "",
        f"`default_optimal`: the table above ({SETTINGS['episodes']} episodes, stationary table). The rest: "
        "[convergence.md](convergence.md) (1000 seeds, the recipe named; `converged_episodes` = first budget with "
        ">= 99% of seeds exactly optimal, `none` if not reached).",
        "",
        *markdown_table(table, list(table[0]) if table else []),
    ]


def main(out_dir: str | Path = REPORTS) -> None:
    out = Path(out_dir)
    rows, seed_rows = tables()
    write_atomic(out / "learned_agents.csv", csv_text(rows, COLUMNS))
    write_atomic(out / "learned_agents_seeds.csv", csv_text(seed_rows, SEED_COLUMNS))
    md = [
        "# Learned agents vs the exact optimum",
        "",
        f"Generated by `analysis/learned_agents.py`: {SEEDS} seeds per row (seeds {BASE_SEED}:0..{SEEDS - 1}), "
        f"settings {SETTINGS}, learner horizon and discount from each config. Classes per world: `optimal` = "
        "exact regret 0 from that world's start; `always-up` = not optimal, and the greedy path goes up at every "
        "step; `other` = any other miss; `untrained_path` = the greedy policy from the world's start reaches a "
        "state training never updated (checked before the others); "
        "`unvisited` = training never visited a state of that world (coverage 0), so its greedy choices are the "
        "initial values and the tie-break. The five classes are mutually exclusive and sum to 1. In "
        "learned_agents_seeds.csv, `up_forever` flags a greedy path that goes up at every step whatever its class. "
        "`coverage_mean` = mean fraction of the world's states visited. "
        "Intervals are 95% Wilson intervals. Regret is exact (rational) and shown rounded.",
        "",
    ]
    md += markdown_table(rows, COLUMNS)
    md += side_by_side(rows, out)
    md += ["", "![regret distributions](regret.png)", ""]
    write_atomic(out / "learned_agents.md", "\n".join(md))
    save_figure(regret_figure(seed_rows), out / "regret.png")
    print(f"wrote {out}/learned_agents.md, learned_agents.csv, learned_agents_seeds.csv, regret.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
