"""Searching a space of settings for a seed-dependent behaviour: where does a class of seeds (e.g. "always-up"
in the observed world) hold a share strictly inside a band, and which factors move it there?

A design file (TOML)::

    [search]
    config = "../always.toml"      # base turn or gridworld config (relative to the design file)
    hunt = "always-up"             # the class to hunt (a class of tabturn.experiments.compare, or "up-forever")
    world = "observed"             # the world it is counted in
    band = [0.01, 0.99]            # seed-dependent: low < share < high
    screen_seeds = 200             # seeds per cell of the coarse screen
    confirm_seeds = 1000           # seeds of every cell the screen finds neither all-in nor all-out, and of
                                   # every local-design cell
    base_seed = 0                  # root of every cell's stream
    engine = "numba"               # numpy | numba (the same numbers)

    [learner]                      # base learner fields (LearnerSettings; horizon and discount from the config)
    algorithm = "q"
    action_order = "up first"      # "<action> first" / "<action> last" / a list of action names

    [blocks.setup]                 # each block: the product of its axes ("section.field" = list of values)
    "loss.b" = ["1/4", "1", "4"]
    "learner.episodes" = [100, 1000]

    [refine]                       # adaptive refinement of the screen: the cell between two neighbours
    rounds = 2                     # (one numeric axis apart) whose shares differ by ``step`` or more
    step = 0.05
    axes = { "learner.episodes" = "log-int", "loss.b" = "log-rational" }   # log-int | int | log-rational | linear

    [local]                        # the local design around each region's representative cell: every value of
    "learner.tie_break" = ["first", "random"]   # every factor one at a time, and the listed pairs jointly
    "learner.initial_value" = [0, -1, "pessimistic"]
    pairs = [["learner.initial_value", "learner.tie_break"]]

    [regions]
    keys = ["block", "learner.algorithm"]   # seed-dependent cells that agree on these form a region
    max = 4                                 # local designs for this many regions: those matching a prefer
    prefer = [{ "learner.algorithm" = "q" }]   # filter first, then the largest region of each block, and so on

Streams: every cell draws from its own stream, a base seed hashed from the design's ``base_seed`` and the cell's
identity (``cell_stream``), so no two cells share random numbers. A local-design cell is the exception, on
purpose: it uses its representative's stream (common random numbers), and its effect is judged by an exact
McNemar test on the paired per-seed outcomes. Mesa cells (axes ``mesa.*``) train tabturn.experiments.mesa's
learned-loss-model agent instead of a tabular learner.

Every cell is cached under the cache directory, one JSON file per cell holding its per-seed classes (written
atomically); a rerun reads them, and a cell promoted from the screen to ``confirm_seeds`` computes only the new
seeds (counter-based streams make seed i's numbers independent of the batch). The cache key names the design's
base config, the stream scheme and tabturn's generator, so results made another way are never mixed in.
"""

from __future__ import annotations

import concurrent.futures
import dataclasses
import hashlib
import itertools
import json
import math
import os
import tomllib
from collections.abc import Callable, Iterable
from fractions import Fraction
from pathlib import Path
from typing import Any

from tabturn.core.errors import InputError
from tabturn.core.limits import read_bounded
from tabturn.core.validation import check_choice, check_int
from tabturn.experiments.study import wilson
from tabturn.runs.files import connect, die_with_parent, write_atomic

STREAMS = "cell-hashed-1"  # how a cell's base seed is derived; part of every cache key
SEARCH_KEYS = ("config", "hunt", "world", "band", "screen_seeds", "confirm_seeds", "base_seed", "engine", "name")
REFINE_KINDS = ("log-int", "int", "log-rational", "linear")
SECTIONS = ("grid", "loss", "objective", "supervision", "learner", "mesa")
MESA_FIELDS = ("model", "episodes", "steps", "prior", "coverage")


