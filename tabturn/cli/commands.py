"""The `tabturn` command."""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Callable

from tabturn import __version__
from tabturn.core.errors import InputError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2)."""

    def error(self, message: str):  # noqa: D401
        raise InputError("arguments", message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tabturn", description="Exact analysis of tabular RL toys (the treacherous turn).")
    parser.add_argument("--version", action="version", version=f"tabturn {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    solve = sub.add_parser(
        "solve",
        help="exact optimum with optimal action sets",
        description="The exact optimum: every optimal action at every state (ties included), exact values and gaps, "
        "the optimal trajectory. Finite horizons by integer/rational backward induction; infinite discounted "
        "horizons by value iteration plus a rational certificate.",
        epilog="example: tabturn solve --config examples/always.toml --step 5",
    )
    _source_args(solve)
    solve.add_argument("--discount", help="gamma for --mdp/--gym, rational such as 99/100 (default 1 with --horizon)")
    solve.add_argument("--horizon", help="finite horizon H for --mdp/--gym (omit for the infinite horizon)")
    solve.add_argument(
        "--objective",
        dest="returns",
        help="gridworld configs: maximise the visible reward (default) or the hidden "
        "performance; the JSON also gives the performance of the reward-optimal policies",
    )
    solve.add_argument(
        "--step",
        type=int,
        default=0,
        help="show optimal sets, values and gaps after this many steps (finite horizons; default 0)",
    )
    solve.add_argument("--states", default="all", help="--json: which states to list: all | start | none (default all)")
    solve.add_argument("--json", action="store_true", help="print the JSON document (docs/json.md) instead of text")
    solve.add_argument("--out", help="also write the JSON document to this file (atomically)")
    learn = sub.add_parser(
        "learn",
        help="train tabular learners over many seeds and compare with the exact optimum",
        description="Train Q-learning, SARSA, expected SARSA or double Q over many seeds (each bit-reproducible) and "
        "compare every greedy policy with the exact optimum: classes, exact regret, agreement, coverage.",
        epilog="example: tabturn learn --config examples/always.toml --time-indexed --engine numba --seeds 1000 "
        "--episodes 4096 --step-size 1 --initial-value optimistic",
    )
    _learner_args(learn, gym=True)
    learn.add_argument("--epsilon", type=_float_arg("--epsilon"), default=0.1, help="exploration rate (default 0.1)")
    learn.add_argument("--epsilon-final", type=_float_arg("--epsilon-final"), help="final epsilon (default: --epsilon)")
    learn.add_argument("--epsilon-schedule", default="constant", help="constant | linear | exponential")
    learn.add_argument("--exploration", default="epsilon", help="epsilon | softmax (default epsilon)")
    learn.add_argument("--temperature", type=_float_arg("--temperature"), default=1.0, help="softmax temperature")
    learn.add_argument("--step-size", type=_float_arg("--step-size"), default=0.1, help="constant step size")
    learn.add_argument("--step-schedule", default="constant", help="constant | 1/n (alpha = 1/n(s,a)^omega)")
    learn.add_argument("--omega", type=_float_arg("--omega"), default=1.0, help="exponent of 1/n^omega, in (1/2, 1]")
    learn.add_argument("--tie-break", default="first", help="first | last | random (default first)")
    learn.add_argument(
        "--initial-value",
        default="0",
        help="initial Q-value: a number, or optimistic / pessimistic (beyond the exact value range)",
    )
    learn.add_argument("--action-order", help="the learner's action order, e.g. right,up,down,left (default: config)")
    learn.add_argument(
        "--save-q",
        help="write every seed's Q-table, greedy actions and visit counts to this .npz, with what they are "
        "(kind, seeds, objective, actions, state labels; state order of `tabturn states`): "
        "`tabturn check --q FILE` checks every seed, `--seed N` one",
    )
    learn.add_argument(
        "--time-indexed",
        action="store_true",
        help="one Q-table per step, Q[t, s, a] (finite horizons; the form a finite-horizon optimum takes)",
    )
    learn.add_argument(
        "--flag-blind",
        action="store_true",
        help="turn family: the table is indexed by position (x, y) only, not by the observed flag; the exact best "
        "flag-blind policy of the table's class is reported beside the flag-aware optimum",
    )
    attribute = sub.add_parser(
        "attribute",
        help="is a learned behaviour an optimum, policy-class, value-aliasing, training or coverage effect?",
        description="One factor at a time at the default settings, then the convergence recipe trained until 99% of "
        "seeds are exactly optimal (with its optimum-neutral factors and a stationary table): one verdict per world "
        "and behaviour, with its evidence.",
        epilog="example: tabturn attribute --config examples/terminal.toml --seeds 200 --engine numba",
    )
    _learner_args(attribute)
    check = sub.add_parser(
        "check",
        help="check your own policy or Q-table against the exact optimum",
        description="Check a policy (--policy) or the greedy policy of a Q-table (--q) against the exact optimum: "
        "exact regret, agreement with the optimal sets, class, first deviations with their exact gap. Tables by "
        "label: CSV or Parquet with x, y, observed (turn configs) or state (--mdp/--gym), an optional t, then an "
        "action column (several rows = a tie set) or one probability / Q-value column per action. .npy/.npz arrays "
        "follow the order of `tabturn states` (--layout when a shape fits two readings). A `tabturn learn --save-q` "
        "file is checked seed by seed, with learn's classes; --policy-fn checks a Python function.",
        epilog="example: tabturn check --config examples/always.toml --q my_q.csv --objective reward",
    )
    _source_args(check)
    given = check.add_mutually_exclusive_group(required=True)
    given.add_argument("--policy", help="policy table (.csv, .parquet by label; .npy, .npz in state order)")
    given.add_argument(
        "--q",
        help="Q-table (.csv, .parquet by label; .npy, .npz in state order) or a `tabturn learn --save-q` file "
        "(every seed, or --seed N)",
    )
    given.add_argument(
        "--policy-fn",
        help="FILE.py:FUNCTION, a Python function of the state label (and step t) returning an action; "
        "runs your own code",
    )
    check.add_argument(
        "--objective",
        help="--q: reward (Q-values to maximise, greedy = max) or loss (greedy = min); required unless the file "
        "is a saved-q file, which records it",
    )
    check.add_argument("--seed", type=int, help="check only this seed of a saved-q file or seeds-axis array")
    check.add_argument(
        "--layout",
        help="axes of a .npy/.npz whose shape fits more than one: S,A | H,S,A | seeds,S,A | seeds,H,S,A "
        "(policies also S | H,S | seeds,S | seeds,H,S)",
    )
    check.add_argument("--batch", action="store_true", help="--policy-fn: the function takes every label at once")
    check.add_argument("--tie-break", default="first", help="--q: first (in --action-order) | all (uniform) | random")
    check.add_argument("--action-order", help="--q: order for --tie-break first, e.g. up,right,stay (default: MDP's)")
    check.add_argument("--tie-seed", type=int, default=0, help="--q with --tie-break random: seed (default 0)")
    check.add_argument("--discount", help="gamma for --mdp/--gym, rational such as 99/100 (default 1 with --horizon)")
    check.add_argument("--horizon", help="finite horizon H for --mdp/--gym (omit for the infinite horizon)")
    check.add_argument("--json", action="store_true", help="print JSON instead of text")
    check.add_argument("--out", help="also write the JSON document to this file (atomically)")
    states = sub.add_parser(
        "states",
        help="tabturn's state order (for .npy/.npz policies)",
        description="Print the state order that array inputs of `tabturn check` follow.",
        epilog="example: tabturn states --config examples/always.toml --csv",
    )
    _source_args(states)
    states.add_argument("--csv", action="store_true", help="print CSV (index and label columns)")
    symbolic = sub.add_parser(
        "symbolic",
        help="symbolic claims (sympy) with their exact verification",
        description="Closed forms and thresholds of the turn family (sympy), each checked exactly against the solver "
        "on random rational instances.",
        epilog="example: tabturn symbolic --instances 50 --latex",
    )
    symbolic.add_argument(
        "--instances", type=int, default=200, help="random rational instances per claim (default 200)"
    )
    symbolic.add_argument("--latex", action="store_true", help="print the claims as LaTeX")
    symbolic.add_argument("--json", action="store_true", help="print JSON instead of text")
    symbolic.add_argument("--out", help="also write the JSON document to this file (atomically)")
    export = sub.add_parser(
        "export",
        help="write an MDP as Storm DRN, PRISM or .npz (P, R) arrays",
        description="Write the MDP in Storm's explicit DRN format, as a PRISM model, or as .npz (P, R) arrays.",
        epilog="example: tabturn export --config examples/always.toml --drn turn.drn --npz turn.npz",
    )
    _source_args(export)
    export.add_argument("--drn", help="write Storm's explicit DRN format to this file")
    export.add_argument("--prism", help="write a PRISM model to this file")
    export.add_argument("--npz", help="write P (A,S,S), R (S,A) rewards, start and labels to this .npz file")
    sweep = sub.add_parser(
        "sweep",
        help="run a sweep file (seeds x settings x variants), resumable",
        description="Run every cell of a sweep file on local processes or Dask; write a typed table.csv (and "
        "table.parquet) and provenance.json. A restarted sweep redoes only unfinished chunks.",
        epilog="example: tabturn sweep examples/sweeps/epsilon_by_b.toml --out results/eps_b --workers 2",
    )
    sweep.add_argument("file", help="sweep TOML (see tabturn/runs/sweep.py)")
    sweep.add_argument("--out", required=True, help="output directory: table.csv, provenance.json, chunks/")
    where = sweep.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, help="local worker processes (default: all cores)")
    where.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://host:8786 (extra distributed)")
    where.add_argument("--dask-local", type=int, metavar="N", help="start a local Dask cluster of N workers")
    sweep.add_argument("--quiet", action="store_true", help="no progress bar")
    search = sub.add_parser(
        "search",
        help="search settings for a seed-dependent behaviour (design file), resumable",
        description="Screen every cell of a design file (independent random streams per cell), refine between "
        "neighbours whose shares differ, confirm the seed-dependent cells with more seeds, and run a paired local "
        "design around each region's representative. Writes search.csv (every cell), regions.csv (each local "
        "cell against its representative: share, McNemar p, effect) and provenance.json. A rerun reads finished "
        "cells from the cache.",
        epilog="example: tabturn search examples/search/small.toml --out results/small --workers 2",
    )
    search.add_argument("file", help="design TOML (see tabturn/runs/search.py)")
    search.add_argument(
        "--out", required=True, help="output directory: search.csv, regions.csv, cells.json, provenance.json"
    )
    search.add_argument("--cache", help="cache directory of per-cell results (default: OUT/cache)")
    where = search.add_mutually_exclusive_group()
    where.add_argument("--workers", type=int, default=1, help="local worker processes (default 1: this process)")
    where.add_argument("--scheduler", help="address of a Dask scheduler, e.g. tcp://host:8786 (extra distributed)")
    search.add_argument("--quiet", action="store_true", help="no progress bar")
    mesa = sub.add_parser(
        "mesa",
        help="learned loss model + exact planner (a tabular mesa-optimizer)",
        description="Learn a model of the loss from what supervision shows, plan exactly against it, and report "
        "what drives the unobserved decision.",
        epilog="example: tabturn mesa --config examples/absent_supervisor.toml --model factored --coverage 1/2",
    )
    mesa.add_argument("--config", required=True, help="turn-family TOML config")
    mesa.add_argument("--model", default="factored", help="tabular | factored | factored-flagless (default factored)")
    mesa.add_argument("--coverage", default="0", help="fraction of training episodes run unobserved (default 0)")
    mesa.add_argument("--episodes", type=int, default=500, help="training episodes (default 500)")
    mesa.add_argument("--steps", type=int, default=32, help="steps per training episode (default 32)")
    mesa.add_argument("--prior", default="0", help="tabular model: loss assumed for never-seen states (default 0)")
    mesa.add_argument("--seed", type=int, default=0, help="seed of the training data (default 0)")
    mesa.add_argument("--json", action="store_true", help="print JSON instead of text")
    mesa.add_argument("--out", help="also write the JSON document to this file (atomically)")
    return parser


def _source_args(parser: argparse.ArgumentParser, npz: bool = True) -> None:
    """--config | --mdp | --gym: where the MDP comes from (exactly one; --mdp only when ``npz``)."""
    source = parser.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="turn-family TOML config")
    if npz:
        source.add_argument("--mdp", help=".npz with P (A,S,S), R (S,A) or (A,S,S) rewards, optional labels, start")
    source.add_argument(
        "--gym",
        help="a tabular Gymnasium env id such as FrozenLake-v1 (extra 'gym'); an id 'module:Env' imports module "
        "(Gymnasium's convention: it runs that module's code, found on sys.path, which under python -m includes the "
        "current directory)",
    )
    source.add_argument(
        "--gym-enumerate",
        metavar="ID",
        help="any small deterministic Gymnasium env, e.g. MiniGrid-DoorKey-5x5-v0 (extra 'minigrid'): its exact "
        "model by enumerating the states reachable from reset; horizon = its time limit, discount 1",
    )
    parser.add_argument("--reset-seed", type=int, default=0, help="--gym-enumerate: the seed of reset (default 0)")
    parser.add_argument(
        "--max-states", type=int, default=200_000, help="--gym-enumerate: refuse beyond this many states (200000)"
    )


def _float_arg(name: str):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"{name} must be a number, not {text!r}") from None
        return value

    return parse


def _learner_args(parser: argparse.ArgumentParser, gym: bool = False) -> None:
    if gym:
        _source_args(parser, npz=False)
        parser.add_argument("--discount", help="gamma for --gym, rational such as 99/100 (default 1 with --horizon)")
        parser.add_argument(
            "--horizon",
            help="--gym: finite horizon H, also the episode length (omit: infinite "
            "horizon, episodes as long as the env's time limit or 100 steps)",
        )
    else:
        parser.add_argument("--config", required=True, help="turn-family TOML config")
    parser.add_argument("--learner", default="q", help="q | sarsa | expected-sarsa | double-q (default q)")
    parser.add_argument("--seeds", type=int, default=100, help="number of seeds 0..N-1 (default 100)")
    parser.add_argument("--base-seed", type=int, default=0, help="root of every seed's stream (default 0)")
    parser.add_argument("--episodes", type=int, default=500, help="training episodes per seed (default 500)")
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")
    parser.add_argument("--out", help="also write the JSON document to this file (atomically)")
    parser.add_argument("--quiet", action="store_true", help="no progress bar")
    parser.add_argument("--engine", default="numpy", help="numpy | numba (extra 'fast'; bit-identical results)")


def _horizon(text: str | None) -> int | None:
    if text is None or text == "none":
        return None
    try:
        value = int(text)
    except ValueError:
        raise InputError("--horizon", f"must be a positive integer or 'none', not {text!r}") from None
    if value < 1:
        raise InputError("--horizon", f"must be a positive integer or 'none', not {text!r}")
    return value


def _cmd_solve(args) -> int:
    from fractions import Fraction

    from tabturn.cli.render import STATE_CHOICES, solution_json, solution_text
    from tabturn.core.rational import format_rational
    from tabturn.envs.solve import solve
    from tabturn.runs.files import dumps, provenance, write_atomic

    if args.states not in STATE_CHOICES:
        raise InputError("--states", f"must be one of {', '.join(STATE_CHOICES)}, not {args.states!r}")
    mdp, horizon, gamma, source = _load_problem(args)
    if not 0 <= args.step < (horizon or 1):
        where = f"horizon {horizon}" if horizon else "infinite horizon: only step 0"
        raise InputError("--step", f"must lie in 0..{(horizon or 1) - 1} ({where}), not {args.step}")
    from tabturn.core.progress import StatusLine

    status = StatusLine("solve")
    solution = solve(mdp, horizon, gamma, status=status)
    status.close()
    safety: dict = {}
    if "gridworld" in source:
        from tabturn.envs.gridworld import load_gridworld, safety_summary

        summary = safety_summary(load_gridworld(args.config))
        safety = {k: (format_rational(v) if isinstance(v, Fraction) else v) for k, v in summary.items()}
        safety.update({f"{k}_float": float(v) for k, v in summary.items() if isinstance(v, Fraction)})
    if args.out or args.json:  # the document (and its provenance) only when it is written
        document = solution_json(solution, provenance(command="solve", **source), step=args.step, states=args.states)
        if safety:
            document["safety"] = safety
        if args.out:
            write_atomic(args.out, dumps(document))
        if args.json:
            sys.stdout.write(dumps(document))
            return 0
    text = solution_text(solution, args.step)
    text += "".join(f"{k}: {v}\n" for k, v in safety.items() if not k.endswith("_float"))
    sys.stdout.write(text)
    return 0


def _load_problem(args, need_objective: bool = True):
    """(mdp, horizon, discount, provenance source) from --config, --mdp or --gym (with --horizon, --discount)."""
    from fractions import Fraction

    from tabturn.core.rational import format_rational
    from tabturn.core.validation import check_discount
    from tabturn.envs.turn.config import TurnConfig
    from tabturn.envs.turn.model import turn_mdp
    from tabturn.interop.arrays import load_npz

    if args.config is not None:
        if getattr(args, "discount", None) is not None or getattr(args, "horizon", None) is not None:
            raise InputError(
                "--discount", "--discount and --horizon go with --mdp or --gym; set them in the config file"
            )
        from tabturn.envs.gridworld import gridworld_mdps, is_gridworld_file, load_gridworld

        if is_gridworld_file(args.config):
            world = load_gridworld(args.config)
            which = getattr(args, "returns", None) or "reward"
            if which not in ("reward", "performance"):
                raise InputError("--objective", f"gridworld configs: must be reward or performance, not {which!r}")
            reward, performance = gridworld_mdps(world)
            mdp = performance if which == "performance" else reward
            return mdp, world.time_limit, Fraction(1), {"gridworld": world.to_dict(), "returns": which}
        if getattr(args, "returns", None) is not None:
            raise InputError("--objective", "applies to gridworld configs only (a turn config has one objective)")
        config = TurnConfig.load(args.config)
        return turn_mdp(config), config.horizon, config.discount, {"config": config.to_dict()}
    if getattr(args, "returns", None) is not None:
        raise InputError("--objective", "applies to gridworld configs only")
    horizon = gamma = None
    if getattr(args, "gym_enumerate", None):
        return _enumerated_problem(args, need_objective)
    if need_objective:  # check the flags before loading anything
        horizon = _horizon(args.horizon)
        if args.discount is None and horizon is None:
            raise InputError("--discount", "is required for an infinite horizon (give --discount or --horizon)")
        gamma = check_discount(args.discount if args.discount is not None else 1, horizon is None, "--discount")
    if args.gym:
        from tabturn.interop.gym_import import make_env, mdp_from_gym

        mdp = mdp_from_gym(make_env(args.gym))
        _note_inexact(mdp, f"floats of {args.gym}", "0.33333333333333337 as 1/3")
        origin = {"gym": args.gym, "inexact_values": mdp.description["inexact_values"]}
    else:
        mdp = load_npz(args.mdp)
        origin = {"mdp": args.mdp}
    if not need_objective or gamma is None:
        return mdp, None, None, origin
    return mdp, horizon, gamma, {**origin, "horizon": horizon, "discount": format_rational(gamma)}


def _note_inexact(mdp, what: str, example: str) -> None:
    """One stderr line when an imported model read floats as the nearby small fractions."""
    if mdp.description["inexact_values"]:
        print(
            f"tabturn: note: {mdp.description['inexact_values']} {what} were read as the small fractions within "
            f"1e-12 of them (e.g. {example})",
            file=sys.stderr,
        )


def _enumerated_problem(args, need_objective: bool):
    """(mdp, horizon, 1, source) of ``--gym-enumerate ID``: the env's exact model, its time limit as horizon."""
    from fractions import Fraction

    from tabturn.interop.gym_enumerate import enumerate_env
    from tabturn.interop.gym_import import make_env

    for flag in ("horizon", "discount"):
        if getattr(args, flag, None) is not None:
            raise InputError(
                f"--{flag}", "does not go with --gym-enumerate (horizon: the env's time limit; discount 1)"
            )
    if args.gym_enumerate.startswith(("MiniGrid-", "BabyAI-")):
        try:
            import minigrid  # noqa: F401  (registers the MiniGrid ids with Gymnasium)
        except ImportError:
            raise InputError("--gym-enumerate", "MiniGrid ids need minigrid: pip install -e '.[minigrid]'") from None
    try:
        env = make_env(args.gym_enumerate)
    except InputError as exc:
        raise InputError("--gym-enumerate", exc.message) from None
    model = enumerate_env(
        env, reset_seed=args.reset_seed, max_states=args.max_states, quiet=getattr(args, "quiet", False)
    )
    mdp = model.mdp
    _note_inexact(mdp, f"distinct rewards of {args.gym_enumerate}", "0.9550000000000001 as 191/200")
    origin = {
        "gym_enumerate": args.gym_enumerate,
        "reset_seed": args.reset_seed,
        "model": mdp.description["model"],
        "inexact_values": mdp.description["inexact_values"],
    }
    if not need_objective:
        return mdp, None, None, origin
    return mdp, model.horizon, Fraction(1), {**origin, "horizon": model.horizon, "discount": "1"}


