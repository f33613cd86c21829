"""Benchmark: tabturn's exact solvers vs pymdptoolbox on the turn family (absent supervisor, 4 actions).

(a) 256x256x2, H = 512, undiscounted: exact backward induction vs FiniteHorizon (floats).
(b) 128x128x2, gamma = 99/100: certified optimum (float solve + rational certificate) vs ValueIteration.run();
    target <= 1x the peer.
(c) 256x256x2, gamma = 99/100: certified, target <= 1 s (peer: ValueIteration.run()).
(d) switching 128x128x2 (p = 1/10, q = 1/5, stochastic), gamma = 9/10: certified, target <= 0.5 s.
(e) 512x512x2, gamma = 99/100: certified within this machine's memory (peak RSS of a fresh process).
(f) the scaling curve of exact finite horizon, n x n x 2 with H = 2n up to 1024 x 1024 x 2, H = 2048 (fresh
    processes): seconds and peak memory; the largest within 8 GiB.

pymdptoolbox's input check builds a dense S x S array and cannot run at these sizes, so it is bypassed, and so is
ValueIteration's iteration bound (_boundIter, 38 s at 128x128 alone; run() still stops on its own threshold).
Peers run on the same validated TabularMDP. Run: `make bench` or `python -m benchmarks.exact [--quick]`.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import warnings
from fractions import Fraction

import numpy as np

from benchmarks.common import Row, repeat, seconds, show
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.discounted import solve_discounted
from tabturn.exact.finite import backward_induction


def _pymdptoolbox():
    import mdptoolbox.mdp as mdp_module

    mdp_module._util.check = lambda *args, **kwargs: None  # dense S x S check: bypassed (see module doc)
    mdp_module.ValueIteration._boundIter = lambda self, epsilon: None  # see module doc
    return mdp_module


def pmt_arrays(mdp):
    """pymdptoolbox inputs: list of A sparse S x S float matrices and (S, A) rewards (= -loss)."""
    return [mdp.transition_matrix(a) for a in range(mdp.n_actions)], -mdp.costs_float()


def policy_agreement(solution, pmt_policy, step=0) -> float:
    """Fraction of states where pymdptoolbox's single action lies in tabturn's exact optimal set."""
    masks = solution.action_masks[step].astype(np.uint64)
    return float(np.mean((masks >> np.asarray(pmt_policy, dtype=np.uint64)) & np.uint64(1)))


def turn(n: int, **kw):
    return turn_mdp(TurnConfig(x_bounds=(0, n - 1), y_bounds=(0, n - 1), **kw))


def finite_row(n: int, horizon: int, times: int) -> Row:
    mdp = turn(n, regime="absent-supervisor", horizon=horizon)
    ours = repeat(lambda: backward_induction(mdp, horizon), times)
    sol = backward_induction(mdp, horizon)
    P, R = pmt_arrays(mdp)
    m = _pymdptoolbox()
    models = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        peer = repeat(lambda: models.append(m.FiniteHorizon(P, R, 1, horizon)) or models[-1].run(), max(times - 1, 1))
    diff = float(np.abs(sol.values.to_float() + models[-1].V[:, 0]).max())
    return show(
        Row(
            f"(a) exact finite horizon {n}x{n}x2, H = {horizon} (peer: pymdptoolbox FiniteHorizon, floats; "
            f"max value difference {diff:.3g}, its action optimal at "
            f"{100 * policy_agreement(sol, models[-1].policy[:, 0]):.1f}% of states)",
            seconds(ours),
            seconds(peer),
            f"{ours.median / peer.median:.3f}",
            "",
            None,
        )
    )


def discounted_row(
    label: str, n: int, gamma: str, times: int, limit_s: float | None, peer_ratio: float | None, **kw
) -> Row:
    mdp = turn(n, horizon=None, discount=gamma, **kw)
    ours = repeat(lambda: solve_discounted(mdp, gamma), times)
    sol = solve_discounted(mdp, gamma)
    P, R = pmt_arrays(mdp)
    m = _pymdptoolbox()
    vi = m.ValueIteration(P, R, float(Fraction(gamma)), max_iter=10**6)
    start_v = vi.V.copy()

    def run():
        vi.V, vi.iter = start_v.copy(), 0
        vi.run()

    peer = repeat(run, times)
    diff = float(np.abs(sol.values.to_float() + np.asarray(vi.V)).max())
    ratio = ours.median / peer.median
    targets: list[str] = []
    met: bool | None = True
    if peer_ratio is not None:
        targets.append(f"<= {peer_ratio:g}x peer")
        met = met and ratio <= peer_ratio
    if limit_s is not None:
        targets.append(f"<= {limit_s:g} s")
        met = met and ours.median <= limit_s
    if not targets:
        met = None if sol.certified else False
    return show(
        Row(
            f"({label}) certified discounted {kw.get('regime', 'absent-supervisor')} {n}x{n}x2, "
            f"gamma = {gamma}, {sol.method}, certified {sol.certified} (peer: pymdptoolbox "
            f"ValueIteration.run(), floats, {diff:.3g} off the exact V*)",
            seconds(ours),
            seconds(peer),
            f"{ratio:.2f}",
            " and ".join(targets),
            met if met is None else met and sol.certified,
        )
    )


PEAK = """
def peak_mib():
    # this process's own high-water mark (VmHWM); ru_maxrss would carry the parent's over the exec
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import resource
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
"""

LARGE = (
    PEAK
    + """
