"""The `tabturn` command."""

from __future__ import annotations

import argparse
import sys

from tabturn import __version__
from tabturn.errors import InputError


class _Parser(argparse.ArgumentParser):
    """argparse with one-line errors (exit 2)."""

    def error(self, message: str):  # noqa: D401
        raise InputError("arguments", message)


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="tabturn", description="Exact analysis of tabular RL toys (the treacherous turn).")
    parser.add_argument("--version", action="version", version=f"tabturn {__version__}")
    sub = parser.add_subparsers(dest="command", parser_class=_Parser)
    solve = sub.add_parser("solve", help="exact optimum with optimal action sets")
    source = solve.add_mutually_exclusive_group(required=True)
    source.add_argument("--config", help="turn-family TOML config")
    source.add_argument("--mdp", help=".npz with P (A,S,S), R (S,A) or (A,S,S) rewards, optional labels, start")
    solve.add_argument("--discount", help="gamma for --mdp, rational such as 99/100 (default 1 with --horizon)")
    solve.add_argument("--horizon", help="finite horizon H for --mdp (omit for the infinite horizon)")
    solve.add_argument("--json", action="store_true", help="print the JSON document instead of text")
    solve.add_argument("--out", help="also write the JSON document to this file (atomically)")
    return parser


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
    from tabturn.arrays import load_npz
    from tabturn.config import TurnConfig
    from tabturn.io import dumps, provenance, write_atomic
    from tabturn.rational import format_rational, parse_rational
    from tabturn.render import solution_json, solution_text
    from tabturn.solve import solve
    from tabturn.turn import turn_mdp

    if args.config:
        if args.discount is not None or args.horizon is not None:
            raise InputError("--discount", "--discount and --horizon go with --mdp; set them in the config file")
        config = TurnConfig.load(args.config)
        mdp, horizon, gamma = turn_mdp(config), config.horizon, config.discount
        source = {"config": config.to_dict()}
    else:
        horizon = _horizon(args.horizon)
        if args.discount is None and horizon is None:
            raise InputError("--discount", "is required for an infinite horizon (give --discount or --horizon)")
        gamma = parse_rational(args.discount if args.discount is not None else 1, "--discount")
        if not 0 <= gamma <= 1 or (horizon is None and gamma == 1):
            raise InputError("--discount", f"must lie in [0, 1) ([0, 1] with --horizon), not {format_rational(gamma)}")
        mdp = load_npz(args.mdp)
        source = {"mdp": args.mdp, "horizon": horizon, "discount": format_rational(gamma)}
    solution = solve(mdp, horizon, gamma)
    document = solution_json(solution, provenance(command="solve", **source))
    if args.out:
        write_atomic(args.out, dumps(document))
    sys.stdout.write(dumps(document) if args.json else solution_text(solution))
    return 0


def main(argv: list[str] | None = None) -> int:
    """Run the command line; user errors print one line on stderr and return 2."""
    try:
        args = _parser().parse_args(argv)
        if args.command is None:
            raise InputError("command", "missing; allowed: solve (see tabturn --help)")
        return {"solve": _cmd_solve}[args.command](args)
    except InputError as exc:
        print(f"tabturn: error: {exc}", file=sys.stderr)
        return 2
    except MemoryError:
        print("tabturn: error: memory: the problem does not fit in memory", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def entry() -> None:
    """Console-script entry point."""
    sys.exit(main())


if __name__ == "__main__":
    entry()
