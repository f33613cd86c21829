"""Malformed input across every entry point: one line on stderr naming the field, exit 2, no traceback, no file.

(The solve command's config and .npz cases live in test_cli.py; this file covers the other commands, sweep
files, Gymnasium imports and more config and array cases.) Plus Hypothesis fuzzing of the loaders: nothing but
InputError may come out of them.
"""

import contextlib
import io
import os
import zipfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabturn.cli.commands import main
from tabturn.core.errors import InputError
from tabturn.envs.turn.config import TurnConfig
from tabturn.interop.arrays import load_npz, mdp_from_arrays
from tabturn.runs.sweep import parse_sweep
from tests.helpers import ROOT, write_file, write_npz

ALWAYS = str(ROOT / "examples" / "always.toml")
SWITCHING = str(ROOT / "examples" / "switching.toml")


EYE = np.eye(2)[None]
R0 = np.zeros((2, 1))
SWEEP_HEAD = "[sweep]\nseeds = 2\n[grid]\nx = [0, 2]\ny = [0, 2]\n[objective]\nhorizon = 3\n[learner]\nepisodes = 5\n"

# name: (argv builder, text the error line must contain (the field), whether the command takes --out)
CASES = {
    # learn flags
    "learn-zero-seeds": (lambda t: ["learn", "--config", ALWAYS, "--seeds", "0"], "--seeds", True),
    "learn-negative-base-seed": (lambda t: ["learn", "--config", ALWAYS, "--base-seed", "-1"], "--base-seed", True),
    "learn-unknown-learner": (lambda t: ["learn", "--config", ALWAYS, "--learner", "ppo"], "--learner:", True),
    "learn-epsilon-above-1": (lambda t: ["learn", "--config", ALWAYS, "--epsilon", "1.5"], "epsilon", True),
    "learn-epsilon-nan": (lambda t: ["learn", "--config", ALWAYS, "--epsilon", "nan"], "epsilon", True),
    "learn-step-size-zero": (lambda t: ["learn", "--config", ALWAYS, "--step-size", "0"], "--step-size:", True),
    "learn-omega-out-of-range": (
        lambda t: ["learn", "--config", ALWAYS, "--step-schedule", "1/n", "--omega", "0.2"],
        "omega",
        True,
    ),
    "learn-unknown-schedule": (
        lambda t: ["learn", "--config", ALWAYS, "--epsilon-schedule", "cosine"],
        "--epsilon-schedule:",
        True,
    ),
    "learn-unknown-tie-break": (lambda t: ["learn", "--config", ALWAYS, "--tie-break", "coin"], "--tie-break:", True),
    "learn-initial-value-inf": (
        lambda t: ["learn", "--config", ALWAYS, "--initial-value", "inf"],
        "--initial-value: must be finite",
        True,
    ),
    "learn-initial-value-word": (
        lambda t: ["learn", "--config", ALWAYS, "--initial-value", "hopeful"],
        "--initial-value:",
        True,
    ),
    "learn-action-order-unknown": (
        lambda t: ["learn", "--config", ALWAYS, "--action-order", "up,jump"],
        "--action-order",
        True,
    ),
    "learn-action-order-short": (
        lambda t: ["learn", "--config", ALWAYS, "--action-order", "up,down"],
        "--action-order",
        True,
    ),
    "learn-unknown-engine": (lambda t: ["learn", "--config", ALWAYS, "--engine", "gpu"], "engine", True),
    "learn-softmax-temperature-0": (
        lambda t: ["learn", "--config", ALWAYS, "--exploration", "softmax", "--temperature", "0"],
        "temperature",
        True,
    ),
    "learn-episodes-zero": (lambda t: ["learn", "--config", ALWAYS, "--episodes", "0"], "episodes", True),
    "learn-seeds-not-int": (lambda t: ["learn", "--config", ALWAYS, "--seeds", "many"], "arguments", True),
    "learn-too-many-seeds": (lambda t: ["learn", "--config", ALWAYS, "--seeds", "100000000"], "seeds", True),
    "learn-config-and-gym": (lambda t: ["learn", "--config", ALWAYS, "--gym", "FrozenLake-v1"], "arguments", True),
    "learn-gym-no-discount": (lambda t: ["learn", "--gym", "FrozenLake-v1"], "--discount", True),
    # attribute and mesa
    "attribute-zero-seeds": (lambda t: ["attribute", "--config", ALWAYS, "--seeds", "0"], "--seeds", True),
    "attribute-missing-config": (lambda t: ["attribute", "--config", str(t / "nope.toml")], "config", True),
    "attribute-unknown-engine": (lambda t: ["attribute", "--config", ALWAYS, "--engine", "gpu"], "--engine", True),
    "mesa-unknown-model": (lambda t: ["mesa", "--config", ALWAYS, "--model", "neural"], "model", True),
    "mesa-coverage-above-1": (lambda t: ["mesa", "--config", ALWAYS, "--coverage", "2"], "coverage", True),
    "mesa-coverage-unparsable": (lambda t: ["mesa", "--config", ALWAYS, "--coverage", "half"], "coverage", True),
    "mesa-zero-episodes": (lambda t: ["mesa", "--config", ALWAYS, "--episodes", "0"], "episodes", True),
    "mesa-prior-unparsable": (
        lambda t: ["mesa", "--config", ALWAYS, "--model", "tabular", "--prior", "1/0"],
        "prior",
        True,
    ),
    # symbolic
    "symbolic-zero-instances": (lambda t: ["symbolic", "--instances", "0"], "instances", True),
    # export
    "export-no-target": (lambda t: ["export", "--config", ALWAYS], "export", False),
    "export-bad-config": (
        lambda t: ["export", "--config", write_file(t, "c.toml", "[loss]\nb = -2\n"), "--drn", str(t / "out.drn")],
        "b",
        False,
    ),
    "export-bad-npz": (
        lambda t: ["export", "--mdp", write_file(t, "m.npz", "not a zip"), "--npz", str(t / "out.npz")],
        "mdp",
        False,
    ),
    # sweeps
    "sweep-missing-file": (lambda t: ["sweep", str(t / "nope.toml"), "--out", str(t / "o")], "sweep", False),
    "sweep-bad-toml": (lambda t: ["sweep", write_file(t, "s.toml", "[sweep\n"), "--out", str(t / "o")], "sweep", False),
    "sweep-unknown-section": (
        lambda t: ["sweep", write_file(t, "s.toml", "[plot]\nx = 1\n"), "--out", str(t / "o")],
        "plot",
        False,
    ),
    "sweep-axis-not-a-list": (
        lambda t: ["sweep", write_file(t, "s.toml", SWEEP_HEAD + '[axes]\n"loss.b" = 2\n'), "--out", str(t / "o")],
        "axes.loss.b",
        False,
    ),
    "sweep-axis-bad-value": (
        lambda t: [
            "sweep",
            write_file(t, "s.toml", SWEEP_HEAD + '[axes]\n"supervision.regime" = ["never"]\n'),
            "--out",
            str(t / "o"),
        ],
        "axes.supervision.regime",
        False,
    ),
    "sweep-axis-unknown-section": (
        lambda t: ["sweep", write_file(t, "s.toml", SWEEP_HEAD + '[axes]\n"reward.b" = [1]\n'), "--out", str(t / "o")],
        "axes.reward.b",
        False,
    ),
    "sweep-negative-seeds": (
        lambda t: ["sweep", write_file(t, "s.toml", "[sweep]\nseeds = -4\n"), "--out", str(t / "o")],
        "sweep.seeds",
        False,
    ),
    "sweep-duplicate-seeds": (
        lambda t: ["sweep", write_file(t, "s.toml", "[sweep]\nseeds = [1, 1]\n"), "--out", str(t / "o")],
        "sweep.seeds",
        False,
    ),
    "sweep-learner-bad-value": (
        lambda t: [
            "sweep",
            write_file(t, "s.toml", SWEEP_HEAD.replace("episodes = 5", "epsilon = 3")),
            "--out",
            str(t / "o"),
        ],
        "epsilon",
        False,
    ),
    "sweep-zero-workers": (
        lambda t: ["sweep", write_file(t, "s.toml", SWEEP_HEAD), "--out", str(t / "o"), "--workers", "0"],
        "--workers",
        False,
    ),
    "sweep-missing-base-config": (
        lambda t: ["sweep", write_file(t, "s.toml", '[sweep]\nconfig = "gone.toml"\n'), "--out", str(t / "o")],
        "config",
        False,
    ),
    # Gymnasium imports
    "gym-unknown-id": (lambda t: ["solve", "--gym", "NoSuchEnv-v0", "--discount", "1/2"], "--gym", True),
    "gym-not-tabular": (lambda t: ["solve", "--gym", "CartPole-v1", "--discount", "1/2"], "--gym", True),
    "gym-gamma-1-no-horizon": (lambda t: ["solve", "--gym", "FrozenLake-v1", "--discount", "1"], "--discount", True),
    # more configs and arrays through solve
    "config-switching-p-elsewhere": (
        lambda t: ["solve", "--config", write_file(t, "c.toml", '[supervision]\np = "1/2"\n')],
        "p",
        True,
    ),
    "config-terminal-discounted": (
        lambda t: [
            "solve",
            "--config",
            write_file(t, "c.toml", '[loss]\ntiming = "terminal"\n[objective]\ndiscount = "1/2"\n'),
        ],
        "discount",
        True,
    ),
    "config-actions-repeated": (
        lambda t: ["solve", "--config", write_file(t, "c.toml", '[grid]\nactions = ["up", "up"]\n')],
        "actions",
        True,
    ),
    "config-bounds-reversed": (
        lambda t: ["solve", "--config", write_file(t, "c.toml", "[grid]\nx = [5, 1]\n")],
        "grid.x",
        True,
    ),
    "config-bounds-float": (
        lambda t: ["solve", "--config", write_file(t, "c.toml", "[grid]\ny = [0, 2.5]\n")],
        "grid.y",
        True,
    ),
    "config-horizon-float": (
        lambda t: ["solve", "--config", write_file(t, "c.toml", "[objective]\nhorizon = 2.5\n")],
        "horizon",
        True,
    ),
    "config-weight-inf": (lambda t: ["solve", "--config", write_file(t, "c.toml", "[loss]\na = inf\n")], "a", True),
    "config-start-observed-string": (
        lambda t: ["solve", "--config", write_file(t, "c.toml", '[grid]\nstart = { observed = "yes" }\n')],
        "start.observed",
        True,
    ),
    "config-not-utf8": (lambda t: ["solve", "--config", str(_bytes(t, "c.toml", b"\xff\xfe[loss]"))], "config", True),
    "npz-probability-nan": (
        lambda t: ["solve", "--mdp", write_npz(t, P=np.array([[[np.nan, 1.0], [0.0, 1.0]]]), R=R0), "--horizon", "2"],
        "P",
        True,
    ),
    "npz-P-2d": (lambda t: ["solve", "--mdp", write_npz(t, P=np.eye(2), R=R0), "--horizon", "2"], "P", True),
    "npz-P-not-square": (
        lambda t: ["solve", "--mdp", write_npz(t, P=np.ones((1, 2, 3)) / 3, R=R0), "--horizon", "2"],
        "P",
        True,
    ),
    "npz-complex": (
        lambda t: ["solve", "--mdp", write_npz(t, P=EYE.astype(complex), R=R0), "--horizon", "2"],
        "P",
        True,
    ),
    "npz-strings": (
        lambda t: ["solve", "--mdp", write_npz(t, P=np.array([[["a", "b"], ["c", "d"]]]), R=R0), "--horizon", "2"],
        "P",
        True,
    ),
    "npz-unknown-key": (
        lambda t: ["solve", "--mdp", write_npz(t, P=EYE, R=R0, gamma=np.array(0.5)), "--horizon", "2"],
        "mdp",
        True,
    ),
    "npz-start-out-of-range": (
        lambda t: ["solve", "--mdp", write_npz(t, P=EYE, R=R0, start=np.array(7)), "--horizon", "2"],
        "start",
        True,
    ),
    "npz-labels-duplicate": (
        lambda t: ["solve", "--mdp", write_npz(t, P=EYE, R=R0, labels=np.array(["a", "a"])), "--horizon", "2"],
        "labels",
        True,
    ),
    "npz-horizon-too-large": (
        lambda t: ["solve", "--mdp", write_npz(t, P=EYE, R=R0), "--horizon", "100000000000"],
        "horizon",
        True,
    ),
    "npz-missing-file": (lambda t: ["solve", "--mdp", str(t / "none.npz"), "--horizon", "2"], "mdp", True),
    # gym ids with options, unknown modules and options the env refuses
    "gym-id-with-unknown-module": (
        lambda t: ["solve", "--gym", "nomodule:Nope-v1", "--discount", "1/2"],
        "--gym",
        True,
    ),
    "gym-bad-option-value": (
        lambda t: ["solve", "--gym", "FrozenLake-v1:map_name=9x9", "--discount", "1/2"],
        "--gym",
        True,
    ),
    "gym-option-without-value": (
        lambda t: ["solve", "--gym", "FrozenLake-v1:map_name=8x8,slippery", "--discount", "1/2"],
        "--gym",
        True,
    ),
    # a final-step loss has no place in (P, R): refused, not dropped
    "export-npz-terminal-timing": (
        lambda t: ["export", "--config", str(ROOT / "examples" / "terminal.toml"), "--npz", str(t / "t.npz")],
        "--npz",
        False,
    ),
    # check
    "check-both-inputs": (lambda t: ["check", "--config", ALWAYS, "--policy", "a.csv", "--q", "b.csv"], "--q", True),
    "check-missing-file": (lambda t: ["check", "--config", ALWAYS, "--policy", str(t / "none.csv")], "policy", True),
    "check-wrong-suffix": (
        lambda t: ["check", "--config", ALWAYS, "--policy", write_file(t, "p.txt", "x")],
        "policy",
        True,
    ),
    "check-q-bad-objective": (
        lambda t: [
            "check",
            "--config",
            ALWAYS,
            "--q",
            write_file(t, "q.csv", "x,y,observed,up,down,left,right\n0,0,true,1,2,3,4\n"),
            "--objective",
            "utility",
        ],
        "objective",
        True,
    ),
    "check-q-nan": (
        lambda t: [
            "check",
            "--config",
            ALWAYS,
            "--q",
            write_file(t, "q.csv", "x,y,observed,up,down,left,right\n0,0,true,nan,2,3,4\n"),
            "--objective",
            "loss",
        ],
        "row 2",
        True,
    ),
    "check-q-array-wrong-shape": (
        lambda t: ["check", "--config", ALWAYS, "--q", _npy(t, np.zeros((5, 4))), "--objective", "loss"],
        "shape",
        True,
    ),
    "check-t-without-horizon": (
        lambda t: [
            "check",
            "--config",
            SWITCHING,
            "--policy",
            write_file(t, "p.csv", "t,x,y,observed,action\n0,0,0,true,up\n"),
        ],
        "t column",
        True,
    ),
    "check-objective-with-policy": (
        lambda t: ["check", "--config", ALWAYS, "--policy", "p.csv", "--objective", "loss"],
        "--objective",
        True,
    ),
}


