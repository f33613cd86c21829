"""Check any agent against the exact optimum: exact regret, agreement, class and first deviations, for one policy
(a table, an array, a callable) or for every seed of a saved-q file or seeds-axis array.

Reading the inputs is ``policy_input``'s job; this module evaluates them exactly.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.mdp import TabularMDP
from tabturn.exact.evaluate import mixed_policy_values
from tabturn.exact.solution import Solution
from tabturn.experiments.policy_input import OBJECTIVES, Loaded, is_turn, load_policy, state_table, table_actions
from tabturn.learners.saved import is_saved_tables, label_json

__all__ = ["CheckBatch", "CheckResult", "action_gap", "check", "evaluate", "state_table"]
SHOWN_DEVIATIONS = 10
UNREACHABLE = "unreachable"  # a reported world the policy never enters from the MDP's start (no visits known)


@dataclass(frozen=True)
class CheckResult:
    """A policy checked against the exact optimum.

    Attributes:
      regret: exact regret from the MDP's start distribution (>= 0, objective units).
      worlds: {world: {"regret": Fraction | None, "class": str, ...}} per reported start (turn family: observed
        and unobserved copies of the start cell). A world the policy cannot reach from the MDP's start is classed
        "unreachable" and not graded (regret None; "regret_if_started_there" gives the value it would have) --
        unless visit counts came with the policy, when the classes are `tabturn learn`'s (compare()).
      agreement: share of states whose policy support lies in the step-0 optimal set.
      agreement_steps: the same over every (step, state) for a finite horizon (None otherwise).
      agreement_path: the same along the first-index optimal trajectory from the start.
      deviations: the first (step, state) pairs reachable under the policy where its support leaves the
        optimal set, with the exact gap of the worst action it plays there.
      rows: one row per (step, state) with the policy's actions and the optimal ones (for to_frame).
      seed: the seed checked, when the policy came from a saved-q file; note: what was read from the input.
    """

    regret: Fraction
    worlds: dict
    agreement: float
    agreement_steps: float | None
    agreement_path: float
    deviations: list[dict]
    rows: list[dict] = field(repr=False)
    seed: int | None = None
    note: str = ""

    def to_dict(self) -> dict:
        """JSON-ready: exact values as strings beside floats."""
        from tabturn.core.rational import format_rational

        def world(v: dict) -> dict:
            out = {"class": v["class"]}
            if "enters" in v:
                out["enters"] = v["enters"]
            for key in ("regret", "regret_if_started_there", "performance_regret"):
                if key in v:
                    out[key] = None if v[key] is None else format_rational(v[key])
                    out[key + "_float"] = None if v[key] is None else float(v[key])
            return out

        return {
            **({"seed": self.seed} if self.seed is not None else {}),
            **({"note": self.note} if self.note else {}),
            "regret": format_rational(self.regret),
            "regret_float": float(self.regret),
            "worlds": {w: world(v) for w, v in self.worlds.items()},
            "agreement": self.agreement,
            "agreement_steps": self.agreement_steps,
            "agreement_path": self.agreement_path,
            "deviations": self.deviations,
        }

    def to_frame(self):
        """A pandas DataFrame, one row per (step, state)."""
        import pandas as pd

        return pd.DataFrame(self.rows)


@dataclass(frozen=True)
class CheckBatch:
    """Every seed of a saved-q file (or of an array with a seeds axis) checked against the exact optimum.

    Attributes:
      seeds: the seeds, in the file's order.
      per_seed: {world: [{seed, class, regret, regret_float, agreement, agreement_path[, coverage]}]}, the rows
        `tabturn learn --json` gives (the same function computes both).
      summary: class shares with 95% Wilson intervals, regret and agreement summaries (study.Summary).
      note: what was read from the input.
    """

    seeds: tuple[int, ...]
    per_seed: dict
    summary: object
    note: str = ""

    def to_dict(self) -> dict:
        return {
            "seeds": list(self.seeds),
            **({"note": self.note} if self.note else {}),
            "summary": self.summary.to_dict(),  # type: ignore[attr-defined]
            "per_seed": self.per_seed,
        }


def check(
    source,
    policy=None,
    q=None,
    *,
    objective: str | None = None,
    tie_break: str = "first",
    action_order=None,
    tie_seed: int = 0,
    seed: int | None = None,
    layout=None,
    batch: bool = False,
    horizon: int | None = None,
    discount=None,
) -> CheckResult | CheckBatch:
    """Check ``policy`` (or the greedy policy of ``q``) against the exact optimum of ``source``.

    ``source``: a TurnConfig, a path to a TOML config, a Solution, or a TabularMDP (then give ``horizon`` and/or
    ``discount``). ``policy``: a path (.csv, .parquet by label; .npy, .npz in tabturn's state order), a pandas
    DataFrame or list of row dicts by label, an array in state order, or a callable (``fn(label)`` or
    ``fn(label, t)``; ``batch=True``: all labels at once; see docs/check.md). ``q``: the same tables with one
    Q-value column per action, or a `tabturn learn --save-q` file. ``objective`` (required for ``q`` unless the
    file records it): "reward" (greedy = max) or "loss" (greedy = min). ``layout`` names the axes of an array
    whose shape fits several (e.g. "H,S,A" or "seeds,S,A"). Several seeds give a CheckBatch; ``seed`` picks one.
    ``tie_break`` (first | all | random with ``tie_seed``) and ``action_order`` break ties among equal Q-values.
    """
    solution = _solution(source, horizon, discount)
    mdp = solution.mdp
    if (policy is None) == (q is None):
        raise InputError("policy", "give exactly one of policy and q")
    if q is not None:
        saved = isinstance(q, (str, Path)) and is_saved_tables(q)
        if objective is None and not saved:
            raise InputError(
                "objective", "required with q: reward (Q-values to maximise, greedy = max) or loss (greedy = min)"
            )
        if objective is not None and objective not in OBJECTIVES:
            raise InputError("objective", f"must be reward or loss, not {objective!r}")
        loaded = load_policy(
            mdp,
            q,
            solution.horizon,
            "q",
            layout=layout,
            seed=seed,
            objective=objective,
            tie_break=tie_break,
            action_order=action_order,
            tie_seed=tie_seed,
        )
    else:
        loaded = load_policy(mdp, policy, solution.horizon, "policy", layout=layout, seed=seed, batch=batch)
    if loaded.table is None:
        return check_seeds(solution, loaded)
    classes = None
    if loaded.visited is not None and loaded.actions is not None:  # one seed of a saved file: learn's classes
        comparison = _comparison(solution, loaded.actions, loaded.visited)
        classes = {w: c[0] for w, c in comparison.classes.items()}
    return evaluate(solution, loaded.table, classes, seed=seed, note=loaded.note)


def _comparison(solution: Solution, actions: np.ndarray, visited: np.ndarray | None):
    from tabturn.experiments.compare import compare

    return compare(solution, actions, visited)


def check_seeds(solution: Solution, loaded: Loaded) -> CheckBatch:
    """Every seed's deterministic policy (``loaded.actions``) checked as `tabturn learn` compares its seeds."""
    from tabturn.experiments.gridworld_behaviour import behaviour_columns
    from tabturn.experiments.study import per_seed_rows, summarise

    assert loaded.actions is not None
    comparison = _comparison(solution, loaded.actions, loaded.visited)
    behaviour = behaviour_columns(solution, loaded.actions)
    if loaded.visited is not None:
        rows = per_seed_rows(comparison, loaded.seeds, behaviour)
        return CheckBatch(loaded.seeds, rows, summarise(comparison), loaded.note)
    reached = reached_worlds(solution, loaded.actions)
    classes = {
        w: [c if reached[w][b] else UNREACHABLE for b, c in enumerate(cs)] for w, cs in comparison.classes.items()
    }
    comparison = dataclasses.replace(comparison, classes=classes)
    rows = per_seed_rows(comparison, loaded.seeds, behaviour)
    summary = summarise(comparison)
    worlds = {}
    for world, ws in summary.worlds.items():  # regret over the seeds that reach the world; the others ungraded
        graded = [r for r, ok in zip(comparison.regret[world], reached[world], strict=True) if ok]
        worlds[world] = dataclasses.replace(
            ws,
            regret_mean=sum(graded, Fraction(0)) / len(graded) if graded else None,
            regret_max=max(graded) if graded else None,
            regret_zero_fraction=sum(r == 0 for r in graded) / len(graded) if graded else None,
        )
        for row in rows[world]:
            if row["class"] == UNREACHABLE:
                row["regret_if_started_there"], row["regret"], row["regret_float"] = row["regret"], None, None
    return CheckBatch(loaded.seeds, rows, dataclasses.replace(summary, worlds=worlds), loaded.note)


def reached_worlds(solution: Solution, actions: np.ndarray) -> dict[str, np.ndarray]:
    """{world: (B,) bool} whether each seed's deterministic policy ((B, S) or (B, H, S)) reaches the world's
    start state from the MDP's start distribution (within the horizon, or ever for an infinite one)."""
    from tabturn.experiments.compare import successor_table, worlds

    mdp = solution.mdp
    succ = successor_table(mdp)
    B, S = actions.shape[0], mdp.n_states
    timed = actions.ndim == 3
    layer = np.zeros((B, S), dtype=bool)
    layer[:, [s for s, _ in mdp.start]] = True
    reached = layer.copy()
    for t in range(solution.horizon if solution.horizon is not None else S):
        rows = actions[:, t] if timed else actions
        b, s = np.nonzero(layer)
        layer = np.zeros((B, S), dtype=bool)
        layer[b[:, None], succ[s, rows[b, s]]] = True
        if not timed:  # a stationary policy does the same from a state whenever it gets there
            layer &= ~reached
        reached |= layer
        if not layer.any():
            break
    return {w: reached[:, start] for w, start in worlds(solution).items()}


def _solution(source, horizon, discount) -> Solution:
    from tabturn.envs.solve import solve, solve_config
    from tabturn.envs.turn.config import TurnConfig

    if isinstance(source, Solution):
        return source
    if isinstance(source, (str, Path)):
        from tabturn.envs.gridworld import gridworld_mdps, is_gridworld_file, load_gridworld

        if is_gridworld_file(str(source)):  # a gridworld map: its visible-reward MDP over its time limit
            world = load_gridworld(str(source))
            return solve(gridworld_mdps(world)[0], world.time_limit, 1)
        source = TurnConfig.load(str(source))
    if isinstance(source, TurnConfig):
        return solve_config(source)
    if isinstance(source, TabularMDP):
        if horizon is None and discount is None:
            raise InputError("discount", "a TabularMDP needs horizon and/or discount")
        return solve(source, horizon, discount if discount is not None else 1)
    raise InputError("source", f"must be a TurnConfig, a config path, a Solution or a TabularMDP, not {type(source)}")


def evaluate(
    solution: Solution, table: np.ndarray, classes: dict | None = None, seed: int | None = None, note: str = ""
) -> CheckResult:
    """The CheckResult of a (T, S, A) Fraction policy; ``classes`` ({world: class}) replaces the policy-only
    classes (e.g. `learn`'s, from visit counts)."""
    from tabturn.experiments.compare import optimal_path_steps, worlds

    mdp = solution.mdp
    values = mixed_policy_values(mdp, table, solution.horizon, solution.discount)
    start_policy = sum((p * values[s] for s, p in mdp.start), Fraction(0))
    regret = mdp.sign * (start_policy - solution.start_value())
    masks = solution.action_masks
    T = solution.horizon or 1
    support = np.array(
        [[[p > 0 for p in table[min(t, len(table) - 1), s]] for s in range(mdp.n_states)] for t in range(T)]
    )  # (T, S, A) bool
    optimal = np.array(
        [
            [
                [int(masks[min(t, len(masks) - 1), s]) >> a & 1 for a in range(mdp.n_actions)]
                for s in range(mdp.n_states)
            ]
            for t in range(T)
        ],
        dtype=bool,
    )
    inside = ~(support & ~optimal).any(axis=2)  # (T, S)
    live = ~mdp.terminal
    agreement = float(inside[0][live].mean())
    agreement_steps = float(inside[:, live].mean()) if solution.horizon else None
    path = optimal_path_steps(solution)
    agreement_path = float(np.mean([inside[min(t, T - 1), s] for t, s in path]))
    reached = _reached(solution, support)
    out_worlds = {}
    for world, start in worlds(solution).items():
        r = mdp.sign * (values[start] - solution.value(start))
        if classes is not None:
            out_worlds[world] = {"regret": r, "class": classes[world]}
        elif start not in reached:
            out_worlds[world] = {"regret": None, "class": UNREACHABLE, "regret_if_started_there": r}
        else:
            out_worlds[world] = {"regret": r, "class": _class(solution, table, start, r)}
    _gridworld_columns(solution, table, out_worlds)
    rows = _rows(solution, table, support, optimal, inside)
    deviations = _deviations(solution, table, support, inside)
    return CheckResult(regret, out_worlds, agreement, agreement_steps, agreement_path, deviations, rows, seed, note)


def _gridworld_columns(solution: Solution, table: np.ndarray, out_worlds: dict) -> None:
    """For a gridworld: each world's exact performance regret and (deterministic policies) the named cells the
    policy's most likely path enters."""
    from tabturn.experiments.compare import worlds
    from tabturn.experiments.gridworld_behaviour import entered_names, gridworld_of, performance_solution

    world = gridworld_of(solution.mdp)
    if world is None:
        return
    performance = performance_solution(solution, world)
    values = mixed_policy_values(performance.mdp, table, solution.horizon, solution.discount)
    deterministic = all(p in (0, 1) for p in table.ravel())
    actions = table_actions(table) if deterministic else None
    for name, start in worlds(solution).items():
        out_worlds[name]["performance_regret"] = performance.mdp.sign * (values[start] - performance.value(start))
        if actions is not None:
            policy = actions[None] if len(actions) > 1 else actions[:1]
            out_worlds[name]["enters"] = entered_names(world, solution.mdp, policy, start)[0]


def _reached(solution: Solution, support: np.ndarray) -> set[int]:
    """States a (T, S, A) support can reach from the MDP's start (within the horizon)."""
    mdp = solution.mdp
    layer = {s for s, _ in mdp.start}
    reached = set(layer)
    for t in range(solution.horizon or mdp.n_states):
        row = min(t, len(support) - 1)
        layer = {n for s in layer for a in np.flatnonzero(support[row, s]) for n, _ in mdp.next_states(s, int(a))}
        if solution.horizon is None:
            layer -= reached
        reached |= layer
        if not layer:
            break
    return reached


def _class(solution: Solution, table: np.ndarray, start: int, regret: Fraction) -> str:
    if regret == 0:
        return "optimal"
    mdp = solution.mdp
    if "up" not in mdp.action_names or mdp.description.get("builder") == "gridworld":
        return "other"
    up = mdp.action_names.index("up")
    s, steps = start, solution.horizon or mdp.n_states
    for t in range(steps):
        if table[min(t, len(table) - 1), s][up] != 1:
            return "other"
        s = max(mdp.next_states(s, up), key=lambda tp: (tp[1], -tp[0]))[0]
    return "always-up"


def _deviations(solution: Solution, table, support, inside) -> list[dict]:
    """The first (step, state) pairs reachable under the policy where it leaves the optimal set."""
    from tabturn.core.rational import format_rational

    mdp = solution.mdp
    T = solution.horizon or 1
    out = []
    layer = {s for s, _ in mdp.start}
    seen = set()
    for t in range(solution.horizon or mdp.n_states):
        row = min(t, T - 1)
        for s in sorted(layer):
            if (row, s) in seen:
                continue
            seen.add((row, s))
            if not inside[row, s]:
                gaps = {
                    mdp.action_names[a]: action_gap(solution, s, int(a), t) for a in np.flatnonzero(support[row, s])
                }
                worst = max(gaps.values())
                out.append(
                    {
                        "t": t,
                        "state": label_json(mdp.state_labels[s]),
                        "policy_actions": [a for a in gaps],
                        "optimal_actions": list(solution.optimal_action_names(s, t)),
                        "gap": format_rational(worst),
                        "gap_float": float(worst),
                    }
                )
                if len(out) == SHOWN_DEVIATIONS:
                    return out
        layer = {n for s in layer for a in np.flatnonzero(support[row, s]) for n, _ in mdp.next_states(s, int(a))}
        if not layer:
            break
    return out


def action_gap(solution: Solution, s: int, a: int, t: int = 0) -> Fraction:
    """Exact loss (>= 0, objective units) of playing ``a`` at ``s`` after t steps, then acting optimally."""
    mdp = solution.mdp
    if solution.horizon is not None and t >= solution.horizon:
        return Fraction(0)
    nxt = solution.values_at(t + 1 if solution.horizon is not None else 0)
    q = mdp.cost(s, a) + solution.discount * sum(p * nxt[n] for n, p in mdp.next_states(s, a))
    return mdp.sign * (q - solution.values_at(t)[s])


def _rows(solution: Solution, table, support, optimal, inside) -> list[dict]:
    mdp = solution.mdp
    names = mdp.action_names
    rows = []
    turn = is_turn(mdp)
    for t in range(len(support)):
        for s in range(mdp.n_states):
            label = mdp.state_labels[s]
            head: dict[str, object] = (
                {"x": int(label[0]), "y": int(label[1]), "observed": bool(label[2])} if turn else {"state": str(label)}
            )
            if turn and len(label) == 4:
                head["clock"] = int(label[3])
            rows.append(
                {
                    "t": t,
                    **head,
                    "policy_actions": " ".join(names[a] for a in np.flatnonzero(support[t, s])),
                    "optimal_actions": " ".join(names[a] for a in np.flatnonzero(optimal[t, s])),
                    "in_optimal_set": bool(inside[t, s]),
                }
            )
    return rows
