"""Convergence study: how much training do learned agents need to be exactly optimal in the world they train in?

For every example x learner x table (step-indexed for finite horizons, and the stationary table, labelled),
1000 seeds are trained on a grid of episode budgets (doubling; x4 then x2 for stochastic dynamics) with one stated
recipe per kind of dynamics
(constant epsilon, so the agents after n episodes of a longer run are bit-identical to agents trained for
n episodes: one run gives the whole grid, and it stops once >= 99% of the seeds are exactly optimal).
At each budget the fraction of seeds exactly optimal from the start of the trained world (exact regret 0)
is recorded with its 95% Wilson interval and the mean coverage of that world.

Writes reports/convergence.csv, reports/convergence.md and reports/convergence.png.
"""

from __future__ import annotations

import sys
from pathlib import Path

from analysis.common import LEARNER_EXAMPLES, REPORTS, ROOT, csv_text, engine, markdown_table, save_figure, write_atomic
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.experiments.study import BUDGETS, CONVERGED, RECIPES, converge, recipe_name, trained_world, wilson

# Settings (data). The recipes and budget grids are tabturn.experiments.study.RECIPES and BUDGETS (shared with
# attribution).
SEEDS = 1000
BASE_SEED = 0
TARGET = CONVERGED
LEARNERS = ("q", "sarsa", "expected-sarsa", "double-q")
STATIONARY_FINITE_MAX = 1024  # stationary tables on finite horizons: the stationary-table contrast, a shorter grid
# Exact evaluation of stochastic policies is one rational solve per distinct policy; 1000 seeds at every budget of
# the stochastic example would take most of make report's time, so that example uses fewer seeds (stated per row).
STOCHASTIC_SEEDS = 200
FLAG_COLUMNS = [
    "epsilon",
    "epsilon_final",
    "epsilon_schedule",
    "step_size",
    "step_schedule",
    "omega",
    "initial_value",
    "tie_break",
]
COLUMNS = [
    "example",
    "learner",
    "table",
    "world",
    "episodes",
    "seeds",
    "optimal",
    "fraction_optimal",
    "wilson_low",
    "wilson_high",
    "coverage_mean",
    "recipe",
] + FLAG_COLUMNS
SUMMARY_COLUMNS = [
    "example",
    "learner",
    "table",
    "world",
    "recipe",
    "converged_episodes",
    "best_fraction",
    "best_episodes",
    "note",
]


def tables_for(config: TurnConfig) -> list[str]:
    """The tables to train: step-indexed and stationary for a finite horizon, stationary otherwise."""
    return ["step-indexed", "stationary"] if config.horizon is not None else ["stationary"]


def run_row(path: Path, learner: str, table: str, seeds: int = SEEDS, budgets: dict | None = None) -> list[dict]:
    """Rows of one example x learner x table: one per budget reached (training stops at >= TARGET)."""
    config = TurnConfig.load(str(path))
    mdp, solution = turn_mdp(config), solve_config(config)
    world, recipe = trained_world(config, mdp), recipe_name(mdp)
    flags = RECIPES[recipe]
    grid = (budgets or BUDGETS)[recipe]
    if table == "stationary" and config.horizon is not None and budgets is None:
        grid = [n for n in grid if n <= STATIONARY_FINITE_MAX]
    if recipe == "stochastic" and seeds == SEEDS:
        seeds = STOCHASTIC_SEEDS
    rows: list[dict] = []

    def record(episodes: int, comp) -> None:
        k = comp.classes[world].count("optimal")
        low, high = wilson(k, seeds)
        rows.append(
            {
                "example": path.stem,
                "learner": learner,
                "table": table,
                "world": world,
                "episodes": episodes,
                "seeds": seeds,
                "optimal": k,
                "fraction_optimal": f"{k / seeds:.4f}",
                "wilson_low": f"{low:.4f}",
                "wilson_high": f"{high:.4f}",
                "coverage_mean": f"{comp.coverage[world].mean():.4f}",
                "recipe": recipe,
                **{name: flags[name] for name in FLAG_COLUMNS},
            }
        )

    converge(
        config,
        mdp,
        solution,
        learner,
        table,
        range(seeds),
        budgets=grid,
        engine=engine(),
        on_budget=record,
        base_seed=BASE_SEED,
    )
    print(
        f"convergence: {path.stem} {learner} {table}: "
        + ", ".join(f"{r['episodes']}: {r['fraction_optimal']}" for r in rows),
        file=sys.stderr,
        flush=True,
    )
    return rows


def summary_rows(rows: list[dict]) -> list[dict]:
    """Per example x learner x table: the smallest budget with >= TARGET exactly optimal, or the best reached."""
    out = []
    keys = list(dict.fromkeys((r["example"], r["learner"], r["table"]) for r in rows))
    for key in keys:
        group = [r for r in rows if (r["example"], r["learner"], r["table"]) == key]
        best = max(group, key=lambda r: (r["optimal"], -r["episodes"]))
        hit = next((r for r in group if r["optimal"] >= TARGET * r["seeds"]), None)
        timed = [r for r in rows if (r["example"], r["learner"], r["table"]) == (key[0], key[1], "step-indexed")]
        timed_hit = next((r["episodes"] for r in timed if r["optimal"] >= TARGET * r["seeds"]), None)
        note = "" if hit else _why(group[0], timed_hit)
        out.append(
            {
                "example": key[0],
                "learner": key[1],
                "table": key[2],
                "world": group[0]["world"],
                "recipe": group[0]["recipe"],
                "converged_episodes": hit["episodes"] if hit else "none",
                "best_fraction": best["fraction_optimal"],
                "best_episodes": best["episodes"],
                "note": note,
            }
        )
    return out


