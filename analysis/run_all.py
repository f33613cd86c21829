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
    phenomenon,
    symbolic,
    variant_robustness,
)
from analysis.common import EXAMPLES, REPORTS, engine, write_atomic
from tabturn.envs.turn.config import TurnConfig
from tabturn.runs.files import dumps, provenance

SCRIPTS = (
    exact_optimum,
    symbolic,
    convergence,
    learned_agents,
    attribution,
    variant_robustness,
    mesa,
    phenomenon,
    gridworlds,
    figures,
    index,
)


def main(out_dir: str | Path = REPORTS) -> None:
    timings = {}
    for script in SCRIPTS:
        started = time.perf_counter()
        script.main(out_dir)
        timings[f"analysis/{Path(script.__file__).name}"] = round(time.perf_counter() - started, 2)
    write_atomic(
        Path(out_dir) / "provenance.json",
        dumps(
            provenance(
                scripts=timings,
                learner_engine=engine(),
                seeds={
                    "learned_agents": learned_agents.SEEDS,
                    "convergence": convergence.SEEDS,
                    "attribution": attribution.SEEDS,
                    "variant_robustness": variant_robustness.SEEDS,
                    "phenomenon": phenomenon.SEEDS,
                },
                configs={p.stem: TurnConfig.load(str(p)).to_dict() for p in EXAMPLES},
            )
        ),
    )
    print(f"done in {sum(timings.values()):.1f} s: {timings}")


if __name__ == "__main__":
    main(*sys.argv[1:])
