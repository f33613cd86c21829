"""Train learners on a turn config over many seeds and summarise them against the exact optimum."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.mdp import TabularMDP
from tabturn.core.rational import rational_text
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import state_index
from tabturn.exact.solution import Solution
from tabturn.experiments.compare import Comparison, compare
from tabturn.learners.tabular import LearnerSettings, learn


def default_settings(config: TurnConfig, **overrides) -> LearnerSettings:
    """Learner settings matching ``config``: its horizon (or 4 x (width + height) steps with bootstrapped
    truncation for an infinite horizon) and its discount; other fields from LearnerSettings or ``overrides``."""
    _, ny, nx = config.shape
    base: dict[str, Any] = {
        "horizon": config.horizon or 4 * (nx + ny),
        "discount": float(config.discount),
        "truncation": "terminal" if config.horizon else "bootstrap",
    }
    base.update(overrides)
    return LearnerSettings(**base)


def resolve_initial_value(value, solution: Solution) -> float:
    """A number, or "optimistic" / "pessimistic": one span beyond the best / worst exact optimal value
    (objective units; for losses optimistic means lower)."""
    values = solution.values.to_float()
    best, worst = (values.min(), values.max()) if solution.mdp.sign == 1 else (values.max(), values.min())
    span = float(abs(worst - best)) or 1.0
    if value == "optimistic":
        return float(best - solution.mdp.sign * span)
    if value == "pessimistic":
        return float(worst + solution.mdp.sign * span)
    try:
        number = float(_fraction_or_float(value))
    except (TypeError, ValueError, ZeroDivisionError):
        raise InputError("initial_value", f"must be a number, optimistic or pessimistic, not {value!r}") from None
    if not math.isfinite(number):
        raise InputError("initial_value", f"must be finite, not {value!r}")
    return number


def _fraction_or_float(value):
    """A number from text: "1/2" exactly, else as float() reads it ("0.1", "inf")."""
    if isinstance(value, str):
        try:
            return rational_text(value.strip(), "initial_value")
        except InputError:
            raise
        except (ValueError, ZeroDivisionError):
            return float(value)
    return value


def training_start(config: TurnConfig) -> tuple[tuple[int, Fraction], ...]:
    """Where training episodes start: the observed copy of the start cell under
    train-observed-deploy-unobserved, else the config's start."""
    x, y, observed = config.start
    if config.regime == "train-observed-deploy-unobserved":
        observed = True
    return ((state_index(config, x, y, observed), Fraction(1)),)


def run_study(
    config: TurnConfig,
    mdp: TabularMDP,
    solution: Solution,
    settings: LearnerSettings,
    seeds,
    base_seed: int = 0,
    progress=None,
    engine: str = "numpy",
) -> Comparison:
    """Train one learner per seed and compare each greedy policy with the exact optimum."""
    result = learn(
        mdp, settings, seeds, base_seed=base_seed, start=training_start(config), progress=progress, engine=engine
    )
    return compare(solution, result.greedy(), result.visited())


def wilson(k: int, n: int, z: float = 1.959963984540054) -> tuple[float, float]:
    """95% Wilson score interval for k successes out of n."""
    if n == 0:
        return (0.0, 1.0)
    p = k / n
    centre = (p + z * z / (2 * n)) / (1 + z * z / n)
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / (1 + z * z / n)
    return (max(0.0, centre - half), min(1.0, centre + half))


@dataclass(frozen=True)
class Share:
    """How many of the seeds, their fraction and its Wilson 95% interval."""

    count: int
    fraction: float
    wilson95: tuple[float, float]

    @classmethod
    def of(cls, count: int, n: int) -> Share:
        return cls(int(count), count / n, wilson(int(count), n))


