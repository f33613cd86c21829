"""Comparison of learned policies with the exact optimum, and attribution of behaviours."""

import json
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabturn.cli.commands import main
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.evaluate import path_value
from tabturn.experiments.attribution import Count, Evidence, attribute, verdict
from tabturn.experiments.compare import compare
from tabturn.experiments.study import wilson
from tests.helpers import ROOT, reference_loss, reference_move


def test_exact_optimal_policy_has_zero_regret_and_full_agreement():
    cfg = TurnConfig(x_bounds=(0, 4), y_bounds=(0, 4), horizon=None, discount="9/10", regime="absent-supervisor")
    sol = solve_config(cfg)
    policy = np.array([sol.optimal_actions(s)[0] for s in range(sol.mdp.n_states)])
    comp = compare(sol, policy[None, :])
    assert comp.agreement_all[0] == 1 and comp.agreement_path[0] == 1
    assert comp.regret == {"observed": [0], "unobserved": [0]}
    assert comp.classes == {"observed": ["optimal"], "unobserved": ["optimal"]}
    # Unobserved, only -b*y is charged: going up forever is optimal; observed it is not.
    assert comp.exact_up_forever_optimal == {"observed": False, "unobserved": True}


def test_coverage_is_the_visited_share_and_refused_when_the_visits_are_unknown():
    cfg = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=3)
    sol = solve_config(cfg)
    greedy = np.zeros((2, sol.mdp.n_states), dtype=np.int64)
    visited = np.zeros((2, sol.mdp.n_states), dtype=bool)
    visited[1] = True  # seed 1 saw every state, seed 0 none
    comp = compare(sol, greedy, visited)
    assert comp.coverage_of("observed").tolist() == [0.0, 1.0]
    with pytest.raises(ValueError, match="without the training visits"):
        compare(sol, greedy).coverage_of("observed")


def test_regret_of_a_fixed_policy_equals_the_hand_summed_loss():
    cfg = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 3), horizon=5, a=2, b=1)
    sol = solve_config(cfg)
    up = cfg.actions.index("up")
    comp = compare(sol, np.full((1, sol.mdp.n_states), up))
    for world, observed in (("observed", True), ("unobserved", False)):
        x, y, total = 0, 0, Fraction(0)
        for _ in range(5):
            x, y = reference_move(cfg, x, y, "up")
            total += reference_loss(cfg, x, y, observed)
        start = sol.mdp.index_of((0, 0, observed))
        assert comp.regret[world][0] == total - sol.value(start) > 0
        assert comp.up_forever[world][0] and comp.classes[world] == ["always-up"]


def test_wilson_interval_matches_textbook_values():
    lo, hi = wilson(5, 10)
    assert abs(lo - 0.2366) < 1e-4 and abs(hi - 0.7634) < 1e-4
    lo, hi = wilson(0, 10)
    assert lo == 0 and abs(hi - 0.2775) < 1e-4


def test_attribution_classes_the_deploy_world_unvisited_and_the_observed_misses_as_training():
    # Trained only while observed, the unobserved copy is never visited: its verdicts are "unvisited", never
    # training or optimum. In the observed world the default budget misses and converged agents do not.
    cfg = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 3), horizon=6, regime="train-observed-deploy-unobserved")
    result = attribute(cfg, seeds=12, episodes=40)
    verdict = {(v.world, v.behaviour): v for v in result.verdicts}
    assert {v.cause for (w, _), v in verdict.items() if w == "unobserved"} == {"unvisited"}
    assert result.converged_episodes is not None
    miss = verdict[("observed", "not-optimal")]
    assert miss.converged == "0/12" and miss.cause in ("training", "value-aliasing")
    if miss.cause == "value-aliasing":  # the exact search found a stationary optimum, named in the evidence
        assert miss.stationary_optimum == "exists" and "regret 0" in miss.evidence
    rows = [r for r in result.rows if r.world == "unobserved"]
    assert all(r.unvisited == 12 and r.counts["up-forever"].n == 0 for r in rows)