def _npy(t, array):
    np.save(t / "a.npy", array)
    return str(t / "a.npy")


def _bytes(t, name, data):
    path = t / name
    path.write_bytes(data)
    return path


@pytest.mark.parametrize("name", sorted(CASES))
def test_malformed_input_is_refused_in_one_line(name, tmp_path, capsys):
    build, field, takes_out = CASES[name]
    argv = build(tmp_path)
    out = tmp_path / "result.json"
    before = {p.name for p in tmp_path.iterdir()}
    code = main(argv + (["--out", str(out)] if takes_out else []))
    captured = capsys.readouterr()
    assert code == 2, captured
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tabturn: error: ") and "Traceback" not in captured.err
    assert field in lines[0], lines[0]
    assert {p.name for p in tmp_path.iterdir()} == before  # nothing written, not even a temp file


def test_the_suite_covers_at_least_fifty_cases_in_total():
    from tests.cli.test_cli import BAD

    assert len(CASES) + len(BAD) >= 50 and len(CASES) >= 50


# ---------------------------------------------------------------- fuzzing: only InputError may escape

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=True),
    st.text(max_size=8),
    st.lists(st.integers(-5, 5), max_size=3),
)
sections = st.dictionaries(
    st.sampled_from(
        ["x", "y", "start", "actions", "a", "b", "distance", "timing", "horizon", "discount", "regime", "p", "q", "zzz"]
    ),
    st.one_of(scalars, st.dictionaries(st.sampled_from(["x", "y", "observed", "w"]), scalars, max_size=3)),
    max_size=4,
)
config_dicts = st.dictionaries(
    st.sampled_from(["grid", "loss", "objective", "supervision", "other"]), st.one_of(sections, scalars), max_size=4
)