@dataclasses.dataclass(frozen=True)
class Design:
    """A parsed design: plain, picklable data (see the module docstring for the file layout)."""

    config: str
    hunt: str = "always-up"
    world: str = "observed"
    band: tuple[float, float] = (0.01, 0.99)
    screen_seeds: int = 200
    confirm_seeds: int = 1000
    base_seed: int = 0
    engine: str = "numpy"
    name: str = "search"
    learner: tuple[tuple[str, Any], ...] = ()
    blocks: tuple[tuple[str, tuple[tuple[str, tuple], ...]], ...] = ()
    refine_rounds: int = 0
    refine_step: float = 0.05
    refine_axes: tuple[tuple[str, str], ...] = ()
    local: tuple[tuple[str, tuple], ...] = ()
    pairs: tuple[tuple[str, str], ...] = ()
    region_keys: tuple[str, ...] = ("block",)
    max_regions: int = 4
    prefer: tuple[tuple[tuple[str, str], ...], ...] = ()

    @property
    def axes(self) -> list[str]:
        """Every field some block or the local design varies, in first-seen order."""
        names = [a for _, axes in self.blocks for a, _ in axes] + [a for a, _ in self.local]
        return list(dict.fromkeys(names))

    def fingerprint(self) -> str:
        """What a cached cell result depends on besides the cell: the base config's text and the learner base."""
        from tabturn.learners import counter_rng

        text = Path(self.config).read_bytes()
        blob = json.dumps(
            {"config": hashlib.sha256(text).hexdigest(), "learner": self.learner, "world": self.world},
            sort_keys=True,
            default=str,
        )
        return hashlib.sha256((blob + STREAMS + counter_rng.STREAMS).encode()).hexdigest()[:16]


# ---------------------------------------------------------------- reading a design


def load_design(path: str | os.PathLike) -> Design:
    """Read and check a design file; relative paths in it are relative to the file."""
    path = Path(path)
    try:
        data = tomllib.loads(read_bounded(path, "design").decode("utf-8"))
    except FileNotFoundError:
        raise InputError("design", f"no such file: {str(path)!r}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise InputError("design", f"{str(path)!r} is not valid TOML: {error}") from None
    return parse_design(data, path.parent)


def parse_design(data: dict, root: Path = Path(".")) -> Design:
    """A Design from the TOML data of a design file."""
    from tabturn.learners.tabular import ENGINES

    unknown = set(data) - {"search", "learner", "blocks", "refine", "local", "regions"}
    if unknown:
        raise InputError(
            sorted(unknown)[0], "unknown section; allowed: search, learner, blocks, refine, local, regions"
        )
    head = _table(data.get("search", {}), "search")
    extra = set(head) - set(SEARCH_KEYS)
    if extra:
        raise InputError(f"search.{sorted(extra)[0]}", f"unknown key; allowed: {', '.join(SEARCH_KEYS)}")
    if "config" not in head:
        raise InputError("search.config", "is required: the base turn or gridworld config")
    config = str((root / str(head["config"])).resolve())
    if not Path(config).is_file():
        raise InputError("search.config", f"no such file: {head['config']!r}")
    band = head.get("band", [0.01, 0.99])
    if (
        not isinstance(band, list)
        or len(band) != 2
        or not all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in band)
        or not 0 <= band[0] < band[1] <= 1
    ):
        raise InputError("search.band", f"must be [low, high] with 0 <= low < high <= 1, not {band!r}")
    screen = check_int(head.get("screen_seeds", 200), "search.screen_seeds", 1)
    confirm = check_int(head.get("confirm_seeds", max(1000, screen)), "search.confirm_seeds", screen)
    blocks = _table(data.get("blocks", {}), "blocks")
    if not blocks:
        raise InputError("blocks", "give at least one block of axes, e.g. [blocks.main] 'learner.episodes' = [10, 100]")
    parsed_blocks = tuple(
        (str(name), tuple((axis, tuple(values)) for axis, values in _axes(_table(body, f"blocks.{name}"), name)))
        for name, body in blocks.items()
    )
    refine = _table(data.get("refine", {}), "refine")
    refine_axes = _table(refine.get("axes", {}), "refine.axes")
    for axis, kind in refine_axes.items():
        check_choice(kind, f"refine.axes.{axis}", REFINE_KINDS)
    local = dict(_table(data.get("local", {}), "local"))
    pairs = local.pop("pairs", [])
    local_axes = tuple((axis, tuple(values)) for axis, values in _axes(local, "local"))
    names = {a for a, _ in local_axes}
    if not isinstance(pairs, list) or not all(isinstance(p, list) and len(p) == 2 for p in pairs):
        raise InputError("local.pairs", "must be a list of [axis, axis] pairs")
    for pair in pairs:
        for axis in pair:
            if axis not in names:
                raise InputError("local.pairs", f"{axis!r} is not an axis of [local]")
    regions = _table(data.get("regions", {}), "regions")
    design = Design(
        config=config,
        hunt=str(head.get("hunt", "always-up")),
        world=str(head.get("world", "observed")),
        band=(float(band[0]), float(band[1])),
        screen_seeds=screen,
        confirm_seeds=confirm,
        base_seed=check_int(head.get("base_seed", 0), "search.base_seed", 0),
        engine=check_choice(head.get("engine", "numpy"), "search.engine", ENGINES),
        name=str(head.get("name", Path(config).stem)),
        learner=tuple(sorted(_table(data.get("learner", {}), "learner").items())),
        blocks=parsed_blocks,
        refine_rounds=check_int(refine.get("rounds", 0), "refine.rounds", 0),
        refine_step=float(refine.get("step", 0.05)),
        refine_axes=tuple(refine_axes.items()),
        local=local_axes,
        pairs=tuple((str(a), str(b)) for a, b in pairs),
        region_keys=tuple(regions.get("keys", ["block"])),
        max_regions=check_int(regions.get("max", 4), "regions.max", 0),
        prefer=tuple(
            tuple((str(k), str(v)) for k, v in _table(p, "regions.prefer").items()) for p in regions.get("prefer", [])
        ),
    )
    _check_cells(design)
    return design


