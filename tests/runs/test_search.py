"""tabturn.runs.search: independent streams per cell, paired local designs, statistics, cache, CLI."""

from __future__ import annotations

import itertools
import math
import subprocess
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabturn.runs import search as S
from tests.helpers import ROOT

SMALL = ROOT / "examples" / "search" / "small.toml"


def _design(**search):
    data = {
        "search": {
            "config": str(ROOT / "examples" / "always.toml"),
            "screen_seeds": 60,
            "confirm_seeds": 240,
            **search,
        },
        "learner": {"algorithm": "q", "action_order": "up first"},
        "blocks": {"a": {"objective.horizon": [2], "learner.episodes": [1, 30]}, "b": {"objective.horizon": [2]}},
        "local": {"learner.tie_break": ["first", "random"], "learner.initial_value": [0, "pessimistic"]},
    }
    return S.parse_design(data)


def _phi(x: list[int], y: list[int]) -> float:
    n = len(x)
    mx, my = sum(x) / n, sum(y) / n
    cov = sum((a - mx) * (b - my) for a, b in zip(x, y)) / n
    return cov / math.sqrt(mx * (1 - mx) * my * (1 - my))


def test_cells_with_the_same_settings_draw_independent_streams_unless_paired():
    d = _design()
    settings_ = {"objective.horizon": 2, "learner.episodes": 30, "learner.initial_value": "pessimistic"}
    one, two = {"block": "a", **settings_}, {"block": "b", **settings_}
    assert S.cell_stream(d, one) != S.cell_stream(d, two)
    x, y = (S.hits(d, S.run_seeds(d, c, 0, 1000)) for c in (one, two))
    assert 0.5 < sum(x) / 1000 < 0.95 and 0.5 < sum(y) / 1000 < 0.95  # the same share, up to noise...
    assert abs(sum(x) - sum(y)) < 80
    assert x != y and abs(_phi(x, y)) < 0.12  # ...from unrelated seeds (identical streams would give phi = 1)
    paired = {**two, "_stream": S.cell_key(one)}
    assert S.hits(d, S.run_seeds(d, paired, 0, 1000)) == x  # a paired cell reuses its base's numbers exactly


def test_a_different_base_seed_gives_every_cell_a_different_stream():
    cells = S.coarse_cells(_design())
    streams = {S.cell_stream(_design(), c) for c in cells}
    other = {S.cell_stream(_design(base_seed=1), c) for c in cells}
    assert len(streams) == len(cells) and not streams & other


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 1), st.integers(0, 1)), min_size=1, max_size=60))
def test_mcnemar_is_the_exact_binomial_test_on_discordant_pairs(pairs):
    scipy_stats = pytest.importorskip("scipy.stats")
    base, other = [a for a, _ in pairs], [b for _, b in pairs]
    up = sum(1 for a, b in pairs if b and not a)
    down = sum(1 for a, b in pairs if a and not b)
    expected = 1.0 if up + down == 0 else scipy_stats.binomtest(up, up + down, 0.5).pvalue
    assert S.mcnemar(base, other) == pytest.approx(expected, rel=1e-9, abs=1e-15)


@settings(max_examples=80, deadline=None)
@given(st.lists(st.floats(0, 1), min_size=1, max_size=8))
def test_holm_agrees_with_adjusted_p_values(pvalues):
    m = len(pvalues)
    order = sorted(range(m), key=lambda i: pvalues[i])
    adjusted = [0.0] * m
    running = 0.0
    for rank, i in enumerate(order):  # Holm's adjusted p: running max of (m - rank) p_(rank)
        running = max(running, min(1.0, (m - rank) * pvalues[i]))
        adjusted[i] = running
    assert S.holm(pvalues) == [a <= 0.05 for a in adjusted]


def test_midpoints_are_geometric_for_counts_and_weights_and_none_between_neighbours():
    assert S.midpoint(10, 1000, "log-int") == 100 and S.midpoint(10, 100, "log-int") == 32
    assert S.midpoint(1, 2, "log-int") is None and S.midpoint(8, 9, "int") is None and S.midpoint(8, 16, "int") == 12
    assert S.midpoint("1/4", "1", "log-rational") == "1/2" and S.midpoint("1", "1", "log-rational") is None
    assert S.midpoint(0.05, 0.3, "linear") == 0.175