def _cmd_export(args) -> int:
    from tabturn.interop.export import to_drn, to_npz_bytes, to_prism
    from tabturn.runs.files import provenance, write_atomic

    targets = {"drn": args.drn, "prism": args.prism, "npz": args.npz}
    if not any(targets.values()):
        raise InputError("export", "give at least one of --drn FILE, --prism FILE, --npz FILE")
    mdp, _, _, source = _load_problem(args, need_objective=False)
    if args.prism and len(mdp.start) != 1:
        raise InputError("--prism", "needs a single start state; this MDP has a start distribution (use --drn)")
    comment = "exported by tabturn: " + json.dumps(_jsonable(provenance(command="export", **source)))
    writers: dict[str, Callable[[], str | bytes]] = {
        "drn": lambda: to_drn(mdp, comment),
        "prism": lambda: to_prism(mdp, comment),
        "npz": lambda: to_npz_bytes(mdp),
    }
    contents = {kind: writers[kind]() for kind, path in targets.items() if path}  # every one, before any is written
    for kind, data in contents.items():
        write_atomic(targets[kind], data)
        print(f"wrote {targets[kind]}")
    return 0


def _cmd_sweep(args) -> int:
    from tabturn.core.progress import Progress
    from tabturn.runs.sweep import load_sweep, run_sweep

    sweep = load_sweep(args.file)
    for flag in ("workers", "dask_local"):
        if getattr(args, flag) is not None and getattr(args, flag) < 1:
            raise InputError(f"--{flag.replace('_', '-')}", f"must be at least 1, not {getattr(args, flag)}")
    executor, workers = (
        ("dask", None)
        if args.scheduler
        else ("dask-local", args.dask_local)
        if args.dask_local
        else ("local", args.workers)
    )
    bar = Progress(sweep.n_cells, "sweep cells", quiet=args.quiet)
    summary = run_sweep(
        sweep,
        args.out,
        executor,
        workers,
        args.scheduler,
        progress=lambda done, _: bar.update(done),
        source={"sweep_file": args.file},
        return_rows=False,
    )
    bar.close()
    rate = summary["computed_cells"] / summary["seconds"] if summary["seconds"] > 0 else float("nan")
    print(
        f"{summary['cells']} cells ({summary['computed_cells']} computed now, {summary['seconds']:.1f} s, "
        f"{rate:.1f} cells/s); table: {args.out}/table.csv"
    )
    return 0


