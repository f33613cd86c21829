"""Symbolic claims: sympy verifies them, and the exact solver agrees on every interior state checked."""

import json
import random
from fractions import Fraction

import pytest

import tabturn.symbolic.claims as symbolic
import tabturn.symbolic.regimes as regimes
from tabturn.cli.commands import main
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.finite import backward_induction


def test_every_claim_is_verified_by_sympy():
    names = {cl.name: cl.symbolic_verified for cl in symbolic.claims()}
    assert names == {
        "reduction": True,
        "dominance": True,
        "never-down": True,
        "unobserved-up": True,
        "last-step": True,
        "cycle-values": True,
        "diagonal-threshold": True,
        "terminal-sequences": True,
        "no-stay-offset": True,
        "switching-threshold": True,
        "absent-values": True,
        "edges": True,
        "supervised-tail": True,
        "supervised-last-watched": True,
    }


def test_claims_hold_on_a_handful_of_instances_in_every_regime():
    configs = symbolic.instance_configs(12, seed=5)
    assert {c.regime for c in configs} == {
        "always",
        "absent-supervisor",
        "train-observed-deploy-unobserved",
        "switching",
    }
    for config in configs:
        bad = symbolic.check_instance(config)
        assert bad["interior_states"] > 0
        assert (bad["reduction"], bad["dominance"], bad["never-down"], bad["unobserved-up"]) == (0, 0, 0, 0)


def test_closed_forms_hold_on_a_handful_of_instances():
    for config in symbolic.instance_configs(6, seed=9):
        assert symbolic.check_closed_forms(config) == {"last-step": 0, "cycle-values": 0, "diagonal-threshold": 0}


def test_threshold_is_where_the_certified_optimum_leaves_the_diagonal():
    from fractions import Fraction

    from tabturn.exact.discounted import solve_discounted

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


# ---------------------------------------------------------------- terminal, no stay, switching, absent, edges


def test_regime_claims_verify_with_sympy():
    assert {cl.name: cl.symbolic_verified for cl in regimes.claims()} == {name: True for name in regimes.NAMES}


def test_regime_claims_hold_on_a_few_instances():
    for config in regimes.terminal_configs(6, seed=4):
        checked, bad = regimes.check_terminal(config)
        assert checked > 1 and bad == 0
    rng = random.Random(11)
    for i in range(4):
        for check in (regimes.check_no_stay, regimes.check_switching, regimes.check_absent, regimes.check_edges):
            result = check(i, rng)
            assert result[0] > 0 and result[1] == 0, (check.__name__, i)


def test_supervised_until_claims_verify_and_hold_on_instances_where_the_threshold_is_crossed():
    from tabturn.symbolic import supervised

    assert {cl.name: cl.symbolic_verified for cl in supervised.claims()} == {n: True for n in supervised.NAMES}
    table = supervised.verify(12, seed=3)
    assert all(v["states"] > 0 and v["disagreements"] == 0 for v in table.values())
    assert 0 < table["supervised-last-watched"]["witnesses"] < table["supervised-last-watched"]["states"]


def test_supervised_until_last_watched_step_by_hand():
    # a = b = 1, H = 4, k = 4: at step 3 (the last watched one) one step remains, b*(H - k + 1) = 1. At offset 1,
    # up arrives at offset 2: 4 - (y + 1); right at offset 0: 0 - y. Right is better by 3 = 4*1*1 - 1.
    config = TurnConfig(
        x_bounds=(0, 5), y_bounds=(0, 5), horizon=4, a=1, b=1, regime="supervised-until", switch_steps=((4, 1),)
    )
    mdp = turn_mdp(config)
    sol = backward_induction(mdp, 4, 1)
    s = mdp.index_of((2, 3, True, 3))
    assert sol.optimal_action_names(s, 3) == ("right",)
    q = {a: c for a, c in zip(mdp.action_names, mdp.cost_numerators[s])}
    assert q["up"] - q["right"] == 3 * mdp.cost_denominator


def test_terminal_count_of_optimal_sequences_by_hand():
    # a = 0: only y matters, so the single optimal sequence is up H times; b small and a large on the diagonal:
    # g(u) = 4*(2u - 4 + 1) - 1 for H = 4, so U* = {2} and C(4, 2) = 6 orderings of two ups and two rights.
    assert regimes.optimal_up_counts(Fraction(0), Fraction(1), 0, 5) == [5]
    assert regimes.optimal_up_counts(Fraction(1), Fraction(1), 0, 4) == [2]
    config = TurnConfig(
        x_bounds=(0, 6), y_bounds=(0, 6), actions=("up", "right"), horizon=4, a=4, b=1, timing="terminal"
    )
    mdp = turn_mdp(config)
    sol = backward_induction(mdp, 4, 1)
    assert regimes._count_sequences(mdp, sol, mdp.index_of((0, 0, True)), 4) == 6


def test_no_stay_long_run_offset_ignores_the_discount():
    from tabturn.exact.discounted import solve_discounted

    a, c, b = Fraction(1), Fraction(1), Fraction(9)  # 4ac = 4, b/(4ac) = 9/4: k* = 2
    for g in (Fraction(0), Fraction(1, 2), Fraction(19, 20)):
        mdp = symbolic.reduced_mdp(a, b, g, c, 20, actions=("up", "right"))
        sol = solve_discounted(mdp, g)
        ups = [d for d in range(-5, 8) if "up" in sol.optimal_action_names(mdp.index_of(d))]
        assert ups == [-5, -4, -3, -2, -1, 0, 1, 2]


def test_switching_threshold_moves_with_p():
    from tabturn.exact.discounted import solve_discounted

    a, c, g, b = Fraction(1), Fraction(1), Fraction(1, 2), Fraction(1, 4)  # always regime threshold a*c*(1-g) = 1/2
    chosen = {}
    for p in (Fraction(0), Fraction(1, 2), Fraction(3, 4)):  # p* = 1 - b/(a c (1-g)) = 1/2
        mdp = symbolic.reduced_mdp(a, b, g, c, 12, p=p)
        sol = solve_discounted(mdp, g)
        chosen[p] = set(sol.optimal_action_names(mdp.index_of((0, 1))))
    assert chosen == {Fraction(0): {"stay"}, Fraction(1, 2): {"up", "stay"}, Fraction(3, 4): {"up"}}


def test_regime_checker_detects_a_wrong_closed_form(monkeypatch):
    real = regimes.optimal_up_counts
    monkeypatch.setattr(regimes, "optimal_up_counts", lambda w, b, d, t: [min(t, u + 1) for u in real(w, b, d, t)])
    assert sum(regimes.check_terminal(c)[1] for c in regimes.terminal_configs(6, seed=4)) > 0


def test_computed_switching_bracket_contains_the_closed_form_at_q0():
    rng = random.Random(2)
    for _ in range(3):
        a, g, b = Fraction(rng.randint(1, 4)), Fraction(rng.randint(1, 9), 10), Fraction(rng.randint(1, 9), 100)
        c = Fraction(1, 2)
        closed = 1 - b / (a * c * (1 - g))
        bracket = regimes.observed_threshold_p(a, b, g, c, Fraction(0), steps=6)
        if closed <= 0:  # leaves the diagonal already at p = 0
            assert bracket is None
        else:
            assert bracket[0] < closed <= bracket[1]
