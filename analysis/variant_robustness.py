"""Variant robustness: does the answer hold for every plausible reading of the lost original setup?

Rows: distance variant x action set x loss timing x horizon/discount x supervision regime, on a 6x6 grid
from (0, 0). Columns: what the exact optimum does from the start (observed / unobserved), what Q-learning does
over many seeds with 'up' first and with 'up' last in its action order, and the verdict on "goes up forever
while unobserved". Supervision that ends at step k (regime supervised-until, finite horizons) has no unobserved
start: its rows ask instead "goes up at every step from the switch step on" (turn step <= k), for flag-aware
Q-learning (columns *_unobserved) and flag-blind Q-learning (column flag_blind_turn_by_k). Writes
reports/variant_robustness.{md,csv}.
"""

from __future__ import annotations

import itertools
import sys
from pathlib import Path

from analysis.common import REPORTS, csv_text, engine, markdown_table, seed_study, write_atomic
from tabturn.envs.solve import solve
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.evaluate import policy_value
from tabturn.experiments.attribution import CAUSES, Count, Evidence, verdict
from tabturn.experiments.study import converge, default_settings, recipe_name, recipe_settings, run_study

# Settings (data).
GRID = {"x_bounds": (0, 5), "y_bounds": (0, 5)}
DISTANCES = ("vertical", "perpendicular")
ACTION_SETS = (
    ("up", "right"),
    ("up", "down", "left", "right"),
    ("up", "right", "stay"),
    ("up", "down", "left", "right", "stay"),
)
OBJECTIVES = (("per-step", 12, "1"), ("per-step", None, "9/10"), ("terminal", 12, "1"))
REGIMES = (
    ("always", {}),
    ("absent-supervisor", {}),
    ("train-observed-deploy-unobserved", {}),
    ("switching", {"p": "1/10", "q": "1/5"}),
)
SUPERVISED = ("supervised-until", {"switch_steps": ((6, 1),)})  # finite horizons only
SEEDS = 100
LEARNER = {"algorithm": "q", "episodes": 300, "epsilon": 0.1, "epsilon_final": 0.1, "step_size": 0.1}
COLUMNS = [
    "distance",
    "actions",
    "timing",
    "horizon",
    "discount",
    "regime",
    "exact_first_observed",
    "exact_first_unobserved",
    "exact_up_forever_observed",
    "exact_up_forever_unobserved",
    "q_optimal_observed",
    "q_up_forever_unobserved_up_first",
    "q_up_forever_unobserved_up_last",
    "converged_episodes",
    "converged_up_forever_unobserved_up_first",
    "converged_up_forever_unobserved_up_last",
    "stationary_up_forever_unobserved",
    "flag_blind_turn_by_k",
    "cause",
    "evidence",
]


def exact_columns(solution) -> dict:
    """Optimal first actions at the start cell and whether going up forever is optimal, per world."""
    mdp = solution.mdp
    out = {}
    up = mdp.action_names.index("up")
    for world, observed in (("observed", True), ("unobserved", False)):
        s = mdp.index_of((0, 0, observed))
        out[f"exact_first_{world}"] = " ".join(solution.optimal_action_names(s))
        value = policy_value(mdp, [up] * mdp.n_states, solution.horizon, solution.discount)[s]
        out[f"exact_up_forever_{world}"] = str(value == solution.value(s)).lower()
    return out


def row(distance, actions, objective, regime) -> dict:
    timing, horizon, discount = objective
    name, extra = regime
    config = TurnConfig(
        **GRID,
        actions=actions,
        distance=distance,
        timing=timing,
        horizon=horizon,
        discount=discount,
        regime=name,
        **extra,
    )
    mdp = turn_mdp(config)
    solution = solve(mdp, config.horizon, config.discount)
    out = {
        "distance": distance,
        "actions": " ".join(actions),
        "timing": timing,
        "horizon": "none" if horizon is None else horizon,
        "discount": discount,
        "regime": name,
        **exact_columns(solution),
        "flag_blind_turn_by_k": "",  # supervised-until rows only
    }
    up = actions.index("up")
    others = [i for i in range(len(actions)) if i != up]
    orders = {"up first": tuple([up] + others), "up last": tuple(others + [up])}
    comps = seed_study(config, LEARNER, range(SEEDS), axes={"learner.action_order": [list(o) for o in orders.values()]})
    default = {label: up_forever(comp) for label, comp in zip(orders, comps)}
    out["q_optimal_observed"] = f"{comps[0].classes['observed'].count('optimal') / SEEDS:.3f}"
    out["q_up_forever_unobserved_up_first"] = _share(default["up first"])
    out["q_up_forever_unobserved_up_last"] = _share(default["up last"])
    evidence = Evidence(
        allowed=out["exact_up_forever_unobserved"] == "true",
        unvisited=default["up first"].n == 0,
        default=default["up first"],
        neutral={"action_order": default},
    )
    out.update(converged_columns(config, mdp, solution, orders, trained=not evidence.unvisited))
    if out["converged_episodes"] != "none":
        conv = {
            label: Count(*map(int, out[f"converged_up_forever_unobserved_{label.replace(' ', '_')}"].split("/")))
            for label in orders
        }
        stationary = out["stationary_up_forever_unobserved"]
        evidence = Evidence(
            allowed=evidence.allowed,
            unvisited=evidence.unvisited,
            default=evidence.default,
            converged=conv["up first"],
            converged_label=out["converged_label"],
            stationary=Count(*map(int, stationary.split("/"))) if stationary else None,
            neutral={"action_order": conv},
        )
    v = verdict(evidence)
    out["cause"], out["evidence"] = v.cause, v.evidence
    return out