def _table(value, name: str) -> dict:
    if not isinstance(value, dict):
        raise InputError(name, "must be a table")
    return value


def _axes(body: dict, where: str) -> Iterable[tuple[str, list]]:
    for axis, values in body.items():
        section, dot, field = axis.partition(".")
        if not dot or section not in SECTIONS or not field:
            raise InputError(f"{where}.{axis}", f"an axis is 'section.field' with section one of {', '.join(SECTIONS)}")
        if not isinstance(values, list) or not values:
            raise InputError(f"{where}.{axis}", "must be a non-empty list of values")
        yield axis, values


def _check_cells(design: Design) -> None:
    """Build the first cell of every block and the base: a wrong field or value fails before any training."""
    problem(design, {"block": "base"})
    for name, axes in design.blocks:
        problem(design, {"block": name, **{axis: values[0] for axis, values in axes}})
    for axis, values in design.local:
        problem(design, {"block": "local", axis: values[0]})


# ---------------------------------------------------------------- cells and streams


Cell = dict  # {"block": name, "section.field": value, ...}; "_stage" and "_stream" are bookkeeping, not identity


def identity(cell: Cell) -> dict:
    """The cell without its bookkeeping keys (those starting with "_")."""
    return {k: v for k, v in cell.items() if not k.startswith("_")}


def cell_key(cell: Cell) -> str:
    """A short stable name of a cell's settings (the block is part of it: two blocks never share a cell)."""
    return hashlib.sha256(json.dumps(identity(cell), sort_keys=True, default=str).encode()).hexdigest()[:12]


def cell_stream(design: Design, cell: Cell) -> int:
    """The base seed of a cell's random stream: a hash of the design's base seed and the cell's key, unless the
    cell names another cell's stream in "_stream" (a paired local-design cell)."""
    key = cell.get("_stream") or cell_key(cell)
    return int(hashlib.sha256(f"{design.base_seed}:{key}".encode()).hexdigest()[:15], 16)


def coarse_cells(design: Design) -> list[Cell]:
    """Every cell of the screen: the product of each block's axes."""
    cells = []
    for block, axes in design.blocks:
        for values in itertools.product(*(v for _, v in axes)):
            cells.append({"block": block, **dict(zip((a for a, _ in axes), values)), "_stage": "screen"})
    return cells


def midpoint(a, b, kind: str):
    """The value between a and b for refinement, or None when there is none (e.g. adjacent integers)."""
    if kind == "log-int":
        m = round(math.sqrt(a * b))
    elif kind == "int":
        m = (a + b) // 2
    elif kind == "log-rational":
        value = Fraction(math.sqrt(float(Fraction(str(a))) * float(Fraction(str(b))))).limit_denominator(8)
        return None if value in (Fraction(str(a)), Fraction(str(b))) else str(value)
    else:
        m = round((a + b) / 2, 4)
    return None if m in (a, b) else m


def refine(design: Design, cells: list[Cell], shares: dict[str, float], stage: str) -> list[Cell]:
    """New cells between neighbours (along one refine axis, all else equal) whose shares differ by >= the step."""
    new, seen = [], {cell_key(c) for c in cells}
    for axis, kind in design.refine_axes:
        groups: dict[str, list[Cell]] = {}
        for c in cells:
            if axis in c:
                rest = {k: v for k, v in identity(c).items() if k != axis}
                groups.setdefault(json.dumps(rest, sort_keys=True, default=str), []).append(c)
        for group in groups.values():
            order = sorted(group, key=lambda c: float(Fraction(str(c[axis]))))
            for left, right in zip(order, order[1:]):
                if abs(shares[cell_key(left)] - shares[cell_key(right)]) < design.refine_step:
                    continue
                m = midpoint(left[axis], right[axis], kind)
                cell = {**identity(left), axis: m, "_stage": stage}
                if m is not None and cell_key(cell) not in seen:
                    seen.add(cell_key(cell))
                    new.append(cell)
    return new


# ---------------------------------------------------------------- one cell's problem