@dataclass(frozen=True)
class WorldSummary:
    """One world's learned agents against the exact optimum. ``up_forever``: the greedy path goes up at every
    step, whatever the class; ``coverage``: mean, min and max share of reachable states visited (None when the
    comparison has no visit counts)."""

    seeds: int
    classes: dict[str, Share]
    up_forever: Share | None  # None where "up" is no behaviour of the environment (gridworlds)
    exact_up_forever_optimal: bool | None
    regret_mean: Fraction | None  # None: no seed graded there (check: none reaches the world)
    regret_max: Fraction | None
    regret_zero_fraction: float | None
    coverage: dict[str, float] | None = None


@dataclass(frozen=True)
class Summary:
    """Greedy agreement with the exact optimal sets (all states, along the optimal path; ``agreement_trained_mean``
    over the state(-step)s training updated, the headline) and each world's summary; ``unvisited_worlds``:
    the worlds no seed visited (left out of the headline); ``to_dict()`` is the JSON form (docs/json.md)."""

    agreement_all_mean: float
    agreement_path_mean: float
    worlds: dict[str, WorldSummary]
    agreement_trained_mean: float | None = None
    unvisited_worlds: tuple[str, ...] = ()

    def to_dict(self) -> dict:
        out = dataclasses.asdict(self)
        for world in out["worlds"].values():
            if world["coverage"] is None:
                del world["coverage"]
            if world["up_forever"] is None:  # not this environment's words
                del world["up_forever"], world["exact_up_forever_optimal"]
        return out


def summarise(comparison: Comparison) -> Summary:
    """Class fractions (with Wilson intervals), always-up fractions, regret and agreement summaries."""
    worlds = {}
    for world, classes in comparison.classes.items():
        n = len(classes)
        regrets = comparison.regret[world]
        cov = comparison.coverage[world] if comparison.coverage is not None else None
        worlds[world] = WorldSummary(
            seeds=n,
            classes={c: Share.of(sum(x == c for x in classes), n) for c in _classes(comparison.class_names, classes)},
            up_forever=Share.of(int(comparison.up_forever[world].sum()), n)
            if "always-up" in comparison.class_names
            else None,
            exact_up_forever_optimal=comparison.exact_up_forever_optimal.get(world),
            regret_mean=sum(regrets, Fraction(0)) / n,
            regret_max=max(regrets),
            regret_zero_fraction=sum(r == 0 for r in regrets) / n,
            coverage=None
            if cov is None
            else {"mean": float(cov.mean()), "min": float(cov.min()), "max": float(cov.max())},
        )
    trained = comparison.agreement_trained
    never = tuple(w for w, x in worlds.items() if x.classes["unvisited"].count == x.seeds)
    return Summary(
        float(np.mean(comparison.agreement_all)),
        float(np.mean(comparison.agreement_path)),
        worlds,
        None if trained is None or np.isnan(trained).all() else float(np.nanmean(trained)),
        never,
    )


def _classes(names: tuple[str, ...], classes: list[str]) -> tuple[str, ...]:
    """The comparison's class names, then any other class the seeds carry (e.g. check's "unreachable")."""
    return names + tuple(sorted(set(classes) - set(names)))


def per_seed_rows(comparison: Comparison, seeds, behaviour: dict | None = None) -> dict[str, list[dict]]:
    """{world: one row per seed}: class, exact regret (string and float), agreement, agreement along the optimal
    trajectory, the world's coverage when the visits are known, and for a gridworld the named cells the greedy
    path enters and its exact performance regret (``behaviour``: gridworld_behaviour.behaviour_columns); the rows
    of `tabturn learn --json` and `tabturn check`."""
    from tabturn.core.rational import format_rational

    def gridworld(world: str, b: int) -> dict:
        if behaviour is None:
            return {}
        regret = behaviour[world]["performance_regret"][b]
        return {
            "enters": behaviour[world]["enters"][b],
            "performance_regret": format_rational(regret),
            "performance_regret_float": float(regret),
        }

    return {
        world: [
            {
                "seed": int(seed),
                "class": comparison.classes[world][b],
                "regret": format_rational(comparison.regret[world][b]),
                "regret_float": float(comparison.regret[world][b]),
                "agreement": float(comparison.agreement_all[b]),
                "agreement_path": float(comparison.agreement_path[b]),
                **({} if comparison.coverage is None else {"coverage": float(comparison.coverage[world][b])}),
                **gridworld(world, b),
            }
            for b, seed in enumerate(seeds)
        ]
        for world in comparison.classes
    }


