"""The seed's observation, hunted down: where does an agent trained while observed go up forever *in the observed
world* in a seed-dependent share of seeds (strictly between 1% and 99%), and why?

Two parts:

- The search (slow, cached): ``python -m analysis.phenomenon --search``. A coarse design in blocks (learner,
  training details, setup, mesa agent), 200 seeds per cell, then adaptive refinement: along every numeric axis,
  wherever the always-up share of two neighbouring cells differs by REFINE_STEP or more, the cell between them is
  added (geometric midpoints for episodes and b), for REFINE_ROUNDS rounds. Every cell is one sweep (tabturn.runs.sweep,
  resumable: a killed search redoes only unfinished cells, cached under .cache/phenomenon/). Writes
  reports/phenomenon.csv, one row per cell, hits or not.
- The report (``make report``): reads the CSV, re-runs a sample of cells to show the cache is what the code
  gives, runs an intervention pair and traces three seeds for each region found, and writes
  reports/phenomenon.md and reports/phenomenon.png.

"Always-up" is the class of tabturn.experiments.compare: visited, not optimal, and the greedy path from the start goes
up at every step.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import math
import sys
from fractions import Fraction
from pathlib import Path

from analysis.common import REPORTS, ROOT, csv_text, engine, markdown_table, read_csv, save_figure, write_atomic
from tabturn.envs.turn.config import TurnConfig
from tabturn.experiments.study import wilson
from tabturn.learners import counter_rng

# Settings (data).
SEEDS = 200
BASE = ROOT / "examples" / "always.toml"
CACHE = ROOT / ".cache" / "phenomenon"
LOW, HIGH = 0.01, 0.99  # a seed-dependent share lies strictly between these
REFINE_STEP = 0.05
REFINE_ROUNDS = 2
REFINE = {
    "learner.episodes": "log-int",
    "loss.b": "log-rational",
    "learner.epsilon": "linear",
    "objective.horizon": "int",
}
LEARNERS = ("q", "sarsa", "expected-sarsa", "double-q")
BLOCKS = {
    "learner": {
        "learner.algorithm": list(LEARNERS),
        "learner.time_indexed": [False, True],
        "learner.episodes": [10, 100, 1000, 10000],
        "learner.initial_value": [0, "optimistic", "pessimistic"],
        "learner.epsilon": [0.05, 0.3],
    },
    "training": {
        "learner.step_size": [0.1, 0.5, 1.0],
        "learner.tie_break": ["first", "random"],
        "learner.action_order": ["up first", "up last"],
        "learner.truncation": ["terminal", "bootstrap"],
        "learner.episodes": [30, 300, 3000],
        "learner.initial_value": [0, "pessimistic"],
    },
    "setup": {
        "loss.b": ["1/4", "1", "4", "16"],
        "grid.y": [[0, 7], [0, 40]],
        "objective.horizon": [8, 16, 32],
        "loss.distance": ["vertical", "perpendicular"],
        "grid.actions": [["up", "down", "left", "right"], ["up", "right", "stay"]],
        "learner.episodes": [100, 1000],
    },
    "regime": {
        "supervision.regime": ["always", "train-observed-deploy-unobserved", "switching"],
        "loss.timing": ["per-step", "terminal"],
        "learner.episodes": [30, 300, 3000],
        "learner.initial_value": [0, "pessimistic"],
        "learner.discount": ["objective", "0.9"],
    },
}
MESA = {
    "model": ["tabular", "factored", "factored-flagless"],
    "episodes": [5, 50, 500],
    "steps": [8, 32],
    "prior": ["0", "-50"],
}
COLUMNS = [
    "block",
    "cell",
    "algorithm",
    "table",
    "episodes",
    "epsilon",
    "step_size",
    "initial_value",
    "tie_break",
    "action_order",
    "truncation",
    "learner_discount",
    "b",
    "grid_y",
    "horizon",
    "distance",
    "actions",
    "timing",
    "regime",
    "mesa_model",
    "mesa_episodes",
    "mesa_steps",
    "mesa_prior",
    "seeds",
    "always_up",
    "always_up_observed",
    "wilson_low",
    "wilson_high",
    "optimal_observed",
    "exact_always_up_optimal",
    "refined",
]


# ---------------------------------------------------------------- cells


def coarse_cells() -> list[dict]:
    """Every cell of the coarse design: {"block": name, axis: value, ...} (product of each block's axes)."""
    cells = []
    for block, axes in BLOCKS.items():
        for values in itertools.product(*axes.values()):
            cells.append({"block": block, **dict(zip(axes, values))})
    for values in itertools.product(*MESA.values()):
        cells.append({"block": "mesa", **{f"mesa.{k}": v for k, v in zip(MESA, values)}})
    return cells


def cell_key(cell: dict) -> str:
    """A short stable name of a cell (its cache directory); it names the learners' random streams too, so a
    change of generator never reads results made with another."""
    return hashlib.sha256(json.dumps({**cell, "streams": counter_rng.STREAMS}, sort_keys=True).encode()).hexdigest()[
        :12
    ]


def midpoint(a, b, kind: str):
    """The value between a and b for refinement, or None when there is none (e.g. adjacent integers)."""
    if kind == "log-int":
        m = round(math.sqrt(a * b))
    elif kind == "int":
        m = (a + b) // 2
    elif kind == "log-rational":
        m = Fraction(math.sqrt(float(Fraction(a)) * float(Fraction(b)))).limit_denominator(8)
        m = str(m)
        return None if Fraction(m) in (Fraction(a), Fraction(b)) else m
    else:
        m = round((a + b) / 2, 4)
    return None if m in (a, b) else m


def refine(cells: list[dict], shares: dict[str, float], step: float = REFINE_STEP) -> list[dict]:
    """New cells between neighbours (along one numeric axis, all else equal) whose shares differ by >= step."""
    new, seen = [], {cell_key(c) for c in cells}
    for axis, kind in REFINE.items():
        groups: dict[str, list[dict]] = {}
        for c in cells:
            if axis in c:
                rest = {k: v for k, v in c.items() if k != axis}
                groups.setdefault(json.dumps(rest, sort_keys=True), []).append(c)
        for group in groups.values():
            order = sorted(group, key=lambda c: float(Fraction(str(c[axis]))))
            for left, right in zip(order, order[1:]):
                if abs(shares[cell_key(left)] - shares[cell_key(right)]) < step:
                    continue
                m = midpoint(left[axis], right[axis], kind)
                if m is None:
                    continue
                cell = {**left, axis: m}
                if cell_key(cell) not in seen:
                    seen.add(cell_key(cell))
                    new.append(cell)
    return new


# ---------------------------------------------------------------- running a cell


def cell_setup(cell: dict) -> tuple[dict, dict]:
    """(config data, learner fields) of a learner cell, on top of the base config."""
    config = TurnConfig.load(str(BASE))
    data = json.loads(json.dumps(config.to_dict()))
    learner: dict = {"algorithm": "q", "episodes": 500, "epsilon": 0.1, "step_size": 0.1}
    for name, value in cell.items():
        section, _, field = name.partition(".")
        if section == "learner":
            learner[field] = value
        elif section in ("grid", "loss", "objective", "supervision"):
            data[section][field] = value
    if data["supervision"]["regime"] == "switching":
        data["supervision"].update({"p": "1/10", "q": "1/5"})
    actions = data["grid"]["actions"]
    order = learner.pop("action_order", "up first")
    up, rest = actions.index("up"), [i for i, a in enumerate(actions) if a != "up"]
    learner["action_order"] = [up] + rest if order == "up first" else rest + [up]
    learner["epsilon_final"] = learner["epsilon"]
    if learner.get("discount", "objective") == "objective":
        learner.pop("discount", None)
    else:
        learner["discount"] = float(learner["discount"])
    if learner.get("time_indexed") and data["objective"]["horizon"] == "none":
        learner["time_indexed"] = False
    return data, learner


def run_cell(cell: dict, seeds: int = SEEDS, cache: Path | None = CACHE) -> dict:
    """The cell's row: always-up share in the observed world over ``seeds`` seeds, and the exact optimum there."""
    if cell["block"] == "mesa":
        return _run_mesa_cell(cell, seeds)
    import tempfile

    from tabturn.experiments.attribution import optimum_allows
    from tabturn.runs.sweep import parse_sweep, run_sweep

    data, learner = cell_setup(cell)
    sweep = parse_sweep(
        {"sweep": {"seeds": seeds, "chunk": seeds, "engine": engine(), "record": ["class"]}, **data, "learner": learner}
    )
    if cache is None:
        with tempfile.TemporaryDirectory() as out:
            rows = run_sweep(sweep, out, workers=1)["rows"]
    else:
        rows = run_sweep(sweep, cache / f"{cell_key(cell)}-{seeds}", workers=1)["rows"]
    classes = [r["class_observed"] for r in rows]
    from tabturn.envs.solve import solve_config

    solution = solve_config(TurnConfig.from_dict(data))
    return _row(cell, data, learner, classes, optimum_allows(solution, "observed")["up-forever"])


def _run_mesa_cell(cell: dict, seeds: int) -> dict:
    from tabturn.envs.solve import solve_config
    from tabturn.experiments.attribution import optimum_allows
    from tabturn.experiments.mesa import MesaSettings, mesa

    config = TurnConfig.load(str(BASE))
    truth = solve_config(config)
    classes = []
    for seed in range(seeds):
        settings = MesaSettings(
            model=cell["mesa.model"],
            episodes=cell["mesa.episodes"],
            steps=cell["mesa.steps"],
            prior=Fraction(cell["mesa.prior"]),
            seed=seed,
            coverage=Fraction(0),
        )
        result = mesa(config, settings, truth)
        classes.append(result.comparison.classes["observed"][0])
    data = json.loads(json.dumps(config.to_dict()))
    return _row(cell, data, {}, classes, optimum_allows(truth, "observed")["up-forever"])


def _row(cell: dict, data: dict, learner: dict, classes: list[str], exact_up: bool) -> dict:
    k, n = classes.count("always-up"), len(classes)
    low, high = wilson(k, n)
    order = learner.get("action_order")
    return {
        "block": cell["block"],
        "cell": cell_key(cell),
        "algorithm": learner.get("algorithm", ""),
        "table": ("step-indexed" if learner.get("time_indexed") else "stationary") if learner else "",
        "episodes": learner.get("episodes", ""),
        "epsilon": learner.get("epsilon", ""),
        "step_size": learner.get("step_size", ""),
        "initial_value": learner.get("initial_value", "0") if learner else "",
        "tie_break": learner.get("tie_break", "first") if learner else "",
        "action_order": ""
        if order is None
        else ("up first" if order[0] == data["grid"]["actions"].index("up") else "up last"),
        "truncation": learner.get("truncation", "terminal") if learner else "",
        "learner_discount": learner.get("discount", "objective") if learner else "",
        "b": data["loss"]["b"],
        "grid_y": " ".join(map(str, data["grid"]["y"])),
        "horizon": data["objective"]["horizon"],
        "distance": data["loss"]["distance"],
        "actions": " ".join(data["grid"]["actions"]),
        "timing": data["loss"]["timing"],
        "regime": data["supervision"]["regime"],
        "mesa_model": cell.get("mesa.model", ""),
        "mesa_episodes": cell.get("mesa.episodes", ""),
        "mesa_steps": cell.get("mesa.steps", ""),
        "mesa_prior": cell.get("mesa.prior", ""),
        "seeds": n,
        "always_up": k,
        "always_up_observed": f"{k / n:.4f}",
        "wilson_low": f"{low:.4f}",
        "wilson_high": f"{high:.4f}",
        "optimal_observed": f"{classes.count('optimal') / n:.4f}",
        "exact_always_up_optimal": str(exact_up).lower(),
        "refined": str(cell.get("_refined", 0)),
    }


# ---------------------------------------------------------------- the search


def search(out_dir: Path = REPORTS) -> list[dict]:
    """Coarse design, then REFINE_ROUNDS rounds of refinement; writes phenomenon.csv and phenomenon_cells.json."""
    cells = coarse_cells()
    rows = {}

    def run_all(batch):
        for i, cell in enumerate(batch):
            key = cell_key({k: v for k, v in cell.items() if k != "_refined"})
            if key not in rows:
                rows[key] = run_cell({k: v for k, v in cell.items() if k != "_refined"})
                rows[key]["refined"] = str(cell.get("_refined", 0))
            if i % 25 == 0:
                print(f"phenomenon: {len(rows)} cells", file=sys.stderr, flush=True)

    run_all(cells)
    for round_ in range(1, REFINE_ROUNDS + 1):
        plain = [{k: v for k, v in c.items() if k != "_refined"} for c in cells]
        shares = {cell_key(c): float(rows[cell_key(c)]["always_up_observed"]) for c in plain}
        new = [{**c, "_refined": round_} for c in refine(plain, shares)]
        print(f"phenomenon: refinement round {round_}: {len(new)} new cells", file=sys.stderr, flush=True)
        if not new:
            break
        run_all(new)
        cells += new
    ordered = [rows[cell_key({k: v for k, v in c.items() if k != "_refined"})] for c in cells]
    write_atomic(out_dir / "phenomenon.csv", csv_text(ordered, COLUMNS))
    write_atomic(
        out_dir / "phenomenon_cells.json",
        json.dumps([{k: v for k, v in c.items()} for c in cells], sort_keys=True, indent=0) + "\n",
    )
    from tabturn.runs.files import dumps, provenance

    write_atomic(
        out_dir / "phenomenon_provenance.json",
        dumps(
            provenance(
                command="python -m analysis.phenomenon --search",
                cells=len(cells),
                seeds=SEEDS,
                learner_engine=engine(),
                refine_rounds=REFINE_ROUNDS,
                refine_step=REFINE_STEP,
            )
        ),
    )
    return ordered


# ---------------------------------------------------------------- regions, interventions, traces (make report)


def cell_learner(cell: dict):
    """(config, mdp, solution, LearnerSettings) of a learner cell."""
    from tabturn.envs.solve import solve_config
    from tabturn.envs.turn.model import turn_mdp
    from tabturn.experiments.study import default_settings, resolve_initial_value

    data, learner = cell_setup(cell)
    config = TurnConfig.from_dict(data)
    solution = solve_config(config)
    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in learner.items()}
    fields["initial_value"] = resolve_initial_value(fields.get("initial_value", 0), solution)
    return config, turn_mdp(config), solution, default_settings(config, **fields)


