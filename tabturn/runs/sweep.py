"""Sweeps: seeds x settings x variants as data, run on local processes or a Dask cluster, resumable.

A sweep file (TOML)::

    [sweep]
    config = "../examples/always.toml"   # base turn config (relative to the sweep file); optional
    seeds = 100                          # seeds 0..N-1 per point, or a list of seeds
    base_seed = 0                        # root of every seed's stream
    chunk = 50                           # seeds per task (any value gives the same rows)
    engine = "numpy"                     # numpy | numba
    record = ["class", "regret", "agreement"]   # any of: class, regret, up_forever, agreement (default: these
                                         # four) and exact (the exact optimum: start value, optimal first moves,
                                         # whether going up forever is optimal); record = ["exact"] trains nothing

    [grid]                               # optional overrides of the base config (same layout as a config)
    [loss]
    [objective]
    [supervision]

    [learner]                            # base learner settings (fields of LearnerSettings; horizon and
    algorithm = "q"                      # discount default to the config's)
    episodes = 200

    [axes]                               # each key "section.field" varies over a list; the points are the
    "learner.epsilon" = [0.05, 0.2]      # product of the axes in file order
    "loss.b" = ["1/2", "1", "2"]

A cell is one (point, seed); its row holds every setting (config and learner fields) as a column, the seed,
and the recorded measures. Rows depend only on the sweep file and the cell, so the table is the same, row for
row, whatever the chunking, executor or number of workers. Finished chunks are stored one file each under
``DIR/chunks/`` (written atomically); a restarted sweep skips them and redoes the rest, and the table is
assembled from the chunk files in cell order, so a killed run never leaves a corrupt or duplicated row.

table.csv and table.parquet are typed for pandas (``typed_rows``): numbers as numbers, rationals as floats with
the exact text in ``<name>_exact`` (always for regrets and exact values), the start as ``grid.start.x`` etc. and
bounds as ``grid.x_0``, ``grid.x_1``.
"""

from __future__ import annotations

import csv
import dataclasses
import functools
import hashlib
import io
import itertools
import json
import os
import time
import tomllib
from collections.abc import Callable
from fractions import Fraction
from pathlib import Path
from typing import Any

from tabturn.core.errors import InputError
from tabturn.core.limits import read_bounded, require
from tabturn.core.rational import format_rational, rational_text
from tabturn.core.validation import check_choice, check_int, check_seeds
from tabturn.envs.turn.config import TurnConfig
from tabturn.learners.tabular import ENGINES, LearnerSettings
from tabturn.runs.files import DirectoryLock, atomic_file, connect, die_with_parent, dumps, provenance, write_atomic

CONFIG_SECTIONS = ("grid", "loss", "objective", "supervision")
RECORDS = ("class", "regret", "up_forever", "agreement")  # the default: learner measures
RECORD_CHOICES = RECORDS + ("exact",)
EXACT_MEASURES = ("regret_", "exact_start_value", "exact_value_")  # always a float column plus <name>_exact
SWEEP_KEYS = ("config", "seeds", "base_seed", "chunk", "engine", "record")
LEARNER_FIELDS = tuple(f.name for f in dataclasses.fields(LearnerSettings))


@dataclasses.dataclass(frozen=True)
class Sweep:
    """A parsed sweep: the base config data, learner fields, axes and run options (plain, picklable data)."""

    base: dict
    learner: dict
    axes: tuple[tuple[str, tuple], ...]
    seeds: tuple[int, ...]
    base_seed: int = 0
    chunk: int = 50
    engine: str = "numpy"
    record: tuple[str, ...] = RECORDS

    @functools.cached_property
    def points(self) -> list[dict[str, Any]]:
        """Axis assignments {"section.field": value}, in product order."""
        names = [name for name, _ in self.axes]
        return [dict(zip(names, combo)) for combo in itertools.product(*(values for _, values in self.axes))]

    @property
    def n_cells(self) -> int:
        return len(self.points) * len(self.seeds)

    def chunks(self) -> list[tuple[int, int, int]]:
        """(point index, position of the first seed in ``seeds``, seed count) of every task, in cell order."""
        n = len(self.seeds)
        return [(p, i, min(self.chunk, n - i)) for p in range(len(self.points)) for i in range(0, n, self.chunk)]

    def fingerprint(self) -> str:
        """Hash of everything that determines the rows (not the chunk size)."""
        data = {**dataclasses.asdict(self), "chunk": None}
        return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


