"""Policies and Q-tables as tabturn reads them for `check`: tables by state label (CSV, Parquet, DataFrames, row
dicts), arrays in tabturn's state order (with a layout when their shape could mean two things), the learner's own
saved-q files, and Python callables (a neural network's policy included).
"""

from __future__ import annotations

import csv
import inspect
import math
import zipfile
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.limits import numpy_file_bytes, require
from tabturn.core.mdp import TabularMDP
from tabturn.core.rational import rational_text
from tabturn.exact.evaluate import deterministic_table
from tabturn.learners.saved import SavedTables, is_saved_tables, load_tables

TIE_BREAKS = ("first", "all", "random")
OBJECTIVES = ("reward", "loss")
TRUE_WORDS, FALSE_WORDS = {"true", "1", "yes", "t"}, {"false", "0", "no", "f"}
AXES = ("seeds", "H", "S", "A")


# ---------------------------------------------------------------- state order and labels


def state_table(mdp: TabularMDP) -> list[dict]:
    """tabturn's state order: one row per state index with its label columns (x, y, observed or state)."""
    rows = []
    for i, label in enumerate(mdp.state_labels):
        if is_turn(mdp):
            x, y, observed = label[:3]
            rows.append({"index": i, "x": int(x), "y": int(y), "observed": str(bool(observed)).lower()})
            if len(label) == 4:  # supervised-until: the clock an agent does not see
                rows[-1]["clock"] = int(label[3])
        else:
            rows.append({"index": i, "state": str(label)})
    return rows


def is_turn(mdp: TabularMDP) -> bool:
    """Turn-family states: (x, y, observed), or (x, y, observed, clock) under supervised-until."""
    width = len(mdp.state_labels[0]) if isinstance(mdp.state_labels[0], tuple) else 0
    return width in (3, 4) and all(isinstance(lab, tuple) and len(lab) == width for lab in mdp.state_labels)


def _label_index(mdp: TabularMDP) -> dict:
    """{row label: [state indices]}. A turn-family row names what an agent observes, (x, y, observed): under
    supervised-until it applies to every clock layer (the agent does not see the clock)."""
    index: dict = {}
    for i, label in enumerate(mdp.state_labels):
        key = (int(label[0]), int(label[1]), bool(label[2])) if is_turn(mdp) else str(label)
        index.setdefault(key, []).append(i)
    return index


def observed_label(label):
    """What an agent observes of a state label: (x, y, observed) for the turn family, else the label."""
    return label[:3] if isinstance(label, tuple) and len(label) == 4 else label


def _row_label(mdp: TabularMDP, row: dict, where: str):
    if is_turn(mdp):
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
        try:
            return pq.read_table(path).to_pylist()
        except Exception as exc:  # pyarrow's errors (ArrowInvalid, OSError...) have no common base but Exception
            raise InputError("policy", f"{path.name} is not a readable Parquet file ({str(exc)[:120]})") from None
    if path.suffix not in (".csv", ""):  # no suffix (e.g. a pipe such as /dev/fd/63): read as CSV
        raise InputError("policy", f"must be .csv, .parquet, .npy or .npz, not {path.name}")
    if path.is_dir():
        raise InputError("policy", f"{str(path)!r} is a directory, not a CSV file")
    try:
        with open(path, newline="", encoding="utf-8") as handle:
            rows = list(csv.DictReader(handle))
    except UnicodeDecodeError:
        raise InputError("policy", f"{path.name} is not UTF-8 text (a CSV file was expected)") from None
    except csv.Error as exc:
        raise InputError("policy", f"{path.name} is not a readable CSV file ({exc})") from None
    for i, row in enumerate(rows, start=2):
        if None in row:  # csv.DictReader's key for fields beyond the header
            raise InputError("policy", f"{path.name} line {i}: more fields than the header has columns")
    return rows


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
        p = rational_text(text, "policy")
    except InputError:
        raise InputError("policy", f"{where}: column {column}: {text[:40]!r} has too many digits") from None
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
        t = _step(row, steps, where) if steps else 0
        for s in index[label]:
            yield where, label, (t, s), row


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
    tie_seed: int = 0,
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
    return greedy_policy(mdp, q, objective, tie_break, action_order, tie_seed)