@given(config_dicts)
def test_config_loader_raises_only_input_error(data):
    with contextlib.suppress(InputError):
        TurnConfig.from_dict(data)


@given(st.text(max_size=200))
def test_config_text_raises_only_input_error(text):
    with contextlib.suppress(InputError):
        TurnConfig.from_toml(text)


arrays = st.one_of(
    st.builds(
        lambda shape, fill: np.full(shape, fill),
        st.tuples(st.integers(0, 3), st.integers(0, 3), st.integers(0, 3)),
        st.sampled_from([0.0, 0.5, 1.0, -1.0, np.nan, np.inf, 1 / 3]),
    ),
    st.builds(lambda v: np.array(v), st.lists(st.floats(allow_nan=True), max_size=4)),
    st.just(np.eye(2)[None]),
    st.just(np.array([["a"]])),
    st.just(np.zeros((2, 1))),
)


@given(arrays, arrays, st.one_of(st.none(), arrays))
def test_array_loader_raises_only_input_error(P, R, start):
    with contextlib.suppress(InputError):
        mdp_from_arrays(P, R, start=start)


@given(st.binary(max_size=300))
def test_npz_loader_raises_only_input_error_on_arbitrary_bytes(data):
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"tabturn-fuzz-{os.getpid()}.npz"
    path.write_bytes(data)
    try:
        load_npz(str(path))
    except InputError:
        pass
    finally:
        path.unlink(missing_ok=True)