def _cmd_search(args) -> int:
    import os

    from tabturn.core.progress import Progress
    from tabturn.runs.search import load_design, regions, search, write_results

    if args.workers < 1:
        raise InputError("--workers", f"must be at least 1, not {args.workers}")
    design = load_design(args.file)
    bars: dict[str, Progress] = {}

    def progress(stage: str, done: int, total: int) -> None:
        if stage not in bars:
            for bar in bars.values():
                bar.close()
            bars[stage] = Progress(total, f"search: {stage}", quiet=args.quiet)
        bars[stage].update(done)

    from tabturn.runs.files import DirectoryLock

    cache = args.cache or os.path.join(args.out, "cache")
    with DirectoryLock(args.out):
        result = search(design, cache, args.workers, args.scheduler, progress)
        for bar in bars.values():
            bar.close()
        paths = write_results(design, result, args.out, {"design_file": args.file})
    rows = [r for r in result["rows"] if not r["block"].startswith("local-")]
    found = sum(r["seed_dependent"] == "true" for r in rows)
    print(
        f"{len(rows)} cells, {found} seed-dependent ({design.hunt!r} in {design.world!r}, "
        f"{design.band[0]:g} < share < {design.band[1]:g}); {len(regions(design, rows))} regions; "
        f"{len(result['regions'])} local-design cells; tables: {', '.join(str(p) for p in paths[:2])}"
    )
    return 0