def greedy_policy(
    mdp: TabularMDP, q: np.ndarray, objective: str, tie_break: str = "first", action_order=None, tie_seed: int = 0
) -> np.ndarray:
    """(T, S, A) Fractions from a (T, S, A) float Q array: the best actions (max for reward, min for loss), one
    of them by ``tie_break`` (first in ``action_order``, uniform over all, or random with ``tie_seed``)."""
    if tie_break not in TIE_BREAKS:
        raise InputError("tie_break", f"must be one of {', '.join(TIE_BREAKS)}, not {tie_break!r}")
    if objective not in OBJECTIVES:
        raise InputError("objective", f"must be reward or loss, not {objective!r}")
    A = mdp.n_actions
    order = list(range(A)) if action_order is None else [_action_index(mdp, a) for a in action_order]
    if sorted(order) != list(range(A)):
        raise InputError("action_order", f"must list every action once: {', '.join(mdp.action_names)}")
    rng = np.random.default_rng(tie_seed)
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


# ---------------------------------------------------------------- what an input holds


@dataclass(frozen=True)
class Loaded:
    """A policy input, read: one (T, S, A) Fraction ``table``, or (``table`` None) several seeds' deterministic
    ``actions`` ((B, S) or (B, H, S) MDP action indices) with their ``seeds`` and, from a saved-q file,
    ``visited`` (one seed of a saved file has both: its table and its (1, ...) actions and visits).
    ``note`` says what was inferred (e.g. the objective a saved file records)."""

    table: np.ndarray | None = None
    actions: np.ndarray | None = None
    seeds: tuple[int, ...] = ()
    visited: np.ndarray | None = None
    note: str = ""


# ---------------------------------------------------------------- arrays in state order


LAYOUTS = ("S", "S,A", "H,S", "H,S,A", "seeds,S", "seeds,S,A", "seeds,H,S", "seeds,H,S,A")


def parse_layout(layout) -> tuple[str, ...] | None:
    """Axis names of an array input, e.g. "seeds,H,S,A" -> ("seeds", "H", "S", "A"): an optional seeds axis, an
    optional step axis H, the states S, and an action axis A for Q-values and probabilities."""
    if layout is None:
        return None
    axes = tuple(a.strip() for a in (layout.split(",") if isinstance(layout, str) else layout))
    if ",".join(axes) not in LAYOUTS:
        raise InputError("layout", f"must be one of {' | '.join(LAYOUTS)}, not {','.join(axes)!r}")
    return axes


def _fits(axes: tuple[str, ...], arr: np.ndarray, sizes: dict, kind: str) -> bool:
    if len(axes) != arr.ndim or any(arr.shape[i] != sizes[a] for i, a in enumerate(axes) if a in sizes):
        return False
    if axes[-1] == "S":  # action indices
        return kind == "policy" and np.issubdtype(arr.dtype, np.integer)
    return True


def array_layout(mdp: TabularMDP, arr: np.ndarray, kind: str, layout, horizon: int | None) -> tuple[str, ...]:
    """The layout of ``arr``: the one given (its shape checked), else the only one its shape fits (a step axis
    must have the horizon's length); two fitting readings (e.g. seeds = H) are refused, never guessed."""
    sizes = {"S": mdp.n_states, "A": mdp.n_actions, **({"H": horizon} if horizon is not None else {})}
    given = parse_layout(layout)
    if given and "H" in given and horizon is None:
        raise InputError("layout", "a step axis H needs a finite horizon")
    readings = [given] if given else [tuple(x.split(",")) for x in LAYOUTS if horizon is not None or "H" not in x]
    fitting = [axes for axes in readings if _fits(axes, arr, sizes, kind)]
    if len(fitting) == 1:
        return fitting[0]
    what = f"{mdp.n_states} states x {mdp.n_actions} actions" + (f", horizon {horizon}" if horizon else "")
    if not fitting:
        shown = " | ".join(",".join(axes) for axes in readings if kind == "policy" or axes[-1] == "A")
        raise InputError(kind, f"array of shape {arr.shape} does not fit {shown} ({what}; see `tabturn states`)")
    options = " or ".join("--layout " + ",".join(axes) for axes in fitting)
    raise InputError(
        "layout",
        f"a {kind} array of shape {arr.shape} fits more than one layout ({what}); say which ({options}; Python: "
        "layout=...), or check a `tabturn learn --save-q` file, which says what it holds",
    )


