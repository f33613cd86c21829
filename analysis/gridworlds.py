"""AI Safety Gridworlds, exactly: reward optimum, hidden-performance optimum, the performance of reward-optimal
policies and the safety gap, for the five environments of shared/gridworlds.md (examples/gridworlds/); the whisky
planner with and without a model of its own randomisation; the training map's plan on the shifted maps.

Writes reports/gridworlds.md, reports/gridworlds.csv and reports/gridworlds.png.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from common import REPORTS, ROOT, csv_text, markdown_table, save_figure, write_atomic

from tabturn.gridworld import MOVES, gridworld_mdps, load_gridworld, naive_planner_value, safety_summary, shifted_value
from tabturn.rational import format_rational
from tabturn.solve import solve

GW = ROOT / "examples" / "gridworlds"
ENVIRONMENTS = ("absent_supervisor", "distributional_shift_train", "distributional_shift_test1",
                "distributional_shift_test2", "island_navigation", "safe_interruptibility", "whisky_gold")
COLUMNS = ["environment", "states", "certified", "reward_optimum", "performance_optimum",
           "reward_optimal_performance_min", "reward_optimal_performance_max", "safety_gap", "unreachable"]
EXTRA_COLUMNS = ["environment", "quantity", "value", "value_float"]


def _text(value) -> str:
    if isinstance(value, Fraction):
        return format_rational(value)
    if isinstance(value, list):
        return "; ".join(value) or "none"
    return str(value).lower() if isinstance(value, bool) else str(value)


def tables() -> tuple[list[dict], list[dict]]:
    rows = [{k: _text(v) for k, v in safety_summary(load_gridworld(str(GW / f"{name}.toml"))).items()}
            for name in ENVIRONMENTS]
    extra = []
    whisky = naive_planner_value(load_gridworld(str(GW / "whisky_gold.toml")))
    for key, value in whisky.items():
        extra.append({"environment": "whisky_gold", "quantity": key, "value": _text(value),
                      "value_float": f"{float(value):.6g}"})
    world = load_gridworld(str(GW / "absent_supervisor.toml"))
    reward_mdp, _ = gridworld_mdps(world)
    p_cells = {(r, c) for r, row in enumerate(world.rows) for c, ch in enumerate(row) if ch == "P"}
    for (start, _), path in zip(reward_mdp.start, optimal_paths("absent_supervisor", "reward")):
        who = "supervised" if "supervisor" in reward_mdp.state_labels[start] else "unsupervised"
        enters = bool(p_cells & set(path))
        extra.append({"environment": "absent_supervisor", "quantity": f"reward_optimal_path_enters_P_{who}",
                      "value": str(enters).lower(), "value_float": f"{float(enters):.6g}"})
    train = load_gridworld(str(GW / "distributional_shift_train.toml"))
    for k in (1, 2):
        shifted = shifted_value(train, load_gridworld(str(GW / f"distributional_shift_test{k}.toml")))
        for key in ("test_optimum", "train_plan_on_test", "shift_regret"):
            extra.append({"environment": f"distributional_shift_test{k}", "quantity": key,
                          "value": _text(shifted[key]), "value_float": f"{float(shifted[key]):.6g}"})
    return rows, extra


def optimal_paths(name: str, returns: str) -> list[list[tuple[int, int]]]:
    """The first-index optimal path of each start state (most probable successor at each step), as cells."""
    world = load_gridworld(str(GW / f"{name}.toml"))
    reward, performance = gridworld_mdps(world)
    mdp = reward if returns == "reward" else performance
    solution = solve(mdp, world.time_limit, 1)
    paths = []
    for start, _ in mdp.start:
        s, path = start, []
        for t in range(world.time_limit):
            label = mdp.state_labels[s]
            if label == "end":
                break
            r, c = map(int, label.split()[0].strip("()").split(","))
            path.append((r, c))
            a = solution.optimal_actions(s, t)[0]
            nxt = max(mdp.next_states(s, a), key=lambda tp: (tp[1], -tp[0]))[0]
            if mdp.state_labels[nxt] == "end":  # the move into a terminal cell: draw that cell too
                dr, dc = MOVES[mdp.action_names[a]]
                path.append((r + dr, c + dc))
            if nxt == s and len(path) > 1 and path[-1] == path[-2]:
                break
            s = nxt
        paths.append(path)
    return paths


def figure():
    """Each map with the first-index optimal path under the reward (blue) and the performance (orange)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(2, 4, figsize=(16, 7))
    for ax, name in zip(axes.ravel(), ENVIRONMENTS):
        world = load_gridworld(str(GW / f"{name}.toml"))
        rows = world.rows
        for r, row in enumerate(rows):
            for c, ch in enumerate(row):
                ax.add_patch(plt.Rectangle((c, -r - 1), 1, 1, color="black" if ch == "#" else "white", ec="0.8"))
                if ch not in "# ":
                    ax.text(c + 0.5, -r - 0.5, ch, ha="center", va="center", fontsize=10)
        for returns, color, shift in (("reward", "tab:blue", -0.12), ("performance", "tab:orange", 0.12)):
            for path in optimal_paths(name, returns):
                xs = [c + 0.5 + shift for _, c in path]
                ys = [-r - 0.5 + shift for r, _ in path]
                ax.plot(xs, ys, color=color, lw=2, alpha=0.8, label=returns)
        ax.set_xlim(0, len(rows[0]))
        ax.set_ylim(-len(rows), 0)
        ax.set_aspect("equal")
        ax.axis("off")
        ax.set_title(name, fontsize=9)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    unique = dict(zip(labels, handles))
    axes.ravel()[-1].legend(unique.values(), [f"optimal path, {k}" for k in unique], loc="center")
    axes.ravel()[-1].axis("off")
    fig.tight_layout()
    return fig


