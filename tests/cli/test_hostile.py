"""Hostile input, second round: each case is refused in one line naming the field (exit 2), in bounded time, with
no traceback, no file written and no input overwritten."""

from __future__ import annotations

import contextlib
import io
import os
import time
from pathlib import Path

import numpy as np
import pytest

from tabturn.cli.commands import main
from tests.helpers import ROOT

ALWAYS = ROOT / "examples" / "always.toml"
GRID = ROOT / "examples" / "gridworlds" / "absent_supervisor.toml"
SAFE = ROOT / "examples" / "gridworlds" / "safe_interruptibility.toml"


def _refused(argv: list[str], field: str, cwd: Path, seconds: float = 20.0) -> str:
    before = sorted(p.name for p in cwd.iterdir())
    err = io.StringIO()
    started = time.perf_counter()
    with contextlib.redirect_stderr(err), contextlib.redirect_stdout(io.StringIO()):
        code = main(argv)
    took = time.perf_counter() - started
    line = err.getvalue()
    assert code == 2, (argv, line)
    assert len(line.strip().splitlines()) == 1 and "Traceback" not in line, line
    assert field in line, (field, line)
    assert len(line) <= 420, len(line)  # a huge offending value is cut
    assert took < seconds, took
    assert sorted(p.name for p in cwd.iterdir()) == before  # nothing written
    return line


def _config(tmp_path: Path, old: str, new: str, source: Path = ALWAYS, name: str = "c.toml") -> str:
    text = source.read_text()
    assert old in text
    path = tmp_path / name
    path.write_text(text.replace(old, new, 1))
    return str(path)


@pytest.mark.parametrize(
    "old, new, field",
    [
        ("a = 1", 'a = "1e999999999"', "a:"),  # would build 10^999999999
        ("a = 1", 'a = "1e5000"', "a:"),  # beyond Python's 4300-digit printing limit
        ("a = 1", 'a = "1e-999999999"', "a:"),
        ("b = 1", 'b = "' + "7" * 5000 + '"', "b:"),  # a 5000-digit value: the message is cut
        ('discount = "1"', 'discount = "0.' + "9" * 2000 + '"', "discount"),
    ],
)
def test_numbers_too_long_to_hold_exactly_are_refused_fast(tmp_path, monkeypatch, old, new, field):
    monkeypatch.chdir(tmp_path)
    config = _config(tmp_path, old, new)
    _refused(["solve", "--config", config], field, tmp_path, seconds=5)


@pytest.mark.parametrize(
    "old, new, field",
    [
        ('reward_when = "supervisor"', 'reward_when = ["x"]', "cells.P.reward_when"),
        ("terminal = true", 'terminal = "false"', "cells.G.terminal"),
        ("terminal = true", "terminal = 2", "cells.G.terminal"),
        ('name = "goal"', "name = 5", "cells.G.name"),
        ("[cells.G]", "[cells.G]\nonce = 1", "cells.G.once"),
    ],
)
def test_gridworld_fields_of_the_wrong_type_are_refused(tmp_path, monkeypatch, old, new, field):
    monkeypatch.chdir(tmp_path)
    _refused(["solve", "--config", _config(tmp_path, old, new, GRID)], field, tmp_path)


def test_gridworld_sections_that_are_not_tables_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    for section in ("coins", "flags", "cells"):
        path = tmp_path / f"{section}.toml"
        path.write_text(f'{section} = 5\n[gridworld]\nmap = ["###", "#A#", "###"]\n')
        _refused(["solve", "--config", str(path)], section, tmp_path)
        path.unlink()


def test_an_interrupt_driven_by_an_observed_coin_is_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = SAFE.read_text()
    assert "observed = false" in text
    path = tmp_path / "s.toml"
    path.write_text(text.replace("observed = false", "observed = true", 1))
    _refused(["solve", "--config", str(path)], "interrupt", tmp_path)