def load_array(
    mdp: TabularMDP, array, horizon: int | None, kind: str, layout=None, seed: int | None = None, **q_options
) -> Loaded:
    """An array in tabturn's state order (see ``parse_layout``): actions (integers, no A axis), probabilities or
    Q-values (an A axis). With a seeds axis, ``seed`` picks one row; otherwise every seed is read."""
    arr = np.asarray(array)
    if arr.dtype.kind not in "iubf":
        raise InputError(kind, f"array of {arr.dtype} values; integers (actions) or real numbers are needed")
    axes = array_layout(mdp, arr, kind, layout, horizon)
    if arr.dtype.kind not in "iub" and not np.all(np.isfinite(arr.astype(float))):
        raise InputError(kind, "array contains NaN or infinity")
    if axes[0] == "seeds":
        if seed is not None:
            if not 0 <= seed < arr.shape[0]:
                raise InputError("seed", f"must lie in 0..{arr.shape[0] - 1} (the array's seeds axis), not {seed}")
            if kind == "q":  # the tie seed the batch gives this row
                q_options = {**q_options, "tie_seed": q_options.get("tie_seed", 0) + seed}
            return load_array(mdp, arr[seed], horizon, kind, ",".join(axes[1:]), **q_options)
        return Loaded(actions=_seed_actions(mdp, arr, axes, kind, **q_options), seeds=tuple(range(arr.shape[0])))
    if seed is not None:
        raise InputError("seed", "picks a seed from a saved-q file or an array with a seeds axis")
    T, S, A = (arr.shape[0] if axes[0] == "H" else 1), mdp.n_states, mdp.n_actions
    if axes[-1] == "S":
        actions = arr.reshape(T, S)
        if not np.issubdtype(actions.dtype, np.integer):
            raise InputError("policy", "an array without an action axis holds action indices (integers)")
        _action_range(actions, A)
        return Loaded(table=deterministic_table(actions, A))
    values = arr.reshape(T, S, A).astype(np.float64)
    if kind == "q":
        return Loaded(table=greedy_policy(mdp, values, **q_options))
    out = np.empty((T, S, A), dtype=object)
    for t in range(T):
        for s in range(S):
            out[t, s] = _probabilities(values[t, s], f"state {mdp.state_labels[s]!r}")
    return Loaded(table=out)


def _action_range(actions: np.ndarray, A: int) -> None:
    if actions.size and (actions.min() < 0 or actions.max() >= A):
        raise InputError("policy", f"action indices must lie in 0..{A - 1}")


def _probabilities(values, where: str) -> list[Fraction]:
    """Exact probabilities from numbers: each the nearest fraction with denominator <= 10^9; they must sum to 1."""
    try:
        p = [Fraction(v).limit_denominator(10**9) if isinstance(v, float) else Fraction(v) for v in values]
    except (TypeError, ValueError, ZeroDivisionError, OverflowError):
        raise InputError(
            "policy",
            f"probabilities of {where} must be numbers, not {list(values)!r} (a tuple such as "
            "Stable-Baselines3's (action, state) needs tabturn.predict_policy)",
        ) from None
    if any(v < 0 for v in p) or sum(p) != 1:
        raise InputError(
            "policy", f"probabilities of {where} sum to {float(sum(p))} or go negative; they must be >= 0 and sum to 1"
        )
    return p


