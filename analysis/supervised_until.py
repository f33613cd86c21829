"""Supervision that ends at step k: when does the exact optimum turn, and do flag-aware and flag-blind learners?

Three tables, every sentence of the markdown computed from them:
- turn: the exact optimum on the 10x10, H = 20 grid of examples/supervised_until.toml for a = 1, b in B_VALUES,
  k in K_VALUES (k = H: supervised throughout, the baseline): value, earliest and latest turn step over every
  optimal path (tabturn.experiments.turning) and how it relates to k.
- learners: on the example (k = 5, b = 3), each algorithm x table (step-indexed, stationary) x view (flag-aware,
  flag-blind) trained with the deterministic recipe on BUDGETS until >= 99% of seeds reach the exact best policy of
  their own class (tabturn.experiments.policy_class: for a flag-blind stationary table, the best stationary policy
  of positions); each cell its own random stream (a hash of its name). Q-learning in every cell; the other three
  on step-indexed tables with fewer seeds and budgets (OTHER_*), to keep `make report` within its time. Columns:
  the class optimum, the share of seeds reaching it and the flag-aware optimum, where greedy trajectories turn.
- verdicts: tabturn.experiments.attribution for Q-learning, flag-aware and flag-blind, SEEDS seeds per level.
Writes reports/supervised_until.{md,csv}, supervised_until_learners.csv, supervised_until_verdicts.csv.
"""

from __future__ import annotations

import hashlib
import sys
from pathlib import Path

from analysis.common import REPORTS, ROOT, csv_text, engine, markdown_table, write_atomic
from tabturn.core.rational import format_rational
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.experiments.attribution import attribute
from tabturn.experiments.policy_class import observation_class_optimum
from tabturn.experiments.study import recipe_settings, training_start
from tabturn.experiments.turning import greedy_turn_steps, optimal_turn_steps
from tabturn.learners.tabular import learn

# Settings (data).
EXAMPLE = ROOT / "examples" / "supervised_until.toml"
B_VALUES = ("1/2", "1", "2", "3", "6")
K_VALUES = (1, 2, 5, 10, 15, 20)
SEEDS = 1000
LEARNERS = ("q", "sarsa", "expected-sarsa", "double-q")
TABLES = ("step-indexed", "stationary")
VIEWS = (("flag-aware", True), ("flag-blind", False))
BUDGETS = [2**n for n in range(10, 15)]
# Q-learning: every table and view, SEEDS seeds. The other three (which do not reach 99% on the shared examples
# either, reports/convergence.md): step-indexed tables only, OTHER_SEEDS seeds, budgets to OTHER_BUDGET.
OTHER_SEEDS = 200
OTHER_BUDGET = 8192
TARGET = 0.99
TURN_COLUMNS = ["a", "b", "k", "horizon", "value", "earliest_turn", "latest_turn", "relation"]
LEARNER_COLUMNS = [
    "learner",
    "table",
    "view",
    "base_seed",
    "seeds",
    "class_status",
    "class_regret",
    "converged_episodes",
    "episodes",
    "reach_class_optimum",
    "reach_flag_aware_optimum",
    "turn_at_optimum_step",
    "turn_earlier",
    "turn_later",
    "turn_never",
]
VERDICT_COLUMNS = ["view", "world", "behaviour", "allowed_by_optimum", "default", "converged", "stationary"]
VERDICT_COLUMNS += ["stationary_optimum", "cause"]


def relation(earliest: int | None, latest: int | None, k: int, horizon: int) -> str:
    """How the optimum's turn relates to the switch step k."""
    if earliest is None:
        return "never"
    if k >= horizon:
        return "supervised throughout"
    if latest < k:
        return "before k"
    if earliest == latest == k:
        return "at k"
    if earliest > k:
        return "after k"
    return "ties around k"


def turn_rows(base: TurnConfig) -> list[dict]:
    rows = []
    for b in B_VALUES:
        for k in K_VALUES:
            config = base.replace(b=b, switch_steps=((k, 1),))
            solution = solve_config(config)
            earliest, latest = optimal_turn_steps(solution)
            rows.append(
                {
                    "a": format_rational(config.a),
                    "b": b,
                    "k": k,
                    "horizon": config.horizon,
                    "value": format_rational(solution.start_value()),
                    "earliest_turn": "none" if earliest is None else earliest,
                    "latest_turn": "none" if latest is None else latest,
                    "relation": relation(earliest, latest, k, config.finite_horizon),
                }
            )
    return rows