def _ev(**kw):
    base = {"allowed": False, "unvisited": False, "default": Count(400, 1000)}
    return Evidence(**{**base, **kw})


def test_verdict_unvisited_beats_everything():
    assert verdict(_ev(unvisited=True, converged=Count(900, 1000), allowed=True)).cause == "unvisited"


def _class(status, regret):
    from fractions import Fraction

    from tabturn.exact.stationary import StationaryOptimum

    return StationaryOptimum(
        status, 0, Fraction(-5), Fraction(-5 + regret), Fraction(regret), {0: 0}, (0, 1), 7, "", ("up", "right")
    )


def test_verdict_stationary_contrast_is_policy_class_only_when_no_stationary_policy_is_optimal():
    contrast = {"converged": Count(0, 1000), "stationary": Count(500, 1000), "converged_label": "step-indexed, 64"}
    v = verdict(_ev(**contrast, stationary_class=_class("none", 3)))
    assert v.cause == "policy-class" and "500/1000" in v.evidence and v.p_values["stationary-table"] < 0.01
    assert "cannot follow the step-dependent optimum" in v.evidence and "regret 3" in v.evidence
    v = verdict(_ev(**contrast, stationary_class=_class("exists", 0)))
    assert v.cause == "value-aliasing" and "up right" in v.evidence
    assert "cannot follow" not in v.evidence
    assert verdict(_ev(**contrast, stationary_class=_class("undecided", 0))).cause == "undetermined"
    # the stationary table also loses it: neither, the budget made the difference
    v = verdict(_ev(converged=Count(0, 1000), stationary=Count(3, 1000), stationary_class=_class("none", 3)))
    assert v.cause == "training" and "vanishes" in v.evidence


def test_verdict_untrained_path_when_no_seed_is_trained_along_its_path():
    v = verdict(_ev(default=Count(0, 0), untrained=True, converged=Count(0, 0)))
    assert v.cause == "untrained-path" and "never updated" in v.evidence
    assert verdict(_ev(default=Count(0, 0), unvisited=True, untrained=False)).cause == "unvisited"


def test_verdict_training_requires_converged_agents():
    assert (
        verdict(_ev(converged=None, training={"epsilon": {"0.1": Count(0, 100), "0.3": Count(90, 100)}})).cause
        == "undetermined"
    )
    v = verdict(_ev(converged=Count(2, 1000)))
    assert v.cause == "training" and v.p_values["budget"] < 0.01
    # a difference too small to be significant does not count as vanishing
    assert verdict(_ev(default=Count(3, 100), converged=Count(1, 100))).cause == "absent"


def test_verdict_optimum_needs_allowed_persistent_and_stable_under_neutral_factors():
    stable = {"tie_break": {"first": Count(990, 1000), "last": Count(985, 1000)}}
    v = verdict(_ev(allowed=True, converged=Count(990, 1000), neutral=stable))
    assert v.cause == "optimum" and "tie_break" in v.evidence
    moved = {"tie_break": {"first": Count(1000, 1000), "last": Count(0, 1000)}}
    v = verdict(_ev(allowed=True, converged=Count(1000, 1000), neutral=moved))
    assert v.cause == "training" and "tie-break picks among optimal actions" in v.evidence
    assert verdict(_ev(allowed=False, converged=Count(990, 1000), neutral=stable)).cause == "undetermined"
    assert verdict(_ev(default=Count(0, 10), converged=Count(0, 10))).cause == "absent"