def _why(first: dict, timed_hit) -> str:
    if first["table"] == "stationary" and timed_hit is not None:
        found = _stationary_class(first["example"])
        if found.status == "none":
            return (
                f"policy-class: the step-indexed table converges at {timed_hit} episodes; no stationary policy is "
                f"exactly optimal from the start (exact search; best stationary regret {found.regret}), so a "
                "stationary table cannot follow the step-dependent optimum"
            )
        if found.status == "exists":
            return (
                f"value-aliasing: the step-indexed table converges at {timed_hit} episodes; a stationary policy is "
                "exactly optimal from the start (exact search, regret 0), but a stationary table's targets mix "
                "the values of different steps"
            )
        return f"stationary table: the step-indexed table converges at {timed_hit} episodes; {found.reason}"
    if first["learner"] == "sarsa":
        return "on-policy: learns the value of its constant-epsilon behaviour"
    return f"not reached within {max(BUDGETS[first['recipe']])} episodes with this recipe"


def figure(rows: list[dict]):
    """Fraction of seeds exactly optimal vs training episodes, one panel per example."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    examples = list(dict.fromkeys(r["example"] for r in rows))
    fig, axes = plt.subplots(1, len(examples), figsize=(3.4 * len(examples), 3.2), sharey=True)
    for ax, example in zip(axes, examples):
        for learner in LEARNERS:
            for table, style in (("step-indexed", "-"), ("stationary", ":")):
                group = [r for r in rows if (r["example"], r["learner"], r["table"]) == (example, learner, table)]
                if group:
                    ax.plot(
                        [r["episodes"] for r in group],
                        [float(r["fraction_optimal"]) for r in group],
                        style,
                        marker="o",
                        ms=3,
                        label=f"{learner} ({table})",
                    )
        ax.set_xscale("log", base=2)
        ax.axhline(TARGET, color="grey", lw=0.5)
        ax.set_title(example, fontsize=9)
        ax.set_xlabel("episodes")
    axes[0].set_ylabel("fraction of seeds exactly optimal")
    axes[-1].legend(fontsize=6, loc="lower right")
    return fig


def main(out_dir: str | Path = REPORTS) -> None:
    out_dir = Path(out_dir)
    rows = []
    for path in LEARNER_EXAMPLES:
        config = TurnConfig.load(str(path))
        for learner in LEARNERS:
            for table in tables_for(config):
                rows += run_row(path, learner, table)
    write_outputs(rows, out_dir)


def write_outputs(rows: list[dict], out_dir: Path) -> None:
    """convergence.csv, convergence_summary.csv, convergence.md and convergence.png from the rows."""
    summary = summary_rows(rows)
    write_atomic(out_dir / "convergence.csv", csv_text(rows, COLUMNS))
    write_atomic(out_dir / "convergence_summary.csv", csv_text(summary, SUMMARY_COLUMNS))
    lines = [
        "# Convergence: how much training reaches the exact optimum?",
        "",
        f"{SEEDS} seeds per row ({STOCHASTIC_SEEDS} for stochastic dynamics, column `seeds`), trained in the "
        "world where training starts. A seed counts as optimal when its "
        "greedy policy has exact regret 0 from that world's start (step-indexed tables are evaluated step by "
        "step). Training stops at the first budget where at least "
        f"{TARGET:.0%} of the seeds are optimal. Recipes (flags of `tabturn learn`):",
        "",
    ]
    for name, flags in RECIPES.items():
        lines.append(
            f"- {name} dynamics: "
            + ", ".join(f"--{k.replace('_', '-')} {v}" for k, v in flags.items())
            + f"; budgets {', '.join(map(str, BUDGETS[name]))} episodes."
        )
    lines += [
        "",
        "## Smallest budget with at least 99% of seeds exactly optimal",
        "",
        *markdown_table(summary, SUMMARY_COLUMNS),
        "",
        "## Every budget",
        "",
        *markdown_table(
            rows,
            [
                "example",
                "learner",
                "table",
                "world",
                "episodes",
                "fraction_optimal",
                "wilson_low",
                "wilson_high",
                "coverage_mean",
            ],
        ),
        "",
        "Full rows with every learner flag: [convergence.csv](convergence.csv); figure: "
        "[convergence.png](convergence.png).",
    ]
    write_atomic(out_dir / "convergence.md", "\n".join(lines) + "\n")
    save_figure(figure(rows), out_dir / "convergence.png")


if __name__ == "__main__":
    main(*sys.argv[1:])


def _stationary_class(example: str):
    """The exact stationary-class answer (tabturn.exact.stationary) from the example's training start."""
    from tabturn.exact.stationary import stationary_optimum
    from tabturn.experiments.study import training_start

    config = TurnConfig.load(str(ROOT / "examples" / f"{example}.toml"))
    return stationary_optimum(solve_config(config), training_start(config)[0][0])