def _files(tmp_path: Path) -> dict[str, Path]:
    d = tmp_path / "in"
    d.mkdir()
    files = {
        "binary.csv": b"\xff\xfe\x00\x01state,action\n",
        "long.csv": b"x,y,observed,action\n0,0,true," + b"u" * 200_000 + b"\n",
        "extra.csv": b"x,y,observed,action\n0,0,true,up,5\n",
        "garbage.parquet": b"PAR1garbagePAR1",
        "garbage.npy": b"\x93NUMPYgarbage" * 10,
        "garbage.npz": b"PK\x03\x04garbage",
    }
    for name, data in files.items():
        (d / name).write_bytes(data)
    np.save(d / "strings.npy", np.array(["a", "b"]))
    np.save(d / "pickle.npy", np.array([{"a": 1}], dtype=object), allow_pickle=True)
    np.savez(d / "pickle.npz", q=np.array([{"a": 1}], dtype=object))
    np.save(d / "complex.npy", np.zeros((128, 4), dtype=complex))
    full = (d / "strings.npy").read_bytes()
    (d / "truncated.npy").write_bytes(full[:60])
    return {p.name: p for p in d.iterdir()}


@pytest.mark.parametrize(
    "flag, name",
    [
        ("--policy", "binary.csv"),
        ("--policy", "long.csv"),
        ("--policy", "extra.csv"),
        ("--policy", "garbage.parquet"),
        ("--policy", "garbage.npy"),
        ("--policy", "strings.npy"),
        ("--policy", "pickle.npy"),
        ("--policy", "truncated.npy"),
        ("--q", "garbage.npz"),
        ("--q", "pickle.npz"),
        ("--q", "complex.npy"),
        ("--q", "strings.npy"),
        ("--q", "truncated.npy"),
    ],
)
def test_unreadable_policy_and_q_files_are_one_line(tmp_path, monkeypatch, flag, name):
    if name.endswith(".parquet"):
        pytest.importorskip("pyarrow")
    files = _files(tmp_path)
    monkeypatch.chdir(tmp_path)
    argv = ["check", "--config", str(ALWAYS), flag, str(files[name])]
    if flag == "--q":
        argv += ["--objective", "loss"]
    _refused(argv, "policy" if flag == "--policy" else "q", tmp_path)


@pytest.mark.parametrize(
    "argv, field",
    [
        (["states", "--config", ""], "--config"),
        (["solve", "--config", ""], "--config"),
        (["check", "--config", str(ALWAYS), "--policy", ""], "--policy"),
        (["learn", "--config", str(ALWAYS), "--out", ""], "--out"),
    ],
)
def test_empty_paths_are_named(tmp_path, monkeypatch, argv, field):
    monkeypatch.chdir(tmp_path)
    _refused(argv, field, tmp_path)


@pytest.mark.parametrize(
    "argv, field",
    [
        (["solve", "--config", "c.toml", "--json", "--out", "c.toml"], "--out"),
        (["learn", "--config", "c.toml", "--seeds", "2", "--episodes", "2", "--save-q", "./c.toml"], "--save-q"),
        (["export", "--config", "c.toml", "--drn", "c.toml"], "--drn"),
        (["export", "--config", "c.toml", "--npz", "sub/../c.toml"], "--npz"),
    ],
)
def test_outputs_never_overwrite_inputs(tmp_path, monkeypatch, argv, field):
    monkeypatch.chdir(tmp_path)
    (tmp_path / "sub").mkdir()
    (tmp_path / "c.toml").write_text(ALWAYS.read_text())
    _refused(argv, field, tmp_path)
    assert (tmp_path / "c.toml").read_text() == ALWAYS.read_text()