def test_refine_adds_a_cell_only_where_neighbours_differ_along_one_refine_axis():
    d = S.parse_design(
        {
            "search": {"config": str(ROOT / "examples" / "always.toml")},
            "blocks": {"x": {"learner.episodes": [10, 1000], "learner.algorithm": ["q", "sarsa"]}},
            "refine": {"rounds": 1, "step": 0.05, "axes": {"learner.episodes": "log-int"}},
        }
    )
    cells = [{"block": "x", "learner.episodes": e, "learner.algorithm": a} for a in ("q", "sarsa") for e in (10, 1000)]
    shares = {S.cell_key(c): s for c, s in zip(cells, (0.0, 0.5, 0.2, 0.22))}
    new = S.refine(d, cells, shares, "r")
    assert [S.identity(c) for c in new] == [{"block": "x", "learner.episodes": 100, "learner.algorithm": "q"}]
    shares[S.cell_key(cells[3])] = 0.26  # now sarsa's pair differs by 0.06 >= 0.05 as well
    assert len(S.refine(d, cells, shares, "r")) == 2


def test_a_promoted_cell_computes_only_its_new_seeds_and_equals_a_fresh_run(tmp_path):
    d = _design()
    cell = {"block": "a", "objective.horizon": 2, "learner.episodes": 30}
    cache = S.Cache(tmp_path, d)
    S.run_cells(d, [cell], 60, cache)
    first = cache.read(d, cell)
    assert len(first["classes"]) == 60
    extended = S.run_cells(d, [cell], 240, cache)[S.cell_key(cell)]
    fresh = S.run_seeds(d, cell, 0, 240)
    assert extended == fresh and extended["classes"][:60] == first["classes"]
    cache.path(d, cell).write_text(cache.path(d, cell).read_text().replace('"optimal"', '"other"'))
    assert S.run_cells(d, [cell], 240, cache)[S.cell_key(cell)] != fresh  # it really reads the cache


def test_local_design_changes_one_factor_or_a_listed_pair_on_the_representatives_stream():
    d = S.parse_design(
        {
            "search": {"config": str(ROOT / "examples" / "always.toml")},
            "learner": {"action_order": "up first"},
            "blocks": {"x": {"objective.horizon": [2]}},
            "local": {
                "learner.tie_break": ["first", "random"],
                "learner.initial_value": [0, -1, "pessimistic"],
                "learner.time_indexed": [False, True],
                "learner.truncation": ["terminal", "bootstrap"],
                "pairs": [["learner.initial_value", "learner.tie_break"]],
            },
        }
    )
    rep = {"block": "x", "objective.horizon": 2}
    cells = S.local_design(d, rep, 1)
    changes = [{k: v for k, v in S.identity(c).items() if k != "block" and rep.get(k, "default") != v} for c in cells]
    assert changes[0] == {}  # the representative itself first
    singles = [c for c in changes if len(c) == 1]
    assert {(k, str(v)) for c in singles for k, v in c.items()} == {
        ("learner.tie_break", "random"),
        ("learner.initial_value", "-1"),
        ("learner.initial_value", "pessimistic"),
        ("learner.time_indexed", "True"),
        ("learner.truncation", "bootstrap"),
    }
    assert sorted(sorted(map(str, c.values())) for c in changes if len(c) == 2) == [
        ["-1", "random"],
        ["pessimistic", "random"],
    ]
    assert all(S.cell_stream(d, c) == S.cell_stream(d, rep) for c in cells)
    # a step-indexed table with bootstrapped truncation is refused by the learner: not run
    assert not any(c.get("learner.time_indexed") is True and c.get("learner.truncation") == "bootstrap" for c in cells)


def test_search_gives_the_same_tables_with_two_workers_and_from_the_cache(tmp_path):
    d = S.load_design(SMALL)
    one = S.search(d, tmp_path / "one")
    two = S.search(d, tmp_path / "two", workers=2)
    again = S.search(d, tmp_path / "one")
    assert one["rows"] == two["rows"] == again["rows"] and one["regions"] == two["regions"]
    found = [r for r in one["rows"] if r["seed_dependent"] == "true" and not r["block"].startswith("local")]
    assert found and all(int(r["seeds"]) == d.confirm_seeds for r in found)
    assert len({r["stream_of"] for r in one["rows"] if not r["block"].startswith("local")}) == len(
        [r for r in one["rows"] if not r["block"].startswith("local")]
    )
    # the representative rerun on its own stream under the local block gives its share exactly
    for region in one["regions"]:
        if region["stage"] == "local":
            assert region["share"] == region["representative_share"]


