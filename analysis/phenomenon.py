"""The seed's observation, searched: where does an agent trained while observed go up forever *in the observed
world* in a seed-dependent share of seeds (strictly between 1% and 99%), and what moves that share?

The search is the design file examples/search/phenomenon.toml, run by tabturn.runs.search:

- ``python -m analysis.phenomenon --search`` (slow, cached per cell under .cache/search/): writes
  reports/phenomenon.csv (every cell), phenomenon_regions.csv (each local-design cell against its region's
  representative, paired), phenomenon_cells.json and phenomenon_provenance.json (with the run time).
- ``make report`` (``python -m analysis.phenomenon``): reads those tables and writes phenomenon.md and
  phenomenon.png; every number in them comes from the tables.
"""

from __future__ import annotations

import dataclasses
import functools
import json
import os
import sys
import time
from fractions import Fraction
from pathlib import Path

from analysis.common import REPORTS, ROOT, csv_text, engine, markdown_table, read_csv, save_figure, write_atomic

DESIGN = ROOT / "examples" / "search" / "phenomenon.toml"
CACHE = ROOT / ".cache" / "search"


@functools.cache
def design():
    """The phenomenon design, on this machine's learner engine (engines give the same numbers); read once (loading
    checks a cell of every block, which solves their MDPs)."""
    from tabturn.runs.search import load_design

    return dataclasses.replace(load_design(DESIGN), engine=engine())


def run_search(out_dir: Path = REPORTS) -> None:
    """The full search (cached): phenomenon.csv, phenomenon_regions.csv, phenomenon_cells.json, provenance."""
    from tabturn.core.progress import Progress
    from tabturn.runs.files import dumps, provenance
    from tabturn.runs.search import REGION_COLUMNS, row_columns, search

    d = design()
    bars: dict[str, Progress] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            print(f"phenomenon: {stage}: {total} cells", file=sys.stderr, flush=True)
            bars[stage] = Progress(total, f"phenomenon: {stage}")
        bars[stage].update(done)

    cached = set(CACHE.glob("*/*.json"))
    started = time.perf_counter()
    result = search(d, CACHE, workers=os.cpu_count() or 1, progress=progress)
    seconds = time.perf_counter() - started
    computed = len(set(CACHE.glob("*/*.json")) - cached)  # new cache files (a cell extended in place is not counted)
    write_atomic(out_dir / "phenomenon.csv", csv_text(result["rows"], row_columns(d)))
    write_atomic(out_dir / "phenomenon_regions.csv", csv_text(result["regions"], list(REGION_COLUMNS)))
    write_atomic(
        out_dir / "phenomenon_cells.json", json.dumps(result["cells"], sort_keys=True, default=str, indent=0) + "\n"
    )
    write_atomic(
        out_dir / "phenomenon_provenance.json",
        dumps(
            provenance(
                command="python -m analysis.phenomenon --search",
                design=str(DESIGN.relative_to(ROOT)),
                cells=len(result["rows"]),
                learner_engine=d.engine,
                workers=os.cpu_count() or 1,
                seconds=round(seconds, 1),
                cells_computed=computed,
            )
        ),
    )


# ---------------------------------------------------------------- reading the tables


def _share(row: dict) -> float:
    return float(row["share"])


def _pct(x) -> str:
    return f"{float(x):.1%}"


def screened(rows: list[dict]) -> list[dict]:
    """The screen, refinement and confirmation cells (not the local designs)."""
    return [r for r in rows if not r["block"].startswith("local-")]


def seed_dependent(rows: list[dict]) -> list[dict]:
    return [r for r in screened(rows) if r["seed_dependent"] == "true"]


def region_summaries(rows: list[dict], found: list[dict]) -> list[dict]:
    """Per region: its key values, cells, share range, representative, and the local design's verdicts."""
    d = design()
    out = []
    groups = {}
    for r in seed_dependent(rows):
        groups.setdefault(tuple(r[k] for k in d.region_keys), []).append(r)
    by_cell = {r["cell"]: r for r in rows}
    for number in dict.fromkeys(r["region"] for r in found):
        mine = [r for r in found if r["region"] == number]
        rep = by_cell[mine[0]["representative"]]
        group = groups[tuple(rep[k] for k in d.region_keys)]
        local = [r for r in mine if r["stage"] != "local"]
        out.append(
            {
                "region": number,
                "keys": {k: rep[k] for k in d.region_keys},
                "cells": len(group),
                "low": min(_share(r) for r in group),
                "high": max(_share(r) for r in group),
                "rep": rep,
                "moves": [r for r in local if r["moves"] == "true"],
                "still": [r for r in local if r["moves"] == "false"],
                "self": next(r for r in mine if r["stage"] == "local"),
                "varied": _varied(d, rep["block"], local),
            }
        )
    return out