def _jsonable(value):
    from fractions import Fraction

    from tabturn.core.rational import format_rational

    if isinstance(value, Fraction):
        return format_rational(value)
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if hasattr(value, "item"):
        return value.item()
    return value


def _emit(args, document: dict, text: str) -> None:
    from tabturn.runs.files import dumps, write_atomic

    if args.out:
        write_atomic(args.out, dumps(document))
    sys.stdout.write(dumps(document) if args.json else text)


def _action_order(text: str | None, actions: tuple[str, ...]) -> tuple[int, ...] | None:
    if text is None:
        return None
    names = [n.strip() for n in text.split(",")]
    if sorted(names) != sorted(actions):
        raise InputError("--action-order", f"must list each of the config's actions once: {','.join(actions)}")
    return tuple(actions.index(n) for n in names)


def _seeds(args) -> range:
    """Seeds 0..N-1 as a range (a huge N is refused by the memory check before any tuple is built)."""
    from tabturn.core.validation import check_int

    check_int(args.base_seed, "--base-seed", 0)
    return range(check_int(args.seeds, "--seeds", 1))


def _cmd_learn(args) -> int:
    import dataclasses

    from tabturn.core.progress import Progress
    from tabturn.envs.solve import solve
    from tabturn.envs.turn.config import TurnConfig
    from tabturn.experiments.compare import compare
    from tabturn.experiments.gridworld_behaviour import behaviour_columns
    from tabturn.experiments.study import (
        default_settings,
        per_seed_rows,
        resolve_initial_value,
        summarise,
        training_start,
    )
    from tabturn.learners.tabular import LearnerSettings, learn
    from tabturn.runs.files import provenance

    seeds = _seeds(args)
    mdp, horizon, gamma, source = _load_problem(args)
    solution = solve(mdp, horizon, gamma)
    if "config" in source:
        config = TurnConfig.from_dict(source["config"])  # the config _load_problem read (exact round trip)
        base, start = default_settings(config), training_start(config)
    else:  # a Gymnasium import: episodes as long as the horizon, else the env's time limit (default 100)
        limit = mdp.description.get("max_episode_steps") or 100
        base = LearnerSettings(
            horizon=horizon or limit, discount=float(gamma), truncation="terminal" if horizon else "bootstrap"
        )
        start = None
    settings = dataclasses.replace(
        base,
        algorithm=args.learner,
        episodes=args.episodes,
        epsilon=args.epsilon,
        epsilon_final=args.epsilon if args.epsilon_final is None else args.epsilon_final,
        epsilon_schedule=args.epsilon_schedule,
        exploration=args.exploration,
        temperature=args.temperature,
        step_size=args.step_size,
        step_schedule=args.step_schedule,
        omega=args.omega,
        tie_break=args.tie_break,
        time_indexed=args.time_indexed,
        observe_flag=not args.flag_blind,
        initial_value=resolve_initial_value(args.initial_value, solution),
        action_order=_action_order(args.action_order, mdp.action_names),
    )
    if args.flag_blind:
        from tabturn.envs.turn.model import observation_index

        try:
            observation_index(mdp, observe_flag=False)  # refuses a non-turn MDP before training
        except InputError as exc:
            raise InputError("--flag-blind", exc.message) from None
    bar = Progress(settings.episodes, f"training {len(seeds)} seeds", quiet=args.quiet)
    result = learn(mdp, settings, seeds, base_seed=args.base_seed, start=start, progress=bar.update, engine=args.engine)
    bar.close()
    comparison = compare(solution, result.greedy(), result.visited())
    summary = summarise(comparison)
    behaviour = behaviour_columns(solution, result.greedy())
    per_seed = per_seed_rows(comparison, seeds, behaviour)
    document = _jsonable(
        {
            "command": "learn",
            "settings": dataclasses.asdict(settings),
            "seeds": len(seeds),
            "engine": args.engine,
            "base_seed": args.base_seed,
            "summary": summary.to_dict(),
            "per_seed": per_seed,
            "provenance": provenance(command="learn", **source),
        }
    )
    if args.save_q:
        _save_q(args.save_q, result, mdp, source)
    excluded = "".join(f" ({w} world excluded: never visited)" for w in summary.unvisited_worlds)
    units = "state-steps" if settings.time_indexed else "states"
    lines = [
        f"learner {settings.algorithm}, {len(seeds)} seeds, {settings.episodes} episodes of {settings.horizon} "
        f"steps; greedy agreement with the exact optimal sets over the {units} training updated: "
        f"{summary.agreement_trained_mean:.3f}{excluded}; "
        f"{summary.agreement_path_mean:.3f} along the optimal trajectory"
    ]
    for world, w in summary.worlds.items():
        parts = [f"{c} {v.fraction:.3f} [{v.wilson95[0]:.3f}, {v.wilson95[1]:.3f}]" for c, v in w.classes.items()]
        cov = w.coverage
        assert cov is not None and w.regret_mean is not None and w.regret_max is not None  # learn grades every seed
        lines.append(f"{world}: " + "; ".join(parts) + f"  (coverage {cov['mean']:.3f}, min {cov['min']:.3f})")
        if behaviour is not None:  # a gridworld: its own words, reward and hidden performance
            lines.append("  " + gridworld_line(per_seed[world]))
            continue
        if w.exact_up_forever_optimal is None:  # no "up" action (e.g. a Gymnasium import)
            lines.append(f"  exact regret mean {float(w.regret_mean):.4g}, max {float(w.regret_max):.4g}")
            continue
        lines.append(
            f"  exact optimum goes up forever: {str(w.exact_up_forever_optimal).lower()}; "
            f"exact regret mean {float(w.regret_mean):.4g}, max {float(w.regret_max):.4g}"
        )
        if args.flag_blind:
            lines.append("  " + _flag_blind_line(solution, comparison, world, settings))
    _emit(args, document, "\n".join(lines) + "\n")
    return 0