def test_optimum_allows_matches_brute_force_on_small_configs():
    # any-down allowed <=> some optimal (step, state) reachable along optimal actions has down optimal;
    # brute force: enumerate every action sequence of a tiny deterministic config and keep the optimal ones.
    import itertools

    from tabturn.exact.evaluate import path_value
    from tabturn.experiments.attribution import optimum_allows

    seen = set()
    for b, regime, observed in (
        ("0", "always", True),
        ("1", "always", True),
        ("4", "always", True),
        ("1", "absent-supervisor", False),
    ):
        cfg = TurnConfig(
            x_bounds=(0, 2),
            y_bounds=(0, 3),
            horizon=3,
            actions=("up", "down", "left", "right"),
            b=b,
            start=(1, 1, observed),
            regime=regime,
        )
        mdp, sol = turn_mdp(cfg), solve_config(cfg)
        start = mdp.index_of((1, 1, observed))
        world = "observed" if observed else "unobserved"
        optimal_paths = []
        for seq in itertools.product(range(4), repeat=3):
            policy = np.zeros((3, mdp.n_states), dtype=np.int64)
            s = start
            for t, a in enumerate(seq):
                policy[t, s] = a
                s = mdp.next_states(s, a)[0][0]
            if path_value(mdp, policy, start, 3, Fraction(1)) == sol.value(start):
                optimal_paths.append(seq)
        down, up = mdp.action_names.index("down"), mdp.action_names.index("up")
        allows = optimum_allows(sol, world)
        assert allows["any-down"] == any(down in seq for seq in optimal_paths)
        assert allows["up-forever"] == ((up,) * 3 in optimal_paths)
        seen |= {(k, v) for k, v in allows.items()}
    assert {("any-down", True), ("any-down", False), ("up-forever", True), ("up-forever", False)} <= seen


