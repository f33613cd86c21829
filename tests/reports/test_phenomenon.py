"""The phenomenon search: refinement logic, the always-up class, and cached cells reproduced exactly."""

import importlib
import json

import numpy as np

from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.experiments.compare import compare
from tests.helpers import ROOT


def _ph():
    return importlib.import_module("analysis.phenomenon")


def test_always_up_class_is_exclusive_and_the_flag_is_its_superset():
    config = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 5), horizon=6, regime="absent-supervisor", start=(0, 0, False))
    solution = solve_config(config)
    mdp = solution.mdp
    rng = np.random.default_rng(0)
    up = mdp.action_names.index("up")
    policies = np.vstack([np.full((1, mdp.n_states), up), rng.integers(0, mdp.n_actions, (30, mdp.n_states))])
    policies[2:10, :] = np.where(rng.random((8, mdp.n_states)) < 0.9, up, policies[2:10, :])  # mostly up
    visited = np.ones_like(policies, dtype=bool)
    visited[-1] = False  # one seed that never trained
    comp = compare(solution, policies, visited)
    for world, classes in comp.classes.items():
        flag = comp.up_forever[world]
        for c, up, r in zip(classes, flag, comp.regret[world]):
            assert (c == "always-up") == (up and r > 0 and c != "unvisited")
        assert set(classes) <= {"optimal", "always-up", "other", "unvisited"}
    # up forever is optimal unobserved under an absent supervisor: seeds that do it are "optimal", not always-up;
    # observed it is not, so the all-up policy is always-up there
    ups = [c for c, up in zip(comp.classes["unobserved"], comp.up_forever["unobserved"]) if up]
    assert ups and set(ups) <= {"optimal"} and comp.classes["observed"][0] == "always-up"
    assert comp.classes["observed"][-1] == comp.classes["unobserved"][-1] == "unvisited"


def _committed():
    common = importlib.import_module("analysis.common")
    rows = common.read_csv(ROOT / "reports" / "phenomenon.csv")
    regions = common.read_csv(ROOT / "reports" / "phenomenon_regions.csv")
    cells = json.loads((ROOT / "reports" / "phenomenon_cells.json").read_text())
    return rows, regions, cells


def test_committed_cells_reproduce_exactly_from_their_settings_and_streams():
    from tabturn.runs import search

    ph = _ph()
    design = ph.design()
    rows, _, cells = _committed()
    by_key = {search.cell_key(c): c for c in cells}
    screen = [r for r in rows if r["block"] not in ("mesa",) and not r["block"].startswith("local-")]
    hits = sorted([r for r in screen if r["seed_dependent"] == "true"], key=lambda r: abs(float(r["share"]) - 0.5))
    local = [r for r in rows if r["block"].startswith("local-") and r["learner.episodes"] in ("1", "3", "10")]
    mesa = [r for r in rows if r["block"] == "mesa" and r["mesa.episodes"] == "5" and r["mesa.steps"] == "8"]
    sample = [screen[0], screen[len(screen) // 2], hits[0], local[0]] + mesa[:1]
    assert hits and local and mesa
    for row in sample:
        cell = by_key[row["cell"]]
        outcome = search.run_seeds(design, cell, 0, int(row["seeds"]))
        assert {k: str(v) for k, v in search.cell_row(design, cell, outcome).items()} == row


def test_committed_search_has_independent_streams_and_enough_seeds_where_it_matters():
    rows, regions, cells = _committed()
    ph = _ph()
    design = ph.design()
    screen = [r for r in rows if not r["block"].startswith("local-")]
    assert len({r["stream_of"] for r in screen}) == len(screen)  # no two cells share a stream
    assert all(r["stream_of"] == r["cell"] for r in screen)
    reps = {r["cell"] for r in screen}
    local = [r for r in rows if r["block"].startswith("local-")]
    assert local and all(r["stream_of"] in reps for r in local)  # paired: the representative's stream
    found = [r for r in screen if r["seed_dependent"] == "true"]
    assert found and all(int(r["seeds"]) >= 1000 for r in found + local)
    # a cell the screen could not call (some but not all seeds always-up) was confirmed with 1000 seeds
    assert all(int(r["seeds"]) >= design.confirm_seeds for r in screen if 0 < int(r["hits"]) < int(r["seeds"]))
    corners = [r for r in screen if r["block"] == "corners" and r["loss.b"] == "1"]
    assert {int(r["objective.horizon"]) for r in corners} >= set(range(1, 9))
    assert {int(r["learner.episodes"]) for r in corners} >= {1, 2, 3, 5, 10}
    assert {r["region"] for r in regions} and all(int(r["cells"]) >= 1 for r in regions)