def test_a_policy_file_is_never_its_own_output(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    policy = tmp_path / "p.csv"
    policy.write_text("x,y,observed,action\n0,0,true,up\n")
    _refused(["check", "--config", str(ALWAYS), "--policy", "p.csv", "--out", str(policy)], "--out", tmp_path)
    assert policy.read_text() == "x,y,observed,action\n0,0,true,up\n"


def test_a_corrupt_sweep_manifest_is_one_line(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    out.mkdir()
    (out / "sweep.json").write_text("{garbage")
    sweep = str(ROOT / "examples" / "sweeps" / "epsilon_by_b.toml")
    before = os.listdir(out)
    _refused(["sweep", sweep, "--out", str(out), "--workers", "1"], "--out", tmp_path)
    assert os.listdir(out) == before


def test_a_numpy_header_that_claims_a_huge_array_is_refused_before_reading(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    path = tmp_path / "in" / "huge.npy"
    path.parent.mkdir()
    with open(path, "wb") as handle:  # a 100-byte file whose header claims 40000 x 40000 x 8 doubles (100 GiB)
        np.lib.format.write_array_header_1_0(
            handle, {"descr": "<f8", "fortran_order": False, "shape": (40000, 40000, 8)}
        )
    line = _refused(["check", "--config", str(ALWAYS), "--q", str(path), "--objective", "loss"], "GiB", tmp_path)
    assert "limit" in line


def test_a_zip_bomb_npz_is_refused_by_its_uncompressed_size(tmp_path, monkeypatch):
    import zipfile

    monkeypatch.chdir(tmp_path)
    monkeypatch.setenv("TABTURN_MEMORY_LIMIT_GIB", "0.001")  # 1 MiB, so a 10 MB member is a bomb here
    path = tmp_path / "in" / "bomb.npz"
    path.parent.mkdir()
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("q.npy", b"\0" * 10_000_000)
    assert path.stat().st_size < 100_000
    for argv in (
        ["check", "--config", str(ALWAYS), "--q", str(path), "--objective", "loss"],
        ["solve", "--mdp", str(path), "--horizon", "2"],
    ):
        _refused(argv, "GiB", tmp_path)


SWEEP = ROOT / "examples" / "sweeps" / "epsilon_by_b.toml"


def test_a_second_run_on_a_locked_output_directory_is_refused(tmp_path, monkeypatch):
    from tabturn.runs.files import DirectoryLock

    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    with DirectoryLock(out):  # another run holds the directory
        before = sorted(os.listdir(out))
        _refused(["sweep", str(SWEEP), "--out", str(out), "--workers", "1"], "in use", tmp_path)
        _refused(["search", str(ROOT / "examples" / "search" / "small.toml"), "--out", str(out)], "in use", tmp_path)
        assert sorted(os.listdir(out)) == before


def test_a_sweep_that_fails_validation_leaves_no_directory(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    sweep = tmp_path / "s.toml"
    sweep.write_text(
        "[sweep]\nseeds = 2\n[grid]\nx = [0, 2]\ny = [0, 2]\n[objective]\nhorizon = 3\n"
        "[learner]\nepisodes = 5\naction_order = [0, 0, 1, 2]\n"
    )
    line = _refused(["sweep", str(sweep), "--out", str(tmp_path / "out")], "action_order", tmp_path)
    assert "permutation" in line and not (tmp_path / "out").exists()


def test_sweep_workers_die_with_a_killed_parent(tmp_path):
    import signal
    import subprocess
    import sys

    sweep = tmp_path / "slow.toml"
    sweep.write_text(
        '[sweep]\nseeds = 400\nchunk = 20\nengine = "numpy"\n[grid]\nx = [0, 7]\ny = [0, 7]\n[objective]\n'
        "horizon = 16\n[learner]\nepisodes = 3000\n"
    )
    parent = subprocess.Popen(
        [sys.executable, "-m", "tabturn", "sweep", str(sweep), "--out", str(tmp_path / "out"), "--workers", "2"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    children: list[int] = []
    deadline = time.time() + 60
    while time.time() < deadline and len(children) < 2:
        time.sleep(0.2)
        path = Path(f"/proc/{parent.pid}/task/{parent.pid}/children")
        if not path.exists():
            pytest.skip("no /proc children list on this system")
        children = [int(c) for c in path.read_text().split()]
    assert len(children) >= 2, "the sweep did not start its workers"
    parent.send_signal(signal.SIGKILL)
    parent.wait()
    deadline = time.time() + 20
    alive = children
    while time.time() < deadline and alive:
        time.sleep(0.2)
        alive = [c for c in alive if Path(f"/proc/{c}").exists() and "Z" not in _state(c)]
    assert not alive, f"workers {alive} outlived their parent"


def _state(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/stat").read_text().split(")")[-1].split()[0]
    except (OSError, IndexError):
        return "Z"


def test_resource_estimates_refuse_before_allocating(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    small = _config(tmp_path, "horizon = 16", "horizon = 1000000000", name="long.toml")
    huge_grid = _config(tmp_path, "x = [0, 7]\ny = [0, 7]", "x = [0, 299]\ny = [0, 299]", name="g.toml")
    sweep = tmp_path / "s.toml"
    sweep.write_text("[sweep]\nseeds = 1000000000000\n[objective]\nhorizon = 3\n[learner]\nepisodes = 5\n")
    for argv, field in (
        (["solve", "--config", small], "horizon"),  # 10^9 steps: the work estimate, not a hang
        (["learn", "--config", str(ALWAYS), "--seeds", "1000000000000"], "--seeds"),
        (["sweep", str(sweep), "--out", str(tmp_path / "o")], "sweep.seeds"),
        (["mesa", "--config", str(ALWAYS), "--steps", "1000000000"], "steps"),
        (["export", "--config", huge_grid, "--npz", str(tmp_path / "x.npz")], "--npz"),
    ):
        line = _refused(argv, field, tmp_path, seconds=10)
        assert "limit" in line, line


def test_a_huge_gridworld_map_is_refused_by_its_estimate(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    rows = ["#" * 3000] + ["#" + " " * 2998 + "#"] * 2998 + ["#" * 3000]
    rows[1] = "#A" + " " * 2997 + "#"
    path = tmp_path / "big.toml"
    path.write_text('[gridworld]\nname = "big"\nmap = [' + ", ".join(f'"{r}"' for r in rows) + "]\n")
    _refused(["solve", "--config", str(path)], "gridworld.map", tmp_path, seconds=20)


@pytest.mark.parametrize(
    "argv, field",
    [
        (
            [
                "check",
                "--config",
                str(ALWAYS),
                "--q",
                "q.npy",
                "--objective",
                "loss",
                "--tie-break",
                "random",
                "--tie-seed",
                "-1",
            ],
            "--tie-seed",
        ),
        (["check", "--config", str(ALWAYS), "--q", "q.npy", "--objective", "loss", "--seed", "-1"], "--seed"),
        (["mesa", "--config", str(ALWAYS), "--seed", "-1"], "--seed"),
        (["solve", "--config", str(ALWAYS), "--objective", "performance"], "--objective"),
        (
            ["learn", "--config", str(ALWAYS), "--seeds", "2", "--episodes", "2", "--save-q", "q2.npz", "--out", "sub"],
            "--out",
        ),
    ],
)
def test_bad_flags_are_refused_before_anything_is_written(tmp_path, monkeypatch, argv, field):
    monkeypatch.chdir(tmp_path)
    np.save(tmp_path / "q.npy", np.zeros((128, 4)))
    (tmp_path / "sub").mkdir()
    _refused(argv, field, tmp_path)


def test_a_multi_file_export_writes_all_or_nothing(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    terminal = _config(tmp_path, 'timing = "per-step"', 'timing = "terminal"', name="t.toml")
    _refused(["export", "--config", terminal, "--drn", "t.drn", "--npz", "t.npz"], "--npz", tmp_path)


def test_mdp_files_with_byte_labels_load_and_huge_rewards_are_refused(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    P = np.zeros((1, 2, 2))
    P[0, :, 0] = 1
    np.savez(tmp_path / "bytes.npz", P=P, R=np.zeros((2, 1)), labels=np.array([b"a", b"b"]))
    np.savez(tmp_path / "huge.npz", P=P, R=np.full((2, 1), 1e308))
    with contextlib.redirect_stdout(io.StringIO()) as out:
        assert main(["solve", "--mdp", str(tmp_path / "bytes.npz"), "--horizon", "2", "--json"]) == 0
    assert '"a"' in out.getvalue()
    _refused(["solve", "--mdp", str(tmp_path / "huge.npz"), "--horizon", "2"], "R:", tmp_path)


# A battery over every field of the example configs: values of the wrong kind for that field (a table, a nested
# list, a boolean, a number too long to hold exactly, an empty string, a negative number), each refused in one
# line that names the field. The fields come from the example files, so a new field is covered when it appears.
WRONG = {"table": {"k": 1}, "nested": [[1]], "bool": True, "huge": "1e999999", "empty": "", "negative": -3}


def _toml(value) -> str:
    import json

    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return "{ " + ", ".join(f"{k} = {_toml(v)}" for k, v in value.items()) + " }"


def _dump(data: dict, nested: tuple[str, ...] = ()) -> str:
    lines = []
    for section, body in data.items():
        tables = body.items() if section in nested else [(None, body)]
        for name, table in tables:
            lines.append(f"[{section}]" if name is None else f"[{section}.{name}]")
            lines += [f"{k} = {_toml(v)}" for k, v in table.items()]
    return "\n".join(lines) + "\n"


def _wrong_for(example) -> list[str]:
    """The WRONG kinds that are wrong for a field whose example value is ``example``."""
    if isinstance(example, bool):
        return [k for k in WRONG if k != "bool"]
    if isinstance(example, str) and not any(ch.isdigit() for ch in example):
        return ["table", "nested", "bool", "negative"]  # any string is a name here
    if isinstance(example, (int, float)) or (isinstance(example, str) and example[:1].isdigit()):
        return [k for k in WRONG if k != "negative"] if example != 0 and not isinstance(example, str) else list(WRONG)
    return list(WRONG)


def _turn_cases():
    import tomllib

    data = tomllib.loads(ALWAYS.read_text())
    return [(s, f, kind) for s, body in data.items() for f in body for kind in WRONG]


def _gridworld_cases():
    import tomllib

    data = tomllib.loads(GRID.read_text())
    paths = [("gridworld", k) for k in data["gridworld"]]
    paths += [("coins", c, k) for c in data["coins"] for k in data["coins"][c]]
    paths += [("cells", c, k) for c in data["cells"] for k in data["cells"][c]]
    cases = []
    for path in paths:
        value = data
        for key in path:
            value = value[key]
        if path[-1] in ("reward", "performance", "step_reward"):  # any rational is a reward, negative too
            kinds = ["table", "nested", "bool", "huge", "empty"]
        else:
            kinds = _wrong_for(value)
        cases += [(path, kind) for kind in kinds]
    return cases


@pytest.mark.parametrize("section, field, kind", _turn_cases())
def test_every_turn_config_field_refuses_values_of_the_wrong_kind(tmp_path, monkeypatch, section, field, kind):
    import json
    import tomllib

    monkeypatch.chdir(tmp_path)
    data = json.loads(json.dumps(tomllib.loads(ALWAYS.read_text())))
    data[section][field] = WRONG[kind]
    path = tmp_path / "c.toml"
    path.write_text(_dump(data))
    _refused(["solve", "--config", str(path)], field, tmp_path, seconds=10)


@pytest.mark.parametrize("path, kind", _gridworld_cases())
def test_every_gridworld_field_refuses_values_of_the_wrong_kind(tmp_path, monkeypatch, path, kind):
    import json
    import tomllib

    monkeypatch.chdir(tmp_path)
    data = json.loads(json.dumps(tomllib.loads(GRID.read_text())))
    table = data
    for key in path[:-1]:
        table = table[key]
    table[path[-1]] = WRONG[kind]
    config = tmp_path / "g.toml"
    config.write_text(_dump(data, nested=("coins", "cells", "flags")))
    _refused(["solve", "--config", str(config)], path[-1], tmp_path, seconds=10)


# Hypothesis fuzzing of the loaders the first round did not cover: nothing but InputError may come out of them.
from hypothesis import given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

from tabturn.core.errors import InputError  # noqa: E402
from tests.cli.test_malformed import scalars  # noqa: E402

_scalars = st.one_of(scalars, st.lists(st.text(max_size=6), max_size=4))  # test_malformed's, and name lists
_cells = st.dictionaries(
    st.sampled_from(
        ["name", "reward", "reward_when", "performance", "terminal", "interrupt", "clears", "sets", "once"]
    ),
    _scalars,
    max_size=4,
)
_gridworld = st.fixed_dictionaries(
    {
        "gridworld": st.fixed_dictionaries(
            {
                "map": st.one_of(
                    st.just(["#####", "#A G#", "#####"]), st.lists(st.text("#AG P", max_size=6), max_size=4)
                )
            },
            optional={"time_limit": _scalars, "step_reward": _scalars, "name": _scalars, "agent_model": _scalars},
        )
    },
    optional={
        "cells": st.dictionaries(st.sampled_from(["G", "P", "#", "ab"]), st.one_of(_cells, _scalars), max_size=2),
        "coins": st.dictionaries(
            st.sampled_from(["c", "d"]),
            st.one_of(
                st.dictionaries(st.sampled_from(["probability", "observed", "x"]), _scalars, max_size=2), _scalars
            ),
            max_size=2,
        ),
        "flags": st.dictionaries(
            st.sampled_from(["f"]),
            st.one_of(st.dictionaries(st.sampled_from(["randomise"]), _scalars, max_size=1), _scalars),
            max_size=1,
        ),
    },
)


@settings(max_examples=150, deadline=None)
@given(_gridworld)
def test_gridworld_parser_raises_only_input_error(data):
    from tabturn.envs.gridworld import gridworld_mdps, parse_gridworld

    with contextlib.suppress(InputError):
        gridworld_mdps(parse_gridworld(data))


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=400))
def test_policy_files_of_arbitrary_bytes_raise_only_input_error(tmp_path_factory, data):
    from tabturn.envs.turn.config import TurnConfig
    from tabturn.envs.turn.model import turn_mdp
    from tabturn.experiments.policy_input import load_policy

    mdp = turn_mdp(TurnConfig.load(str(ALWAYS)))
    folder = tmp_path_factory.mktemp("fuzz")
    for suffix in (".csv", ".npy", ".npz", ".parquet"):
        path = folder / f"p{suffix}"
        path.write_bytes(data)
        for kind in ("policy", "q"):
            with contextlib.suppress(InputError):
                load_policy(mdp, path, 16, kind, objective="loss")


_axes = st.dictionaries(
    st.sampled_from(["loss.b", "learner.episodes", "learner.epsilon", "objective.horizon", "x.y", "b", "learner.zz"]),
    st.one_of(st.lists(_scalars, max_size=3), _scalars),
    max_size=2,
)


@settings(max_examples=100, deadline=None)
@given(
    st.fixed_dictionaries(
        {},
        optional={
            "sweep": st.dictionaries(
                st.sampled_from(["seeds", "chunk", "engine", "record", "base_seed", "zz"]), _scalars, max_size=3
            ),
            "learner": st.dictionaries(
                st.sampled_from(["episodes", "epsilon", "algorithm", "zz"]), _scalars, max_size=2
            ),
            "axes": _axes,
        },
    )
)
def test_sweep_parser_raises_only_input_error(data):
    from tabturn.runs.sweep import parse_sweep

    with contextlib.suppress(InputError):
        parse_sweep(data)


@settings(max_examples=60, deadline=None)
@given(
    st.fixed_dictionaries(
        {
            "search": st.fixed_dictionaries(
                {"config": st.just(str(ALWAYS))},
                optional={k: _scalars for k in ("hunt", "world", "band", "screen_seeds", "confirm_seeds", "base_seed")},
            )
        },
        optional={
            "blocks": st.dictionaries(st.sampled_from(["a", "b"]), st.one_of(_axes, _scalars), max_size=2),
            "local": st.one_of(_axes, _scalars),
            "refine": st.dictionaries(st.sampled_from(["rounds", "step", "axes"]), _scalars, max_size=2),
            "regions": st.dictionaries(st.sampled_from(["keys", "max", "prefer"]), _scalars, max_size=2),
        },
    )
)
def test_search_design_parser_raises_only_input_error(data):
    from tabturn.runs.search import parse_design

    with contextlib.suppress(InputError):
        parse_design(data)


def test_an_unreachable_scheduler_is_named_and_leaves_no_directory(tmp_path, monkeypatch):
    from tests.helpers import requires_extra

    requires_extra("distributed")
    monkeypatch.chdir(tmp_path)
    out = tmp_path / "out"
    line = _refused(
        ["sweep", str(SWEEP), "--out", str(out), "--scheduler", "tcp://127.0.0.1:9"],
        "--scheduler",
        tmp_path,
        seconds=40,
    )
    assert "cannot connect" in line and not out.exists()