@dataclasses.dataclass(frozen=True, eq=False)
class Problem:
    """What a cell trains and is judged on: the MDP, its exact solution, learner settings (or mesa fields)."""

    mdp: Any
    solution: Any
    settings: Any  # LearnerSettings, or a dict of MesaSettings fields for a mesa cell
    start: Any
    config: Any  # TurnConfig, or None for a gridworld
    values: dict  # the effective value of every design axis in this cell


def _base_data(design: Design) -> tuple[Any, dict | None]:
    from tabturn.envs.gridworld import is_gridworld_file, load_gridworld
    from tabturn.envs.turn.config import TurnConfig

    if is_gridworld_file(design.config):
        return load_gridworld(design.config), None
    config = TurnConfig.load(design.config)
    return config, json.loads(json.dumps(config.to_dict()))


def problem(design: Design, cell: Cell) -> Problem:
    """The cell's MDP, exact solution and learner settings on top of the design's base config and learner."""
    from tabturn.envs.solve import solve
    from tabturn.envs.turn.config import TurnConfig
    from tabturn.envs.turn.model import turn_mdp
    from tabturn.experiments.compare import worlds
    from tabturn.experiments.study import default_settings, resolve_initial_value, training_start
    from tabturn.learners.tabular import LearnerSettings

    base, data = _base_data(design)
    learner = dict(design.learner)
    mesa: dict = {}
    for name, value in identity(cell).items():
        if name == "block":
            continue
        section, _, field = name.partition(".")
        if section == "learner":
            learner[field] = value
        elif section == "mesa":
            if field not in MESA_FIELDS:
                raise InputError(name, f"unknown mesa field; allowed: {', '.join(MESA_FIELDS)}")
            mesa[field] = value
        elif data is None:
            raise InputError(name, "a gridworld design varies learner.* fields only")
        else:
            fields = value if isinstance(value, dict) else {field: value}  # a table sets linked fields together
            for key, item in fields.items():
                if key not in data[section]:
                    raise InputError(
                        name, f"unknown field of [{section}]: {key!r}; allowed: {', '.join(data[section])}"
                    )
                data[section][key] = item
    if data is None:
        mdp = _gridworld_mdp(base)
        config, start = None, None
        horizon, discount = base.time_limit, Fraction(1)
        defaults = LearnerSettings(horizon=horizon, discount=1.0, truncation="terminal")
    else:
        config = TurnConfig.from_dict(data)
        mdp, start = turn_mdp(config), training_start(config)
        horizon, discount = config.horizon, config.discount
        defaults = default_settings(config)
    solution = solve(mdp, horizon, discount)
    if design.world not in worlds(solution):
        raise InputError("search.world", f"must be one of {', '.join(worlds(solution))}, not {design.world!r}")
    values = _effective(design, cell, data, learner, mesa)
    if mesa:
        return Problem(mdp, solution, mesa, start, config, values)
    fields = dict(learner)
    if "action_order" in fields:
        fields["action_order"] = _action_order(fields["action_order"], mdp.action_names)
    if fields.get("discount", "objective") == "objective":
        fields.pop("discount", None)
    if fields.get("time_indexed") and horizon is None:
        fields["time_indexed"] = False
    fields["initial_value"] = resolve_initial_value(fields.get("initial_value", 0), solution)
    for name in ("epsilon", "step_size", "discount", "epsilon_final", "temperature", "omega"):
        if name in fields and isinstance(fields[name], (str, int)) and not isinstance(fields[name], bool):
            fields[name] = _number(fields[name], f"learner.{name}")
    if "epsilon_final" not in fields and "epsilon" in fields:
        fields["epsilon_final"] = fields["epsilon"]  # a constant schedule unless the design says otherwise
    known = {f.name for f in dataclasses.fields(LearnerSettings)}
    for name in fields:
        if name not in known:
            raise InputError(f"learner.{name}", f"unknown learner field; allowed: {', '.join(sorted(known))}")
    settings = dataclasses.replace(defaults, **fields)
    return Problem(mdp, solution, settings, start, config, values)


def _gridworld_mdp(world):
    from tabturn.envs.gridworld import gridworld_mdps

    return gridworld_mdps(world)[0]


def _number(value, name: str) -> float:
    from tabturn.core.rational import rational_text

    try:
        return float(rational_text(str(value), name))
    except InputError:
        raise
    except (ValueError, ZeroDivisionError):
        raise InputError(name, f"must be a number, not {value!r}") from None