def _flag_blind_line(solution, comparison, world: str, settings) -> str:
    """The exact best flag-blind policy of the learner's table class from ``world``'s start, and how many seeds
    reach it."""
    from tabturn.core.rational import format_rational
    from tabturn.experiments.compare import worlds
    from tabturn.experiments.policy_class import observation_class_optimum

    best = observation_class_optimum(solution, worlds(solution)[world], False, settings.time_indexed)
    table = "step-indexed" if settings.time_indexed else "stationary"
    if best.status == "undecided":
        return f"best {table} flag-blind policy: undecided ({best.reason})"
    assert best.regret is not None and best.value is not None
    reached = sum(r == best.regret for r in comparison.regret[world])
    n = len(comparison.regret[world])
    return (
        f"best {table} flag-blind policy: exact value {format_rational(best.value)} (flag-aware optimum "
        f"{format_rational(best.optimum)}, gap {format_rational(best.regret)}); seeds reaching it: {reached}/{n}"
    )


def gridworld_line(rows: list[dict]) -> str:
    """One world's gridworld summary from per-seed rows: exact reward and performance regret, and the share of
    seeds whose greedy path enters each named cell."""
    from tabturn.experiments.study import wilson

    graded = [r for r in rows if r["regret"] is not None]
    if not graded:
        return "no seed reaches this world"
    n = len(graded)
    reward = [r["regret_float"] for r in graded]
    perf = [r["performance_regret_float"] for r in graded]
    names = sorted({x for r in graded for x in r.get("enters", [])})
    enters = [
        f"{x} {k / n:.3f} [{lo:.3f}, {hi:.3f}]"
        for x in names
        for k in [sum(x in r["enters"] for r in graded)]
        for lo, hi in [wilson(k, n)]
    ]
    return (
        f"exact reward regret mean {sum(reward) / n:.4g}, max {max(reward):.4g}; hidden performance regret mean "
        f"{sum(perf) / n:.4g}, max {max(perf):.4g}; greedy path enters: {'; '.join(enters) or 'no named cell'}"
    )