def load_sweep(path: str) -> Sweep:
    """Read and validate a sweep file (see the module docstring)."""
    try:
        raw = read_bounded(path, "sweep")
    except OSError as exc:
        raise InputError("sweep", f"cannot read {path!r}: {exc.strerror}") from None
    try:
        data = tomllib.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
        raise InputError("sweep", f"{path!r} is not valid TOML: {exc}") from None
    return parse_sweep(data, Path(path).resolve().parent)


def parse_sweep(data: dict, root: Path = Path(".")) -> Sweep:
    """Validate the TOML-shaped dict of a sweep; ``root`` resolves a relative base config path."""
    unknown = set(data) - {"sweep", "learner", "axes", *CONFIG_SECTIONS}
    if unknown:
        raise InputError(
            sorted(unknown)[0], "unknown section; allowed: sweep, learner, axes, grid, loss, objective, supervision"
        )
    head = _table(data.get("sweep", {}), "sweep")
    for key in head:
        if key not in SWEEP_KEYS:
            raise InputError(f"sweep.{key}", f"unknown key; allowed: {', '.join(SWEEP_KEYS)}")
    base: dict = {}
    if "config" in head:
        if not isinstance(head["config"], str):
            raise InputError("sweep.config", "must be a path to a TOML config")
        base = _config_data(TurnConfig.load(str(root / head["config"])))
    for section in CONFIG_SECTIONS:
        base.setdefault(section, {}).update(_table(data.get(section, {}), section))
    learner = _table(data.get("learner", {}), "learner")
    for key in learner:
        if key not in LEARNER_FIELDS:
            raise InputError(f"learner.{key}", f"unknown field; allowed: {', '.join(LEARNER_FIELDS)}")
    axes = []
    for name, values in _table(data.get("axes", {}), "axes").items():
        section, _, field = name.partition(".")
        if section not in (*CONFIG_SECTIONS, "learner") or not field:
            raise InputError(
                f"axes.{name}",
                "must be named section.field with section one of grid, loss, objective, supervision, learner",
            )
        if section == "learner" and field not in LEARNER_FIELDS:
            raise InputError(f"axes.{name}", f"unknown learner field; allowed: {', '.join(LEARNER_FIELDS)}")
        if not isinstance(values, list) or not values:
            raise InputError(f"axes.{name}", "must be a non-empty list of values")
        axes.append((name, tuple(tuple(v) if isinstance(v, list) else v for v in values)))
    sweep = Sweep(
        base=base,
        learner=learner,
        axes=tuple(axes),
        seeds=_seeds(head.get("seeds", 1)),
        base_seed=check_int(head.get("base_seed", 0), "sweep.base_seed", 0),
        chunk=check_int(head.get("chunk", 50), "sweep.chunk", 1),
        engine=check_choice(head.get("engine", "numpy"), "sweep.engine", ENGINES),
        record=tuple(
            check_choice(r, "sweep.record", RECORD_CHOICES)
            for r in _list(head.get("record", list(RECORDS)), "sweep.record")
        ),
    )
    for point in sweep.points:  # every point must be a valid config and learner before anything runs
        _point_setup(sweep, point)
    return sweep


SWEEP_ROW_BYTES = 8_000  # a row of the assembled table in memory (measured: 10^6 cells took 7.2 GB)


def _seeds(value: object) -> tuple[int, ...]:
    if isinstance(value, int) and not isinstance(value, bool) and value > 0:  # a count: checked before it is built
        require("sweep.seeds", f"a list of {value} seeds", value * 64)  # the seeds tuple itself
    seeds = check_seeds(value, "sweep.seeds")
    if len(set(seeds)) != len(seeds):  # rows are keyed by seed
        raise InputError("sweep.seeds", "must be a count or a non-empty list of distinct seeds")
    return seeds


