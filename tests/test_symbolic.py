"""Symbolic claims: sympy verifies them, and the exact solver agrees on every interior state checked."""

import json

import pytest

import tabturn.symbolic as symbolic
from tabturn.cli import main


def test_every_claim_is_verified_by_sympy():
    names = {cl.name: cl.symbolic_verified for cl in symbolic.claims()}
    assert names == {"reduction": True, "dominance": True, "never-down": True, "unobserved-up": True, "last-step": True,
                     "cycle-values": True, "diagonal-threshold": True}


def test_claims_hold_on_a_handful_of_instances_in_every_regime():
    configs = symbolic.instance_configs(12, seed=5)
    assert {c.regime for c in configs} == {"always", "absent-supervisor", "train-observed-deploy-unobserved",
                                           "switching"}
    for config in configs:
        bad = symbolic.check_instance(config)
        assert bad["interior_states"] > 0
        assert (bad["reduction"], bad["dominance"], bad["never-down"], bad["unobserved-up"]) == (0, 0, 0, 0)


def test_closed_forms_hold_on_a_handful_of_instances():
    for config in symbolic.instance_configs(6, seed=9):
        assert symbolic.check_closed_forms(config) == {"last-step": 0, "cycle-values": 0, "diagonal-threshold": 0}


def test_threshold_is_where_the_certified_optimum_leaves_the_diagonal():
    from fractions import Fraction

    from tabturn.discounted import solve_discounted

    a, c, g = Fraction(2), Fraction(1, 2), Fraction(3, 4)
    threshold = a * c * (1 - g)  # 1/4
    sets = {}
    for b in (threshold - Fraction(1, 100), threshold, threshold + Fraction(1, 100)):
        sol = solve_discounted(symbolic.reduced_mdp(a, b, g, c), g)
        sets[b] = set(sol.optimal_action_names(sol.mdp.index_of(0)))
    assert list(sets.values()) == [{"stay"}, {"up", "stay"}, {"up"}]


def test_the_checker_detects_a_wrong_claim(monkeypatch):
    # Claiming the gap is b*G_{n-1} instead of b*G_n must produce disagreements.
    real = symbolic.G
    monkeypatch.setattr(symbolic, "G", lambda gamma, n: real(gamma, n - 1) if n > 1 else real(gamma, n) + 1)
    config = next(c for c in symbolic.instance_configs(40, seed=1) if c.discount > 0 and c.horizon > 1)
    bad = symbolic.check_instance(config)
    assert bad["dominance"] > 0 and bad["reduction"] > 0


def test_symbolic_cli_json(capsys):
    assert main(["symbolic", "--instances", "8", "--json"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["claim"] for r in doc["claims"]] == list(symbolic.CLAIM_NAMES)
    assert all(r["instances"] == 8 and r["disagreements"] == 0 and r["symbolic_verified"] for r in doc["claims"])
    assert main(["symbolic", "--instances", "0"]) == 2


@pytest.mark.slow
def test_full_sweep_of_200_instances_per_claim():
    table = symbolic.verify(200)
    assert all(v["instances"] == 200 and v["disagreements"] == 0 for v in table.values())