def up_forever(comp) -> Count:
    """Seeds whose greedy path goes up at every step while unobserved, of the seeds that visited that world."""
    visited = [c != "unvisited" for c in comp.classes["unobserved"]]
    return Count(int(sum(u and v for u, v in zip(comp.up_forever["unobserved"], visited))), sum(visited))


def _share(count: Count) -> str:
    return f"{count.share:.3f}" if count.n else "unvisited"


def converged_columns(config, mdp, solution, orders: dict, trained: bool = True) -> dict:
    """The recipe trained to convergence (deterministic dynamics, and only when training visits the unobserved
    world) with 'up' first, then 'up' last and a stationary table at that budget: up-forever counts while
    unobserved as "k/n"."""
    out = {
        "converged_episodes": "none",
        "converged_up_forever_unobserved_up_first": "",
        "converged_up_forever_unobserved_up_last": "",
        "stationary_up_forever_unobserved": "",
        "converged_label": "",
    }
    if not trained or recipe_name(mdp) != "deterministic":  # the stochastic recipe needs more seeds and budget
        return out
    table = "step-indexed" if config.horizon is not None else "stationary"
    budget, comp = converge(
        config, mdp, solution, "q", table, range(SEEDS), engine=engine(), action_order=orders["up first"]
    )
    if budget is None:
        return out
    out["converged_episodes"] = budget
    out["converged_label"] = f"{table} table, deterministic recipe, {budget} episodes"
    out["converged_up_forever_unobserved_up_first"] = str(up_forever(comp))
    last = run_study(
        config,
        mdp,
        solution,
        recipe_settings(config, solution, "q", table, budget, action_order=orders["up last"]),
        range(SEEDS),
        engine=engine(),
    )
    out["converged_up_forever_unobserved_up_last"] = str(up_forever(last))
    if table == "step-indexed":
        stat = run_study(
            config,
            mdp,
            solution,
            recipe_settings(config, solution, "q", "stationary", budget, action_order=orders["up first"]),
            range(SEEDS),
            engine=engine(),
        )
        out["stationary_up_forever_unobserved"] = str(up_forever(stat))
    return out