def _varied(d, block: str, local: list[dict]) -> list[str]:
    """Axes varied around this region: its block's axes and every local axis its local design changed."""
    axes = [a for name, axes in d.blocks if name == block for a, _ in axes]
    changed = [part.split(" = ")[0] for r in local for part in r["change"].split("; ")]
    return list(dict.fromkeys(axes + changed))


def held_fixed(varied: list[str], rep: dict) -> list[str]:
    """'field = value' of every config and learner field the region's block and local design never varied."""
    from tabturn.envs.turn.config import TurnConfig

    d = design()
    config = TurnConfig.load(d.config).to_dict()
    fields = {f"{s}.{k}": v for s, body in config.items() for k, v in body.items()}
    fields.update({f"learner.{k}": v for k, v in d.learner})
    fields.update({a: rep[a] for a in d.axes if rep.get(a, "") != ""})  # the region's own value of every axis
    mesa = bool(rep.get("mesa.model"))
    return [
        f"{k} = {_text(v)}"
        for k, v in fields.items()
        if k not in varied and not (mesa and k.startswith("learner.")) and not (not mesa and k.startswith("mesa."))
    ]


def _text(value) -> str:
    if isinstance(value, dict):
        return "{" + ", ".join(f"{k} {v}" for k, v in value.items()) + "}"
    if isinstance(value, list):
        return "[" + " ".join(map(str, value)) + "]"
    return str(value)


def _change(r: dict) -> str:
    p = r["mcnemar_p"]
    return f"{r['change']}: {_pct(r['share'])} (p = {p})"


def region_lines(s: dict) -> list[str]:
    """The markdown paragraph of one region: where, what moves it, what does not, what was held fixed."""
    rep = s["rep"]
    keys = ", ".join(f"{k} {v}" for k, v in s["keys"].items())
    setting = ", ".join(f"{a} = {rep[a]}" for a in design().axes if rep.get(a, "") != "")
    effects = {e: [r for r in s["moves"] if r["effect"] == e] for e in ("removes", "weakens", "strengthens")}
    fixed = held_fixed(s["varied"], rep)
    return [
        f"### Region {s['region']}: {keys}",
        "",
        f"{s['cells']} seed-dependent cells, shares {_pct(s['low'])} to {_pct(s['high'])}. Representative (share "
        f"closest to one half): cell {rep['cell']}, {_pct(rep['share'])} of {rep['seeds']} seeds "
        f"(untrained-path {_pct(rep['untrained_path'])}, up forever in any class {_pct(rep['up_forever'])}); "
        f"{setting}. Its own stream again under the local block: {_pct(s['self']['share'])}.",
        "",
        f"- **Removes it** (share at most {design().band[0]:.0%}): "
        + ("; ".join(map(_change, effects["removes"])) or "no change tried"),
        "- **Weakens it**: " + ("; ".join(map(_change, effects["weakens"])) or "no change tried"),
        "- **Strengthens it**: " + ("; ".join(map(_change, effects["strengthens"])) or "no change tried"),
        "- **No significant effect**: " + ("; ".join(map(_change, s["still"])) or "none"),
        "- **Held fixed** (never varied around this region, so the text claims nothing about them): "
        + (", ".join(fixed) or "nothing"),
        "",
    ]


def corners(rows: list[dict], b: str = "1") -> list[dict]:
    """The corners block at weight b: one summary row per (initial value, table, distance)."""
    cells = [r for r in screened(rows) if r["block"] == "corners" and r["loss.b"] == b]
    groups: dict[tuple, list[dict]] = {}
    for r in cells:
        groups.setdefault((r["learner.initial_value"], r["learner.time_indexed"], r["loss.distance"]), []).append(r)
    out = []
    for (init, table, distance), group in groups.items():
        hits = [r for r in group if r["seed_dependent"] == "true"]
        top = max(group, key=_share)
        out.append(
            {
                "b": b,
                "initial_value": init,
                "table": "step-indexed" if table == "true" else "stationary",
                "distance": distance,
                "cells": len(group),
                "seed_dependent": len(hits),
                "horizons": " ".join(sorted({r["objective.horizon"] for r in hits}, key=int)),
                "episodes": " ".join(sorted({r["learner.episodes"] for r in hits}, key=int)),
                "max_share": f"{_share(top):.4f}",
                "max_at": f"H {top['objective.horizon']}, {top['learner.episodes']} episodes",
                "untrained_path_max": f"{max(float(r['untrained_path']) for r in group):.4f}",
                "seeds_min": min((int(r["seeds"]) for r in hits), default=""),
            }
        )
    return out