def _action_order(value, actions: tuple[str, ...]) -> tuple[int, ...]:
    """Action indices from "<action> first", "<action> last" or a list of action names."""
    if isinstance(value, str):
        name, _, where = value.rpartition(" ")
        if name not in actions or where not in ("first", "last"):
            raise InputError("learner.action_order", f"must be '<action> first|last' with an action of {actions}")
        i = actions.index(name)
        rest = [j for j in range(len(actions)) if j != i]
        return tuple([i] + rest if where == "first" else rest + [i])
    if not isinstance(value, list) or sorted(value) != sorted(actions):
        raise InputError("learner.action_order", f"must list each action once: {', '.join(actions)}")
    return tuple(actions.index(v) for v in value)


def _effective(design: Design, cell: Cell, data: dict | None, learner: dict, mesa: dict) -> dict:
    """The value of every design axis in this cell (the base's value where the cell does not set it)."""
    from tabturn.learners.tabular import LearnerSettings

    defaults = {f.name: f.default for f in dataclasses.fields(LearnerSettings)}
    out = {}
    for axis in design.axes:
        section, _, field = axis.partition(".")
        if axis in cell:
            value = cell[axis]
        elif section == "learner":
            value = learner.get(field, "objective" if field == "discount" else defaults.get(field, ""))
        elif section == "mesa":
            value = mesa.get(field, "") if mesa else ""
        else:
            value = "" if data is None else data[section].get(field, "")
        if section == "learner" and mesa:
            value = ""
        out[axis] = value
    return out


# ---------------------------------------------------------------- running cells


def run_seeds(design: Design, cell: Cell, first: int, count: int) -> dict:
    """Per-seed outcomes of seeds first..first+count-1 of the cell's stream: {"classes": [...], "up": [0/1]}."""
    p = problem(design, cell)
    stream = cell_stream(design, cell)
    if isinstance(p.settings, dict):
        return _run_mesa(design, p, stream, first, count)
    from tabturn.experiments.compare import compare
    from tabturn.learners.tabular import learn

    seeds = range(first, first + count)
    result = learn(p.mdp, p.settings, seeds, base_seed=stream, start=p.start, engine=design.engine)
    comparison = compare(p.solution, result.greedy(), result.visited())
    up = comparison.up_forever.get(design.world)
    return {
        "classes": list(comparison.classes[design.world]),
        "up": [int(u) for u in up] if up is not None else [0] * count,
    }


def _run_mesa(design: Design, p: Problem, stream: int, first: int, count: int) -> dict:
    from tabturn.experiments.mesa import MesaSettings, mesa

    classes, up = [], []
    for seed in range(first, first + count):
        settings = MesaSettings(**{"coverage": Fraction(0), **p.settings, "seed": stream * 2**32 + seed})
        comparison = mesa(p.config, settings, p.solution).comparison
        classes.append(comparison.classes[design.world][0])
        up.append(int(comparison.up_forever[design.world][0]))
    return {"classes": classes, "up": up}


def exact_hunt_optimal(design: Design, p: Problem) -> str:
    """Whether the exact optimum itself shows the hunted behaviour from the world's start ("" when undefined)."""
    if design.hunt not in ("always-up", "up-forever") or p.config is None:
        return ""
    from tabturn.experiments.attribution import optimum_allows

    return str(optimum_allows(p.solution, design.world)["up-forever"]).lower()


def hits(design: Design, outcome: dict) -> list[int]:
    """Per seed, 1 when the seed shows the hunted behaviour."""
    if design.hunt == "up-forever":
        return list(outcome["up"])
    return [int(c == design.hunt) for c in outcome["classes"]]


class Cache:
    """Per-cell outcomes on disk: DIR/<fingerprint>/<cell key>-<stream>.json, written atomically."""

    def __init__(self, root: str | os.PathLike | None, design: Design):
        self.root = None if root is None else Path(root) / design.fingerprint()

    def path(self, design: Design, cell: Cell) -> Path | None:
        if self.root is None:
            return None
        return self.root / f"{cell_key(cell)}-{cell_stream(design, cell):x}.json"

    def read(self, design: Design, cell: Cell) -> dict | None:
        path = self.path(design, cell)
        if path is None or not path.exists():
            return None
        return json.loads(path.read_text())

    def write(self, design: Design, cell: Cell, outcome: dict) -> None:
        path = self.path(design, cell)
        if path is not None:
            write_atomic(path, json.dumps({"cell": identity(cell), **outcome}, sort_keys=True, default=str))


def _task(design: Design, cell: Cell, first: int, count: int) -> dict:
    return run_seeds(design, cell, first, count)