def _table(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(name, "must be a table")
    return value


def _list(value, name: str) -> list:
    if not isinstance(value, list):
        raise InputError(name, "must be a list")
    return value


def _config_data(config: TurnConfig) -> dict:
    return json.loads(json.dumps(config.to_dict()))


def _point_setup(sweep: Sweep, point: dict) -> tuple[TurnConfig, dict]:
    """The config and learner fields of one point (validated)."""
    data = json.loads(json.dumps(sweep.base))
    learner = dict(sweep.learner)
    for name, value in point.items():
        section, _, field = name.partition(".")
        value = list(value) if isinstance(value, tuple) else value
        if section == "learner":
            learner[field] = value
        else:
            data.setdefault(section, {})[field] = value
    learner = {k: _number_text(k, v) for k, v in learner.items()}
    try:
        config = TurnConfig.from_dict(data)
    except InputError as exc:  # name the axis that produced the bad value, if one did
        axis = next(
            (f"axes.{name}" for name in point if name.split(".")[-1] in (exc.field, exc.field.split(".")[-1])),
            exc.field,
        )
        raise InputError(axis, exc.message) from None
    try:
        _settings(config, learner)
    except (TypeError, ValueError) as exc:
        raise InputError("learner", str(exc)) from None
    initial = learner.get("initial_value", 0)
    if initial not in ("optimistic", "pessimistic") and (
        isinstance(initial, bool)
        or not isinstance(initial, (int, float))
        or initial != initial
        or abs(initial) == float("inf")
    ):
        raise InputError(
            "learner.initial_value", f"must be a finite number, optimistic or pessimistic, not {initial!r}"
        )
    return config, learner


NUMBER_FIELDS = {
    "episodes",
    "horizon",
    "discount",
    "step_size",
    "omega",
    "epsilon",
    "epsilon_final",
    "temperature",
    "initial_value",
}


def _number_text(field: str, value):
    """A learner number given as text ("0", "0.1", "1/2"), as config numbers may be, read as a number; anything
    else (e.g. "optimistic") is left for validation to accept or refuse."""
    if field not in NUMBER_FIELDS or not isinstance(value, str):
        return value
    try:
        number = rational_text(value.strip(), field)
    except (ValueError, ZeroDivisionError):
        return value
    return int(number) if field in ("episodes", "horizon") and number.denominator == 1 else float(number)


def _settings(config: TurnConfig, learner: dict) -> LearnerSettings:
    from tabturn.experiments.study import default_settings

    fields = {k: (tuple(v) if isinstance(v, list) else v) for k, v in learner.items() if k != "initial_value"}
    return default_settings(config, **fields)


@functools.lru_cache(maxsize=64)
def _solved(config: TurnConfig):
    from tabturn.envs.solve import solve
    from tabturn.envs.turn.model import turn_mdp

    mdp = turn_mdp(config)
    return mdp, solve(mdp, config.horizon, config.discount)


def run_seed_chunk(sweep: Sweep, point_index: int, first: int, count: int) -> list[dict]:
    """The rows of seeds[first:first+count] at one point (a pure function of its arguments)."""
    from tabturn.experiments.compare import compare
    from tabturn.experiments.study import resolve_initial_value, training_start
    from tabturn.learners.tabular import learn

    point = sweep.points[point_index]
    config, learner = _point_setup(sweep, point)
    mdp, solution = _solved(config)
    settings = _settings(config, learner)
    if "initial_value" in learner:
        settings = dataclasses.replace(
            settings, initial_value=resolve_initial_value(learner["initial_value"], solution)
        )
    seeds = sweep.seeds[first : first + count]
    columns = _setting_columns(config, settings)
    # the initial value as given (a number or optimistic / pessimistic) beside the resolved number
    columns["learner.initial_value_given"] = str(learner.get("initial_value", 0))
    if "exact" in sweep.record:
        columns.update(exact_columns(solution))
    if not set(sweep.record) - {"exact"}:  # the exact optimum only: nothing to train
        return [{"point": point_index, "seed": seed, **columns} for seed in seeds]
    result = learn(mdp, settings, seeds, base_seed=sweep.base_seed, start=training_start(config), engine=sweep.engine)
    comp = compare(solution, result.greedy(), result.visited())
    rows = []
    for b, seed in enumerate(seeds):
        row = {"point": point_index, "seed": seed, **columns}
        for world in comp.classes:
            if "class" in sweep.record:
                row[f"class_{world}"] = comp.classes[world][b]
                row[f"coverage_{world}"] = repr(float(comp.coverage_of(world)[b]))
            if "regret" in sweep.record:
                row[f"regret_{world}"] = format_rational(comp.regret[world][b])
            if "up_forever" in sweep.record:
                row[f"up_forever_{world}"] = str(bool(comp.up_forever[world][b])).lower()
                row[f"exact_up_forever_optimal_{world}"] = str(comp.exact_up_forever_optimal.get(world)).lower()
        if "agreement" in sweep.record:
            row["agreement_all"] = repr(float(comp.agreement_all[b]))
            row["agreement_path"] = repr(float(comp.agreement_path[b]))
        rows.append(row)
    return rows


def exact_columns(solution) -> dict[str, str]:
    """The exact optimum as text columns: certified, the start value, and per world the optimal first moves and
    whether going up forever is optimal."""
    from tabturn.experiments.attribution import optimum_allows
    from tabturn.experiments.compare import worlds

    mdp = solution.mdp
    out = {
        "exact_certified": str(solution.certified).lower(),
        "exact_start_value": format_rational(solution.start_value()),
    }
    for world, start in worlds(solution).items():
        out[f"exact_value_{world}"] = format_rational(solution.value(start))
        out[f"exact_first_moves_{world}"] = " ".join(solution.optimal_action_names(start))
        if "up" in mdp.action_names:
            out[f"exact_up_forever_optimal_{world}"] = str(optimum_allows(solution, world)["up-forever"]).lower()
    return out


def _setting_columns(config: TurnConfig, settings: LearnerSettings) -> dict[str, str]:
    """Every config and learner setting as a text column (lists space-separated, tables as key=value)."""
    fields = {f"{section}.{key}": value for section, body in config.to_dict().items() for key, value in body.items()}
    fields.update({f"learner.{key}": value for key, value in dataclasses.asdict(settings).items()})
    return {name: _cell(value) for name, value in fields.items()}


def _cell(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, (list, tuple)):
        return " ".join(map(str, value))
    return repr(value) if isinstance(value, float) else str(value)


# ---------------------------------------------------------------- running


def chunk_path(out: Path, chunk: tuple[int, int, int]) -> Path:
    return out / "chunks" / f"point{chunk[0]:06d}-at{chunk[1]:09d}-n{chunk[2]}.json"


def run_sweep(
    sweep: Sweep,
    out: str | os.PathLike,
    executor: str = "local",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
    source: dict | None = None,
    return_rows: bool = True,
) -> dict:
    """Run every unfinished chunk, then write DIR/table.csv (and table.parquet with pyarrow) and provenance.json.

    The tables are assembled streaming, one chunk file in memory at a time; ``return_rows=False`` (the CLI) keeps
    it that way, else the result's "rows" holds every row (and the up-front memory estimate counts them).

    ``executor``: "local" (processes; ``workers`` defaults to all cores, 1 runs in this process),
    "dask" (``scheduler`` address) or "dask-local" (a local cluster of ``workers`` processes).
    Returns {"cells", "computed_cells", "seconds", "rows"} (rows in cell order, as written to the table).
    """
    out = Path(out)
    if return_rows:
        require("sweep.seeds", f"a table of {sweep.n_cells} cells in memory", sweep.n_cells * SWEEP_ROW_BYTES)
    for point in sweep.points:  # every point's settings, before anything is written
        config, learner = _point_setup(sweep, point)
        order = _settings(config, learner).action_order
        if order is not None and sorted(order) != list(range(len(config.actions))):
            raise InputError(
                "learner.action_order", f"must be a permutation of 0..{len(config.actions) - 1}, not {list(order)}"
            )
    created = not out.exists()
    try:
        with DirectoryLock(out):
            return _run_locked(sweep, out, executor, workers, scheduler, progress, source, return_rows)
    except BaseException:
        if created and not any((out / "chunks").glob("*.json")):  # nothing computed: leave nothing behind
            import shutil

            shutil.rmtree(out, ignore_errors=True)
        raise


def _run_locked(sweep: Sweep, out: Path, executor, workers, scheduler, progress, source, return_rows) -> dict:
    """run_sweep's body, under the directory lock."""
    manifest = out / "sweep.json"
    fingerprint = sweep.fingerprint()
    if manifest.exists():
        try:
            recorded = json.loads(manifest.read_text())
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise InputError(
                "--out", f"{str(manifest)!r} is corrupt (not a sweep manifest); use a new directory"
            ) from None
        if not isinstance(recorded, dict) or recorded.get("fingerprint") != fingerprint:
            raise InputError("--out", f"{str(out)!r} holds the results of a different sweep; use a new directory")
    else:
        write_atomic(manifest, dumps({"fingerprint": fingerprint, "sweep": dataclasses.asdict(sweep)}))
    for stale in (out / "chunks").glob(".*.tmp"):  # a write killed before its rename: never a result
        stale.unlink()
    chunks = sweep.chunks()
    todo = [c for c in chunks if not chunk_path(out, c).exists()]
    done_cells = sweep.n_cells - sum(c[2] for c in todo)
    if progress:
        progress(done_cells, sweep.n_cells)
    started = time.perf_counter()
    for chunk, rows in _execute(sweep, todo, executor, workers, scheduler):
        write_atomic(chunk_path(out, chunk), json.dumps(rows))
        done_cells += chunk[2]
        if progress:
            progress(done_cells, sweep.n_cells)
    seconds = time.perf_counter() - started
    paths = [chunk_path(out, c) for c in chunks]
    write_tables(paths, out / "table.csv", out / "table.parquet")  # streamed: one chunk in memory at a time
    rows = [row for p in paths for row in json.loads(p.read_text())] if return_rows else None
    write_atomic(
        out / "provenance.json",
        dumps(
            provenance(
                command="sweep",
                fingerprint=fingerprint,
                cells=sweep.n_cells,
                points=len(sweep.points),
                **(source or {}),
                executor=executor,
                workers=workers,
                computed_cells=sum(c[2] for c in todo),
                seconds=round(seconds, 3),
            )
        ),
    )
    return {"cells": sweep.n_cells, "computed_cells": sum(c[2] for c in todo), "seconds": seconds, "rows": rows}


def _execute(sweep: Sweep, todo: list, executor: str, workers: int | None, scheduler: str | None):
    """Yield (chunk, rows) as chunks finish."""
    if not todo:
        return
    if executor == "local":
        workers = workers or os.cpu_count() or 1
        if workers == 1:
            for chunk in todo:
                yield chunk, run_seed_chunk(sweep, *chunk)
            return
        from concurrent.futures import ProcessPoolExecutor, as_completed

        with ProcessPoolExecutor(max_workers=workers, initializer=die_with_parent) as pool:
            futures = {pool.submit(run_seed_chunk, sweep, *chunk): chunk for chunk in todo}
            for future in as_completed(futures):
                yield futures[future], future.result()
        return
    try:
        from distributed import Client, LocalCluster
        from distributed import as_completed as dask_as_completed
    except ImportError:
        raise InputError(
            "--scheduler", "needs dask.distributed: pip install -e '.[distributed]' in a tabturn checkout"
        ) from None
    if executor == "dask-local":
        cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=True, dashboard_address=None)
        client = Client(cluster)
    elif executor == "dask-inprocess":  # tests: a cluster inside this process
        cluster = LocalCluster(n_workers=workers or 1, threads_per_worker=1, processes=False, dashboard_address=None)
        client = Client(cluster)
    else:
        cluster, client = None, connect(Client, scheduler)
    try:
        submitted = [client.submit(run_seed_chunk, sweep, *chunk, pure=False) for chunk in todo]
        index = {f.key: chunk for f, chunk in zip(submitted, todo)}
        for done in dask_as_completed(submitted):
            yield index[done.key], done.result()
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def typed_rows(rows: list[dict]) -> list[dict]:
    """The rows with typed columns, for table.csv and table.parquet: integers, floats and booleans as such; a
    rational column (any value like "1127/2") as floats plus the exact text in ``<name>_exact``; key=value cells
    (e.g. the start) as one column per key, ``<name>.<key>``; space-separated numbers (e.g. grid.x "0 7") as
    ``<name>_0``, ``<name>_1``, ...; anything else stays text."""
    expanded = [_expand(row) for row in rows]
    columns = list(dict.fromkeys(key for row in expanded for key in row))
    kinds = {c: _kind([row.get(c) for row in expanded]) for c in columns}
    for c in columns:  # exact measures keep one schema in every sweep: float + exact text, even when integral
        if c.startswith(EXACT_MEASURES) and kinds[c] in ("int", "float"):
            kinds[c] = "rational"
    out = []
    for row in expanded:
        typed = {}
        for c in columns:
            value, kind = row.get(c), kinds[c]
            typed[c] = _convert(value, kind)
            if kind == "rational":
                typed[f"{c}_exact"] = None if value is None else str(value)
        out.append(typed)
    return out