@given(st.dictionaries(st.sampled_from(["P", "R", "labels", "start", "extra"]), arrays, max_size=4))
def test_npz_loader_raises_only_input_error_on_arbitrary_arrays(members):
    buffer = io.BytesIO()
    np.savez(buffer, **members)
    path = Path(os.environ.get("TMPDIR", "/tmp")) / f"tabturn-fuzz-arrays-{os.getpid()}.npz"
    path.write_bytes(buffer.getvalue())
    try:
        load_npz(str(path))
    except InputError:
        pass
    finally:
        path.unlink(missing_ok=True)


@given(
    st.dictionaries(
        st.sampled_from(["sweep", "learner", "axes", "loss", "other"]),
        st.one_of(
            scalars,
            st.dictionaries(
                st.sampled_from(["seeds", "chunk", "loss.b", "episodes", "learner.epsilon", "b", "engine"]),
                st.one_of(scalars, st.lists(scalars, max_size=2)),
                max_size=3,
            ),
        ),
        max_size=3,
    )
)
def test_sweep_parser_raises_only_input_error(data):
    with contextlib.suppress(InputError):
        parse_sweep(data)


def test_npz_with_a_pickle_inside_is_refused_without_unpickling(tmp_path):
    import pickle

    path = tmp_path / "evil.npz"
    with zipfile.ZipFile(path, "w") as archive:
        with archive.open("P.npy", "w") as member:
            np.lib.format.write_array(member, np.array([object()], dtype=object), allow_pickle=True)
        archive.writestr("R.npy", pickle.dumps("not an array"))
    with pytest.raises(InputError):
        load_npz(str(path))


@pytest.mark.parametrize("target", ["/proc/x.json", "/dev/null/x.json"])
def test_unwritable_out_is_one_line_naming_the_file(target, capsys):
    assert main(["solve", "--config", ALWAYS, "--out", target]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith(f"tabturn: error: {target}: ")