def run_cells(
    design: Design,
    cells: list[Cell],
    seeds: int,
    cache: Cache,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, dict]:
    """{cell key: outcome over seeds 0..seeds-1} of every cell, from the cache where it holds them; the rest run
    on ``workers`` local processes (1: in this process) or on the Dask scheduler at ``scheduler``."""
    out: dict[str, dict] = {}
    todo = []
    for cell in cells:
        have = cache.read(design, cell) or {"classes": [], "up": []}
        if len(have["classes"]) >= seeds:
            out[cell_key(cell)] = {"classes": have["classes"][:seeds], "up": have["up"][:seeds]}
        else:
            todo.append((cell, have))
    done = len(out)
    if progress:
        progress(done, len(cells))
    for (cell, have), new in zip(
        todo, _execute(design, [(c, len(h["classes"]), seeds) for c, h in todo], workers, scheduler)
    ):
        outcome = {"classes": have["classes"] + new["classes"], "up": have["up"] + new["up"]}
        cache.write(design, cell, outcome)
        out[cell_key(cell)] = outcome
        done += 1
        if progress:
            progress(done, len(cells))
    return out


def _execute(design: Design, tasks: list[tuple[Cell, int, int]], workers: int, scheduler: str | None):
    """Outcomes of (cell, have, want) tasks, in task order."""
    jobs = [(design, cell, have, want - have) for cell, have, want in tasks]
    if scheduler:
        try:
            from distributed import Client
        except ImportError:
            raise InputError(
                "--scheduler", "needs dask.distributed: pip install -e '.[distributed]' in a tabturn checkout"
            ) from None
        client = connect(Client, scheduler)
        try:
            futures = [client.submit(_task, *job, pure=False) for job in jobs]
            for future in futures:
                yield future.result()
        finally:
            client.close()
    elif workers <= 1 or len(jobs) <= 1:
        for job in jobs:
            yield _task(*job)
    else:
        with concurrent.futures.ProcessPoolExecutor(workers, initializer=die_with_parent) as pool:
            local = [pool.submit(_task, *job) for job in jobs]
            for done in local:
                yield done.result()


# ---------------------------------------------------------------- statistics


def mcnemar(base: list[int], other: list[int]) -> float:
    """Exact two-sided McNemar p-value of paired 0/1 outcomes (binomial test on the discordant pairs;
    floating point, exact to rounding)."""
    up = sum(1 for x, y in zip(base, other) if y and not x)
    down = sum(1 for x, y in zip(base, other) if x and not y)
    n = up + down
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(up, down) + 1))
    return min(1.0, 2 * tail / 2**n)


def holm(pvalues: list[float], level: float = 0.05) -> list[bool]:
    """Which hypotheses the Holm-Bonferroni procedure rejects at ``level`` (family-wise)."""
    order = sorted(range(len(pvalues)), key=lambda i: pvalues[i])
    reject = [False] * len(pvalues)
    for rank, i in enumerate(order):
        if pvalues[i] > level / (len(pvalues) - rank):
            break
        reject[i] = True
    return reject


# ---------------------------------------------------------------- the search


def seed_dependent(design: Design, k: int, n: int) -> bool:
    low, high = design.band
    return low < k / n < high


def search(
    design: Design,
    cache_dir: str | os.PathLike | None,
    workers: int = 1,
    scheduler: str | None = None,
    progress: Callable[[str, int, int], None] | None = None,
) -> dict:
    """Screen, refine, confirm, then the local design around each region's representative.

    Returns {"rows": one row per cell (every cell, hits or not), "regions": one row per region x local cell,
    "cells": every cell as run, in row order}.
    """
    cache = Cache(cache_dir, design)

    def run(stage: str, cells: list[Cell], seeds: int) -> dict[str, dict]:
        return run_cells(
            design, cells, seeds, cache, workers, scheduler, None if progress is None else _stage(progress, stage)
        )

    cells = coarse_cells(design)
    outcomes = run("screen", cells, design.screen_seeds)
    for round_ in range(1, design.refine_rounds + 1):
        shares = {k: _share(design, o) for k, o in outcomes.items()}
        new = refine(design, cells, shares, f"refine-{round_}")
        if not new:
            break
        outcomes.update(run(f"refine {round_}", new, design.screen_seeds))
        cells += new
    promote = [c for c in cells if 0 < sum(hits(design, outcomes[cell_key(c)])) < design.screen_seeds]
    if design.confirm_seeds > design.screen_seeds:
        outcomes.update(run("confirm", promote, design.confirm_seeds))
    rows = [cell_row(design, c, outcomes[cell_key(c)]) for c in cells]
    region_rows, local_cells = [], []
    for number, group in enumerate(regions(design, rows)[: design.max_regions], start=1):
        rep_row = representative(group)
        rep = next(c for c in cells if cell_key(c) == rep_row["cell"])
        local = local_design(design, rep, number)
        # the representative itself over confirm_seeds (it has them: a seed-dependent cell was confirmed)
        outs = run(f"local design {number}", local, design.confirm_seeds)
        base = hits(design, outcomes[rep_row["cell"]])[: design.confirm_seeds]
        region_rows += region_table(design, number, group, rep_row, local, outs, base)
        local_cells += [(c, outs[cell_key(c)]) for c in local]
    rows += [cell_row(design, c, o) for c, o in local_cells]
    return {"rows": rows, "regions": region_rows, "cells": cells + [c for c, _ in local_cells]}