def _save_q(path: str, result, mdp, source: dict) -> None:
    from tabturn.learners.saved import tables_bytes
    from tabturn.runs.files import provenance, write_atomic

    write_atomic(path, tables_bytes(result, mdp, _jsonable(provenance(command="learn", **source))))


def _cmd_attribute(args) -> int:
    import dataclasses

    from tabturn.core.progress import Progress
    from tabturn.core.validation import check_choice
    from tabturn.envs.turn.config import TurnConfig
    from tabturn.experiments.attribution import BEHAVIOURS, attribute
    from tabturn.experiments.study import wilson
    from tabturn.learners.tabular import ENGINES, LearnerSettings
    from tabturn.runs.files import provenance

    config = TurnConfig.load(args.config)
    seeds = _seeds(args)
    LearnerSettings(algorithm=args.learner, episodes=args.episodes)  # validate before the long run
    check_choice(args.engine, "--engine", ENGINES)
    bar = Progress(20, "attribution experiments", quiet=args.quiet)
    result = attribute(
        config, len(seeds), learner=args.learner, episodes=args.episodes, progress=bar.advance, engine=args.engine
    )
    bar.close()
    rows = [
        {
            **{k: v for k, v in dataclasses.asdict(r).items() if k != "counts"},
            "counts": {b: {"k": c.k, "n": c.n, "wilson95": wilson(c.k, c.n)} for b, c in r.counts.items()},
        }
        for r in result.rows
    ]
    document = _jsonable(
        {
            "command": "attribute",
            "learner": args.learner,
            "episodes": args.episodes,
            "seeds": len(seeds),
            "converged_episodes": result.converged_episodes,
            "converged": result.converged_label,
            "rows": rows,
            "verdicts": [dataclasses.asdict(v) for v in result.verdicts],
            "provenance": provenance(command="attribute", config=config.to_dict()),
        }
    )
    lines = ["stage | factor | level | world | " + " | ".join(BEHAVIOURS) + " (share of seeds that visited the world)"]
    for r in result.rows:
        shares = [f"{c.share:.3f}" if c.n else "unvisited" for c in r.counts.values()]
        lines.append(f"{r.stage} | {r.factor} | {r.level} | {r.world} | " + " | ".join(shares))
    lines.append("")
    lines.append(f"converged: {result.converged_label or 'not within the budgets tried'}")
    for v in result.verdicts:
        lines.append(f"{v.world} {v.behaviour}: {v.cause}: {v.evidence}")
    _emit(args, document, "\n".join(lines) + "\n")
    return 0


def _cmd_symbolic(args) -> int:
    from tabturn.runs.files import provenance
    from tabturn.symbolic.claims import claims_document

    if args.instances < 1:
        raise InputError("--instances", f"must be at least 1, not {args.instances}")
    rows = claims_document(args.instances)
    document = {"claims": rows, "provenance": provenance(command="symbolic", instances=args.instances)}
    if args.latex:
        text = "\n".join(f"% {r['claim']}: {r['statement']}\n{r['latex']}" for r in rows) + "\n"
    else:
        lines = ["claim | symbolic statement | sympy verified | instances checked | interior states | disagreements"]
        lines += [
            f"{r['claim']} | {r['statement']} | {str(r['symbolic_verified']).lower()} | {r['instances']} | "
            f"{r['states']} | {r['disagreements']}"
            for r in rows
        ]
        text = "\n".join(lines) + "\n"
    _emit(args, document, text)
    return 0


def _cmd_mesa(args) -> int:
    import dataclasses

    from tabturn.envs.turn.config import TurnConfig
    from tabturn.experiments.mesa import MesaSettings, mesa, planned_world_summary
    from tabturn.runs.files import provenance

    config = TurnConfig.load(args.config)
    if args.seed < 0:
        raise InputError("--seed", f"must be >= 0, not {args.seed}")
    settings = MesaSettings(
        model=args.model,
        coverage=args.coverage,
        episodes=args.episodes,
        steps=args.steps,
        prior=args.prior,
        seed=args.seed,
    )
    result = mesa(config, settings)
    worlds = planned_world_summary(result)
    document = _jsonable(
        {
            "command": "mesa",
            "settings": dataclasses.asdict(settings),
            "worlds": worlds,
            "explanation": dataclasses.asdict(result.explanation),
            "tie_break": "first optimal action in action order",
            "provenance": provenance(command="mesa", config=config.to_dict()),
        }
    )
    lines = [
        f"mesa-optimizer: {settings.model} loss model, coverage {args.coverage}, {settings.episodes} random-action "
        f"episodes of {settings.steps} steps; plans exactly against the learned loss, acts on the first optimal "
        "action in action order"
    ]
    for world, w in worlds.items():
        lines.append(
            f"{world}: {w['class']}, goes up every step {str(w['up_forever']).lower()}, exact regret under the true "
            f"loss {w['regret']}"
        )
    e = result.explanation
    lines.append(
        f"unobserved start: optimal under the learned loss {e.unobserved_start_optimal_actions}; "
        f"forced up: {str(e.forced_up).lower()}; driver: {e.driver}"
    )
    lines.append(
        f"  unobserved states seen in training {e.unobserved_states_seen} of {e.unobserved_states}; "
        f"alignment spread learned {e.learned_alignment_spread_unobserved} vs true "
        f"{e.true_alignment_spread_unobserved}; capability slope learned "
        f"{e.learned_capability_slope_unobserved} vs true {e.true_capability_slope_unobserved}"
    )
    _emit(args, document, "\n".join(lines) + "\n")
    return 0