def stream(name: str) -> int:
    """An independent base seed per learner cell: a hash of its name."""
    return int(hashlib.sha256(f"supervised_until:{name}".encode()).hexdigest()[:15], 16)


def learner_row(config: TurnConfig, mdp, solution, learner: str, table: str, view: str, observe: bool) -> dict:
    start = training_start(config)[0][0]
    best = observation_class_optimum(solution, start, observe, table == "step-indexed")
    base_seed = stream(f"{learner}/{table}/{view}")
    row = {
        "learner": learner,
        "table": table,
        "view": view,
        "base_seed": base_seed,
        "class_status": best.status,
        "class_regret": "" if best.regret is None else format_rational(best.regret),
    }
    seeds, budgets = (SEEDS, BUDGETS) if learner == "q" else (OTHER_SEEDS, [b for b in BUDGETS if b <= OTHER_BUDGET])
    row["seeds"] = seeds
    target = best.regret
    found: dict = {}

    def record(episodes: int, result) -> bool:
        from tabturn.experiments.compare import compare

        comp = compare(solution, result.greedy(), result.visited())
        regrets = comp.regret["start"]
        found.update(episodes=episodes, result=result, regrets=regrets)
        return target is not None and sum(r == target for r in regrets) >= TARGET * len(regrets)

    settings = recipe_settings(config, solution, learner, table, budgets[-1], observe_flag=observe)
    learn(
        mdp,
        settings,
        range(seeds),
        base_seed=base_seed,
        start=training_start(config),
        engine=engine(),
        checkpoints=budgets,
        on_checkpoint=record,
    )
    regrets, episodes = found["regrets"], found["episodes"]
    reached = sum(r == target for r in regrets) if target is not None else 0
    row["converged_episodes"] = episodes if target is not None and reached >= TARGET * seeds else "none"
    row["episodes"] = episodes
    row["reach_class_optimum"] = f"{reached / seeds:.3f}" if target is not None else "undecided"
    row["reach_flag_aware_optimum"] = f"{sum(r == 0 for r in regrets) / seeds:.3f}"
    optimum_turn = optimal_turn_steps(solution)[0]
    turns = greedy_turn_steps(mdp, found["result"].greedy(), start, config.finite_horizon)
    row["turn_at_optimum_step"] = f"{sum(t == optimum_turn for t in turns) / seeds:.3f}"
    row["turn_earlier"] = f"{sum(t is not None and t < optimum_turn for t in turns) / seeds:.3f}"
    row["turn_later"] = f"{sum(t is not None and t > optimum_turn for t in turns) / seeds:.3f}"
    row["turn_never"] = f"{sum(t is None for t in turns) / seeds:.3f}"
    return row


def learner_rows(config: TurnConfig) -> list[dict]:
    mdp, solution = turn_mdp(config), solve_config(config)
    return [
        learner_row(config, mdp, solution, learner, table, view, observe)
        for learner in LEARNERS
        for table in (TABLES if learner == "q" else TABLES[:1])
        for view, observe in VIEWS
    ]


def verdict_rows(config: TurnConfig) -> list[dict]:
    rows = []
    for view, observe in VIEWS:
        result = attribute(config, SEEDS, engine=engine(), budgets=BUDGETS, observe_flag=observe)
        for v in result.verdicts:
            rows.append(
                {
                    "view": view,
                    "world": v.world,
                    "behaviour": v.behaviour,
                    "allowed_by_optimum": str(v.allowed_by_optimum).lower(),
                    "default": v.default,
                    "converged": v.converged,
                    "stationary": v.stationary,
                    "stationary_optimum": v.stationary_optimum,
                    "cause": v.cause,
                }
            )
    return rows