def main(out_dir: str | Path = REPORTS) -> None:
    out = Path(out_dir)
    rows, extra = tables()
    write_atomic(out / "gridworlds.csv", csv_text(rows, COLUMNS))
    write_atomic(out / "gridworlds_extra.csv", csv_text(extra, EXTRA_COLUMNS))
    md = ["# AI Safety Gridworlds, exactly", "",
          "Generated by `analysis/gridworlds.py` from `examples/gridworlds/` (the rules and maps of "
          "shared/gridworlds.md: moves up, down, left, right; -1 per step; time limit 100; gamma 1). All values are "
          "exact (integer/rational backward induction, `certified`), in expectation over the start coins. "
          "`reward_optimal_performance_min/max`: the hidden performance of the policies that are optimal for the "
          "visible reward, worst and best over their ties; `safety_gap` = performance optimum - the worst of them.",
          "", *markdown_table(rows, COLUMNS), "",
          "## Whisky and the shifted maps", "",
          "`whisky_gold`: the optimum of a planner that models the forced randomisation after drinking "
          "(`embedded_optimum`), the optimum a planner believes in when it assumes its actions stay its own "
          "(`naive_believed_optimum`), and what that naive plan really gets. `distributional_shift_test*`: the "
          "training map's first-index optimal plan (by position and step) played on each testing map, beside the "
          "testing map's own optimum. (Long exact values are shown rounded; the CSV has them exactly.)", "",
          *markdown_table([{**e, "value": e["value"] if len(e["value"]) <= 24 else f"~{e['value_float']}"}
                           for e in extra], EXTRA_COLUMNS), "",
          "![optimal paths under reward and performance](gridworlds.png)", "",
          "Not yet here: the tabular learners trained on these maps and their attribution (issue 17, item 4).", ""]
    write_atomic(out / "gridworlds.md", "\n".join(md))
    save_figure(figure(), out / "gridworlds.png")
    print(f"wrote {out}/gridworlds.md, gridworlds.csv, gridworlds_extra.csv, gridworlds.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
