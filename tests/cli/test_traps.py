"""The user traps a new user met: each gives one clear line (or the answer) instead of a puzzle."""

import csv

import pytest

from tabturn.cli.commands import main
from tests.helpers import ROOT

ALWAYS = str(ROOT / "examples" / "always.toml")


def test_an_mdp_that_is_not_an_npz_is_named_as_such(tmp_path, capsys):
    path = tmp_path / "x.csv"
    path.write_text("a,b\n1,2\n")
    assert main(["solve", "--mdp", str(path), "--horizon", "3"]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--mdp:" in err and "expected an .npz with arrays P" in err
    assert "pickle" not in err


def test_learner_errors_name_the_flag_not_the_field(capsys):
    assert main(["learn", "--config", ALWAYS, "--learner", "foo"]) == 2
    assert capsys.readouterr().err.startswith("tabturn: error: --learner: must be one of q, sarsa")
    assert main(["learn", "--config", ALWAYS, "--step-size", "3"]) == 2
    assert capsys.readouterr().err.startswith("tabturn: error: --step-size: must be a number in [0, 1]")


def test_attribute_help_prints_one_percent_sign(capsys):
    with pytest.raises(SystemExit):
        main(["attribute", "--help"])
    out = capsys.readouterr().out
    assert "99% of" in " ".join(out.split()) and "%%" not in out


def _sweep(tmp_path, initial) -> list[dict]:
    path = tmp_path / f"s{len(list(tmp_path.iterdir()))}.toml"
    path.write_text(
        f'[sweep]\nconfig = "{ALWAYS}"\nseeds = 2\nchunk = 2\nrecord = ["class"]\n'
        f'[learner]\nepisodes = 5\nepsilon = "1/10"\n[axes]\n"learner.initial_value" = {initial}\n'
    )
    out = tmp_path / f"out{path.stem}"
    assert main(["sweep", str(path), "--out", str(out), "--quiet"]) == 0
    with open(out / "table.csv", newline="") as handle:
        return list(csv.DictReader(handle))


def test_a_sweep_reads_numbers_given_as_text_and_keeps_the_initial_value_label(tmp_path):
    as_text = _sweep(tmp_path, '["0", "optimistic"]')
    as_numbers = _sweep(tmp_path, '[0, "optimistic"]')
    assert [r["class_observed"] for r in as_text] == [r["class_observed"] for r in as_numbers]
    assert [r["learner.initial_value_given"] for r in as_numbers] == ["0", "0", "optimistic", "optimistic"]
    optimistic = [r for r in as_numbers if r["learner.initial_value_given"] == "optimistic"]
    assert {float(r["learner.initial_value"]) for r in optimistic} == {-224.0}  # the resolved number, beside it
    assert {r["learner.epsilon"] for r in as_text} == {"0.1"}


@pytest.mark.parametrize("command, hint", [("learn", False), ("sweep", True)])
def test_ctrl_c_prints_one_line_and_exits_130(monkeypatch, capsys, command, hint):
    import tabturn.cli.commands as commands

    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr(commands, f"_cmd_{command}", interrupted)
    argv = ["learn", "--config", ALWAYS] if command == "learn" else ["sweep", "s.toml", "--out", "o"]
    assert main(argv) == 130
    err = capsys.readouterr().err
    assert err.startswith("tabturn: interrupted") and err.count("\n") == 1
    assert ("rerun the same command to resume" in err) == hint