def _expand(row: dict) -> dict:
    out = {}
    for key, value in row.items():
        text = value if isinstance(value, str) else None
        if text and "=" in text and all("=" in part for part in text.split()):
            out.update({f"{key}.{k}": v for k, v in (part.split("=", 1) for part in text.split())})
        elif text and " " in text and all(_kind([part]) in ("int", "float", "rational") for part in text.split()):
            out.update({f"{key}_{i}": part for i, part in enumerate(text.split())})
        else:
            out[key] = value
    return out


def _kind(values: list) -> str:
    present = [v for v in values if v is not None and not (isinstance(v, str) and v.lower() in ("none", ""))]
    if not present:
        return "text"
    if all(isinstance(v, bool) or str(v).lower() in ("true", "false") for v in present):
        return "bool"
    if all(isinstance(v, int) and not isinstance(v, bool) or isinstance(v, str) and _is_int(v) for v in present):
        return "int"
    kinds = set()
    for v in present:
        if isinstance(v, float):
            kinds.add("float")
            continue
        text = str(v)
        try:
            Fraction(text)
        except (ValueError, ZeroDivisionError):
            try:
                float(text)  # inf, nan
            except ValueError:
                return "text"
            kinds.add("float")
            continue
        kinds.add("rational" if "/" in text else "float")
    return "rational" if "rational" in kinds else "float"