def _stage(progress: Callable[[str, int, int], None], stage: str) -> Callable[[int, int], None]:
    return lambda done, total: progress(stage, done, total)


def _share(design: Design, outcome: dict) -> float:
    h = hits(design, outcome)
    return sum(h) / len(h)


ROW_HEAD = ("block", "cell", "stage", "stream_of", "region")
ROW_TAIL = (
    "seeds",
    "hits",
    "share",
    "wilson_low",
    "wilson_high",
    "seed_dependent",
    "untrained_path",
    "optimal",
    "up_forever",
    "exact_hunt_optimal",
)


def row_columns(design: Design) -> list[str]:
    return list(ROW_HEAD) + design.axes + list(ROW_TAIL)


def cell_row(design: Design, cell: Cell, outcome: dict) -> dict:
    """One tidy row: the cell's settings (every design axis), seeds, hunted share with its interval, other shares."""
    p = problem(design, cell)
    h = hits(design, outcome)
    k, n = sum(h), len(h)
    low, high = wilson(k, n)
    classes = outcome["classes"]
    return {
        "block": cell["block"],
        "cell": cell_key(cell),
        "stage": cell.get("_stage", "screen"),
        "stream_of": cell.get("_stream") or cell_key(cell),
        "region": cell.get("_region", ""),
        **{axis: _text(v) for axis, v in p.values.items()},
        "seeds": n,
        "hits": k,
        "share": f"{k / n:.4f}",
        "wilson_low": f"{low:.4f}",
        "wilson_high": f"{high:.4f}",
        "seed_dependent": str(seed_dependent(design, k, n)).lower(),
        "untrained_path": f"{classes.count('untrained-path') / n:.4f}",
        "optimal": f"{classes.count('optimal') / n:.4f}",
        "up_forever": f"{sum(outcome['up']) / n:.4f}",
        "exact_hunt_optimal": exact_hunt_optimal(design, p),
    }


def _text(value) -> str:
    if isinstance(value, dict):
        return " ".join(f"{k}={v}" for k, v in value.items())
    if isinstance(value, list):
        return " ".join(map(str, value))
    if isinstance(value, bool):
        return str(value).lower()
    return str(value)


def regions(design: Design, rows: list[dict]) -> list[list[dict]]:
    """Seed-dependent screen cells grouped by the design's region keys, in the order local designs get them:
    groups matching a ``prefer`` filter first, then the largest group of each block, the second largest of
    each, and so on (so one block with many cells cannot take every local design)."""
    found = [r for r in rows if r["seed_dependent"] == "true" and not r["block"].startswith("local-")]
    groups: dict[tuple, list[dict]] = {}
    for r in found:
        groups.setdefault(tuple(r.get(k, "") for k in design.region_keys), []).append(r)
    ordered = sorted(groups.values(), key=lambda g: (-len(g), g[0]["cell"]))
    rank: dict[str, int] = {}
    ranked = []
    for g in ordered:
        rank[g[0]["block"]] = rank.get(g[0]["block"], -1) + 1
        preferred = any(all(g[0].get(k) == v for k, v in p) for p in design.prefer)
        ranked.append((not preferred, 0 if preferred else rank[g[0]["block"]], -len(g), g[0]["cell"], g))
    return [g for *_, g in sorted(ranked, key=lambda t: t[:4])]


def representative(group: list[dict]) -> dict:
    """The row of the group whose share is closest to one half (ties: the first)."""
    return min(group, key=lambda r: abs(float(r["share"]) - 0.5))


def local_design(design: Design, rep: Cell, region: int) -> list[Cell]:
    """Every value of every local factor one at a time, and the listed pairs jointly, around ``rep``; paired
    with it (its stream)."""
    values = problem(design, rep).values
    base = {**identity(rep), "_stream": cell_key(rep), "_region": region}
    cells: list[Cell] = []

    def add(change: dict, stage: str) -> None:
        cell = {**base, **change, "block": f"local-{region}", "_stage": stage}
        if cell_key(cell) not in {cell_key(c) for c in cells}:
            cells.append(cell)

    mesa = any(k.startswith("mesa.") for k in rep)
    applies = {a for a, _ in design.local if a.startswith("mesa.") == mesa or not a.startswith(("mesa.", "learner."))}
    add({}, "local")  # the representative itself, on its own stream, under the local block
    for axis, options in design.local:
        for v in options:
            if axis in applies and not _same(v, values.get(axis)):
                add({axis: v}, f"local: {axis}")
    for a, b in design.pairs:
        for va, vb in itertools.product(dict(design.local)[a], dict(design.local)[b]):
            if {a, b} <= applies and not _same(va, values.get(a)) and not _same(vb, values.get(b)):
                add({a: va, b: vb}, f"local: {a} x {b}")
    return [c for c in cells if _valid(design, c)]