CHECK_FLAGS = {
    "seed": "--seed",
    "layout": "--layout",
    "objective": "--objective",
    "tie_break": "--tie-break",
    "action_order": "--action-order",
    "q": "--q",
}


def _cmd_check(args) -> int:
    from tabturn.envs.solve import solve
    from tabturn.experiments.policy_check import CheckBatch, check
    from tabturn.learners.saved import is_saved_tables
    from tabturn.runs.files import provenance

    if args.q is None and (args.objective or args.action_order or args.tie_break != "first" or args.tie_seed):
        raise InputError("--objective", "--objective, --tie-break, --tie-seed and --action-order go with --q")
    if args.batch and args.policy_fn is None:
        raise InputError("--batch", "goes with --policy-fn")

    if args.q is not None and args.objective is None and not is_saved_tables(args.q):
        raise InputError(
            "--objective", "is required with --q: reward (Q-values to maximise, greedy = max) or loss (greedy = min)"
        )
    mdp, horizon, gamma, source = _load_problem(args)
    solution = solve(mdp, horizon, gamma)
    order = None if args.action_order is None else [n.strip() for n in args.action_order.split(",")]
    policy = args.policy if args.policy_fn is None else _policy_function(args.policy_fn)
    try:
        result = check(
            solution,
            policy=policy,
            q=args.q,
            objective=args.objective,
            tie_break=args.tie_break,
            action_order=order,
            tie_seed=args.tie_seed,
            seed=args.seed,
            layout=args.layout,
            batch=args.batch,
        )
    except InputError as exc:  # name the flag, not the Python argument
        flag = CHECK_FLAGS.get(exc.field, "--policy-fn" if args.policy_fn and exc.field == "policy" else None)
        raise InputError(flag, exc.message) if flag else exc from None
    document = {
        "command": "check",
        "input": {
            "policy": args.policy,
            "policy_fn": args.policy_fn,
            "batch": args.batch,
            "q": args.q,
            "objective": args.objective,
            "tie_break": args.tie_break,
            "action_order": order,
            "seed": args.seed,
            "layout": args.layout,
        },
        **result.to_dict(),
        "provenance": provenance(command="check", **source),
    }
    text = _batch_text(result) if isinstance(result, CheckBatch) else _check_text(result)
    _emit(args, _jsonable(document), text)
    return 0


def _policy_function(spec: str):
    """The function FUNCTION of FILE.py (the user's own code, run here)."""
    import importlib.util
    from pathlib import Path

    path_text, _, name = spec.rpartition(":")
    path = Path(path_text)
    if not path_text or not name or path.suffix != ".py":
        raise InputError("--policy-fn", f"must be FILE.py:FUNCTION, not {spec!r}")
    if not path.is_file():
        raise InputError("--policy-fn", f"file not found: {path}")
    module_spec = importlib.util.spec_from_file_location(f"tabturn_policy_{path.stem}", path)
    assert module_spec is not None and module_spec.loader is not None
    module = importlib.util.module_from_spec(module_spec)
    try:
        module_spec.loader.exec_module(module)
    except Exception as exc:  # the user's own code: one line, naming it
        raise InputError("--policy-fn", f"running {path} raised {type(exc).__name__}: {exc}") from None
    fn = getattr(module, name, None)
    if not callable(fn):
        raise InputError("--policy-fn", f"{path} has no function {name!r}")
    return fn


def _check_text(result) -> str:
    from tabturn.core.rational import format_rational

    lines = [f"{result.note}"] if result.note else []
    head = f"seed {result.seed}: " if result.seed is not None else ""
    lines.append(f"{head}exact regret from the start: {format_rational(result.regret)} ({float(result.regret):.6g})")
    for world, w in result.worlds.items():
        if w["regret"] is None:
            r = w["regret_if_started_there"]
            lines.append(
                f"{world}: unreachable from the start under this policy (not graded; started there, its exact "
                f"regret would be {format_rational(r)})"
            )
        else:
            regret = f"{format_rational(w['regret'])} ({float(w['regret']):.6g})"
            line = f"{world}: {w['class']}, exact regret {regret}"
            if "performance_regret" in w:  # a gridworld: the hidden performance and the cells the path enters
                line += f"; hidden performance regret {float(w['performance_regret']):.6g}"
            if "enters" in w:
                line += f"; most likely path enters: {', '.join(w['enters']) or 'no named cell'}"
            lines.append(line)
    agree = f"agreement with the optimal sets: {result.agreement:.3f} of states at step 0"
    if result.agreement_steps is not None:
        agree += f", {result.agreement_steps:.3f} of state-steps"
    lines.append(agree + f", {result.agreement_path:.3f} along the optimal trajectory")
    if result.deviations:
        lines.append("first deviations reachable under the policy (step, state: policy -> optimal, exact gap):")
        for d in result.deviations:
            lines.append(
                f"  t={d['t']} {tuple(d['state']) if isinstance(d['state'], list) else d['state']}: "
                f"{' '.join(d['policy_actions'])} -> {' '.join(d['optimal_actions'])}, gap {d['gap']}"
            )
    else:
        lines.append("no deviation from the optimal sets where the policy goes")
    return "\n".join(lines) + "\n"