def _seed_actions(mdp: TabularMDP, arr: np.ndarray, axes, kind: str, **q_options) -> np.ndarray:
    """(B, S) or (B, H, S) deterministic actions of every seed of a seeds-axis array."""
    B, S, A = arr.shape[0], mdp.n_states, mdp.n_actions
    timed = "H" in axes
    rows = arr.reshape(B, -1, S, *(() if axes[-1] == "S" else (A,)))
    if axes[-1] == "S":
        if not np.issubdtype(rows.dtype, np.integer):
            raise InputError("policy", "an array without an action axis holds action indices (integers)")
        _action_range(rows, A)
        actions = rows.astype(np.int64)
    elif kind == "q":
        actions = greedy_actions(mdp, rows.astype(np.float64), **q_options)
    else:
        raise InputError("policy", "probabilities of several seeds: pick one with seed (CLI --seed N)")
    return actions if timed else actions[:, 0, :]


def greedy_actions(
    mdp: TabularMDP, q: np.ndarray, objective: str, tie_break: str = "first", action_order=None, tie_seed: int = 0
) -> np.ndarray:
    """(B, T, S) deterministic greedy actions of a (B, T, S, A) float Q array: per seed b, the policy
    ``greedy_policy`` picks for its (T, S, A) table with tie seed ``tie_seed + b`` (what ``seed=b`` checks alone),
    for tie-breaks "first" and "random"."""
    if tie_break == "all":
        raise InputError("tie_break", "all gives tie sets; several seeds need first or random (or pick one seed)")
    return np.stack(
        [
            table_actions(greedy_policy(mdp, table, objective, tie_break, action_order, tie_seed + b))
            for b, table in enumerate(q)
        ]
    )


def table_actions(table: np.ndarray) -> np.ndarray:
    """(T, S) actions of a deterministic (T, S, A) Fraction table."""
    return np.array([[int(np.flatnonzero([p == 1 for p in row])[0]) for row in step] for step in table])


# ---------------------------------------------------------------- saved-q files


def load_saved(
    mdp: TabularMDP, saved: SavedTables, horizon: int | None, seed: int | None, objective: str | None, **q_options
) -> Loaded:
    """A saved-q file's greedy policies (the learner's own tie-breaks) and visits: every seed, or ``seed``."""
    if saved.kind == "step-indexed" and saved.horizon != horizon:
        raise InputError(
            "q", f"the file holds step-indexed tables for horizon {saved.horizon}; this problem's horizon is {horizon}"
        )
    if objective is not None and objective != saved.objective:
        raise InputError(
            "objective", f"the file records {saved.objective!r} (its learner's Q-values); not {objective!r}"
        )
    if q_options.get("tie_break", "first") != "first" or q_options.get("action_order") is not None:
        raise InputError(
            "tie_break",
            "a saved-q file carries the learner's greedy actions (its own tie-break); --tie-break and "
            "--action-order do not apply (load its q array with numpy to break ties otherwise)",
        )
    note = (
        f"{saved.kind} tables of {len(saved.seeds)} seeds from tabturn learn; objective {saved.objective} "
        f"(recorded in the file); greedy actions as the learner broke ties ({saved.settings.get('tie_break')})"
    )
    visited = saved.visited()
    if seed is not None:
        b = saved.position(seed)
        table = deterministic_table(
            saved.greedy[b] if saved.kind == "step-indexed" else saved.greedy[b][None], mdp.n_actions
        )
        return Loaded(table, saved.greedy[b : b + 1], (seed,), visited[b : b + 1], note)
    return Loaded(actions=saved.greedy, seeds=saved.seeds, visited=visited, note=note)


# ---------------------------------------------------------------- callables