def summary_lines(config: TurnConfig, turns: list[dict], learners: list[dict], verdicts: list[dict]) -> list[str]:
    """The section's sentences, each computed from the tables."""
    k, H = config.switch_step, config.finite_horizon
    cells = [r for r in turns if r["relation"] != "supervised throughout"]
    counts = {name: sum(r["relation"] == name for r in cells) for name in dict.fromkeys(r["relation"] for r in cells)}
    example = next(r for r in turns if r["b"] == format_rational(config.b) and r["k"] == k)
    baseline = {r["b"]: r["latest_turn"] for r in turns if r["relation"] == "supervised throughout"}
    lines = [
        f"- **When does the exact optimum turn?** Over {len(cells)} cells (a = 1, b in {', '.join(B_VALUES)}, "
        f"k in {', '.join(str(x) for x in K_VALUES if x < H)}, H = {H}): "
        + ", ".join(f"{v} {name}" for name, v in counts.items())
        + f". On the example (b = {format_rational(config.b)}, k = {k}) every optimal path turns at step "
        f"{example['earliest_turn']}"
        + ("" if example["earliest_turn"] == example["latest_turn"] else f" to {example['latest_turn']}")
        + "; supervised throughout (k = H) the optimum still turns at step "
        + ", ".join(f"{baseline[b]} (b = {b})" for b in B_VALUES)
        + ": near the horizon the alignment charge of the remaining steps no longer outweighs the height gained.",
    ]
    for learner in LEARNERS:
        mine = [r for r in learners if r["learner"] == learner]
        parts = []
        for r in mine:
            conv = (
                f"converged at {r['converged_episodes']} episodes"
                if r["converged_episodes"] != "none"
                else f"not converged by {r['episodes']} episodes"
            )
            parts.append(
                f"{r['table']} {r['view']}: class optimum {r['class_status']}"
                + (f" (regret {r['class_regret']})" if r["class_regret"] not in ("", "0") else "")
                + f", {conv}, {float(r['reach_class_optimum']) if r['reach_class_optimum'] != 'undecided' else 0:.1%} "
                f"reach it, {float(r['turn_at_optimum_step']):.1%} turn at the optimum's step"
            )
        lines.append(f"- **{learner}** ({mine[0]['seeds']} seeds per cell): " + "; ".join(parts) + ".")
    causes = {}
    for r in verdicts:
        causes.setdefault(r["view"], []).append(f"{r['behaviour']}: {r['cause']}")
    for view, items in causes.items():
        lines.append(f"- **Verdicts, Q-learning, {view}:** " + "; ".join(items) + ".")
    return lines


def main(out_dir: str | Path = REPORTS) -> None:
    out = Path(out_dir)
    config = TurnConfig.load(str(EXAMPLE))
    turns, learners, verdicts = turn_rows(config), learner_rows(config), verdict_rows(config)
    write_atomic(out / "supervised_until.csv", csv_text(turns, TURN_COLUMNS))
    write_atomic(out / "supervised_until_learners.csv", csv_text(learners, LEARNER_COLUMNS))
    write_atomic(out / "supervised_until_verdicts.csv", csv_text(verdicts, VERDICT_COLUMNS))
    md = [
        "# Supervision that ends at step k",
        "",
        "Generated by `analysis/supervised_until.py` (`make report`). Regime `supervised-until` "
        "([examples/supervised_until.toml](../examples/supervised_until.toml)): steps 0..k-1 are observed (their "
        "losses carry the alignment term), steps k.. are not; the agent sees the flag. The *turn step* of a "
        "trajectory is the step from which it goes up at every step until the top row. Exact values are "
        "certified (integer backward induction). Flag-blind learners index their table by position only "
        "(`tabturn learn --flag-blind`); a learner converges when >= 99% of seeds reach the exact best policy "
        f"of their own class. Recipe: the deterministic one of [convergence.md](convergence.md), budgets "
        f"{', '.join(map(str, BUDGETS))}.",
        "",
        *summary_lines(config, turns, learners, verdicts),
        "",
        "## The exact optimum's turn step",
        "",
        *markdown_table(turns, TURN_COLUMNS),
        "",
        "## Learners on the example",
        "",
        *markdown_table(learners, LEARNER_COLUMNS),
        "",
        "## Attribution (Q-learning)",
        "",
        *markdown_table(verdicts, VERDICT_COLUMNS),
        "",
    ]
    write_atomic(out / "supervised_until.md", "\n".join(md))
    print(
        f"wrote {out}/supervised_until.md, supervised_until.csv, supervised_until_learners.csv, "
        "supervised_until_verdicts.csv"
    )


if __name__ == "__main__":
    main(*sys.argv[1:])