def _same(a, b) -> bool:
    """Whether two axis values are the same setting (numbers by value: 0 and 0.0 are one initial value)."""
    numbers = all(isinstance(v, (int, float)) and not isinstance(v, bool) for v in (a, b))
    return a == b if numbers else _text(a) == _text(b)


def _valid(design: Design, cell: Cell) -> bool:
    """Whether the learner accepts the cell's settings (e.g. a step-indexed table needs terminal truncation)."""
    try:
        problem(design, cell)
    except InputError:
        return False
    return True


REGION_COLUMNS = (
    "region",
    "cells",
    "representative",
    "representative_share",
    "change",
    "stage",
    "cell",
    "share",
    "wilson_low",
    "wilson_high",
    "untrained_path",
    "discordant_up",
    "discordant_down",
    "mcnemar_p",
    "moves",
    "effect",
)


def region_table(
    design: Design, number: int, group: list[dict], rep_row: dict, local: list[Cell], outs: dict, base: list[int]
) -> list[dict]:
    """One row per local cell: its paired comparison with the representative (McNemar, Holm within the region)."""
    rep = next(c for c in local if c["_stage"] == "local")
    rows, pvalues = [], []
    for cell in local:
        outcome = outs[cell_key(cell)]
        h = hits(design, outcome)
        k, n = sum(h), len(h)
        low, high = wilson(k, n)
        change = {a: v for a, v in identity(cell).items() if a != "block" and identity(rep).get(a) != v}
        p = mcnemar(base, h)
        pvalues.append(p if cell is not rep else 1.0)
        rows.append(
            {
                "region": number,
                "cells": len(group),
                "representative": rep_row["cell"],
                "representative_share": f"{sum(base) / len(base):.4f}",
                "change": "; ".join(f"{a} = {_text(v)}" for a, v in change.items()) or "(the representative)",
                "stage": cell["_stage"],
                "cell": cell_key(cell),
                "share": f"{k / n:.4f}",
                "wilson_low": f"{low:.4f}",
                "wilson_high": f"{high:.4f}",
                "untrained_path": f"{outcome['classes'].count('untrained-path') / n:.4f}",
                "discordant_up": sum(1 for x, y in zip(base, h) if y and not x),
                "discordant_down": sum(1 for x, y in zip(base, h) if x and not y),
                "mcnemar_p": f"{p:.3g}",
            }
        )
    reject = holm(pvalues[1:]) if len(pvalues) > 1 else []
    for row, moved in zip(rows, [False] + reject):
        share, rep_share = float(row["share"]), float(row["representative_share"])
        row["moves"] = str(moved).lower()
        row["effect"] = (
            ""
            if row["stage"] == "local"
            else "none"
            if not moved
            else "removes"
            if share <= design.band[0]
            else "strengthens"
            if share > rep_share
            else "weakens"
        )
    return rows


# ---------------------------------------------------------------- writing


def csv_text(rows: list[dict], columns: list[str] | tuple[str, ...]) -> str:
    import csv
    import io

    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), extrasaction="ignore", lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return buffer.getvalue()


def write_results(design: Design, result: dict, out: str | os.PathLike, source: dict | None = None) -> list[Path]:
    """DIR/search.csv (every cell), DIR/regions.csv (every local-design cell, paired), DIR/cells.json (each
    cell's settings, to rerun it) and DIR/provenance.json."""
    from tabturn.runs.files import dumps, provenance

    out = Path(out)
    paths = [out / "search.csv", out / "regions.csv", out / "cells.json", out / "provenance.json"]
    write_atomic(paths[0], csv_text(result["rows"], row_columns(design)))
    write_atomic(paths[1], csv_text(result["regions"], REGION_COLUMNS))
    write_atomic(paths[2], json.dumps(result["cells"], sort_keys=True, default=str, indent=0) + "\n")
    write_atomic(
        paths[3],
        dumps(
            provenance(
                command="search",
                design=dataclasses.asdict(design) | {"config": os.path.relpath(design.config)},
                streams=STREAMS,
                cells=len(result["rows"]),
                **(source or {}),
            )
        ),
    )
    return paths