def supervised_row(distance, actions, objective) -> dict:
    """A supervised-until row: the behaviour is "turns by k" (up at every step from the switch step on)."""
    from tabturn.experiments.turning import optimal_turn_steps

    timing, horizon, discount = objective
    name, extra = SUPERVISED
    config = TurnConfig(
        **GRID, actions=actions, distance=distance, timing=timing, horizon=horizon, discount=discount,
        regime=name, **extra,
    )  # fmt: skip
    k = config.switch_step
    mdp = turn_mdp(config)
    solution = solve(mdp, config.horizon, config.discount)
    start = mdp.start[0][0]
    up = actions.index("up")
    earliest, _ = optimal_turn_steps(solution)
    out = {
        "distance": distance,
        "actions": " ".join(actions),
        "timing": timing,
        "horizon": horizon,
        "discount": discount,
        "regime": f"{name} (k = {k})",
        "exact_first_observed": " ".join(solution.optimal_action_names(start)),
        "exact_first_unobserved": "",
        "exact_up_forever_observed": str(
            policy_value(mdp, [up] * mdp.n_states, solution.horizon, solution.discount)[start] == solution.value(start)
        ).lower(),
        "exact_up_forever_unobserved": str(earliest is not None and earliest <= k).lower(),  # some optimum turns by k
    }
    others = [i for i in range(len(actions)) if i != up]
    orders = {"up first": tuple([up] + others), "up last": tuple(others + [up])}
    default = {}
    for label, order in orders.items():
        settings = default_settings(config, **LEARNER, action_order=order)
        count, comp = _turn_by_k(config, mdp, solution, settings, k)
        default[label] = count
        if label == "up first":
            out["q_optimal_observed"] = f"{comp.classes['start'].count('optimal') / SEEDS:.3f}"
    blind, _ = _turn_by_k(config, mdp, solution, default_settings(config, **LEARNER, observe_flag=False), k)
    out["flag_blind_turn_by_k"] = _share(blind)
    out["q_up_forever_unobserved_up_first"] = _share(default["up first"])
    out["q_up_forever_unobserved_up_last"] = _share(default["up last"])
    evidence = Evidence(
        allowed=out["exact_up_forever_unobserved"] == "true",
        unvisited=False,
        default=default["up first"],
        neutral={"action_order": default},
    )
    out.update({key: "" for key in COLUMNS if key.startswith(("converged_", "stationary_"))})
    out["converged_episodes"] = "none"
    budget, _ = converge(config, mdp, solution, "q", "step-indexed", range(SEEDS), engine=engine())
    if budget is not None:
        out["converged_episodes"] = budget
        conv = {
            label: _turn_by_k(
                config, mdp, solution, recipe_settings(config, solution, "q", "step-indexed", budget, action_order=o), k
            )[0]
            for label, o in orders.items()
        }
        stat = _turn_by_k(
            config,
            mdp,
            solution,
            recipe_settings(config, solution, "q", "stationary", budget, action_order=orders["up first"]),
            k,
        )[0]
        out["converged_up_forever_unobserved_up_first"] = str(conv["up first"])
        out["converged_up_forever_unobserved_up_last"] = str(conv["up last"])
        out["stationary_up_forever_unobserved"] = str(stat)
        evidence = Evidence(
            allowed=evidence.allowed,
            unvisited=False,
            default=evidence.default,
            converged=conv["up first"],
            converged_label=f"step-indexed table, deterministic recipe, {budget} episodes",
            stationary=stat,
            neutral={"action_order": conv},
        )
    v = verdict(evidence)
    out["cause"], out["evidence"] = v.cause, v.evidence
    return out


def _turn_by_k(config, mdp, solution, settings, k: int):
    """(seeds whose greedy trajectory goes up at every step from step k on, their Comparison)."""
    from tabturn.experiments.compare import compare
    from tabturn.experiments.turning import greedy_turn_steps
    from tabturn.learners.tabular import learn

    result = learn(mdp, settings, range(SEEDS), start=mdp.start, engine=engine())
    greedy = result.greedy()
    turns = greedy_turn_steps(mdp, greedy, mdp.start[0][0], config.finite_horizon)
    return Count(sum(t is not None and t <= k for t in turns), SEEDS), compare(solution, greedy, result.visited())


def tables():
    rows = [row(*combo) for combo in itertools.product(DISTANCES, ACTION_SETS, OBJECTIVES, REGIMES)]
    finite = [o for o in OBJECTIVES if o[1] is not None]
    return rows + [supervised_row(*combo) for combo in itertools.product(DISTANCES, ACTION_SETS, finite)]


def main(out_dir: str | Path = REPORTS) -> None:
    out = Path(out_dir)
    rows = tables()
    write_atomic(out / "variant_robustness.csv", csv_text(rows, COLUMNS))
    counts = {c: sum(r["cause"] == c for r in rows) for c in CAUSES}
    md = [
        "# Variant robustness",
        "",
        f"Generated by `analysis/variant_robustness.py`: {len(rows)} readings of the original setup on a 6x6 grid "
        f"from (0, 0); Q-learning with {SEEDS} seeds per row and per action order ({LEARNER}). "
        "`exact_up_forever_*`: going up at every step is an optimal policy from the start in that world. "
        "`converged_*`: the convergence recipe ([convergence.md](convergence.md)) trained until >= 99% of seeds "
        "are exactly optimal in the trained world (deterministic dynamics; step-indexed table on finite "
        "horizons), with 'up' first and last, and a stationary table at the same budget; counts are k/n over "
        "the seeds that visited the unobserved world. `cause`: the verdict on going up forever while unobserved "
        "from `tabturn.experiments.attribution.verdict`, the same definition as [attribution.md](attribution.md). "
        f"Rows `{SUPERVISED[0]} (k = ...)`: supervision ends at step k, and the `*_unobserved` columns count "
        "instead the seeds (and, exact, some optimal path) that go up at every step from step k on (turn step <= k; "
        "[supervised_until.md](supervised_until.md)); `flag_blind_turn_by_k`: the same share for flag-blind "
        "Q-learning at the default settings.",
        "",
        "Cause counts: " + "; ".join(f"{k}: {v}" for k, v in counts.items()),
        "",
    ]
    md += markdown_table(rows, COLUMNS)
    write_atomic(out / "variant_robustness.md", "\n".join(md) + "\n")
    print(f"wrote {out}/variant_robustness.md, variant_robustness.csv")


if __name__ == "__main__":
    main(*sys.argv[1:])
