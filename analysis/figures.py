"""Figures: phase diagram of the long-run behaviour on the diagonal, learned-policy agreement heat maps, and
learning curves with bands across seeds. Writes reports/phase_diagram.png, agreement_heatmap.png,
learning_curves.png and the phase diagram's data reports/phase_diagram.csv."""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

import numpy as np

from analysis.common import REPORTS, ROOT, csv_text, engine, save_figure, write_atomic
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.discounted import solve_discounted
from tabturn.experiments.compare import compare
from tabturn.experiments.study import default_settings, training_start
from tabturn.learners.tabular import learn
from tabturn.symbolic.reduced import reduced_mdp

# Settings (data).
GAMMAS = [Fraction(i, 20) for i in range(0, 20)]
RATIOS = [Fraction(i, 20) for i in range(0, 25)]  # b / a
HEATMAP = {"example": "always", "seeds": 1000, "episodes": 500}
CURVES = {
    "example": "train_observed_deploy_unobserved",
    "seeds": 200,
    "episodes": (10, 30, 100, 300, 1000, 3000),
    "epsilon": 0.3,
    "step_size": 0.2,
}
CODES = {"stay": 0, "up stay": 1, "up": 2}


def phase_rows() -> list[dict]:
    """Certified optimal set on the diagonal of the reduced model (a = 1), for each c, gamma and b/a."""
    rows = []
    for c in (Fraction(1), Fraction(1, 2)):
        for g in GAMMAS:
            for r in RATIOS:
                sol = solve_discounted(reduced_mdp(Fraction(1), r, g, c), g)
                rows.append(
                    {
                        "c": str(c),
                        "gamma": str(g),
                        "b_over_a": str(r),
                        "optimal_on_diagonal": " ".join(sol.optimal_action_names(sol.mdp.index_of(0))),
                        "certified": str(sol.certified).lower(),
                    }
                )
    return rows


def phase_figure(rows):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 2, figsize=(10, 4))
    for ax, c in zip(axes, ("1", "1/2")):
        grid = np.array(
            [[CODES[r["optimal_on_diagonal"]] for r in rows if r["c"] == c and r["gamma"] == str(g)] for g in GAMMAS]
        )
        ax.imshow(
            grid.T,
            origin="lower",
            aspect="auto",
            cmap="coolwarm",
            vmin=0,
            vmax=2,
            extent=[-0.025, 0.975, -0.025, float(RATIOS[-1]) + 0.025],
        )
        gs = np.linspace(0, 1, 100)
        ax.plot(gs, float(Fraction(c)) * (1 - gs), "k--", lw=1, label="b/a = c(1 - gamma)")
        ax.set_xlabel("gamma")
        ax.set_ylabel("b / a")
        ax.set_title(
            f"{'vertical' if c == '1' else 'perpendicular'} distance (c = {c}): blue stay on the diagonal, "
            "red staircase",
            fontsize=8,
        )
        ax.legend(fontsize=7, loc="upper right")
    fig.tight_layout()
    return fig


def heatmap_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = TurnConfig.load(str(ROOT / "examples" / f"{HEATMAP['example']}.toml"))
    mdp, sol = turn_mdp(config), solve_config(config)
    settings = default_settings(config, episodes=HEATMAP["episodes"])
    result = learn(mdp, settings, range(HEATMAP["seeds"]), start=training_start(config), engine=engine())
    greedy = result.greedy()
    masks = sol.action_masks[0].astype(np.uint64)
    hit = ((masks[None, :] >> greedy.astype(np.uint64)) & np.uint64(1)).mean(axis=0)
    fig, axes = plt.subplots(1, 2, figsize=(9, 4))
    _, ny, nx = config.shape
    for ax, observed in zip(axes, (True, False)):
        img = np.zeros((ny, nx))
        for s, (x, y, o) in enumerate(mdp.state_labels):
            if o == observed:
                img[y - config.y_bounds[0], x - config.x_bounds[0]] = hit[s]
        im = ax.imshow(img, origin="lower", cmap="viridis", vmin=0, vmax=1)
        ax.set_title(
            f"{HEATMAP['example']}, {'observed' if observed else 'unobserved'}: share of {HEATMAP['seeds']} "
            "Q-learning seeds\nwhose greedy action is exactly optimal",
            fontsize=8,
        )
        ax.set_xlabel("x")
        ax.set_ylabel("y")
    fig.colorbar(im, ax=axes, shrink=0.8)
    return fig


def curves_figure():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    config = TurnConfig.load(str(ROOT / "examples" / f"{CURVES['example']}.toml"))
    mdp, sol = turn_mdp(config), solve_config(config)
    fig, ax = plt.subplots(figsize=(6, 3.6))
    for world_label, _start_observed, color in (("observed", True, "tab:blue"), ("unobserved", False, "tab:red")):
        med, lo, hi = [], [], []
        for episodes in CURVES["episodes"]:
            settings = default_settings(
                config,
                episodes=episodes,
                epsilon=CURVES["epsilon"],
                epsilon_final=CURVES["epsilon"],
                step_size=CURVES["step_size"],
            )
            result = learn(mdp, settings, range(CURVES["seeds"]), start=training_start(config), engine=engine())
            comp = compare(sol, result.greedy())
            regrets = np.array([float(r) for r in comp.regret[world_label]])
            med.append(np.median(regrets))
            lo.append(np.percentile(regrets, 10))
            hi.append(np.percentile(regrets, 90))
        ax.plot(CURVES["episodes"], med, color=color, label=f"{world_label}: median")
        ax.fill_between(CURVES["episodes"], lo, hi, color=color, alpha=0.2, label=f"{world_label}: 10-90%")
    ax.set_xscale("log")
    ax.set_xlabel("training episodes")
    ax.set_ylabel("exact regret at the start")
    ax.set_title(f"{CURVES['example']}: Q-learning, {CURVES['seeds']} seeds per point", fontsize=9)
    ax.legend(fontsize=7)
    fig.tight_layout()
    return fig


def main(out_dir: str | Path = REPORTS) -> None:
    out = Path(out_dir)
    rows = phase_rows()
    write_atomic(out / "phase_diagram.csv", csv_text(rows, list(rows[0])))
    save_figure(phase_figure(rows), out / "phase_diagram.png")
    save_figure(heatmap_figure(), out / "agreement_heatmap.png")
    save_figure(curves_figure(), out / "learning_curves.png")
    print(f"wrote {out}/phase_diagram.csv, phase_diagram.png, agreement_heatmap.png, learning_curves.png")


if __name__ == "__main__":
    main(*sys.argv[1:])
