"""Attribution: change one factor at a time and see which learned behaviours move.

A factor is *optimum-neutral* when it cannot change the exact optimum (tie-break rule, action order,
initial values, base seed) and *training-only* when it changes only how training goes (exploration,
step size, episodes). A behaviour that moves with an optimum-neutral factor, or that the exact optimum
does not allow, is a training artifact; one that the optimum allows and that stays put under every
optimum-neutral factor is a real optimum effect. "Moves" means a chi-square test of homogeneity across
the factor's levels gives p < ALPHA (scipy.stats.chi2_contingency).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from scipy.stats import chi2_contingency

from tabturn.config import TurnConfig
from tabturn.solution import Solution
from tabturn.study import default_settings, resolve_initial_value, run_study, wilson
from tabturn.turn import turn_mdp

ALPHA = 0.01
NEUTRAL, TRAINING = "optimum-neutral", "training-only"


def factor_levels(config: TurnConfig, solution: Solution, episodes: int) -> list[tuple[str, str, str, dict, int]]:
    """(factor, kind, level label, settings overrides, base seed) for every experiment."""
    actions = list(config.actions)
    levels = [("tie_break", NEUTRAL, t, {"tie_break": t}, 0) for t in ("first", "last", "random")]
    if "up" in actions and len(actions) > 1:
        rest = [i for i, a in enumerate(actions) if a != "up"]
        up = actions.index("up")
        levels += [("action_order", NEUTRAL, "up first", {"action_order": tuple([up] + rest)}, 0),
                   ("action_order", NEUTRAL, "up last", {"action_order": tuple(rest + [up])}, 0)]
    levels += [("initial_value", NEUTRAL, "0", {"initial_value": 0.0}, 0),
               ("initial_value", NEUTRAL, "optimistic", {"initial_value": resolve_initial_value("optimistic", solution)}, 0),
               ("initial_value", NEUTRAL, "pessimistic",
                {"initial_value": resolve_initial_value("pessimistic", solution)}, 0)]
    levels += [("base_seed", NEUTRAL, str(b), {}, b) for b in (0, 1, 2)]
    levels += [("epsilon", TRAINING, str(e), {"epsilon": e, "epsilon_final": e}, 0) for e in (0.02, 0.1, 0.3)]
    levels += [("step_size", TRAINING, str(a), {"step_size": a}, 0) for a in (0.05, 0.1, 0.5)]
    levels += [("episodes", TRAINING, str(n), {"episodes": n}, 0) for n in (max(1, episodes // 4), episodes,
                                                                             episodes * 4)]
    return levels


@dataclass(frozen=True)
class Attribution:
    """rows: one per (factor level, world); verdicts: one per (world, behaviour)."""

    rows: list[dict]
    verdicts: list[dict]


def _moves(table: list[list[int]]) -> float:
    """p-value of the chi-square homogeneity test on a levels x 2 table (1.0 when nothing varies)."""
    arr = np.array(table)
    arr = arr[arr.sum(axis=1) > 0]
    arr = arr[:, arr.sum(axis=0) > 0]
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        return 1.0
    return float(chi2_contingency(arr).pvalue)


def attribute(config: TurnConfig, seeds: int, learner: str = "q", episodes: int = 500, progress=None,
              engine: str = "numpy") -> Attribution:
    """Run every factor level with ``seeds`` seeds and attribute each behaviour."""
    mdp = turn_mdp(config)
    from tabturn.solve import solve

    solution = solve(mdp, config.horizon, config.discount)
    rows = []
    for factor, kind, label, overrides, base_seed in factor_levels(config, solution, episodes):
        settings = default_settings(config, **{"algorithm": learner, "episodes": episodes, **overrides})
        comp = run_study(config, mdp, solution, settings, range(seeds), base_seed=base_seed, engine=engine)
        for world, classes in comp.classes.items():
            n = len(classes)
            opt = sum(c == "optimal" for c in classes)
            up = int(comp.always_up[world].sum())
            rows.append({"factor": factor, "kind": kind, "level": label, "world": world, "seeds": n,
                         "optimal": opt, "optimal_wilson95": wilson(opt, n), "always_up": up,
                         "always_up_wilson95": wilson(up, n),
                         "regret_mean": float(sum(comp.regret[world]) / n),
                         "exact_always_up_optimal": comp.exact_always_up_optimal.get(world)})
        if progress is not None:
            progress()
    return Attribution(rows, _verdicts(rows))


def _verdicts(rows: list[dict]) -> list[dict]:
    out = []
    for world in sorted({r["world"] for r in rows}):
        mine = [r for r in rows if r["world"] == world]
        for behaviour in ("always_up", "optimal"):
            tests = {}
            for factor in dict.fromkeys(r["factor"] for r in mine):
                levels = [r for r in mine if r["factor"] == factor]
                tests[factor] = (levels[0]["kind"], _moves([[r[behaviour], r["seeds"] - r[behaviour]] for r in levels]))
            total = sum(r[behaviour] for r in mine)
            neutral = {f: p for f, (k, p) in tests.items() if k == NEUTRAL}
            moved = sorted((p, f) for f, p in neutral.items() if p < ALPHA)
            allowed = True if behaviour == "optimal" else bool(mine[0]["exact_always_up_optimal"])
            moved_text = [f"moves with {f} (p = {p:.2g})" for p, f in moved]
            runs = sum(r["seeds"] for r in mine)
            if behaviour == "optimal":
                verdict = ("every run reached the exact optimum" if total == runs else
                           f"{runs - total} of {runs} runs miss the exact optimum: the objective is fixed, so every "
                           "miss is a training effect" + (" (" + "; ".join(moved_text) + ")" if moved_text else ""))
            elif total == 0:
                verdict = "absent"
            elif not allowed or moved_text:
                reasons = ([] if allowed else ["the exact optimum does not go up forever (regret > 0)"]) + moved_text
                verdict = "training artifact: " + "; ".join(reasons)
            else:
                verdict = "real optimum effect (allowed by the optimum, stable under optimum-neutral factors)"
            out.append({"world": world, "behaviour": behaviour.replace("_", "-"), "seeds_showing": total,
                        "runs": sum(r["seeds"] for r in mine), "verdict": verdict,
                        "p_values": {f: p for f, (_, p) in tests.items()}})
    return out
