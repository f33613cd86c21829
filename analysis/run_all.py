"""Regenerate every report under reports/ (what `make report` runs), then the index and provenance."""

from __future__ import annotations

import sys
import time
from pathlib import Path

from analysis import (
    attribution,
    convergence,
    exact_optimum,
    figures,
    gridworlds,
    index,
    learned_agents,
    mesa,
    minigrid,
    phenomenon,
    supervised_until,
    symbolic,
    tomato_watering,
    variant_robustness,
)
from analysis.common import EXAMPLES, REPORTS, engine, write_atomic
from tabturn.envs.turn.config import TurnConfig
from tabturn.runs.files import dumps, provenance

# Two chains that share no files run side by side on two processes (learned_agents reads convergence's summary),
# then the scripts that read everything. Results do not depend on the order or the process.
CHAINS = (
    (convergence, learned_agents, attribution, variant_robustness, minigrid, tomato_watering),
    (exact_optimum, symbolic, mesa, phenomenon, supervised_until, gridworlds),
)
LAST = (figures, index)
SCRIPTS = CHAINS[0] + CHAINS[1] + LAST


def run_chain(chain: tuple[str, ...], out_dir: str, threads: int | None = None) -> dict[str, float]:
    """Run the named analysis modules in order; their run times in seconds."""
    import importlib

    if threads is not None:
        from tabturn.learners import numba_kernel

        numba_kernel.set_threads(threads)
    timings = {}
    for name in chain:
        script = importlib.import_module(name)
        started = time.perf_counter()
        script.main(out_dir)
        timings[f"analysis/{Path(script.__file__).name}"] = round(time.perf_counter() - started, 2)
    return timings


def main(out_dir: str | Path = REPORTS) -> None:
    import concurrent.futures
    import multiprocessing
    import os

    started = time.perf_counter()
    names = [tuple(m.__name__ for m in chain) for chain in CHAINS]
    timings: dict[str, float] = {}
    if (os.cpu_count() or 1) >= 2:
        context = multiprocessing.get_context("spawn")  # fresh interpreters: no numba thread pool carried over
        with concurrent.futures.ProcessPoolExecutor(len(names), mp_context=context) as pool:
            for part in [pool.submit(run_chain, chain, str(out_dir), 1) for chain in names]:
                timings.update(part.result())
    else:
        for chain in names:
            timings.update(run_chain(chain, str(out_dir)))
    timings.update(run_chain(tuple(m.__name__ for m in LAST), str(out_dir)))
    timings = {f"analysis/{Path(m.__file__).name}": timings[f"analysis/{Path(m.__file__).name}"] for m in SCRIPTS}
    wall = round(time.perf_counter() - started, 1)
    write_atomic(
        Path(out_dir) / "provenance.json",
        dumps(
            provenance(
                scripts=timings,
                wall_seconds=wall,
                learner_engine=engine(),
                seeds={
                    "learned_agents": learned_agents.SEEDS,
                    "convergence": convergence.SEEDS,
                    "attribution": attribution.SEEDS,
                    "variant_robustness": variant_robustness.SEEDS,
                    "phenomenon": {
                        "screen": phenomenon.design().screen_seeds,
                        "confirm": phenomenon.design().confirm_seeds,
                    },
                },
                configs={p.stem: TurnConfig.load(str(p)).to_dict() for p in EXAMPLES},
            )
        ),
    )
    print(f"done in {wall} s (two chains side by side): {timings}")


if __name__ == "__main__":
    main(*sys.argv[1:])