# Training recipes that reach the exact optimum (see reports/convergence.md), one per kind of dynamics, as
# `tabturn learn` flags. Deterministic worlds: optimistic initial values (one span beyond the best exact value)
# drive systematic exploration, and alpha = 1 makes each update exact once the successor is. Stochastic worlds
# need averaging: alpha = n^-0.6 and more exploration. Constant epsilon, so a longer run's checkpoints are the
# shorter runs.
RECIPES = {
    "deterministic": {
        "epsilon": 0.1,
        "epsilon_final": 0.1,
        "epsilon_schedule": "constant",
        "step_size": 1.0,
        "step_schedule": "constant",
        "omega": 1.0,
        "initial_value": "optimistic",
        "tie_break": "first",
    },
    "stochastic": {
        "epsilon": 0.2,
        "epsilon_final": 0.2,
        "epsilon_schedule": "constant",
        "step_size": 0.1,
        "step_schedule": "1/n",
        "omega": 0.6,
        "initial_value": "0",
        "tie_break": "first",
    },
}
BUDGETS = {"deterministic": [2**k for k in range(6, 13)], "stochastic": [1024, 4096, 16384, 32768]}
CONVERGED = 0.99  # the share of seeds exactly optimal in the trained world that counts as converged


def recipe_name(mdp: TabularMDP) -> str:
    """ "deterministic" or "stochastic": which recipe trains on ``mdp``."""
    return "deterministic" if mdp.is_deterministic() else "stochastic"


def recipe_settings(
    config: TurnConfig, solution: Solution, learner: str, table: str, episodes: int, **overrides
) -> LearnerSettings:
    """The recipe's learner settings for ``config`` ("step-indexed" or "stationary" table)."""
    flags = dict(RECIPES[recipe_name(solution.mdp)], **overrides)
    flags["initial_value"] = resolve_initial_value(flags["initial_value"], solution)
    return default_settings(config, algorithm=learner, episodes=episodes, time_indexed=table == "step-indexed", **flags)


def trained_world(config: TurnConfig, mdp: TabularMDP) -> str:
    """The world training starts in: "observed" or "unobserved" ("start" under supervised-until, whose one world
    is watched until the switch step)."""
    label = mdp.state_labels[training_start(config)[0][0]]
    if len(label) == 4:
        return "start"
    return "observed" if label[2] else "unobserved"


def converge(
    config: TurnConfig,
    mdp: TabularMDP,
    solution: Solution,
    learner: str,
    table: str,
    seeds,
    budgets=None,
    engine: str = "numpy",
    on_budget=None,
    base_seed: int = 0,
    **overrides,
) -> tuple[int | None, Comparison]:
    """Train with the recipe on a budget grid until >= CONVERGED of the seeds are exactly optimal in the trained
    world; return (that budget, its Comparison), or (None, the last budget's Comparison).

    ``on_budget(episodes, comparison)`` sees every budget tried."""
    seeds = list(seeds)
    grid = list(budgets or BUDGETS[recipe_name(mdp)])
    world = trained_world(config, mdp)
    settings = recipe_settings(config, solution, learner, table, grid[-1], **overrides)
    found: list = [None, None]

    def record(episodes: int, result) -> bool:
        comp = compare(solution, result.greedy(), result.visited())
        found[1] = comp
        if on_budget is not None:
            on_budget(episodes, comp)
        if comp.classes[world].count("optimal") >= CONVERGED * len(seeds):
            found[0] = episodes
            return True
        return False

    learn(
        mdp,
        settings,
        seeds,
        base_seed=base_seed,
        start=training_start(config),
        engine=engine,
        checkpoints=grid,
        on_checkpoint=record,
    )
    return found[0], found[1]