CORNER_COLUMNS = [
    "initial_value",
    "table",
    "distance",
    "cells",
    "seed_dependent",
    "horizons",
    "episodes",
    "max_share",
    "max_at",
    "untrained_path_max",
    "seeds_min",
]


def up_path_losses(cell: dict) -> list[str]:
    """The exact loss of each 'up' along the all-up path from the observed start over the cell's horizon."""
    from tabturn.core.rational import format_rational
    from tabturn.runs.search import problem

    p = problem(design(), cell)
    mdp, up = p.mdp, p.mdp.action_names.index("up")
    s, out = p.start[0][0], []
    for _ in range(p.settings.horizon):
        out.append(format_rational(mdp.cost(s, up)))
        s = mdp.next_states(s, up)[0][0]
    return out


def why_lines(rows: list[dict], found: list[dict]) -> list[str]:
    """Why the habit appears at a = b = 1: the exact losses along the all-up path of region 1's representative,
    against its initial value, and what the local design found."""
    summaries = [
        s for s in region_summaries(rows, found) if s["keys"].get("loss.b") == "1" and s["rep"]["block"] != "mesa"
    ]
    if not summaries:
        return []
    s = summaries[0]
    cells = json.loads((REPORTS / "phenomenon_cells.json").read_text())
    from tabturn.runs.search import cell_key

    cell = next(c for c in cells if cell_key(c) == s["rep"]["cell"])
    losses = up_path_losses(cell)
    init = s["rep"]["learner.initial_value"]
    effects = {r["change"]: r for r in s["moves"] + s["still"]}
    named = [
        f"{change}: {_pct(effects[change]['share'])}"
        for change in (
            "learner.tie_break = random",
            "learner.action_order = up last",
            "learner.initial_value = -1",
            "learner.initial_value = pessimistic",
            "learner.episodes = 100",
        )
        if change in effects
    ]
    return [
        f"Why there (region {s['region']}'s representative, horizon {s['rep']['objective.horizon']}, "
        f"{s['rep']['loss.distance']} distance, initial value {init}): along the all-up path from the start each "
        f"'up' costs exactly {', '.join(losses)} (tabturn's MDP). A Q-learner with tie-break 'first' and 'up' listed "
        f"first tries 'up' first everywhere; an 'up' whose loss is not above the untried actions' initial value "
        f"({init}) stays greedy once tried, so with few episodes the greedy path keeps going up while those losses "
        f"stay at or below it. The local design agrees: {'; '.join(named)} (share {_pct(s['rep']['share'])} "
        "before).",
        "",
    ]


