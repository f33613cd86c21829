"""Check any agent's policy or Q-table against the exact optimum: exact regret, agreement, class, first deviations.

Policies come by state label (rows of x, y, observed or state, with an optional step t), independent of
tabturn's internal order, or as arrays in tabturn's documented state order (``state_table``).
"""

from __future__ import annotations

import csv
import math
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.mdp import TabularMDP
from tabturn.exact.evaluate import deterministic_table, mixed_policy_values
from tabturn.exact.solution import Solution

TIE_BREAKS = ("first", "all", "random")
OBJECTIVES = ("reward", "loss")
TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes", "t"}, {"false", "0", "no", "f"}
SHOWN_DEVIATIONS = 10


# ---------------------------------------------------------------- state order and labels


def state_table(mdp: TabularMDP) -> list[dict]:
    """tabturn's state order: one row per state index with its label columns (x, y, observed or state)."""
    rows = []
    for i, label in enumerate(mdp.state_labels):
        if _is_turn(mdp):
            x, y, observed = label
            rows.append({"index": i, "x": int(x), "y": int(y), "observed": str(bool(observed)).lower()})
        else:
            rows.append({"index": i, "state": str(label)})
    return rows


def _is_turn(mdp: TabularMDP) -> bool:
    return all(isinstance(lab, tuple) and len(lab) == 3 for lab in mdp.state_labels)


def _label_index(mdp: TabularMDP) -> dict:
    if _is_turn(mdp):
        return {(int(x), int(y), bool(o)): i for i, (x, y, o) in enumerate(mdp.state_labels)}
    return {str(label): i for i, label in enumerate(mdp.state_labels)}


def _row_label(mdp: TabularMDP, row: dict, where: str):
    if _is_turn(mdp):
        missing = [c for c in ("x", "y", "observed") if c not in row]
        if missing:
            raise InputError("policy", f"{where}: needs columns x, y, observed (missing {', '.join(missing)})")
        try:
            x, y = int(str(row["x"]).strip()), int(str(row["y"]).strip())
        except ValueError:
            raise InputError("policy", f"{where}: x and y must be integers, not {row['x']!r}, {row['y']!r}") from None
        word = str(row["observed"]).strip().lower()
        if word not in TRUE_WORDS | FALSE_WORDS:
            raise InputError("policy", f"{where}: observed must be true or false, not {row['observed']!r}")
        return (x, y, word in TRUE_WORDS)
    if "state" not in row:
        raise InputError("policy", f"{where}: needs a state column")
    return str(row["state"]).strip()


# ---------------------------------------------------------------- reading tables


def read_rows(path: str | Path) -> list[dict]:
    """Rows of a CSV or Parquet file as dicts (column name -> value)."""
    path = Path(path)
    if not path.exists():
        raise InputError("policy", f"file not found: {path}")
    if path.suffix == ".parquet":
        try:
            import pyarrow.parquet as pq
        except ImportError:
            raise InputError("policy", "reading Parquet needs pyarrow (extra 'parquet')") from None
        return pq.read_table(path).to_pylist()
    if path.suffix not in (".csv", ""):  # no suffix (e.g. a pipe such as /dev/fd/63): read as CSV
        raise InputError("policy", f"must be .csv, .parquet, .npy or .npz, not {path.name}")
    with open(path, newline="") as handle:
        return list(csv.DictReader(handle))


def _number(value, where: str, column: str) -> float:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise InputError("policy", f"{where}: column {column} must be a number, not {value!r}") from None
    if not math.isfinite(number):
        raise InputError("policy", f"{where}: column {column} must be finite, not {value!r}")
    return number


def _probability(value, where: str, column: str) -> Fraction:
    text = str(value).strip()
    try:
        p = Fraction(text)
    except (ValueError, ZeroDivisionError):
        raise InputError(
            "policy", f"{where}: column {column} must be a probability such as 0.25 or 1/3, not {value!r}"
        ) from None
    if not 0 <= p <= 1:
        raise InputError("policy", f"{where}: column {column} must lie in [0, 1], not {value!r}")
    return p


