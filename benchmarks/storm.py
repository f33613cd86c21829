"""Benchmark: tabturn's exact finite-horizon optimum vs Storm's exact engine (stormpy), same run, same values.

Turn family, n x n grid with both flags (always observed, 4 actions), H = 128, per-step loss. tabturn: build the
TabularMDP and run exact backward induction. Storm: build its exact (rational) model from the DRN file tabturn
exports, then check R{"cost"}min=? [ C<=128 ]. Writing the DRN text is timed separately and not charged to either
side. Values are compared state by state, exactly. Target: tabturn <= 0.1x Storm's time.

Run: `make bench` (or `python benchmarks/storm.py [--quick]`). Needs the `bench` extra (stormpy).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time
from fractions import Fraction

from tabturn.config import TurnConfig
from tabturn.export import storm_property, to_drn
from tabturn.finite import backward_induction
from tabturn.turn import turn_mdp


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def bench(n: int, horizon: int) -> dict:
    import stormpy

    cfg = TurnConfig(x_bounds=(0, n - 1), y_bounds=(0, n - 1), horizon=horizon)
    (mdp, sol), ours = timed(lambda: (lambda m: (m, backward_induction(m, horizon, 1)))(turn_mdp(cfg)))
    text, export = timed(lambda: to_drn(mdp))
    with tempfile.TemporaryDirectory() as tmp:
        path = os.path.join(tmp, "turn.drn")
        with open(path, "w") as handle:
            handle.write(text)
        prop = stormpy.parse_properties(storm_property(mdp, horizon))[0]
        model, build = timed(lambda: stormpy.build_model_from_drn[stormpy.Rational](path))
        result, check = timed(lambda: stormpy.model_checking(model, prop))
    storm_values = [Fraction(str(v)) for v in result.get_value_vector()]
    return {"grid": f"{n}x{n}x2", "states": mdp.n_states, "tabturn_s": ours, "storm_build_s": build,
            "storm_check_s": check, "drn_export_s": export,
            "equal": storm_values == sol.values.to_fractions()}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="grids up to 32x32 only")
    args = parser.parse_args()
    sizes = (16, 32) if args.quick else (16, 32, 64, 128)
    print("grid | states | H | tabturn s | Storm build s | Storm check s | Storm total s | ratio tabturn/Storm | "
          "values equal | (DRN export s)")
    for n in sizes:
        r = bench(n, 128)
        storm = r["storm_build_s"] + r["storm_check_s"]
        print(f"{r['grid']} | {r['states']} | 128 | {r['tabturn_s']:.3f} | {r['storm_build_s']:.3f} | "
              f"{r['storm_check_s']:.3f} | {storm:.3f} | {r['tabturn_s'] / storm:.4f} | {r['equal']} | "
              f"{r['drn_export_s']:.2f}", flush=True)


if __name__ == "__main__":
    main()
