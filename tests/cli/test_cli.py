"""The `tabturn` command: JSON output of the examples, and one-line refusals of bad input."""

import json
import os
import subprocess
import sys
from fractions import Fraction

import numpy as np
import pytest

from tabturn.cli.commands import main
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tests.helpers import ROOT, requires_extra, write_file, write_npz

EXAMPLES = sorted((ROOT / "examples").glob("*.toml"))


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.stem)
def test_examples_solve_certified_with_json(path, capsys, tmp_path):
    out = tmp_path / "result.json"
    assert main(["solve", "--config", str(path), "--json", "--out", str(out)]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads(out.read_text())
    assert doc["certified"] is True
    expected = solve_config(TurnConfig.load(str(path)))
    assert Fraction(doc["start"]["value"]) == expected.start_value()
    assert doc["discount"] == str(expected.discount) and doc["objective"] == "minimise-loss"
    assert len(doc["states"]) == expected.mdp.n_states
    for s, entry in enumerate(doc["states"]):
        assert Fraction(entry["value"]) == expected.value(s)
        assert entry["optimal_actions"] == list(expected.optimal_action_names(s))
        clock = (
            {"clock"} if expected.mdp.description["config"]["supervision"]["regime"] == "supervised-until" else set()
        )
        assert set(entry["state"]) == {"x", "y", "observed"} | clock
    assert doc["provenance"]["config"] == TurnConfig.load(str(path)).to_dict()


def test_supervised_until_example_prints_its_turn_step_and_blind_learners_reach_the_blind_optimum(capsys):
    config = str(ROOT / "examples" / "supervised_until.toml")
    assert main(["solve", "--config", config]) == 0
    text = capsys.readouterr().out
    # an independent count along the printed trajectory: the final run of ups starts where "right" last appears
    actions = next(line for line in text.splitlines() if line.startswith("optimal trajectory actions")).split(": ")[1]
    last_right = max(i for i, a in enumerate(actions.split()) if a != "up")
    assert (
        "supervision ends at step 5; the optimal trajectory turns (goes up every step to the top row) from step "
        f"{last_right + 1} " in text
    )
    recipe = ["--epsilon", "0.1", "--step-size", "1", "--initial-value", "optimistic", "--quiet", "--seeds", "20"]
    assert main(["learn", "--config", config, "--time-indexed", "--flag-blind", "--episodes", "8192", *recipe]) == 0
    out = capsys.readouterr().out
    assert (
        "best step-indexed flag-blind policy: exact value -393 (flag-aware optimum -393, gap 0); "
        "seeds reaching it: 20/20" in out
    )


def test_flag_blind_needs_a_turn_family_mdp(capsys):
    requires_extra("gymnasium")
    args = ["learn", "--gym", "FrozenLake-v1", "--discount", "1/2", "--flag-blind", "--seeds", "2", "--episodes", "3"]
    assert main(args) == 2
    errors = [line for line in capsys.readouterr().err.splitlines() if "error" in line]
    assert len(errors) == 1 and "--flag-blind" in errors[0] and "turn-family" in errors[0]


def test_text_output_shows_both_flags(capsys):
    assert main(["solve", "--config", str(ROOT / "examples" / "always.toml")]) == 0
    text = capsys.readouterr().out
    assert "observed" in text and "unobserved" in text and "certified: true" in text and "[U]" in text


def test_generic_npz_solves_and_matches_hand_computation(tmp_path, capsys):
    # Two states; action 1 in state 0 pays 10 and moves to 1; state 1 pays 0 forever.
    P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    R = np.array([[1.0, 0.0], [10.0, 0.0]]).T.copy()  # R[s, a]
    path = tmp_path / "m.npz"
    np.savez(path, P=P, R=R)
    assert main(["solve", "--mdp", str(path), "--discount", "1/2", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["certified"] and doc["objective"] == "maximise-reward"
    assert doc["states"][0]["value"] == "10" and doc["states"][0]["optimal_actions"] == ["a1"]
    assert doc["states"][0]["gap"] == "4"  # staying: Q = 1 + 1/2 * V*(0) = 6, so the gap is 10 - 6
    assert main(["solve", "--mdp", str(path), "--horizon", "3", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["states"][0]["value"] == "12" and doc["horizon"] == 3  # stay twice (1 + 1), then take 10


GOOD_P = np.array([[[1.0, 0.0], [0.0, 1.0]]])
GOOD_R = np.zeros((2, 1))

BAD = {
    "toml-syntax": lambda t: ["--config", write_file(t, "c.toml", "[grid\nx=1")],
    "unknown-regime": lambda t: ["--config", write_file(t, "c.toml", '[supervision]\nregime = "sometimes"\n')],
    "unknown-action": lambda t: ["--config", write_file(t, "c.toml", '[grid]\nactions = ["up", "jump"]\n')],
    "gamma-1-no-horizon": lambda t: [
        "--config",
        write_file(t, "c.toml", '[objective]\nhorizon = "none"\ndiscount = 1\n'),
    ],
    "negative-weight": lambda t: ["--config", write_file(t, "c.toml", "[loss]\na = -1\n")],
    "nan-weight": lambda t: ["--config", write_file(t, "c.toml", "[loss]\nb = nan\n")],
    "start-off-grid": lambda t: ["--config", write_file(t, "c.toml", "[grid]\nx = [0, 3]\nstart = { x = 9, y = 0 }\n")],
    "unknown-section": lambda t: ["--config", write_file(t, "c.toml", "[weather]\nrain = 1\n")],
    "unknown-key": lambda t: ["--config", write_file(t, "c.toml", "[loss]\nc = 1\n")],
    "zero-horizon": lambda t: ["--config", write_file(t, "c.toml", "[objective]\nhorizon = 0\n")],
    "probability-above-1": lambda t: [
        "--config",
        write_file(t, "c.toml", '[supervision]\nregime = "switching"\np = 2\n'),
    ],
    "rational-unparsable": lambda t: ["--config", write_file(t, "c.toml", '[loss]\na = "1/x"\n')],
    "grid-too-large": lambda t: ["--config", write_file(t, "c.toml", "[grid]\nx = [0, 9999]\ny = [0, 9999]\n")],
    "table-too-large": lambda t: [
        "--config",
        write_file(t, "c.toml", "[grid]\nx = [0, 999]\ny = [0, 999]\n[objective]\nhorizon = 100000\n"),
    ],
    "missing-config-file": lambda t: ["--config", str(t / "nope.toml")],
    "rows-not-summing": lambda t: [
        "--mdp",
        write_npz(t, P=np.array([[[0.5, 0.2], [0.0, 1.0]]]), R=GOOD_R),
        "--horizon",
        "2",
    ],
    "negative-probability": lambda t: [
        "--mdp",
        write_npz(t, P=np.array([[[1.5, -0.5], [0.0, 1.0]]]), R=GOOD_R),
        "--horizon",
        "2",
    ],
    "shape-mismatch": lambda t: ["--mdp", write_npz(t, P=GOOD_P, R=np.zeros((3, 1))), "--horizon", "2"],
    "nan-reward": lambda t: ["--mdp", write_npz(t, P=GOOD_P, R=np.array([[np.nan], [0.0]])), "--horizon", "2"],
    "missing-R": lambda t: ["--mdp", write_npz(t, P=GOOD_P), "--horizon", "2"],
    "not-npz": lambda t: ["--mdp", write_file(t, "x.npz", "hello"), "--horizon", "2"],
    "pickled-object": lambda t: [
        "--mdp",
        write_npz(t, P=np.array([{"a": 1}], dtype=object), R=GOOD_R),
        "--horizon",
        "2",
    ],
    "no-discount-no-horizon": lambda t: ["--mdp", write_npz(t, P=GOOD_P, R=GOOD_R)],
    "discount-unparsable": lambda t: ["--mdp", write_npz(t, P=GOOD_P, R=GOOD_R), "--discount", "abc"],
    "discount-too-big": lambda t: ["--mdp", write_npz(t, P=GOOD_P, R=GOOD_R), "--discount", "3/2", "--horizon", "2"],
    "negative-horizon": lambda t: ["--mdp", write_npz(t, P=GOOD_P, R=GOOD_R), "--horizon", "-3"],
    "config-and-discount": lambda t: ["--config", str(EXAMPLES[0]), "--discount", "1/2"],
}


@pytest.mark.parametrize("name", sorted(BAD))
def test_bad_input_gives_one_line_exit_2_and_no_file(name, tmp_path, capsys):
    out = tmp_path / "out.json"
    code = main(["solve", *BAD[name](tmp_path), "--out", str(out)])
    captured = capsys.readouterr()
    assert code == 2
    lines = captured.err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("tabturn: error: ")
    assert "Traceback" not in captured.err and captured.out == ""
    assert not out.exists() and not [p for p in tmp_path.iterdir() if p.name.startswith(".out.json")]


@pytest.mark.parametrize("argv", [[], ["solve"], ["solve", "--config", "a", "--mdp", "b"], ["frobnicate"]])
def test_bad_arguments(argv, capsys):
    assert main(argv) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tabturn: error: ")


def test_real_process_refuses_without_traceback(tmp_path):
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    bad = write_file(tmp_path, "c.toml", "[loss]\na = -1\n")
    proc = subprocess.run(
        [sys.executable, "-m", "tabturn", "solve", "--config", bad], capture_output=True, text=True, env=env
    )
    assert proc.returncode == 2
    assert proc.stderr == f"tabturn: error: {bad}: loss.a: must be >= 0, not -1\n"  # the file and the full key
    proc = subprocess.run([sys.executable, "-m", "tabturn", "--version"], capture_output=True, text=True, env=env)
    assert proc.returncode == 0 and proc.stdout.startswith("tabturn ")


@pytest.mark.parametrize(
    "command", ["solve", "check", "states", "learn", "attribute", "symbolic", "export", "sweep", "mesa"]
)
def test_every_subcommand_help_has_a_description_and_an_example(command, capsys):
    with pytest.raises(SystemExit) as done:
        main([command, "--help"])
    assert done.value.code == 0
    text = capsys.readouterr().out
    example = [line for line in text.splitlines() if line.startswith("example: tabturn ")]
    assert len(example) == 1 and f"tabturn {command}" in example[0]
    assert len(text.split("\n\n")[1]) > 40  # the description paragraph after the usage line


def test_importing_the_cli_and_the_package_stays_light():
    # the command line starts fast: heavy libraries load only in the commands that use them
    code = (
        "import sys, tabturn, tabturn.cli; heavy = ['sympy', 'scipy', 'scipy.optimize', 'networkx', 'matplotlib', "
        "'gymnasium', 'numba', 'numpy']; print([m for m in heavy if m in sys.modules])"
    )
    out = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    ).stdout
    assert out.strip() == "[]"
    code = (
        "import sys; from tabturn.cli.commands import main; main(['solve', '--config', {!r}]); "
        "print([m for m in ['sympy', 'scipy', 'scipy.sparse', 'scipy.optimize', 'networkx', 'matplotlib', "
        "'gymnasium', 'numba'] if m in sys.modules], file=sys.stderr)".format(str(ROOT / "examples" / "always.toml"))
    )
    proc = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    assert proc.stderr.strip().splitlines()[-1] == "[]"


def test_the_package_exports_resolve_to_functions_even_after_submodule_imports():
    import importlib

    import tabturn

    importlib.import_module("tabturn.envs.solve")
    importlib.import_module("tabturn.learners.tabular")
    with pytest.warns(DeprecationWarning):  # the 0.1 module paths of the same names
        importlib.import_module("tabturn.solve")
        importlib.import_module("tabturn.learn")
    assert callable(tabturn.solve) and callable(tabturn.learn) and callable(tabturn.check)
    assert set(tabturn.__all__) <= set(dir(tabturn))
    with pytest.raises(AttributeError):
        tabturn.no_such_name  # noqa: B018