# ---------------------------------------------------------------- building the policy


def _steps(rows: list[dict], horizon: int | None) -> int | None:
    """The number of policy steps H when the rows have a t column (step-indexed), None when they have not."""
    if not (rows and "t" in rows[0]):
        return None
    if horizon is None:
        raise InputError("policy", "a t column (step-indexed policy) needs a finite horizon")
    return horizon


def policy_from_rows(mdp: TabularMDP, rows: list[dict], horizon: int | None) -> np.ndarray:
    """(T, S, A) array of Fractions (T = H for a t column, else 1) from rows with ``action`` (several rows of one
    state = a tie set, uniform) or one probability column per action name."""
    if not rows:
        raise InputError("policy", "has no rows")
    names = list(mdp.action_names)
    columns = set(rows[0])
    by_action = "action" in columns
    if not by_action and not set(names) <= columns:
        raise InputError("policy", f"needs an action column or one probability column per action ({', '.join(names)})")
    steps = _steps(rows, horizon)
    timed, T = steps is not None, steps or 1
    ties: dict[tuple[int, int], list[int]] = {}
    probs: dict[tuple[int, int], list[Fraction]] = {}
    for where, label, key, row in _keyed_rows(mdp, rows, steps, "policy"):
        if by_action:
            name = str(row["action"]).strip()
            if name not in names:
                raise InputError("policy", f"{where}: unknown action {name!r} (actions: {', '.join(names)})")
            ties.setdefault(key, []).append(names.index(name))
        else:
            if key in probs:
                raise InputError("policy", f"{where}: state {label!r} appears twice")
            p = [_probability(row[a], where, a) for a in names]
            if sum(p) != 1:
                raise InputError(
                    "policy", f"{where}: probabilities sum to {sum(p)}, must be exactly 1 (write thirds as 1/3)"
                )
            probs[key] = p
    out = np.empty((T, mdp.n_states, mdp.n_actions), dtype=object)
    for t in range(T):
        for s in range(mdp.n_states):
            if (t, s) in ties:
                chosen = set(ties[(t, s)])
                out[t, s] = np.array(
                    [Fraction(1, len(chosen)) if a in chosen else Fraction(0) for a in range(len(names))], dtype=object
                )
            elif (t, s) in probs:
                out[t, s] = np.array(probs[(t, s)], dtype=object)
            elif not mdp.terminal[s]:
                raise InputError("policy", f"missing state {mdp.state_labels[s]!r}" + (f" at t = {t}" if timed else ""))
            else:
                out[t, s] = np.array([Fraction(int(a == 0)) for a in range(len(names))], dtype=object)
    return out


class _Array(list):
    """Rows that came from an array (no header line to count)."""


def _keyed_rows(mdp: TabularMDP, rows: list[dict], steps: int | None, field: str):
    """Yield (where, label, (t, state index), row) for every row; ``steps`` is T for a t column, else None.
    Unknown states and bad steps are refused, naming the row (file rows count from 2, after the header)."""
    index = _label_index(mdp)
    for n, row in enumerate(rows, start=2 if not isinstance(rows, _Array) else 0):
        where = f"row {n}"
        label = _row_label(mdp, row, where)
        if label not in index:
            raise InputError(field, f"{where}: unknown state {label!r}")
        yield where, label, (_step(row, steps, where) if steps else 0, index[label]), row


def _step(row: dict, T: int, where: str) -> int:
    try:
        t = int(str(row["t"]).strip())
    except ValueError:
        raise InputError("policy", f"{where}: t must be an integer, not {row['t']!r}") from None
    if not 0 <= t < T:
        raise InputError("policy", f"{where}: t must lie in 0..{T - 1}, not {t}")
    return t