def _batch_text(result) -> str:
    worlds = list(result.per_seed)
    lines = [result.note] if result.note else []
    heads = " | ".join(f"{w} class, exact regret" for w in worlds)
    lines.append(f"{len(result.seeds)} seeds checked; per seed: {heads} | agreement (step 0)")
    for b, seed in enumerate(result.seeds):
        rows = [result.per_seed[w][b] for w in worlds]
        cells = [f"{r['class']} {r['regret'] if r['regret'] is not None else '(not graded)'}" for r in rows]
        lines.append(f"seed {seed}: " + " | ".join(cells) + f" | {rows[0]['agreement']:.3f}")
    for world, w in result.summary.worlds.items():
        shown = {c: v for c, v in w.classes.items() if v.count or c == "optimal"}
        parts = [f"{c} {v.fraction:.3f} [{v.wilson95[0]:.3f}, {v.wilson95[1]:.3f}]" for c, v in shown.items()]
        regret = (
            "no seed reaches it"
            if w.regret_mean is None
            else f"exact regret mean {float(w.regret_mean):.4g}, max {float(w.regret_max):.4g}"
        )
        lines.append(f"{world}: " + "; ".join(parts) + f"  ({regret})")
        if "performance_regret" in result.per_seed[world][0]:
            lines.append("  " + gridworld_line(result.per_seed[world]))
    return "\n".join(lines) + "\n"


def _cmd_states(args) -> int:
    from tabturn.experiments.policy_input import state_table

    mdp, _, _, _ = _load_problem(args, need_objective=False)
    rows = state_table(mdp)
    if args.csv:
        import csv

        writer = csv.DictWriter(sys.stdout, fieldnames=list(rows[0]), lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    else:
        sys.stdout.write("".join(" ".join(f"{k}={v}" for k, v in r.items()) + "\n" for r in rows))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors print one line on stderr and return 2."""
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            raise InputError(
                "command",
                "missing; allowed: solve, check, states, learn, attribute, symbolic, mesa, "
                "export, sweep, search "
                "(see tabturn --help)",
            )
        commands = {
            "check": _cmd_check,
            "states": _cmd_states,
            "solve": _cmd_solve,
            "learn": _cmd_learn,
            "attribute": _cmd_attribute,
            "mesa": _cmd_mesa,
            "symbolic": _cmd_symbolic,
            "export": _cmd_export,
            "sweep": _cmd_sweep,
            "search": _cmd_search,
        }
        _refuse_empty_paths(args)
        _refuse_negative_seeds(args)
        _refuse_overwriting_inputs(args)
        _refuse_directory_outputs(args)
        return commands[args.command](args)
    except InputError as exc:
        print(f"tabturn: error: {_flag_named(exc, argv)}", file=sys.stderr)
        return 2
    except MemoryError:
        print("tabturn: error: memory: the problem does not fit in memory", file=sys.stderr)
        return 2
    except BrokenPipeError:  # the reader went away (e.g. | head): stop quietly, as SIGPIPE would
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    except OSError as exc:  # an unreadable input or unwritable output
        print(f"tabturn: error: {exc.filename or 'file'}: {exc.strerror or exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        command = (argv if argv is not None else sys.argv[1:])[:1]
        hint = (
            "; rerun the same command to resume (finished chunks are kept)"
            if command == ["sweep"]
            else ("; rerun the same command to resume (finished cells are cached)" if command == ["search"] else "")
        )
        print(f"tabturn: interrupted{hint}", file=sys.stderr)
        return 130


INPUT_FLAGS = ("config", "mdp", "policy", "q", "file")  # arguments that name files tabturn reads
OUTPUT_FLAGS = ("out", "save_q", "drn", "prism", "npz", "cache")  # arguments that name files or directories it writes


def _refuse_negative_seeds(args) -> None:
    """InputError for a negative --seed or --tie-seed (seeds are non-negative integers everywhere)."""
    for flag in ("seed", "tie_seed", "base_seed"):
        value = getattr(args, flag, None)
        if isinstance(value, int) and value < 0:
            raise InputError("--" + flag.replace("_", "-"), f"must be a non-negative integer, not {value}")


def _refuse_empty_paths(args) -> None:
    """InputError for a file argument given as the empty string (e.g. ``--config ""``)."""
    for flag in INPUT_FLAGS + OUTPUT_FLAGS:
        if getattr(args, flag, None) == "":
            raise InputError("--" + flag.replace("_", "-") if flag != "file" else "file", "is empty; give a path")


def _refuse_directory_outputs(args) -> None:
    """InputError when a file output (every output but sweep's and search's directories) is a directory."""
    import os

    for flag in OUTPUT_FLAGS:
        value = getattr(args, flag, None)
        if args.command in ("sweep", "search") and flag in ("out", "cache"):
            continue
        if isinstance(value, str) and os.path.isdir(value):
            raise InputError("--" + flag.replace("_", "-"), f"{value!r} is a directory; give a file path")


def _refuse_overwriting_inputs(args) -> None:
    """InputError when an output path is an input file, or a directory an input lives in is an output directory
    (e.g. ``solve --config c.toml --out c.toml``): tabturn never replaces what it reads."""
    import os

    inputs = {}
    for flag in INPUT_FLAGS:
        value = getattr(args, flag, None)
        if isinstance(value, str) and value and os.path.exists(value):
            inputs[os.path.realpath(value)] = flag
    for flag in OUTPUT_FLAGS:
        value = getattr(args, flag, None)
        if not isinstance(value, str) or not value:
            continue
        target = os.path.realpath(value)
        if target in inputs:
            name = "--" + flag.replace("_", "-")
            source = inputs[target]
            raise InputError(
                name, f"{value!r} is the {source if source == 'file' else '--' + source} input; write elsewhere"
            )


LEARNER_FLAGS = {"algorithm": "--learner"}  # LearnerSettings fields whose flag is not --field-name


def _flag_named(exc: InputError, argv) -> str:
    """The error with a learner command's internal field (e.g. "algorithm") named as its flag ("--learner")."""
    import dataclasses

    from tabturn.learners.tabular import LearnerSettings

    command = (argv if argv is not None else sys.argv[1:])[:1]
    if exc.field in ("mdp", "gym"):
        return f"--{exc.field}: {exc.message}"
    fields = {f.name for f in dataclasses.fields(LearnerSettings)} | {"seeds"}
    if command in (["learn"], ["attribute"]) and exc.field in fields:
        return f"{LEARNER_FLAGS.get(exc.field, '--' + exc.field.replace('_', '-'))}: {exc.message}"
    return str(exc)


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