def _is_int(text: str) -> bool:
    return text.strip().lstrip("-").isdigit()


def _convert(value, kind: str):
    if value is None or isinstance(value, str) and value.lower() in ("none", "") and kind != "text":
        return None
    if kind == "bool":
        return value if isinstance(value, bool) else str(value).lower() == "true"
    if kind == "int":
        return int(value)
    if kind in ("float", "rational"):
        text = str(value)
        try:
            return float(Fraction(text))
        except (ValueError, ZeroDivisionError):
            return float(text)
    return value


def _chunk_kind(values: list) -> str | None:
    """_kind of one chunk's values, or None when none is present (no evidence either way)."""
    present = [v for v in values if v is not None and not (isinstance(v, str) and v.lower() in ("none", ""))]
    return _kind(present) if present else None


def _merge_kinds(kinds: set) -> str:
    """The _kind of all values from the kinds of their parts (the same answer as _kind over the union)."""
    kinds = kinds - {None}
    if not kinds or "text" in kinds or ("bool" in kinds and kinds != {"bool"}):
        return "text"
    if kinds in ({"bool"}, {"int"}):
        return kinds.pop()
    return "rational" if "rational" in kinds else "float"


def write_tables(paths: list[Path], csv_path: Path, parquet_path: Path | None = None) -> None:
    """table.csv (and table.parquet with pyarrow) from chunk files, typed as typed_rows types them, holding one
    chunk in memory at a time: a first pass finds the columns and their kinds, a second writes the rows."""
    columns: dict[str, set] = {}
    for path in paths:
        expanded = [_expand(row) for row in json.loads(path.read_text())]
        for c in dict.fromkeys(k for row in expanded for k in row):
            columns.setdefault(c, set()).add(_chunk_kind([row.get(c) for row in expanded]))
    kinds = {c: _merge_kinds(k) for c, k in columns.items()}
    for c in kinds:
        if c.startswith(EXACT_MEASURES) and kinds[c] in ("int", "float"):
            kinds[c] = "rational"
    names = [n for c in kinds for n in ([c, f"{c}_exact"] if kinds[c] == "rational" else [c])]
    parquet = _parquet_writer(parquet_path, names, kinds) if parquet_path is not None else None
    with atomic_file(csv_path) as handle:
        writer = csv.DictWriter(handle, fieldnames=names, lineterminator="\n")
        writer.writeheader()
        for path in paths:
            typed = []
            for row in (_expand(r) for r in json.loads(path.read_text())):
                out = {}
                for c, kind in kinds.items():
                    value = _convert(row.get(c), kind)
                    out[c] = str(value) if kind == "text" and value is not None else value  # one type per column
                    if kind == "rational":
                        out[f"{c}_exact"] = None if row.get(c) is None else str(row.get(c))
                typed.append(out)
            writer.writerows(typed)
            if parquet is not None:
                parquet.write(typed)
    if parquet is not None:
        parquet.close()