def policy_from_q(
    mdp: TabularMDP,
    rows: list[dict],
    horizon: int | None,
    objective: str,
    tie_break: str = "first",
    action_order=None,
    seed: int = 0,
) -> np.ndarray:
    """(T, S, A) Fractions: the greedy policy of rows with one Q-value column per action name."""
    if objective not in OBJECTIVES:
        raise InputError("objective", f"must be reward or loss, not {objective!r}")
    if not rows:
        raise InputError("q", "has no rows")
    names = list(mdp.action_names)
    missing = [a for a in names if a not in rows[0]]
    if missing:
        raise InputError("q", f"needs one Q-value column per action; missing {', '.join(missing)}")
    steps = _steps(rows, horizon)
    T = steps or 1
    q = np.full((T, mdp.n_states, len(names)), np.nan)
    for where, label, key, row in _keyed_rows(mdp, rows, steps, "q"):
        if not np.isnan(q[key][0]):
            raise InputError("q", f"{where}: state {label!r} appears twice")
        q[key] = [_number(row[a], where, a) for a in names]
    return greedy_policy(mdp, q, objective, tie_break, action_order, seed)


def greedy_policy(
    mdp: TabularMDP, q: np.ndarray, objective: str, tie_break: str = "first", action_order=None, seed: int = 0
) -> np.ndarray:
    """(T, S, A) Fractions from a (T, S, A) float Q array: the best actions (max for reward, min for loss), one
    of them by ``tie_break`` (first in ``action_order``, uniform over all, or random with ``seed``)."""
    if tie_break not in TIE_BREAKS:
        raise InputError("tie_break", f"must be one of {', '.join(TIE_BREAKS)}, not {tie_break!r}")
    if objective not in OBJECTIVES:
        raise InputError("objective", f"must be reward or loss, not {objective!r}")
    A = mdp.n_actions
    order = list(range(A)) if action_order is None else [_action_index(mdp, a) for a in action_order]
    if sorted(order) != list(range(A)):
        raise InputError("action_order", f"must list every action once: {', '.join(mdp.action_names)}")
    rng = np.random.default_rng(seed)
    T, S, _ = q.shape
    out = np.empty((T, S, A), dtype=object)
    for t in range(T):
        for s in range(S):
            row = q[t, s]
            if np.isnan(row).any():
                if mdp.terminal[s]:
                    row = np.zeros(A)
                else:
                    raise InputError("q", f"missing state {mdp.state_labels[s]!r}" + (f" at t = {t}" if T > 1 else ""))
            best = row.max() if objective == "reward" else row.min()
            tied = [a for a in order if row[a] == best]
            if tie_break == "all":
                chosen = tied
            else:
                chosen = [tied[0] if tie_break == "first" else tied[rng.integers(len(tied))]]
            out[t, s] = [Fraction(1, len(chosen)) if a in chosen else Fraction(0) for a in range(A)]
    return out


def _action_index(mdp: TabularMDP, action) -> int:
    if isinstance(action, str):
        if action not in mdp.action_names:
            raise InputError("action_order", f"unknown action {action!r} (actions: {', '.join(mdp.action_names)})")
        return mdp.action_names.index(action)
    return int(action)


