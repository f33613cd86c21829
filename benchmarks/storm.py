"""Benchmark: tabturn's exact finite-horizon optimum vs Storm's exact and float engines (stormpy), same run.

Turn family, n x n grid with both flags (always observed, 4 actions), H = 128, per-step loss. tabturn: build the
TabularMDP and run exact backward induction. Storm: build its model from the DRN file tabturn exports (exact:
rational numbers; float: doubles), then check R{"cost"}min=? [ C<=128 ]. Writing the DRN text is not charged to
either side. Exact values are compared state by state. Target: tabturn <= 0.1x Storm's exact engine.

Run: `make bench` or `python -m benchmarks.storm [--quick]`. Needs the `bench` extra (stormpy).
"""

from __future__ import annotations

import argparse
import os
import tempfile
from fractions import Fraction

import numpy as np

from benchmarks.common import Row, Timing, repeat, seconds, show
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.finite import backward_induction
from tabturn.interop.export import storm_property, to_drn


def storm_solve(path: str, prop_text: str, exact: bool):
    import stormpy

    prop = stormpy.parse_properties(prop_text)[0]
    build = stormpy.build_model_from_drn[stormpy.Rational] if exact else stormpy.build_model_from_drn
    return stormpy.model_checking(build(path), prop)


def rows(n: int, horizon: int, times: int) -> list[Row]:
    cfg = TurnConfig(x_bounds=(0, n - 1), y_bounds=(0, n - 1), horizon=horizon)
    ours = repeat(lambda: backward_induction(turn_mdp(cfg), horizon, 1), times)
    mdp = turn_mdp(cfg)
    sol = backward_induction(mdp, horizon, 1)
    prop = storm_property(mdp, horizon)
    out = []
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "turn.drn")
        with open(path, "w") as handle:
            handle.write(to_drn(mdp))
        for exact in (True, False):
            results = []
            peer: Timing = repeat(
                lambda results=results, exact=exact: results.append(storm_solve(path, prop, exact)), times
            )
            values = results[-1].get_value_vector()
            if exact:
                agree = [Fraction(str(v)) for v in values] == sol.values.to_fractions()
                note = f"values equal exactly: {agree}"
            else:
                diff = float(np.abs(np.asarray(values, dtype=float) - sol.values.to_float()).max())
                agree, note = True, f"max float difference {diff:.3g}"
            ratio = ours.median / peer.median
            engine = "exact (rational)" if exact else "float (sparse, doubles)"
            out.append(
                show(
                    Row(
                        f"exact finite horizon {n}x{n}x2, H = {horizon}, build + solve (peer: Storm "
                        f"{engine} engine, build + check; {note})",
                        seconds(ours),
                        seconds(peer),
                        f"{ratio:.4f}",
                        "<= 0.1x" if exact else "",
                        (ratio <= 0.1 and agree) if exact else None,
                    )
                )
            )
    return out


def measure(quick: bool = False) -> list[Row]:
    sizes = (32,) if quick else (64, 128)
    return [row for n in sizes for row in rows(n, 128, 2 if quick else 3)]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="a 32x32 grid only")
    measure(parser.parse_args(argv).quick)


if __name__ == "__main__":
    main()
