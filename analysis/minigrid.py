"""MiniGrid levels solved exactly by state enumeration (tabturn.interop.gym_enumerate), and Q-learning on them.

For each level (reset seed 0): the reachable states, the time limit, the certified optimum (MiniGrid's success
reward 1 - 0.9 * steps / max_steps, so the optimum also gives the fewest steps to the goal), and Q-learning with
the deterministic recipe (optimistic start, step size 1, epsilon 0.1), stationary and step-indexed tables,
checkpointed: the share of seeds whose greedy policy reaches the exact optimum (its exact value from the start)
and whose greedy policy reaches the goal at all.
"""

from __future__ import annotations

import sys
from fractions import Fraction
from pathlib import Path

from analysis.common import REPORTS, csv_text, engine, markdown_table, write_atomic
from analysis.gridworlds import start_values
from tabturn.core.rational import format_rational
from tabturn.envs.solve import solve

LEVELS = (
    "MiniGrid-Empty-5x5-v0",
    "MiniGrid-Empty-Random-6x6-v0",
    "MiniGrid-LavaGapS5-v0",
    "MiniGrid-DoorKey-5x5-v0",
    "MiniGrid-SimpleCrossingS9N1-v0",
)
RESET_SEED = 0
SEEDS = {"stationary": 200, "step-indexed": 50}  # step-indexed: H tables per seed, fewer seeds (memory)
BUDGETS = {"stationary": [256, 1024, 4096, 16384], "step-indexed": [256, 1024, 4096]}
COLUMNS = ["level", "reset_seed", "states", "horizon", "model", "optimum", "optimum_float", "fewest_steps"]
LEARNER_COLUMNS = ["level", "table", "seeds", "episodes", "optimal", "reach_goal", "regret_mean"]


def enumerated(level: str):
    """The level's exact model (tabturn.interop.gym_enumerate.Enumerated)."""
    import gymnasium
    import minigrid  # noqa: F401  (registers the levels)

    from tabturn.interop.gym_enumerate import enumerate_env

    return enumerate_env(gymnasium.make(level), reset_seed=RESET_SEED)


def learner_rows(level: str, model, optimum: Fraction) -> list[dict]:
    """Q-learning, stationary and step-indexed, at each of its BUDGETS."""
    from tabturn.experiments.study import RECIPES
    from tabturn.learners.tabular import LearnerSettings, learn

    mdp, H = model.mdp, model.horizon
    recipe = {**RECIPES["deterministic"], "initial_value": 2.0}  # optimistic: above every return (at most 1)
    rows = []
    for table, n in SEEDS.items():
        found: dict[int, list[Fraction]] = {}

        def record(episodes, result, found=found) -> bool:
            found[episodes] = start_values(mdp, result.greedy(), H)
            return False

        settings = LearnerSettings(
            algorithm="q",
            horizon=H,
            discount=1.0,
            truncation="terminal",
            episodes=BUDGETS[table][-1],
            time_indexed=table == "step-indexed",
            **recipe,
        )
        learn(mdp, settings, range(n), engine=engine(), checkpoints=BUDGETS[table], on_checkpoint=record)
        for episodes, values in sorted(found.items()):
            rows.append(
                {
                    "level": level,
                    "table": table,
                    "seeds": n,
                    "episodes": episodes,
                    "optimal": sum(v == optimum for v in values),
                    "reach_goal": sum(v > 0 for v in values),
                    "regret_mean": f"{float(sum((optimum - v for v in values), Fraction(0)) / n):.4g}",
                }
            )
    return rows


def main(out_dir: str | Path = REPORTS) -> None:
    out = Path(out_dir)
    rows, learners = [], []
    for level in LEVELS:
        model = enumerated(level)
        optimum = solve(model.mdp, model.horizon, 1).start_value()
        steps = (1 - optimum) * model.horizon / Fraction(9, 10)
        rows.append(
            {
                "level": level,
                "reset_seed": RESET_SEED,
                "states": model.mdp.n_states,
                "horizon": model.horizon,
                "model": model.mdp.description["model"],
                "optimum": format_rational(optimum),
                "optimum_float": f"{float(optimum):.6g}",
                "fewest_steps": format_rational(steps),
            }
        )
        learners.extend(learner_rows(level, model, optimum))
    write_atomic(out / "minigrid.csv", csv_text(rows, COLUMNS))
    write_atomic(out / "minigrid_learners.csv", csv_text(learners, LEARNER_COLUMNS))
    write_atomic(out / "minigrid.md", "\n".join(report_lines(rows, learners)) + "\n")
    print(f"wrote {out / 'minigrid.md'}, minigrid.csv, minigrid_learners.csv")


def report_lines(rows: list[dict], learners: list[dict]) -> list[str]:
    lines = [
        "# MiniGrid levels, exactly",
        "",
        "Each level is enumerated from `reset(seed=0)` by `tabturn.interop.gym_enumerate` (every action from every "
        "reachable state, determinism checked) and solved by exact backward induction over its time limit "
        "(certified). MiniGrid pays 1 - 0.9 * steps / max_steps on reaching the goal, so the optimum also gives "
        "the fewest steps to the goal.",
        "",
        *markdown_table(rows, COLUMNS),
        "",
        "## Q-learning on the exact models",
        "",
        "Deterministic recipe (optimistic initial value 2, step size 1, epsilon 0.1, ties first), stationary and "
        "step-indexed tables. `optimal`: seeds whose greedy policy's exact return from the start equals the "
        "optimum; `reach_goal`: seeds whose greedy policy reaches the goal at all.",
        "",
        *markdown_table(learners, LEARNER_COLUMNS),
    ]
    return lines


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else REPORTS)