def policy_from_array(mdp: TabularMDP, array: np.ndarray, horizon: int | None, kind: str, **q_options) -> np.ndarray:
    """(T, S, A) Fractions from an array in tabturn's state order: actions (S,) / (H, S), probabilities or
    Q-values (S, A) / (H, S, A)."""
    arr = np.asarray(array)
    S, A = mdp.n_states, mdp.n_actions
    integer = np.issubdtype(arr.dtype, np.integer)
    shapes = [(S,), (S, A)] + ([(horizon, S), (horizon, S, A)] if horizon else [])
    if arr.shape not in shapes or (kind == "q" and integer and arr.ndim in (1, 2) and arr.shape[-1] == S):
        raise InputError(
            kind,
            f"array of shape {arr.shape} does not fit {S} states x {A} actions"
            + (f" x {horizon} steps" if horizon else "")
            + f"; expected one of {shapes}",
        )
    if not integer and not np.all(np.isfinite(arr.astype(float))):
        raise InputError(kind, "array contains NaN or infinity")
    if arr.shape[-1] == S and arr.ndim <= 2 and (arr.ndim == 1 or arr.shape != (S, A) or integer):
        if kind == "q":
            raise InputError("q", f"a Q array needs an action axis: shape (S, A) = {(S, A)} or (H, S, A)")
        actions = arr.reshape(-1, S).astype(np.int64)
        if actions.min() < 0 or actions.max() >= A:
            raise InputError("policy", f"action indices must lie in 0..{A - 1}")
        return deterministic_table(actions, A)
    values = arr.reshape(-1, S, A).astype(np.float64)
    if kind == "q":
        return greedy_policy(mdp, values, **q_options)
    out = np.empty(values.shape[:2] + (A,), dtype=object)
    for t in range(values.shape[0]):
        for s in range(S):
            p = [Fraction(float(v)).limit_denominator(10**9) for v in values[t, s]]
            if any(v < 0 for v in p) or sum(p) != 1:
                raise InputError(
                    "policy", f"probabilities of state {mdp.state_labels[s]!r} sum to {float(sum(p))}, must be 1"
                )
            out[t, s] = p
    return out


def load_policy(mdp: TabularMDP, source, horizon: int | None, kind: str = "policy", **q_options) -> np.ndarray:
    """(T, S, A) Fractions from a path (.csv, .parquet, .npy, .npz), a pandas DataFrame, a list of row dicts or
    an array in tabturn's state order. ``kind`` is "policy" or "q" (then ``q_options``: objective, tie_break,
    action_order, seed)."""
    if isinstance(source, (str, Path)):
        path = Path(source)
        if path.suffix in (".npy", ".npz"):
            if not path.exists():
                raise InputError(kind, f"file not found: {path}")
            loaded = np.load(path, allow_pickle=False)
            if path.suffix == ".npz":
                keys = list(loaded.keys())
                key = kind if kind in keys else keys[0] if len(keys) == 1 else None
                if key is None:
                    raise InputError(kind, f"{path.name} holds {keys}; name the array {kind!r}")
                loaded = loaded[key]
            return policy_from_array(mdp, loaded, horizon, kind, **q_options)
        rows = read_rows(path)
    elif hasattr(source, "to_dict") and hasattr(source, "columns"):  # a pandas DataFrame
        rows = _Array(source.to_dict("records"))
    elif isinstance(source, np.ndarray):
        return policy_from_array(mdp, source, horizon, kind, **q_options)
    else:
        rows = _Array(source)
    if kind == "q":
        return policy_from_q(mdp, rows, horizon, **q_options)
    return policy_from_rows(mdp, rows, horizon)


# ---------------------------------------------------------------- exact evaluation


# ---------------------------------------------------------------- the check


@dataclass(frozen=True)
class CheckResult:
    """A policy checked against the exact optimum.

    Attributes:
      regret: exact regret from the MDP's start distribution (>= 0, objective units).
      worlds: {world: {"regret": Fraction, "class": str}} per reported start (turn family: observed and
        unobserved copies of the start cell).
      agreement: share of states whose policy support lies in the step-0 optimal set.
      agreement_steps: the same over every (step, state) for a finite horizon (None otherwise).
      agreement_path: the same along the first-index optimal trajectory from the start.
      deviations: the first (step, state) pairs reachable under the policy where its support leaves the
        optimal set, with the exact gap of the worst action it plays there.
      rows: one row per (step, state) with the policy's actions and the optimal ones (for to_frame).
    """

    regret: Fraction
    worlds: dict
    agreement: float
    agreement_steps: float | None
    agreement_path: float
    deviations: list[dict]
    rows: list[dict] = field(repr=False)

    def to_dict(self) -> dict:
        """JSON-ready: exact values as strings beside floats."""
        from tabturn.core.rational import format_rational

        return {
            "regret": format_rational(self.regret),
            "regret_float": float(self.regret),
            "worlds": {
                w: {"regret": format_rational(v["regret"]), "regret_float": float(v["regret"]), "class": v["class"]}
                for w, v in self.worlds.items()
            },
            "agreement": self.agreement,
            "agreement_steps": self.agreement_steps,
            "agreement_path": self.agreement_path,
            "deviations": self.deviations,
        }

    def to_frame(self):
        """A pandas DataFrame, one row per (step, state)."""
        import pandas as pd

        return pd.DataFrame(self.rows)


