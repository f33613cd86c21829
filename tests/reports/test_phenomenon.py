"""The phenomenon search: refinement logic, the always-up class, and cached cells reproduced exactly."""

import importlib

import numpy as np

from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.experiments.compare import compare
from tests.helpers import ROOT


def _ph():
    return importlib.import_module("analysis.phenomenon")


def test_midpoints_are_geometric_for_counts_and_weights_and_none_between_neighbours():
    ph = _ph()
    assert ph.midpoint(10, 1000, "log-int") == 100 and ph.midpoint(10, 100, "log-int") == 32
    assert ph.midpoint(1, 2, "log-int") is None and ph.midpoint(8, 9, "int") is None and ph.midpoint(8, 16, "int") == 12
    assert ph.midpoint("1/4", "1", "log-rational") == "1/2" and ph.midpoint("1", "1", "log-rational") is None
    assert ph.midpoint(0.05, 0.3, "linear") == 0.175


def test_refine_adds_a_cell_only_where_neighbours_differ_along_one_numeric_axis():
    ph = _ph()
    cells = [{"block": "x", "learner.episodes": e, "learner.algorithm": a} for a in ("q", "sarsa") for e in (10, 1000)]
    shares = {ph.cell_key(c): s for c, s in zip(cells, (0.0, 0.5, 0.2, 0.22))}
    new = ph.refine(cells, shares)
    assert new == [{"block": "x", "learner.episodes": 100, "learner.algorithm": "q"}]
    shares[ph.cell_key(cells[3])] = 0.26  # now sarsa's pair differs by 0.06 >= 0.05 as well
    assert len(ph.refine(cells, shares)) == 2
    assert ph.refine(cells + new, {**shares, ph.cell_key(new[0]): 0.25}, step=1.0) == []  # nothing differs by 1


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


def test_cached_cells_reproduce_exactly():
    ph = _ph()
    common = importlib.import_module("analysis.common")
    rows = common.read_csv(ROOT / "reports" / "phenomenon.csv")
    import json

    cells = {
        ph.cell_key({k: v for k, v in c.items() if k != "_refined"}): c
        for c in json.loads((ROOT / "reports" / "phenomenon_cells.json").read_text())
    }
    learners = [r for r in rows if r["block"] != "mesa"]
    hits = sorted(learners, key=lambda r: abs(float(r["always_up_observed"]) - 0.5))
    mesa = [r for r in rows if r["block"] == "mesa" and r["mesa_episodes"] == "5" and r["mesa_steps"] == "8"]
    sample = [learners[0], learners[len(learners) // 2], hits[0]] + mesa[:1]
    for row in sample:
        cell = cells[row["cell"]]
        again = ph.run_cell({k: v for k, v in cell.items() if k != "_refined"}, cache=None)
        again["refined"] = str(cell.get("_refined", 0))
        assert {k: str(v) for k, v in again.items()} == row