def test_cli_search_runs_a_small_design_end_to_end_and_refuses_a_bad_one(tmp_path):
    out = tmp_path / "small"
    run = subprocess.run(
        [sys.executable, "-m", "tabturn", "search", str(SMALL), "--out", str(out), "--quiet"],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    assert {"search.csv", "regions.csv", "cells.json", "provenance.json"} <= {p.name for p in out.iterdir()}
    assert "seed-dependent" in run.stdout
    bad = tmp_path / "bad.toml"
    text = SMALL.read_text().replace('"../always.toml"', repr(str(ROOT / "examples" / "always.toml")))
    bad.write_text(text.replace('"learner.tie_break" = ["first", "random"]', '"learner.tie" = ["x"]'))
    run = subprocess.run(
        [sys.executable, "-m", "tabturn", "search", str(bad), "--out", str(tmp_path / "never")],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 2 and len(run.stderr.strip().splitlines()) == 1 and "tie" in run.stderr
    assert "Traceback" not in run.stderr and not (tmp_path / "never").exists()


@pytest.mark.parametrize(
    "change, field",
    [
        ({"band": [0.5, 0.2]}, "search.band"),
        ({"hunt": "always-up", "world": "nowhere"}, "search.world"),
        ({"config": "missing.toml"}, "search.config"),
    ],
)
def test_bad_search_fields_are_named(change, field):
    data = {
        "search": {"config": str(ROOT / "examples" / "always.toml"), **change},
        "blocks": {"x": {"learner.episodes": [1]}},
    }
    with pytest.raises(S.InputError) as error:
        S.parse_design(data)
    assert error.value.field == field


def test_every_axis_of_a_row_is_its_effective_value():
    d = _design()
    row = S.cell_row(
        d, {"block": "b", "objective.horizon": 2}, S.run_seeds(d, {"block": "b", "objective.horizon": 2}, 0, 5)
    )
    # block b sets only the horizon: the others are the base's values, not blanks
    assert row["learner.episodes"] == "500" and row["learner.tie_break"] == "first" and row["objective.horizon"] == "2"
    assert list(itertools.islice(row, 5)) == list(S.ROW_HEAD)


def test_a_dask_scheduler_gives_the_same_tables(tmp_path):
    from tests.helpers import requires_extra

    requires_extra("distributed")
    from distributed import Client, LocalCluster

    d = S.load_design(SMALL)
    local = S.search(d, tmp_path / "local")
    cluster = LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None)
    with cluster, Client(cluster):
        remote = S.search(d, tmp_path / "dask", scheduler=cluster.scheduler_address)
    assert remote["rows"] == local["rows"] and remote["regions"] == local["regions"]


def test_a_gridworld_design_hunts_its_own_classes_and_worlds(tmp_path):
    d = S.parse_design(
        {
            "search": {
                "config": str(ROOT / "examples" / "gridworlds" / "absent_supervisor.toml"),
                "hunt": "optimal",
                "world": "supervisor=yes",
                "screen_seeds": 20,
                "confirm_seeds": 20,
            },
            "blocks": {"g": {"learner.episodes": [1, 300]}},
        }
    )
    rows = S.search(d, None)["rows"]
    assert [r["share"] for r in rows][0] == "0.0000"  # one episode never reaches the goal optimally
    assert rows[1]["optimal"] == rows[1]["share"]  # hunting "optimal" counts the class optimal
    with pytest.raises(S.InputError, match="gridworld design varies learner"):
        S.parse_design(
            {**{"search": d and {"config": d.config, "world": "supervisor=yes"}}, "blocks": {"g": {"loss.b": [1]}}}
        )


def test_the_module_docstrings_example_design_parses(tmp_path):
    block = S.__doc__.split("::", 1)[1].split("\n\nStreams:")[0]
    text = "\n".join(line[4:] for line in block.splitlines())
    text = text.replace('"../always.toml"', repr(str(ROOT / "examples" / "always.toml")))
    path = tmp_path / "example.toml"
    path.write_text(text)
    d = S.load_design(path)
    assert (
        d.hunt == "always-up"
        and dict(d.blocks)["setup"]
        and d.pairs == (("learner.initial_value", "learner.tie_break"),)
    )