def markdown(rows: list[dict], found: list[dict], provenance: dict) -> str:
    d = design()
    main = screened(rows)
    hits = seed_dependent(rows)
    blocks = {b: sum(r["block"] == b for r in main) for b in dict.fromkeys(r["block"] for r in main)}
    stages = {s: sum(r["stage"] == s for r in main) for s in dict.fromkeys(r["stage"] for r in main)}
    confirmed = [r for r in main if int(r["seeds"]) >= d.confirm_seeds]
    lines = [
        "# The seed's observation: always-up while observed, in some seeds",
        "",
        f"Generated by `analysis/phenomenon.py` from the search in [phenomenon.csv](phenomenon.csv): the design "
        f"[examples/search/phenomenon.toml](../examples/search/phenomenon.toml) run by `tabturn search` "
        f"({provenance.get('seconds', '?')} s on {provenance.get('workers', '?')} worker processes, computing "
        f"{provenance.get('cells_computed', '?')} cells and reading the rest from the cache; "
        "`.venv/bin/python -m analysis.phenomenon --search`, cached per cell; versions in "
        "[phenomenon_provenance.json](phenomenon_provenance.json)). Agents train in the observed world (regime "
        "always unless a cell says otherwise); a seed is *always-up* when its greedy policy is not optimal and its "
        "greedy path from the observed start goes up at every step through states training updated (an untrained "
        f"state on the path makes it `untrained-path` instead). A cell is seed-dependent when the share lies "
        f"strictly between {d.band[0]:.0%} and {d.band[1]:.0%}.",
        "",
        "Streams: every cell draws its own random numbers (a base seed hashed from the cell's settings), so no two "
        "cells share seeds; the cells of a local design share their representative's stream on purpose (common "
        "random numbers) and are judged by an exact McNemar test on the paired per-seed outcomes, Holm-corrected "
        "within the region at 5%.",
        "",
        "Cells per block: "
        + "; ".join(f"{b}: {n}" for b, n in blocks.items())
        + ". Stages: "
        + "; ".join(f"{s}: {n}" for s, n in stages.items())
        + f". The screen runs {d.screen_seeds} seeds per cell; every cell with some but not all seeds always-up "
        f"there is rerun with {d.confirm_seeds} seeds ({len(confirmed)} cells), and every local-design cell has "
        f"{d.confirm_seeds}.",
        "",
        f"**Seed-dependent cells: {len(hits)} of {len(main)}**, every one over at least "
        f"{min((int(r['seeds']) for r in hits), default=0)} seeds. Cells where going up forever while observed "
        f"is itself optimal: {sum(r['exact_hunt_optimal'] == 'true' for r in main)} "
        f"({sum(r['exact_hunt_optimal'] == 'true' for r in hits)} of them seed-dependent).",
        "",
        "## At the seed's own weights, a = b = 1",
        "",
        "The corners block: horizons 1-8, budgets 1-10 episodes, initial values around the loss scale, both "
        "distances and both tables, Q-learning otherwise at the base settings. One row per initial value x table "
        "x distance (8 horizons x 5 budgets, and the cells refinement added between them):",
        "",
        *markdown_table(corners(rows, "1"), CORNER_COLUMNS),
        "",
        "Seed-dependent corner cells at each weight b (a = 1): "
        + "; ".join(
            f"b = {b}: {sum(r['seed_dependent'] for r in corners(rows, b))} of "
            f"{sum(r['cells'] for r in corners(rows, b))}"
            for b in sorted({r["loss.b"] for r in main if r["block"] == "corners"}, key=lambda b: float(Fraction(b)))
        )
        + ". Outside the corners, the learner blocks keep b = 1 at horizons 8-32 and budgets 10-10000: "
        + f"{sum(1 for r in hits if r['block'] in ('learner', 'training', 'regime'))} seed-dependent cells of "
        + f"{sum(1 for r in main if r['block'] in ('learner', 'training', 'regime'))}.",
        "",
        *why_lines(rows, found),
        "## Regions and what moves them",
        "",
        "A region is the seed-dependent cells that share " + ", ".join(d.region_keys) + f" (the {d.max_regions} "
        "largest get a local design). Around each representative every local factor is changed one at a time and "
        "the listed pairs jointly; `p` is the paired McNemar p-value against the representative.",
        "",
    ]
    for s in region_summaries(rows, found):
        lines += region_lines(s)
    lines += [
        "![where the share moves](phenomenon.png)",
        "",
        "## Every cell",
        "",
        "[phenomenon.csv](phenomenon.csv): every cell's settings (every axis of the design), stage, stream, seeds, "
        "hits and share with its Wilson interval, seed_dependent, the shares untrained-path, optimal and up forever "
        "in any class, and whether the exact optimum goes up forever. "
        "[phenomenon_regions.csv](phenomenon_regions.csv): every local-design cell against its representative.",
        "",
    ]
    return "\n".join(lines)