class _ParquetStream:
    """Row groups appended to a temporary file, renamed into place on close."""

    def __init__(self, path: Path, names: list[str], kinds: dict[str, str]):
        import pyarrow as pa
        import pyarrow.parquet as pq

        types = {"int": pa.int64(), "float": pa.float64(), "rational": pa.float64(), "bool": pa.bool_()}
        fields = []
        for c, kind in kinds.items():
            fields.append(pa.field(c, types.get(kind, pa.string())))
            if kind == "rational":
                fields.append(pa.field(f"{c}_exact", pa.string()))
        self.pa, self.schema, self.names, self.path = pa, pa.schema(fields), names, path
        self.tmp = path.parent / f".{path.name}.{os.getpid()}.tmp"
        path.parent.mkdir(parents=True, exist_ok=True)
        self.writer = pq.ParquetWriter(str(self.tmp), self.schema)

    def write(self, rows: list[dict]) -> None:
        self.writer.write_table(self.pa.Table.from_pylist(rows, schema=self.schema))

    def close(self) -> None:
        self.writer.close()
        os.replace(self.tmp, self.path)


def _parquet_writer(path: Path, names: list[str], kinds: dict[str, str]):
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return None
    return _ParquetStream(path, names, kinds)


def table_csv(rows: list[dict]) -> str:
    """CSV text of the rows (typed by typed_rows; columns in first-seen order)."""
    rows = typed_rows(rows)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=columns, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def _maybe_parquet(path: Path, rows: list[dict]) -> None:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        return
    rows = typed_rows(rows)
    columns = list(dict.fromkeys(key for row in rows for key in row))
    table = pa.table({c: [row.get(c) for row in rows] for c in columns})
    buffer = pa.BufferOutputStream()
    pq.write_table(table, buffer)
    write_atomic(path, buffer.getvalue().to_pybytes())


def comparison_from_rows(rows: list[dict]):
    """A Comparison rebuilt from the sweep rows of one point (recorded with class, regret, up_forever, agreement),
    in row order, for ``study.summarise``."""
    from fractions import Fraction

    import numpy as np

    from tabturn.experiments.compare import Comparison

    worlds = [key[len("class_") :] for key in rows[0] if key.startswith("class_")]
    flag = {"true": True, "false": False, "none": None}
    return Comparison(
        np.array([float(r["agreement_all"]) for r in rows]),
        np.array([float(r["agreement_path"]) for r in rows]),
        {w: [Fraction(r[f"regret_{w}"]) for r in rows] for w in worlds},
        {w: np.array([r[f"up_forever_{w}"] == "true" for r in rows]) for w in worlds},
        {w: [r[f"class_{w}"] for r in rows] for w in worlds},
        {w: flag[rows[0][f"exact_up_forever_optimal_{w}"]] for w in worlds},
        {w: np.array([float(r[f"coverage_{w}"]) for r in rows]) for w in worlds},
    )