def check(
    source,
    policy=None,
    q=None,
    *,
    objective: str | None = None,
    tie_break: str = "first",
    action_order=None,
    seed: int = 0,
    horizon: int | None = None,
    discount=None,
) -> CheckResult:
    """Check ``policy`` (or the greedy policy of ``q``) against the exact optimum of ``source``.

    ``source``: a TurnConfig, a path to a TOML config, a Solution, or a TabularMDP (then give ``horizon`` and/or
    ``discount``). ``policy`` / ``q``: a path (.csv, .parquet by label; .npy, .npz in tabturn's state order), a
    pandas DataFrame or list of row dicts by label, or an array in state order. ``objective`` (for ``q``):
    "reward" (greedy = max) or "loss" (greedy = min); default: the MDP's own ("loss" for the turn family)."""
    solution = _solution(source, horizon, discount)
    mdp = solution.mdp
    if (policy is None) == (q is None):
        raise InputError("policy", "give exactly one of policy and q")
    if q is not None:
        objective = objective or ("loss" if mdp.sign == 1 else "reward")
        table = load_policy(
            mdp,
            q,
            solution.horizon,
            "q",
            objective=objective,
            tie_break=tie_break,
            action_order=action_order,
            seed=seed,
        )
    else:
        table = load_policy(mdp, policy, solution.horizon, "policy")
    return evaluate(solution, table)


def _solution(source, horizon, discount) -> Solution:
    from tabturn.envs.solve import solve, solve_config
    from tabturn.envs.turn.config import TurnConfig

    if isinstance(source, Solution):
        return source
    if isinstance(source, (str, Path)):
        source = TurnConfig.load(str(source))
    if isinstance(source, TurnConfig):
        return solve_config(source)
    if isinstance(source, TabularMDP):
        if horizon is None and discount is None:
            raise InputError("discount", "a TabularMDP needs horizon and/or discount")
        return solve(source, horizon, discount if discount is not None else 1)
    raise InputError("source", f"must be a TurnConfig, a config path, a Solution or a TabularMDP, not {type(source)}")


def evaluate(solution: Solution, table: np.ndarray) -> CheckResult:
    """The CheckResult of a (T, S, A) Fraction policy."""
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
    out_worlds = {}
    for world, start in worlds(solution).items():
        r = mdp.sign * (values[start] - solution.value(start))
        out_worlds[world] = {"regret": r, "class": _class(solution, table, start, r)}
    rows = _rows(solution, table, support, optimal, inside)
    return CheckResult(
        regret,
        out_worlds,
        agreement,
        agreement_steps,
        agreement_path,
        _deviations(solution, table, support, inside),
        rows,
    )


def _class(solution: Solution, table: np.ndarray, start: int, regret: Fraction) -> str:
    if regret == 0:
        return "optimal"
    mdp = solution.mdp
    if "up" not in mdp.action_names:
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
                        "state": _label_json(mdp.state_labels[s]),
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


def _label_json(label):
    if isinstance(label, tuple):
        return [v if not isinstance(v, (np.integer, np.bool_)) else v.item() for v in label]
    return label if isinstance(label, (int, str)) else str(label)


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
    turn = _is_turn(mdp)
    for t in range(len(support)):
        for s in range(mdp.n_states):
            label = mdp.state_labels[s]
            head = (
                {"x": int(label[0]), "y": int(label[1]), "observed": bool(label[2])} if turn else {"state": str(label)}
            )
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