def policy_from_callable(mdp: TabularMDP, fn: Callable, horizon: int | None, batch: bool = False) -> np.ndarray:
    """(T, S, A) Fractions from ``fn``, called on every non-terminal state: ``fn(label)``, or ``fn(label, t)`` for
    each step t of a finite horizon when it takes two arguments. With ``batch``, ``fn(labels)`` / ``fn(labels,
    t)`` gets every label at once (turn family: an (n, 3) int array of x, y, observed; else an array of labels)
    and returns n answers. An answer is an action name or index, a set of tied actions (played uniformly), or a
    probability vector over the actions."""
    if not callable(fn):
        raise InputError("policy", f"must be callable, not {type(fn).__name__}")
    timed = horizon is not None and _takes_step(fn)
    T = horizon if timed and horizon is not None else 1
    S, A = mdp.n_states, mdp.n_actions
    live = [s for s in range(S) if not mdp.terminal[s]]
    out = np.empty((T, S, A), dtype=object)
    for s in range(S):
        if mdp.terminal[s]:
            for t in range(T):
                out[t, s] = [Fraction(int(a == 0)) for a in range(A)]
    for t in range(T):
        answers = _answers(mdp, fn, live, t, timed, batch)
        for s, answer in zip(live, answers, strict=True):
            out[t, s] = _answer(mdp, answer, _where(mdp, s, t, timed))
    return out


def _answers(mdp: TabularMDP, fn: Callable, live: list[int], t: int, timed: bool, batch: bool) -> list:
    """``fn``'s answers for the ``live`` states at step t (one call per state, or one for all with ``batch``)."""
    if not batch:
        labels = [observed_label(mdp.state_labels[s]) for s in live]
        return [_call(fn, (lab, t) if timed else (lab,), _where(mdp, s, t, timed)) for s, lab in zip(live, labels)]
    array = _label_array(mdp, live)
    answers = _call(fn, (array, t) if timed else (array,), "all states" + (f" at t = {t}" if timed else ""))
    try:
        answers = list(answers)
    except TypeError:
        raise InputError("policy", f"a batch function must return one answer per state, not {answers!r}") from None
    if len(answers) != len(live):
        raise InputError("policy", f"the batch function returned {len(answers)} answers for {len(live)} states")
    return answers


def _takes_step(fn: Callable) -> bool:
    try:
        params = list(inspect.signature(fn).parameters.values())
    except (TypeError, ValueError):  # a builtin without a signature: one argument
        return False
    required = [
        p for p in params if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD) and p.default is p.empty
    ]  # an optional second parameter (e.g. predict(x, batch_size=None)) is not the step
    return len(required) >= 2 or any(p.name == "t" for p in params)


def _label_array(mdp: TabularMDP, states: list[int]) -> np.ndarray:
    if is_turn(mdp):
        return np.array(
            [[int(lab[0]), int(lab[1]), int(bool(lab[2]))] for lab in (mdp.state_labels[s] for s in states)]
        )
    return np.asarray([mdp.state_labels[s] for s in states])


def _where(mdp: TabularMDP, s: int, t: int, timed: bool) -> str:
    return f"state {mdp.state_labels[s]!r}" + (f" at t = {t}" if timed else "")


def _call(fn: Callable, args: tuple, where: str):
    try:
        return fn(*args)
    except Exception as exc:  # the user's own code: report it in one line, with the state it failed on
        raise InputError("policy", f"the policy function raised {type(exc).__name__}: {exc} (at {where})") from None


def _answer(mdp: TabularMDP, answer, where: str) -> list[Fraction]:
    """One state's action distribution from a callable's answer."""
    A, names = mdp.n_actions, list(mdp.action_names)
    if isinstance(answer, np.ndarray) and answer.ndim == 0:
        answer = answer.item()
    if isinstance(answer, (set, frozenset)):
        chosen = {_one_action(mdp, a, where) for a in answer}
        if not chosen:
            raise InputError("policy", f"{where}: an empty set of actions")
        return [Fraction(1, len(chosen)) if a in chosen else Fraction(0) for a in range(A)]
    if isinstance(answer, (list, tuple, np.ndarray)):
        if len(answer) != A:
            raise InputError(
                "policy", f"{where}: a probability vector needs {A} entries ({', '.join(names)}), not {len(answer)}"
            )
        return _probabilities([v.item() if isinstance(v, np.generic) else v for v in answer], where)
    a = _one_action(mdp, answer, where)
    return [Fraction(int(b == a)) for b in range(A)]