def figure(rows: list[dict], found: list[dict]):
    """Top: at a = b = 1 (stationary table) the always-up share over horizon x budget, one panel per initial value,
    vertical and perpendicular distance. Below: the first region of each block, the share after each single
    change of its local design, with its interval."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    d = design()
    budgets = [
        int(e) for name, axes in d.blocks if name == "corners" for a, v in axes if a == "learner.episodes" for e in v
    ]
    cells = [
        r
        for r in screened(rows)
        if r["block"] == "corners"
        and r["loss.b"] == "1"
        and r["learner.time_indexed"] == "false"
        and int(r["learner.episodes"]) in budgets
    ]
    inits = list(dict.fromkeys(r["learner.initial_value"] for r in cells))
    distances = list(dict.fromkeys(r["loss.distance"] for r in cells))
    hs = sorted({int(r["objective.horizon"]) for r in cells})
    firsts: dict[str, dict] = {}
    for s in region_summaries(rows, found):
        firsts.setdefault(s["rep"]["block"], s)
    summaries = list(firsts.values())[:3]
    fig = plt.figure(figsize=(15, 2.6 * len(distances) + 3.0 * max(1, len(summaries))))
    grid = fig.add_gridspec(
        len(distances) + max(1, len(summaries)),
        max(1, len(inits)),
        height_ratios=[1] * len(distances) + [1.25] * max(1, len(summaries)),
    )
    for k, distance in enumerate(distances):
        for i, init in enumerate(inits):
            ax = fig.add_subplot(grid[k, i])
            z = np.full((len(budgets), len(hs)), np.nan)
            for r in cells:
                if r["learner.initial_value"] == init and r["loss.distance"] == distance:
                    z[budgets.index(int(r["learner.episodes"])), hs.index(int(r["objective.horizon"]))] = _share(r)
            ax.imshow(z, origin="lower", cmap="magma", vmin=0, vmax=1, aspect="auto")
            for (a, b), v in np.ndenumerate(z):
                ax.text(b, a, f"{v:.2f}", ha="center", va="center", fontsize=6, color="white" if v < 0.5 else "black")
            ax.set_xticks(range(len(hs)), [str(h) for h in hs], fontsize=7)
            ax.set_yticks(range(len(budgets)), [str(e) for e in budgets], fontsize=7)
            if k == len(distances) - 1:
                ax.set_xlabel("horizon", fontsize=8)
            if i == 0:
                ax.set_ylabel(f"{distance}\nepisodes", fontsize=8)
            ax.set_title(f"initial value {init}", fontsize=8)
    fig.suptitle(
        "a = b = 1: share of seeds always-up while observed (Q-learning, stationary table; 200 seeds per cell, 1000 "
        "where some but not all seeds are; independent streams per cell)",
        fontsize=9,
    )
    for j, s in enumerate(summaries, start=len(distances)):
        ax = fig.add_subplot(grid[j, :])
        mine = [
            r for r in found if r["region"] == s["region"] and r["stage"] not in ("local",) and " x " not in r["stage"]
        ]
        y = np.arange(len(mine))
        share = np.array([_share(r) for r in mine])
        low = share - np.array([float(r["wilson_low"]) for r in mine])
        high = np.array([float(r["wilson_high"]) for r in mine]) - share
        colours = ["tab:red" if r["moves"] == "true" else "tab:grey" for r in mine]
        ax.errorbar(y, share, yerr=[low, high], fmt="none", ecolor=colours, lw=1)
        ax.scatter(y, share, c=colours, s=14, zorder=3)
        ax.axhline(float(s["rep"]["share"]), color="tab:blue", lw=0.8)
        labels = [r["change"].replace("learner.", "").replace("mesa.", "mesa ") for r in mine]
        ax.set_xticks(y, labels, rotation=60, ha="right", fontsize=6)
        ax.set_ylim(-0.03, 1.03)
        ax.set_ylabel("share always-up", fontsize=8)
        keys = ", ".join(f"{k} {v}" for k, v in s["keys"].items())
        ax.set_title(
            f"region {s['region']} ({keys}, horizon {s['rep']['objective.horizon']}): one change at a time around the "
            f"representative (blue line, {_pct(s['rep']['share'])} of {s['rep']['seeds']} seeds); red: paired "
            "McNemar significant (Holm 5%)",
            fontsize=8,
        )
    fig.tight_layout()
    return fig


def main(out_dir: str | Path = REPORTS) -> None:
    out = Path(out_dir)
    rows = read_csv(REPORTS / "phenomenon.csv")
    found = read_csv(REPORTS / "phenomenon_regions.csv")
    provenance = json.loads((REPORTS / "phenomenon_provenance.json").read_text())
    if out != REPORTS:
        for name in ("phenomenon.csv", "phenomenon_regions.csv"):
            write_atomic(out / name, (REPORTS / name).read_text())
    write_atomic(out / "phenomenon.md", markdown(rows, found, provenance))
    save_figure(figure(rows, found), out / "phenomenon.png")
    print(f"wrote {out}/phenomenon.md, phenomenon.png")


if __name__ == "__main__" and "--search" in sys.argv:
    run_search()
elif __name__ == "__main__":
    main(*sys.argv[1:])
