"""Sweeps: parsing, identical rows across executors and chunkings, kill-and-resume."""

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabturn.cli.commands import main
from tabturn.core.errors import InputError
from tabturn.runs.sweep import parse_sweep, run_sweep
from tests.helpers import requires_extra

SMALL = {
    "sweep": {"seeds": 12, "chunk": 5},
    "grid": {"x": [0, 3], "y": [0, 3], "actions": ["up", "down", "left", "right"]},
    "objective": {"horizon": 6},
    "learner": {"episodes": 30},
    "axes": {"learner.epsilon": [0.1, 0.3], "supervision.regime": ["always", "absent-supervisor"]},
}


def _sweep(**changes):
    data = json.loads(json.dumps(SMALL))
    for key, value in changes.items():
        data["sweep"][key] = value
    return parse_sweep(data)


def test_cells_are_the_product_of_axes_and_seeds(tmp_path):
    sweep = _sweep()
    assert len(sweep.points) == 4 and sweep.n_cells == 48
    run_sweep(sweep, tmp_path, workers=1)
    lines = (tmp_path / "table.csv").read_text().splitlines()
    header = lines[0].split(",")
    assert len(lines) == 49 and {"seed", "learner.epsilon", "supervision.regime", "class_observed"} <= set(header)
    points = {
        tuple(line.split(",")[i] for i in (header.index("learner.epsilon"), header.index("supervision.regime")))
        for line in lines[1:]
    }
    assert points == {("0.1", "always"), ("0.1", "absent-supervisor"), ("0.3", "always"), ("0.3", "absent-supervisor")}
    provenance = json.loads((tmp_path / "provenance.json").read_text())
    assert provenance["cells"] == 48 and provenance["tabturn_version"]


def test_rows_are_identical_across_executors_workers_and_chunk_sizes(tmp_path):
    reference = None
    runs = [("local", 1, 5), ("local", 2, 5), ("local", 1, 12), ("local", 2, 1), ("dask-inprocess", 2, 7)]
    for i, (executor, workers, chunk) in enumerate(runs):
        if executor.startswith("dask"):
            requires_extra("distributed")
        out = tmp_path / f"run{i}"
        run_sweep(_sweep(chunk=chunk), out, executor, workers)
        table = (out / "table.csv").read_bytes()
        reference = reference or table
        assert table == reference, (executor, workers, chunk)


@pytest.mark.parametrize(
    "change, field",
    [
        ({"axes": {"loss.b": ["-1"]}}, "axes.loss.b"),
        ({"loss": {"b": "x"}}, "b"),
        ({"axes": {"learner.nope": [1]}}, "axes.learner.nope"),
        ({"axes": {"b": [1]}}, "axes.b"),
        ({"axes": {"loss.b": []}}, "axes.loss.b"),
        ({"learner": {"episodes": 30, "gamma": 1}}, "learner.gamma"),
        ({"sweep": {"seeds": 0}}, "sweep.seeds"),
        ({"sweep": {"seeds": 2, "engine": "gpu"}}, "sweep.engine"),
        ({"sweep": {"seeds": 2, "record": ["everything"]}}, "sweep.record"),
        ({"sweep": {"seeds": 2, "surprise": 1}}, "sweep.surprise"),
        ({"extra": {}}, "extra"),
        ({"learner": {"initial_value": "huge"}}, "learner.initial_value"),
    ],
)
def test_bad_sweeps_are_refused_naming_the_field(change, field):
    data = json.loads(json.dumps(SMALL))
    data.update(change)
    with pytest.raises(InputError) as err:
        parse_sweep(data)
    assert err.value.field == field


def test_an_output_directory_of_another_sweep_is_refused(tmp_path):
    run_sweep(_sweep(), tmp_path, workers=1)
    with pytest.raises(InputError, match="different sweep"):
        run_sweep(parse_sweep({**SMALL, "sweep": {"seeds": 3}}), tmp_path, workers=1)


def _write_sweep_file(path: Path, seeds: int) -> Path:
    path.write_text(f"""[sweep]
seeds = {seeds}
chunk = 4
[grid]
x = [0, 3]
y = [0, 3]
[objective]
horizon = 6
[learner]
episodes = 100
[axes]
"learner.epsilon" = [0.1, 0.2]
""")
    return path


