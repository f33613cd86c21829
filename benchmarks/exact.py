"""Benchmark: tabturn's exact solvers vs pymdptoolbox on the turn family (absent supervisor, 4 actions).

(a) 256x256 grid, both flags, H = 512, undiscounted: exact backward induction vs FiniteHorizon (floats).
(b) 128x128 grid, both flags, gamma = 99/100: value iteration + rational certificate vs ValueIteration.

Run: `make bench` (or `python benchmarks/exact.py [--quick]`). Needs the `bench` extra (pymdptoolbox).
pymdptoolbox's input check builds a dense S x S array and cannot run at these sizes, so it is bypassed
(the model is the same validated TabularMDP). Times are wall-clock seconds, measured in this run.
"""

from __future__ import annotations

import argparse
import time
import warnings

import numpy as np

from tabturn.config import TurnConfig
from tabturn.discounted import solve_discounted
from tabturn.finite import backward_induction
from tabturn.turn import turn_mdp


def _pymdptoolbox():
    import mdptoolbox.mdp as mdp_module

    mdp_module._util.check = lambda *args, **kwargs: None  # dense S x S check: bypassed (see module doc)
    return mdp_module


def pmt_arrays(mdp):
    """pymdptoolbox inputs: list of A sparse S x S float matrices and (S, A) rewards (= -loss)."""
    return [mdp.transition_matrix(a) for a in range(mdp.n_actions)], -mdp.costs_float()


def timed(fn):
    start = time.perf_counter()
    out = fn()
    return out, time.perf_counter() - start


def policy_agreement(solution, pmt_policy, step=0) -> float:
    """Fraction of states where pymdptoolbox's single action lies in tabturn's exact optimal set."""
    masks = solution.action_masks[step].astype(np.uint64)
    return float(np.mean((masks >> np.asarray(pmt_policy, dtype=np.uint64)) & np.uint64(1)))


def bench_finite(n: int, horizon: int) -> dict:
    cfg = TurnConfig(x_bounds=(0, n - 1), y_bounds=(0, n - 1), regime="absent-supervisor", horizon=horizon)
    mdp = turn_mdp(cfg)
    ours, t_ours = timed(lambda: backward_induction(mdp, horizon))
    P, R = pmt_arrays(mdp)
    m = _pymdptoolbox()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        fh, t_pmt = timed(lambda: _run(m.FiniteHorizon(P, R, 1, horizon)))
    diff = float(np.abs(ours.values.to_float() + fh.V[:, 0]).max())
    return {"case": f"(a) finite {n}x{n}x2, H={horizon}", "states": mdp.n_states, "tabturn_s": t_ours,
            "pymdptoolbox_s": t_pmt, "ratio": t_ours / t_pmt, "max_value_diff": diff,
            "policy_in_optimal_set": policy_agreement(ours, fh.policy[:, 0]), "method": ours.method}


def bench_discounted(n: int, gamma: str) -> dict:
    cfg = TurnConfig(x_bounds=(0, n - 1), y_bounds=(0, n - 1), regime="absent-supervisor", horizon=None,
                     discount=gamma)
    mdp = turn_mdp(cfg)
    ours, t_ours = timed(lambda: solve_discounted(mdp, cfg.discount))
    P, R = pmt_arrays(mdp)
    m = _pymdptoolbox()
    vi, t_init = timed(lambda: m.ValueIteration(P, R, float(cfg.discount)))
    _, t_run = timed(lambda: vi.run())
    t_pmt = t_init + t_run
    diff = float(np.abs(ours.values.to_float() + np.asarray(vi.V)).max())
    return {"case": f"(b) discounted {n}x{n}x2, gamma={gamma}", "states": mdp.n_states, "tabturn_s": t_ours,
            "pymdptoolbox_s": t_pmt, "pymdptoolbox_run_only_s": t_run, "ratio": t_ours / t_pmt,
            "ratio_vs_run_only": t_ours / t_run, "max_value_diff": diff, "certified": ours.certified,
            "policy_in_optimal_set": policy_agreement(ours, vi.policy), "method": ours.method}


def _run(model):
    model.run()
    return model


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    args = parser.parse_args(argv)
    sizes = ((32, 64), (16, "99/100")) if args.quick else ((256, 512), (128, "99/100"))
    print("pymdptoolbox's dense input check is bypassed (it cannot run at these sizes); same model for both.")
    for row in (bench_finite(*sizes[0]), bench_discounted(*sizes[1])):
        print(f"\n{row['case']}: {row['states']} states, tabturn method {row['method']}")
        print(f"  tabturn      {row['tabturn_s']:.3f} s")
        print(f"  pymdptoolbox {row['pymdptoolbox_s']:.3f} s"
              + (f" (run() alone {row['pymdptoolbox_run_only_s']:.3f} s)" if "pymdptoolbox_run_only_s" in row else ""))
        print(f"  ratio tabturn/pymdptoolbox = {row['ratio']:.3f}"
              + (f" (vs run() alone {row['ratio_vs_run_only']:.3f})" if "ratio_vs_run_only" in row else ""))
        print(f"  max |tabturn exact - pymdptoolbox float| value difference = {row['max_value_diff']:.3g}; "
              f"pymdptoolbox's action lies in tabturn's optimal set at {100 * row['policy_in_optimal_set']:.2f}% of states")


if __name__ == "__main__":
    main()
