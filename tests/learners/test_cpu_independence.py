"""Learner results do not depend on the CPU: numpy's SIMD dispatch (AVX-512 or baseline) and the engine.

A subprocess trains every algorithm under every schedule that touches a transcendental function, with both
engines, and prints hashes of the Q-tables; it runs once as is and once with every dispatched numpy CPU
feature disabled (NPY_DISABLE_CPU_FEATURES). All four sets of hashes must agree. On a CPU without AVX-512
the two numpy runs may already agree by luck; the shared scalar routines (tabturn.core.detmath) make it hold on
every CPU, and bypassing them makes this test fail on an AVX-512 machine.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys

import mpmath
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabturn.core import detmath

SCRIPT = r"""
import hashlib, json, sys
from tabturn.envs.turn.config import TurnConfig
from tabturn.learners.tabular import ALGORITHMS, LearnerSettings, learn
from tabturn.envs.turn.model import turn_mdp

SCHEDULES = {
    "1/n-omega": {"step_schedule": "1/n", "omega": 0.8, "epsilon": 0.5},
    "1/n-omega-0.55": {"step_schedule": "1/n", "omega": 0.55, "epsilon": 0.3},
    "epsilon-exponential": {"epsilon": 0.9, "epsilon_final": 0.01, "epsilon_schedule": "exponential"},
    "epsilon-linear": {"epsilon": 1.0, "epsilon_final": 0.05, "epsilon_schedule": "linear"},
    "softmax": {"exploration": "softmax", "temperature": 0.7},
    "softmax-1/n": {"exploration": "softmax", "temperature": 3.0, "step_schedule": "1/n", "omega": 0.7},
}
engines = sys.argv[1:]
mdp = turn_mdp(TurnConfig(x_bounds=(0, 2), y_bounds=(0, 3), regime="switching", p="1/3", q="1/2", horizon=6))
out = {}
for name, extra in SCHEDULES.items():
    for algorithm in ALGORITHMS:
        for time_indexed in (False, True):
            settings = LearnerSettings(algorithm=algorithm, episodes=120, horizon=6, time_indexed=time_indexed, **extra)
            for engine in engines:
                r = learn(mdp, settings, [0, 5, 17], base_seed=4, engine=engine)
                key = f"{name}/{algorithm}/{'timed' if time_indexed else 'stationary'}/{engine}"
                out[key] = hashlib.sha256(r.q.tobytes() + r.visits.tobytes()).hexdigest()
print(json.dumps(out))
"""


def _run(disable: str | None, engines: list[str]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k != "NPY_DISABLE_CPU_FEATURES"}
    if disable:
        env["NPY_DISABLE_CPU_FEATURES"] = disable
    done = subprocess.run(
        [sys.executable, "-c", SCRIPT, *engines], capture_output=True, text=True, env=env, timeout=900, check=False
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def _dispatched_features() -> str:
    from numpy._core import _multiarray_umath as umath

    return " ".join(umath.__cpu_dispatch__)


def test_q_tables_do_not_depend_on_numpy_simd_dispatch_or_engine():
    engines = ["numpy"]
    try:
        import numba  # noqa: F401

        engines.append("numba")
    except ImportError:
        if os.environ.get("TABTURN_REQUIRE_EXTRAS"):
            raise
    default = _run(None, engines)
    baseline = _run(_dispatched_features(), engines)
    assert len(default) == 6 * 4 * 2 * len(engines)
    assert default == baseline  # same bits with AVX-512 kernels and with numpy's baseline kernels
    for key, digest in default.items():  # and the numba engine equals the numpy engine
        assert digest == default[key.rsplit("/", 1)[0] + "/numpy"], key


def test_numpy_vectorised_power_is_the_hazard_on_this_cpu():
    """Documents why detmath exists: on CPUs with AVX-512, numpy's ** differs from scalar libm in the last bit."""
    from tabturn.runs.files import numpy_simd_found

    if not any(name == "X86_V4" or name.startswith("AVX512") for name in numpy_simd_found()):
        pytest.skip("numpy dispatches no AVX-512 kernel here: its vectorised pow happens to match libm")
    import math

    n = np.arange(1, 2000)
    assert (1.0 / n**0.8 != np.array([1.0 / math.pow(k, 0.8) for k in n])).sum() > 0


@given(st.floats(min_value=-745.0, max_value=700.0, allow_nan=False))
def test_exp_scalar_and_array_agree_and_are_within_one_ulp(x):
    scalar = detmath.exp_scalar(x)
    assert detmath.exp_array(np.array([x, x]))[1] == scalar
    if x < -detmath.EXP_LIMIT:
        assert scalar == 0.0
        return
    with mpmath.workprec(200):
        exact = mpmath.exp(mpmath.mpf(x))
        assert abs((mpmath.mpf(scalar) - exact) / exact) <= 2.0**-52


def test_step_sizes_match_exact_powers_and_grow_consistently():
    small = detmath.step_sizes(0.75, 10).copy()
    big = detmath.step_sizes(0.75, 5000)
    assert np.array_equal(big[: len(small)], small)  # extending the table never changes an entry
    with mpmath.workprec(200):
        for n in (1, 2, 3, 7, 999, 4321):
            exact = mpmath.power(n, -mpmath.mpf(0.75))
            assert abs(mpmath.mpf(big[n]) - exact) <= mpmath.mpf(2.0**-53) * exact  # rounded to nearest
    assert big[0] == big[1] == 1.0
    assert np.array_equal(detmath.step_sizes(1.0, 50)[1:51], 1.0 / np.arange(1, 51))