def test_a_killed_sweep_resumes_to_the_same_table(tmp_path):
    spec = _write_sweep_file(tmp_path / "s.toml", seeds=120)
    killed, fresh = tmp_path / "killed", tmp_path / "fresh"
    cmd = [sys.executable, "-m", "tabturn", "sweep", str(spec), "--workers", "1", "--quiet", "--out"]
    proc = subprocess.Popen(cmd + [str(killed)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 120
    while time.time() < deadline and len(list((killed / "chunks").glob("*.json"))) < 5:
        time.sleep(0.02)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    finished = len(list((killed / "chunks").glob("*.json")))
    assert 5 <= finished < 60, "the run must be killed in the middle"
    assert not (killed / "table.csv").exists()
    assert subprocess.run(cmd + [str(killed)], capture_output=True).returncode == 0
    assert subprocess.run(cmd + [str(fresh)], capture_output=True).returncode == 0
    assert (killed / "table.csv").read_bytes() == (fresh / "table.csv").read_bytes()
    provenance = json.loads((killed / "provenance.json").read_text())
    assert provenance["computed_cells"] < provenance["cells"] == 240
    assert not list((killed / "chunks").glob(".*"))  # no stale temp files


def test_sweep_cli_reports_bad_files_in_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.toml"
    bad.write_text('[axes]\n"loss.distance" = ["diagonal"]\n')
    assert main(["sweep", str(bad), "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "distance" in err and not (tmp_path / "o").exists()
    assert main(["sweep", str(tmp_path / "missing.toml"), "--out", str(tmp_path / "o")]) == 2
    assert (
        main(["sweep", str(_write_sweep_file(tmp_path / "s.toml", 2)), "--out", str(tmp_path / "o"), "--workers", "0"])
        == 2
    )


def test_parquet_table_holds_the_same_rows_as_the_csv(tmp_path):
    requires_extra("pyarrow")
    import csv

    import pyarrow.parquet as pq

    run_sweep(_sweep(), tmp_path, workers=1)
    rows = list(csv.DictReader((tmp_path / "table.csv").open()))
    table = pq.read_table(tmp_path / "table.parquet").to_pylist()
    assert len(table) == len(rows) == 48
    assert all(str(table[i][k]) == rows[i][k] for i in range(len(rows)) for k in rows[0])


def test_sweep_tables_drop_into_pandas_typed(tmp_path):
    # regrets as floats plus exact text, rational axes as numbers, grid bounds as integer columns, and the
    # groupby-mean of every metric column works, from the CSV and from the Parquet file alike
    pd = pytest.importorskip("pandas")
    data = json.loads(json.dumps(SMALL))
    data["sweep"]["record"] = ["class", "regret", "agreement", "exact"]
    data["axes"] = {"loss.b": ["1/2", "1", "2"]}
    run_sweep(parse_sweep(data), tmp_path, workers=1)
    frames = [pd.read_csv(tmp_path / "table.csv")]
    if os.environ.get("TABTURN_REQUIRE_EXTRAS") or __import__("importlib").util.find_spec("pyarrow"):
        frames.append(pd.read_parquet(tmp_path / "table.parquet"))
    for df in frames:
        assert df["loss.b"].dtype == float and sorted(df["loss.b"].unique()) == [0.5, 1.0, 2.0]
        assert set(df["loss.b_exact"]) == {"1/2", "1", "2"}
        assert df["grid.x_0"].dtype.kind == "i" and set(df["grid.x_1"]) == {3}
        assert df["regret_observed"].dtype == float
        from fractions import Fraction

        assert all(float(Fraction(e)) == v for e, v in zip(df["regret_observed_exact"], df["regret_observed"]))
        metrics = [
            "regret_observed",
            "regret_unobserved",
            "agreement_all",
            "agreement_path",
            "coverage_observed",
            "exact_start_value",
            "exact_value_observed",
        ]
        means = df.groupby("loss.b")[metrics].mean()
        assert means.shape == (3, len(metrics)) and means.notna().all().all()
        assert df["exact_up_forever_optimal_observed"].dtype == bool


def test_an_exact_only_sweep_trains_nothing_and_tabulates_the_optimum(tmp_path):
    from fractions import Fraction

    data = json.loads(json.dumps(SMALL))
    data["sweep"] = {"seeds": 1, "record": ["exact"]}
    data["axes"] = {"loss.b": ["0", "8"]}
    run_sweep(parse_sweep(data), tmp_path, workers=1)
    import csv

    rows = list(csv.DictReader((tmp_path / "table.csv").open()))
    assert len(rows) == 2 and not any(k.startswith("class_") for k in rows[0])
    from tabturn.envs.solve import solve_config
    from tabturn.envs.turn.config import TurnConfig

    for row, b in zip(rows, ("0", "8")):
        cfg = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 3), actions=("up", "down", "left", "right"), horizon=6, b=b)
        exact = row.get("exact_start_value_exact") or row["exact_start_value"]  # an all-integer column has no _exact
        assert Fraction(exact) == solve_config(cfg).start_value()


_cell_values = st.one_of(
    st.none(),
    st.integers(-50, 50).map(str),
    st.integers(-50, 50),
    st.sampled_from(["1/2", "-3/4", "0.25", "true", "false", "inf", "x", "", "a=1 b=2", "0 7", "none"]),
    st.floats(-10, 10, allow_nan=False),
    st.booleans(),
)


@settings(max_examples=60, deadline=None)
@given(
    st.lists(
        st.lists(st.dictionaries(st.sampled_from(["a", "b", "regret_x", "c"]), _cell_values, max_size=4), max_size=4),
        min_size=1,
        max_size=4,
    )
)
def test_streamed_tables_equal_the_in_memory_tables(tmp_path_factory, chunks):
    from tabturn.runs.sweep import _maybe_parquet, table_csv, write_tables

    folder = tmp_path_factory.mktemp("stream")
    paths = []
    for i, rows in enumerate(chunks):
        paths.append(folder / f"c{i}.json")
        paths[-1].write_text(json.dumps(rows))
    everything = [row for rows in chunks for row in rows]
    write_tables(paths, folder / "table.csv", folder / "table.parquet")
    assert (folder / "table.csv").read_text() == table_csv(everything)
    pq = pytest.importorskip("pyarrow.parquet")
    try:
        _maybe_parquet(folder / "memory.parquet", everything)
    except Exception:  # noqa: BLE001 - the in-memory writer cannot mix types in a text column; the stream can
        return
    streamed, memory = pq.read_table(folder / "table.parquet"), pq.read_table(folder / "memory.parquet")
    assert streamed.to_pylist() == memory.to_pylist()