import json, time
from tabturn.exact.discounted import solve_discounted
from benchmarks.exact import turn
mdp = turn({n}, regime="absent-supervisor", horizon=None, discount="99/100")
start = time.perf_counter()
sol = solve_discounted(mdp, "99/100")
print(json.dumps({{"seconds": time.perf_counter() - start, "certified": sol.certified,
                  "peak_mib": peak_mib()}}))
"""
)


def large_row(n: int) -> Row:
    out = subprocess.run([sys.executable, "-c", LARGE.format(n=n)], capture_output=True, text=True, check=True)
    r = json.loads(out.stdout)
    from pathlib import Path

    total = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 if Path("/proc/meminfo").exists() else float("nan")
    return show(
        Row(
            f"(e) certified discounted absent-supervisor {n}x{n}x2, gamma = 99/100 (one fresh process)",
            f"{r['seconds']:.3g} s, peak {r['peak_mib'] / 1024:.1f} GiB",
            f"machine memory {total / 1024:.0f} GiB",
            "",
            "certified within memory",
            r["certified"] and r["peak_mib"] < total,
        )
    )


FINITE = (
    PEAK
    + """
import json, time
from tabturn.exact.finite import backward_induction
from benchmarks.exact import turn
start = time.perf_counter()
mdp = turn({n}, regime="absent-supervisor", horizon={h})
built = time.perf_counter()
sol = backward_induction(mdp, {h})
print(json.dumps({{"build": built - start, "solve": time.perf_counter() - built, "states": mdp.n_states,
                  "masks_gib": sol.action_masks.nbytes / 2**30,
                  "peak_mib": peak_mib()}}))
"""
)


def scaling_rows(sizes: list[int], limit_gib: float = 8.0) -> list[Row]:
    """(f) exact finite horizon n x n x 2, H = 2n, each in a fresh process: seconds and peak memory against
    states x H (the scaling curve); the largest must stay within ``limit_gib``."""
    rows = []
    for n in sizes:
        code = FINITE.format(n=n, h=2 * n)
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
        r = json.loads(out.stdout)
        cells = r["states"] * 2 * n
        last = n == sizes[-1]
        rows.append(
            show(
                Row(
                    f"(f) exact finite horizon {n}x{n}x2, H = {2 * n} ({cells:.3g} state-steps; one fresh process; "
                    f"action sets {r['masks_gib']:.2f} GiB of it)",
                    f"build {r['build']:.3g} s + solve {r['solve']:.3g} s, peak {r['peak_mib'] / 1024:.2f} GiB",
                    f"{1e9 * r['solve'] / cells:.3g} ns per state-step",
                    "",
                    f"<= {limit_gib:g} GiB" if last else "",
                    (r["peak_mib"] / 1024 <= limit_gib) if last else None,
                )
            )
        )
    return rows


def measure(quick: bool = False) -> list[Row]:
    times = 2 if quick else 3
    if quick:
        return [
            finite_row(32, 64, times),
            discounted_row("b", 16, "99/100", times, None, 1.0),
            discounted_row("d", 16, "9/10", times, None, None, regime="switching", p="1/10", q="1/5"),
            *scaling_rows([32, 64]),
        ]
    return [
        finite_row(256, 512, times),
        discounted_row("b", 128, "99/100", times, None, 1.0),
        discounted_row("c", 256, "99/100", times, 1.0, None),
        discounted_row("d", 128, "9/10", times, 0.5, None, regime="switching", p="1/10", q="1/5"),
        large_row(512),
        *scaling_rows([128, 256, 512, 1024]),
    ]


def main(argv=None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    measure(parser.parse_args(argv).quick)


if __name__ == "__main__":
    main()
