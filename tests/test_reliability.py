"""Nothing half-written, no silent overflow, the same bits on every run, batch and worker count."""

import hashlib
import json
import os
import signal
import subprocess
import sys
import textwrap
import time
from concurrent.futures import ProcessPoolExecutor
from fractions import Fraction

from hypothesis import given, settings
from hypothesis import strategies as st

from tabturn.cli.commands import main
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.finite import backward_induction
from tabturn.learners.tabular import LearnerSettings, learn
from tabturn.runs.sweep import parse_sweep, run_sweep
from tests.helpers import ROOT, expectimax

ALWAYS = str(ROOT / "examples" / "always.toml")


# ---------------------------------------------------------------- atomic output under SIGKILL

SLOW_WRITER = textwrap.dedent("""
    import os, sys, time
    real_fsync = os.fsync
    def slow_fsync(fd):  # a slow disk: the process is killed while the output is being written
        sys.stderr.write("writing\\n"); sys.stderr.flush()
        time.sleep(30)
        real_fsync(fd)
    os.fsync = slow_fsync
    from tabturn.cli.commands import main
    sys.exit(main(sys.argv[1:]))
""")


def test_a_run_killed_while_writing_leaves_no_file_at_all(tmp_path):
    out = tmp_path / "solution.json"
    proc = subprocess.Popen(
        [sys.executable, "-c", SLOW_WRITER, "solve", "--config", ALWAYS, "--json", "--out", str(out)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stderr.readline() == b"writing\n"  # inside the write, data already handed to the file
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert list(tmp_path.iterdir()) == []  # neither the result nor a temp file


def test_a_killed_run_never_leaves_a_truncated_result(tmp_path):
    # Kill real runs at spread-out moments: the output is always absent or complete JSON.
    out = tmp_path / "symbolic.json"
    outcomes = set()
    for delay in (0.5, 1.0, 1.5, 2.0, 3.0):
        out.unlink(missing_ok=True)
        proc = subprocess.Popen(
            [sys.executable, "-m", "tabturn", "solve", "--config", ALWAYS, "--json", "--out", str(out)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "PYTHONPATH": str(ROOT)},
        )
        time.sleep(delay)
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
        if out.exists():
            json.loads(out.read_text())
            outcomes.add("complete")
        else:
            outcomes.add("absent")
        assert [p.name for p in tmp_path.iterdir() if p.name != out.name] == []
    assert outcomes <= {"absent", "complete"}


# ---------------------------------------------------------------- overflow cannot pass silently


@settings(max_examples=80, deadline=None)
@given(
    st.integers(0, 2**90),
    st.integers(1, 2**90),
    st.integers(1, 4),
    st.sampled_from(["always", "absent-supervisor", "switching"]),
    st.sampled_from([Fraction(1), Fraction(7, 9)]),
)
def test_adversarial_weights_give_the_exact_tree_search_value(a, b, horizon, regime, gamma):
    extra = {"p": Fraction(1, 3), "q": Fraction(1, 5)} if regime == "switching" else {}
    cfg = TurnConfig(
        x_bounds=(-2, 2),
        y_bounds=(-2, 2),
        start=(0, 0, True),
        actions=("up", "right", "stay"),
        horizon=horizon,
        a=Fraction(a, 3),
        b=b,
        discount=gamma,
        regime=regime,
        **extra,
    )
    mdp = turn_mdp(cfg)
    sol = backward_induction(mdp, horizon, gamma)
    value, _ = expectimax(cfg, cfg.start, horizon)
    assert sol.value(mdp.index_of(cfg.start)) == value


# ---------------------------------------------------------------- the same bits everywhere


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _q_bytes(seeds, batch: int) -> bytes:
    """The Q-tables of ``seeds`` trained in batches of ``batch``, concatenated in seed order."""
    mdp = turn_mdp(TurnConfig.load(ALWAYS))
    settings_ = LearnerSettings(episodes=40, horizon=16, tie_break="random")
    return b"".join(learn(mdp, settings_, seeds[i : i + batch]).q.tobytes() for i in range(0, len(seeds), batch))


def test_outputs_hash_identically_across_runs_batches_and_workers(tmp_path, capsys):
    hashes = set()
    for run in range(2):  # solve and learn, run twice through the CLI
        assert main(["solve", "--config", ALWAYS, "--json", "--out", str(tmp_path / f"s{run}.json")]) == 0
        assert main(["learn", "--config", ALWAYS, "--seeds", "9", "--episodes", "30", "--json", "--quiet"]) == 0
        hashes.add((_sha((tmp_path / f"s{run}.json").read_bytes()), _sha(capsys.readouterr().out.encode())))
    assert len(hashes) == 1
    seeds = list(range(64))
    batches = {_sha(_q_bytes(seeds, batch)) for batch in (1, 7, 64)}
    with ProcessPoolExecutor(2) as pool:  # two worker processes, each half of the seeds
        halves = b"".join(pool.map(_q_bytes, [seeds[:32], seeds[32:]], [32, 32]))
    assert batches == {_sha(halves)}
    sweep = parse_sweep(
        {
            "sweep": {"seeds": 10, "chunk": 3},
            "grid": {"x": [0, 3], "y": [0, 3]},
            "objective": {"horizon": 5},
            "learner": {"episodes": 20},
            "axes": {"loss.b": ["1/2", "2"]},
        }
    )
    tables = set()
    for run, workers in enumerate((1, 2, 1)):
        run_sweep(sweep, tmp_path / f"sweep{run}", workers=workers)
        tables.add(_sha((tmp_path / f"sweep{run}" / "table.csv").read_bytes()))
    assert len(tables) == 1


def test_every_written_result_names_its_version_and_source(tmp_path, capsys):
    assert main(["solve", "--config", ALWAYS, "--out", str(tmp_path / "s.json")]) == 0
    doc = json.loads((tmp_path / "s.json").read_text())
    assert doc["provenance"]["tabturn_version"] and doc["provenance"]["config"]["loss"]["a"] == "1"
    assert main(["export", "--config", ALWAYS, "--drn", str(tmp_path / "m.drn")]) == 0
    first = (tmp_path / "m.drn").read_text().splitlines()[0]
    assert first.startswith("// exported by tabturn") and '"tabturn_version"' in first and '"config"' in first
    assert (
        main(
            [
                "learn",
                "--config",
                ALWAYS,
                "--seeds",
                "2",
                "--episodes",
                "5",
                "--quiet",
                "--out",
                str(tmp_path / "l.json"),
            ]
        )
        == 0
    )
    assert json.loads((tmp_path / "l.json").read_text())["provenance"]["config"]["grid"]["x"] == [0, 7]
    capsys.readouterr()


def test_provenance_records_versions_and_the_simd_extensions_numpy_uses():
    from importlib import metadata

    from numpy._core import _multiarray_umath as umath

    from tabturn.runs.files import provenance

    record = provenance()
    assert record["scipy"] == metadata.version("scipy") and record["numpy"] == metadata.version("numpy")
    assert set(record["numpy_simd_found"]) <= set(umath.__cpu_dispatch__)
    script = (
        "import json; from tabturn.runs.files import provenance; print(json.dumps(provenance()['numpy_simd_found']))"
    )
    env = {**os.environ, "NPY_DISABLE_CPU_FEATURES": " ".join(umath.__cpu_dispatch__)}
    disabled = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, check=True)
    assert json.loads(disabled.stdout) == []  # every dispatched kernel disabled: numpy runs its baseline only