REGION_KEYS = ("block", "algorithm", "table", "initial_value", "regime", "mesa_model")


def regions(rows: list[dict]) -> list[list[dict]]:
    """Hit cells (LOW < share < HIGH) grouped by REGION_KEYS, largest group first."""
    hits = [r for r in rows if LOW < float(r["always_up_observed"]) < HIGH]
    groups: dict[tuple, list[dict]] = {}
    for r in hits:
        groups.setdefault(tuple(r[k] for k in REGION_KEYS), []).append(r)
    return sorted(groups.values(), key=lambda g: (-len(g), g[0]["cell"]))


def representative(group: list[dict], cells: dict[str, dict]) -> dict:
    """The cell of the group whose share is closest to one half (ties: first in the CSV)."""
    best = min(group, key=lambda r: abs(float(r["always_up_observed"]) - 0.5))
    return {k: v for k, v in cells[best["cell"]].items() if k != "_refined"}


def interventions(cell: dict) -> list[dict]:
    """Each intervention as (name, what it tests, changed cell) run over SEEDS seeds: the share it leaves."""
    changes = []
    episodes = cell.get("learner.episodes", 500)
    changes.append(
        ("10x episodes", "removes it if too little training is the cause", {"learner.episodes": episodes * 10})
    )
    changes.append(
        ("1/4 episodes", "strengthens it if it is a transient of training", {"learner.episodes": max(1, episodes // 4)})
    )
    if not cell.get("learner.time_indexed"):
        changes.append(
            ("step-indexed table", "removes it if the stationary table is the cause", {"learner.time_indexed": True})
        )
    init = cell.get("learner.initial_value", 0)
    changes.append(
        (
            "initial value " + ("0" if init != 0 else "optimistic"),
            "removes it if the initial values are the cause",
            {"learner.initial_value": 0 if init != 0 else "optimistic"},
        )
    )
    order = cell.get("learner.action_order", "up first")
    changes.append(
        (
            "'up' " + ("last" if order == "up first" else "first") + " in the action order",
            "removes it if the tie-break order is why the direction is up",
            {"learner.action_order": "up last" if order == "up first" else "up first"},
        )
    )
    return run_changes(cell, changes)


def traces(cell: dict, n: int = 3, points: int = 24) -> dict:
    """For n always-up seeds of the cell and two others: Q(s, up) - min over the other actions of Q(s, a) along
    training, at the first state of the all-up path where the exact optimum stops going up (loss units: negative
    means 'up' is the greedy choice there)."""
    import numpy as np

    from tabturn.experiments.compare import compare
    from tabturn.experiments.study import training_start
    from tabturn.learners.tabular import learn

    config, mdp, solution, settings = cell_learner(cell)
    start = training_start(config)
    result = learn(mdp, settings, range(SEEDS), start=start, engine=engine())
    classes = compare(solution, result.greedy(), result.visited()).classes["observed"]
    ups = [s for s, c in enumerate(classes) if c == "always-up"][:n]
    if not ups:
        return {"seeds": [], "episodes": [], "margins": [], "classes": []}
    chosen = ups + [s for s, c in enumerate(classes) if c != "always-up"][:2]  # two contrasting seeds
    grid = sorted({max(1, round(settings.episodes ** (i / (points - 1)))) for i in range(points)})
    up = mdp.action_names.index("up")
    s0, step = start[0][0], 0  # the first state of the all-up path where the optimum stops going up
    while up in solution.optimal_actions(s0, step) and step + 1 < (solution.horizon or mdp.n_states):
        s0, step = mdp.next_states(s0, up)[0][0], step + 1
    margins = {s: [] for s in chosen}

    def record(episodes, res) -> bool:
        q = res.q if res.q.ndim == 3 else res.q[:, min(step, res.q.shape[1] - 1)]
        for b, s in enumerate(chosen):
            row = q[b, s0]
            others = np.delete(row, up)
            margins[s].append(float(row[up] - others.min()))
        return False

    learn(mdp, settings, chosen, start=start, engine=engine(), checkpoints=grid, on_checkpoint=record)
    return {
        "seeds": chosen,
        "episodes": grid,
        "margins": [margins[s] for s in chosen],
        "classes": [classes[s] for s in chosen],
        "state": mdp.state_labels[s0],
        "step": step,
    }


def run_changes(cell: dict, changes: list[tuple[str, str, dict]]) -> list[dict]:
    """Each (name, purpose, change) applied to ``cell`` alone, over SEEDS seeds: the always-up share it leaves."""
    out = []
    for name, purpose, change in changes:
        row = run_cell({**cell, **change}, cache=None)
        k, n = row["always_up"], row["seeds"]
        out.append(
            {
                "intervention": name,
                "purpose": purpose,
                "always_up_observed": f"{k / n:.4f}",
                "wilson": f"[{row['wilson_low']}, {row['wilson_high']}]",
                "always_up": k,
                "seeds": n,
            }
        )
    return out


def mesa_interventions(cell: dict) -> list[dict]:
    """The mesa agent's interventions: more data, longer episodes, another prior for unseen states."""
    changes = [
        (
            "10x episodes of data",
            "removes it if too little data is the cause",
            {"mesa.episodes": cell["mesa.episodes"] * 10},
        ),
        (
            "1/5 the episodes of data",
            "strengthens it if scarce data is the cause",
            {"mesa.episodes": max(1, cell["mesa.episodes"] // 5)},
        ),
        (
            "prior " + ("0" if cell["mesa.prior"] != "0" else "-50") + " for unseen states",
            "removes it if extrapolation into unseen cells is the cause",
            {"mesa.prior": "0" if cell["mesa.prior"] != "0" else "-50"},
        ),
    ]
    return run_changes(cell, changes)


MAX_REGIONS = 4
REGION_COLUMNS = [
    "region",
    "cells",
    "block",
    "algorithm",
    "table",
    "initial_value",
    "regime",
    "mesa_model",
    "share_min",
    "share_max",
    "episodes",
    "representative",
    "representative_share",
    "exact_always_up_optimal",
    "intervention",
    "purpose",
    "intervention_share",
    "intervention_wilson",
]


def region_rows(rows: list[dict], cells: dict[str, dict]) -> tuple[list[dict], list[dict]]:
    """(one row per region x intervention, traces per region) for the MAX_REGIONS largest regions."""
    out, all_traces = [], []
    for i, group in enumerate(regions(rows)[:MAX_REGIONS], start=1):
        cell = representative(group, cells)
        rep = next(r for r in group if r["cell"] == cell_key(cell))
        base = {
            "region": i,
            "cells": len(group),
            **{k: group[0][k] for k in REGION_KEYS},
            "share_min": min(r["always_up_observed"] for r in group),
            "share_max": max(r["always_up_observed"] for r in group),
            "episodes": " ".join(sorted({str(r["episodes"] or r["mesa_episodes"]) for r in group}, key=float)),
            "representative": rep["cell"],
            "representative_share": rep["always_up_observed"],
            "exact_always_up_optimal": rep["exact_always_up_optimal"],
        }
        found = mesa_interventions(cell) if cell["block"] == "mesa" else interventions(cell)
        out += [
            {
                **base,
                "intervention": f["intervention"],
                "purpose": f["purpose"],
                "intervention_share": f["always_up_observed"],
                "intervention_wilson": f["wilson"],
            }
            for f in found
        ]
        all_traces.append({"region": i, "cell": cell, **({} if cell["block"] == "mesa" else traces(cell))})
    return out, all_traces


def map_slice(rows: list[dict]) -> tuple[dict, list[dict]]:
    """The setup-block slice (horizon, grid, distance, actions fixed) with the most seed-dependent cells."""
    setup = [r for r in rows if r["block"] == "setup"]
    keys = ("horizon", "grid_y", "distance", "actions")
    slices: dict[tuple, list[dict]] = {}
    for r in setup:
        slices.setdefault(tuple(r[k] for k in keys), []).append(r)
    best = max(slices, key=lambda k: (sum(LOW < float(r["always_up_observed"]) < HIGH for r in slices[k]), k))
    return dict(zip(keys, best)), slices[best]


def figure(rows: list[dict], region_traces: list[dict]):
    """Left: always-up share (observed) over b and episodes in the setup slice with the most seed-dependent cells
    (Q-learning, default settings). Right: Q(start, up) - min Q(start, other) along training for three always-up
    seeds of each learner region."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    fixed, cells = map_slice(rows)
    xs = sorted({r["b"] for r in cells}, key=lambda b: float(Fraction(b)))
    ys = sorted({int(r["episodes"]) for r in cells})
    grid = np.full((len(ys), len(xs)), np.nan)
    for r in cells:
        grid[ys.index(int(r["episodes"])), xs.index(r["b"])] = float(r["always_up_observed"])
    fig, (ax, bx) = plt.subplots(1, 2, figsize=(13, 4.8))
    im = ax.imshow(grid, aspect="auto", cmap="magma", vmin=0, vmax=1, origin="lower")
    ax.set_xticks(range(len(xs)), xs)
    ax.set_yticks(range(len(ys)), [str(y) for y in ys])
    ax.set_xlabel("b (a = 1): weight of the -b*y term")
    ax.set_ylabel("training episodes (Q-learning)")
    for (i, j), v in np.ndenumerate(grid):
        if not np.isnan(v):
            ax.text(j, i, f"{v:.2f}", ha="center", va="center", fontsize=7, color="white" if v < 0.5 else "black")
    ax.set_title(
        "share of seeds going up forever while observed\n"
        + ", ".join(f"{k} {v}" for k, v in fixed.items())
        + f"; {SEEDS} seeds per cell, blank: not sampled",
        fontsize=8,
    )
    fig.colorbar(im, ax=ax, fraction=0.04)
    for t in region_traces:
        for seed, margin, cls in zip(t.get("seeds", []), t.get("margins", []), t.get("classes", [])):
            bx.plot(
                t["episodes"],
                margin,
                marker=".",
                ls="-" if cls == "always-up" else "--",
                label=f"region {t['region']}, seed {seed} ({cls})",
            )
    bx.axhline(0, color="grey", lw=0.5)
    bx.set_xscale("log")
    bx.set_yscale("symlog", linthresh=1)
    bx.set_xlabel("training episodes")
    where = "; ".join(
        f"region {t['region']}: state {t['state']} after {t['step']} ups" for t in region_traces if t.get("seeds")
    )
    bx.set_ylabel("Q(s, up) - min Q(s, other)  (loss; < 0: up is greedy)")
    bx.set_title(
        "where the optimum first stops going up (" + where + "):\nthree always-up seeds (solid), two others (dashed)",
        fontsize=8,
    )
    if any(t.get("seeds") for t in region_traces):
        bx.legend(fontsize=6)
    fig.tight_layout()
    return fig


def first_move_losses(found: list[dict]) -> str:
    """ "up -15, down 0, ..." : the exact one-step loss of each action at the start of region 1's representative."""
    from tabturn.core.rational import format_rational

    cells = {
        cell_key({k: v for k, v in c.items() if k != "_refined"}): c
        for c in json.loads((REPORTS / "phenomenon_cells.json").read_text())
    }
    first = next((r for r in found if r["block"] != "mesa"), None)
    if first is None:
        return "no learner region"
    cell = {k: v for k, v in cells[first["representative"]].items() if k != "_refined"}
    texts = []
    for variant in (cell, {**cell, "grid.actions": ["up", "down", "left", "right"]}):
        _, mdp, _, _ = cell_learner(variant)
        s0 = mdp.start[0][0]
        texts.append(", ".join(f"{name} {format_rational(mdp.cost(s0, a))}" for a, name in enumerate(mdp.action_names)))
    return f"{texts[0]}; with the four moves instead: {texts[1]} (down and left are blocked at the start)"


def mechanism(found: list[dict]) -> list[str]:
    """Per region: which single changes remove it (Wilson upper bound below the representative's lower bound and a
    share at most a quarter of it) and which strengthen it (lower bound above the representative's upper bound)."""
    out = []
    for region in dict.fromkeys(r["region"] for r in found):
        mine = [r for r in found if r["region"] == region]
        rep = float(mine[0]["representative_share"])
        k = round(rep * SEEDS)
        low, high = wilson(k, SEEDS)
        removes = [
            r["intervention"]
            for r in mine
            if float(r["intervention_wilson"].strip("[]").split(",")[1]) < low
            and float(r["intervention_share"]) <= rep / 4
        ]
        strengthens = [
            r["intervention"] for r in mine if float(r["intervention_wilson"].strip("[]").split(",")[0]) > high
        ]
        neutral = [r["intervention"] for r in mine if r["intervention"] not in removes + strengthens]
        out.append(
            f"- Region {region}: removed by {', '.join(removes) or 'none of the changes tried'}; strengthened by "
            f"{', '.join(strengthens) or 'none of the changes tried'}; no clear effect: {', '.join(neutral) or 'none'}."
        )
    return out


def markdown(rows: list[dict], found: list[dict]) -> str:
    hits = [r for r in rows if LOW < float(r["always_up_observed"]) < HIGH]
    top = max(rows, key=lambda r: float(r["always_up_observed"]) if float(r["always_up_observed"]) < HIGH else -1)
    blocks = {b: sum(r["block"] == b for r in rows) for b in dict.fromkeys(r["block"] for r in rows)}
    lines = [
        "# The seed's observation: always-up while observed, in some seeds",
        "",
        f"Generated by `analysis/phenomenon.py` from the cached search in [phenomenon.csv](phenomenon.csv) "
        f"({len(rows)} cells, {SEEDS} seeds each, every cell recorded; regenerate the search with "
        "`.venv/bin/python -m analysis.phenomenon --search`, about 12 minutes on a 2-core machine; versions in "
        "[phenomenon_provenance.json](phenomenon_provenance.json)). Agents train "
        "in the observed "
        "world (regime always unless the cell says otherwise); a seed is *always-up* when its greedy policy "
        "is not optimal and goes up at every step from the observed start (the class of `tabturn learn`). "
        f"A cell is seed-dependent when the share lies strictly between {LOW:.0%} and {HIGH:.0%}.",
        "",
        "Cells per block: "
        + "; ".join(f"{b}: {n}" for b, n in blocks.items())
        + f" (coarse design, then {REFINE_ROUNDS} rounds of refinement wherever neighbouring shares differ by "
        f"{REFINE_STEP} or more along {', '.join(REFINE)}).",
        "",
        f"**Seed-dependent cells: {len(hits)} of {len(rows)}.** Largest share below {HIGH:.0%}: "
        f"{float(top['always_up_observed']):.3f} (cell {top['cell']}, block {top['block']}).",
        "",
    ]
    if found:
        hit_b = sorted({r["b"] for r in hits if r["block"] != "mesa"}, key=lambda b: float(Fraction(b)))
        lines += [
            "## Mechanisms, from the interventions",
            "",
            *mechanism(found),
            "",
            f"Values of b (a = 1) among the seed-dependent learner cells: {', '.join(hit_b) or 'none'}; "
            f"the learner blocks that keep b = 1 have "
            f"{sum(1 for r in hits if r['block'] in ('learner', 'training', 'regime'))} seed-dependent cells. "
            "Exact loss of each first move from the start (tabturn's MDP), in the representative cell of "
            f"region 1: {first_move_losses(found)}. Initial Q-values of 0 sit above a negative loss, so the "
            "first action that comes out below 0 stays greedy until exploration finds better.",
            "",
            "## Regions and interventions",
            "",
            "One row per region x intervention; `representative_share` is the share in the cell closest to "
            "one half, `intervention_share` after changing one thing in that cell.",
            "",
            *markdown_table(found, REGION_COLUMNS),
            "",
        ]
    lines += [
        "![share map and traces](phenomenon.png)",
        "",
        "## Every cell",
        "",
        "See [phenomenon.csv](phenomenon.csv): every axis value, `seeds`, "
        "`always_up_observed` with its Wilson interval, `optimal_observed`, `exact_always_up_optimal`.",
        "",
    ]
    return "\n".join(lines)


def main(out_dir: str | Path = REPORTS) -> None:
    out = Path(out_dir)
    source = REPORTS / "phenomenon.csv"
    rows = read_csv(source)
    cells = {
        cell_key({k: v for k, v in c.items() if k != "_refined"}): c
        for c in json.loads((REPORTS / "phenomenon_cells.json").read_text())
    }
    found, region_traces = region_rows(rows, cells)
    if out != REPORTS:
        write_atomic(out / "phenomenon.csv", source.read_text())
    write_atomic(out / "phenomenon_regions.csv", csv_text(found, REGION_COLUMNS))
    write_atomic(out / "phenomenon.md", markdown(rows, found))
    save_figure(figure(rows, region_traces), out / "phenomenon.png")
    print(f"wrote {out}/phenomenon.md, phenomenon_regions.csv, phenomenon.png")


if __name__ == "__main__" and "--search" not in sys.argv:
    main(*sys.argv[1:])


if __name__ == "__main__" and "--search" in sys.argv:
    search()