def test_learn_cli_json_is_reproducible(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[grid]\nx = [0, 3]\ny = [0, 3]\n[objective]\nhorizon = 6\n")
    argv = ["learn", "--config", str(cfg), "--seeds", "6", "--episodes", "30", "--json", "--quiet"]
    assert main(argv) == 0
    first = capsys.readouterr().out
    assert main(argv) == 0
    assert capsys.readouterr().out == first
    doc = json.loads(first)
    classes = doc["summary"]["worlds"]["observed"]["classes"]
    assert sum(v["count"] for v in classes.values()) == 6
    assert doc["settings"]["algorithm"] == "q" and doc["provenance"]["config"]["objective"]["horizon"] == 6


@pytest.mark.parametrize(
    "extra",
    [
        ["--seeds", "0"],
        ["--learner", "td"],
        ["--epsilon", "x"],
        ["--epsilon", "2"],
        ["--tie-break", "middle"],
        ["--episodes", "0"],
        ["--base-seed", "-1"],
    ],
)
def test_learn_cli_refuses_bad_settings(extra, tmp_path, capsys):
    out = tmp_path / "o.json"
    example = ROOT / "examples" / "always.toml"
    code = main(["learn", "--config", str(example), *extra, "--out", str(out)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and err[0].startswith("tabturn: error: ")
    assert not out.exists()


def test_learn_cli_options_reach_the_learner(tmp_path, capsys):
    cfg = tmp_path / "c.toml"
    cfg.write_text("[grid]\nx = [0, 2]\ny = [0, 2]\n[objective]\nhorizon = 4\n")
    base = ["learn", "--config", str(cfg), "--seeds", "3", "--episodes", "5", "--json", "--quiet"]
    assert (
        main(
            base
            + [
                "--action-order",
                "right,left,down,up",
                "--initial-value",
                "optimistic",
                "--step-schedule",
                "1/n",
                "--omega",
                "0.7",
                "--exploration",
                "softmax",
                "--temperature",
                "2",
                "--epsilon-schedule",
                "linear",
                "--epsilon-final",
                "0",
            ]
        )
        == 0
    )
    settings = json.loads(capsys.readouterr().out)["settings"]
    assert settings["action_order"] == [3, 2, 1, 0] and settings["exploration"] == "softmax"
    assert settings["step_schedule"] == "1/n" and settings["omega"] == 0.7 and settings["epsilon_final"] == 0
    sol = solve_config(TurnConfig.load(str(cfg)))
    values = sol.values.to_float()
    assert settings["initial_value"] == values.min() - (values.max() - values.min())
    for bad in (["--action-order", "up,up,down,left"], ["--initial-value", "hopeful"], ["--omega", "0.2"]):
        assert main(base + bad) == 2
        assert capsys.readouterr().err.startswith("tabturn: error: ")


def test_time_indexed_optimal_policy_has_zero_regret_where_a_stationary_one_fails():
    # Terminal timing: at step 0 up and right tie everywhere, so "first optimal action at step 0" used at every
    # step goes up forever; the step-indexed first optimal actions reach an optimal final state.
    cfg = TurnConfig(x_bounds=(0, 5), y_bounds=(0, 5), actions=("up", "right"), timing="terminal", horizon=6)
    sol = solve_config(cfg)
    S = sol.mdp.n_states
    stationary = np.array([sol.optimal_actions(s, 0)[0] for s in range(S)])
    timed = np.array([[sol.optimal_actions(s, t)[0] for s in range(S)] for t in range(6)])
    assert compare(sol, stationary[None, :]).regret["observed"][0] > 0
    comp = compare(sol, timed[None, :, :])
    assert comp.regret == {"observed": [0], "unobserved": [0]}
    with pytest.raises(ValueError):
        compare(sol, timed[None, :3, :])


@given(st.integers(0, 2**32 - 1), st.sampled_from([None, 3, 6]), st.sampled_from(["always", "absent-supervisor"]))
def test_path_value_equals_full_exact_evaluation(seed, horizon, regime):
    from tabturn.exact.evaluate import path_value, policy_value, step_policy_value

    cfg = TurnConfig(
        x_bounds=(0, 3),
        y_bounds=(0, 2),
        horizon=horizon,
        regime=regime,
        discount="1" if horizon else "4/5",
        timing="per-step",
    )
    mdp = turn_mdp(cfg)
    rng = np.random.default_rng(seed)
    stationary = rng.integers(0, mdp.n_actions, mdp.n_states)
    for start in (0, mdp.n_states - 1, int(rng.integers(mdp.n_states))):
        assert (
            path_value(mdp, stationary, start, horizon, cfg.discount)
            == policy_value(mdp, stationary, horizon, cfg.discount)[start]
        )
        if horizon:
            timed = rng.integers(0, mdp.n_actions, (horizon, mdp.n_states))
            assert (
                path_value(mdp, timed, start, horizon, cfg.discount)
                == step_policy_value(mdp, timed, cfg.discount)[start]
            )


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["always", "absent-supervisor", "switching"]), st.booleans())
def test_batched_paths_and_values_equal_the_one_policy_walk(seed, regime, timed):
    # the batched walk (every seed at once) against a one-policy walk written out here, and path_value
    from tabturn.experiments.compare import _batched_path_values, batched_paths, likely_successors

    def greedy_path(solution, policy, start, steps):
        actions, s = [], start
        for t in range(steps):
            a = int(policy[s] if policy.ndim == 1 else policy[min(t, len(policy) - 1), s])
            actions.append(a)
            s = max(solution.mdp.next_states(s, a), key=lambda tp: (tp[1], -tp[0]))[0]
        return actions

    extra = {"p": "1/3", "q": "1/4"} if regime == "switching" else {}
    cfg = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 3), horizon=5, regime=regime, **extra)
    sol = solve_config(cfg)
    mdp = sol.mdp
    rng = np.random.default_rng(seed)
    shape = (6, 5, mdp.n_states) if timed else (6, mdp.n_states)
    policies = rng.integers(0, mdp.n_actions, shape)
    start = mdp.start[0][0]
    actions, states = batched_paths(policies, start, 5, likely_successors(mdp))
    for b in range(6):
        assert actions[b].tolist() == greedy_path(sol, policies[b], start, 5)
    if regime != "switching":
        values = _batched_path_values(mdp, actions, states)
        for b in range(6):
            assert values[b] == path_value(mdp, policies[b], start, 5, 1)