def _one_action(mdp: TabularMDP, answer, where: str) -> int:
    names = list(mdp.action_names)
    if isinstance(answer, np.generic):
        answer = answer.item()
    if isinstance(answer, str):
        if answer not in names:
            raise InputError("policy", f"{where}: unknown action {answer!r} (actions: {', '.join(names)})")
        return names.index(answer)
    if isinstance(answer, int) and not isinstance(answer, bool) and 0 <= answer < len(names):
        return answer
    raise InputError(
        "policy",
        f"{where}: the function returned {answer!r}; return an action name ({', '.join(names)}), an index "
        f"0..{len(names) - 1}, a set of tied actions or a probability vector",
    )


# ---------------------------------------------------------------- any input


def load_policy(
    mdp: TabularMDP,
    source,
    horizon: int | None,
    kind: str = "policy",
    *,
    layout=None,
    seed: int | None = None,
    batch: bool = False,
    **q_options,
) -> Loaded:
    """Read ``source``: a path (.csv, .parquet by label; .npy, .npz in state order; a saved-q .npz), a pandas
    DataFrame, a list of row dicts, an array in state order (``layout``), or a callable (``batch``). ``kind`` is
    "policy" or "q" (then ``q_options``: objective, tie_break, action_order, tie_seed)."""
    if callable(source) and not isinstance(source, (str, Path, np.ndarray)):
        if kind == "q":
            raise InputError("q", "a callable gives actions: pass it as policy=, not q=")
        return Loaded(table=policy_from_callable(mdp, source, horizon, batch))
    if isinstance(source, (str, Path)):
        path = Path(source)
        if kind == "q" and is_saved_tables(path):
            objective = q_options.pop("objective", None)
            return load_saved(mdp, load_tables(path, mdp), horizon, seed, objective, **q_options)
        if path.suffix in (".npy", ".npz"):
            return load_array(mdp, _read_array(path, kind), horizon, kind, layout, seed, **_q_only(kind, q_options))
        rows = read_rows(path)
    elif hasattr(source, "to_dict") and hasattr(source, "columns"):  # a pandas DataFrame
        rows = _Array(source.to_dict("records"))
    elif isinstance(source, np.ndarray):
        return load_array(mdp, source, horizon, kind, layout, seed, **_q_only(kind, q_options))
    else:
        rows = _Array(source)
    if seed is not None:
        raise InputError("seed", "picks a seed from a saved-q file or an array with a seeds axis, not a table")
    if kind == "q":
        return Loaded(table=policy_from_q(mdp, rows, horizon, **q_options))
    return Loaded(table=policy_from_rows(mdp, rows, horizon))


def _q_only(kind: str, q_options: dict) -> dict:
    return q_options if kind == "q" else {}


def _read_array(path: Path, kind: str) -> np.ndarray:
    if not path.exists():
        raise InputError(kind, f"file not found: {path}")
    try:
        require(kind, f"loading {path.name}", numpy_file_bytes(path))  # from the headers, before any array is read
        loaded = np.load(path, allow_pickle=False)
        if path.suffix == ".npz":
            keys = list(loaded.keys())
            key = kind if kind in keys else keys[0] if len(keys) == 1 else None
            if key is None:
                raise InputError(kind, f"{path.name} holds {keys}; name the array {kind!r}")
            loaded = loaded[key]
    except InputError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile, SyntaxError) as exc:
        raise InputError(kind, f"{path.name} is not a readable numpy file ({str(exc)[:120]})") from None
    if not isinstance(loaded, np.ndarray) or loaded.dtype.kind not in "iubf":
        what = getattr(loaded, "dtype", type(loaded).__name__)
        raise InputError(kind, f"{path.name} holds {what} values; integers (actions) or real numbers are needed")
    return loaded
