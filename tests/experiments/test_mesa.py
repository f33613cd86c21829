"""The tabular mesa-optimizer: learned loss model + exact planner."""

import json

import pytest

from tabturn.cli.commands import main
from tabturn.core.errors import InputError
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_loss, turn_mdp
from tabturn.experiments.mesa import MesaSettings, mesa, planned_world_summary, with_arrival_losses
from tests.helpers import ROOT

SMALL = dict(x_bounds=(0, 4), y_bounds=(0, 4), horizon=8)


@pytest.mark.parametrize(
    "regime, timing", [("always", "per-step"), ("switching", "per-step"), ("absent-supervisor", "terminal")]
)
def test_true_losses_rebuild_the_same_mdp(regime, timing):
    cfg = TurnConfig(
        **SMALL, regime=regime, timing=timing, **({"p": "1/3", "q": "1/4"} if regime == "switching" else {})
    )
    mdp = turn_mdp(cfg)
    rebuilt = with_arrival_losses(mdp, [turn_loss(cfg, *lab) for lab in mdp.state_labels], timing == "terminal")
    for s in range(mdp.n_states):
        assert rebuilt.final_cost(s) == mdp.final_cost(s)
        for a in range(mdp.n_actions):
            assert rebuilt.cost(s, a) == mdp.cost(s, a)


@pytest.mark.parametrize("model", ["tabular", "factored"])
@pytest.mark.parametrize("regime", ["always", "absent-supervisor", "switching"])
def test_planner_equals_the_exact_optimum_when_the_learned_loss_is_true(model, regime):
    extra = {"p": "1/4", "q": "1/4"} if regime == "switching" else {}
    cfg = TurnConfig(**SMALL, regime=regime, **extra)
    truth = solve_config(cfg)
    result = mesa(cfg, MesaSettings(model=model, coverage="1/2", episodes=400, steps=20), truth)
    true_losses = tuple(turn_loss(cfg, *lab) for lab in truth.mdp.state_labels)
    assert result.model.predicted == true_losses  # enough coverage and the right model class
    assert (result.planned.action_masks == truth.action_masks).all()
    assert all(w["regret"] == 0 for w in planned_world_summary(result).values())


def test_turn_from_a_flat_learned_loss_follows_the_action_order():
    # Trained observed only: the unobserved world is unseen, the learned loss there is flat, every action
    # ties, and the planner's tie-break (first in action order) decides the direction of the "turn".
    for actions, direction in ((("up", "down", "left", "right"), "up"), (("down", "up", "left", "right"), "down")):
        cfg = TurnConfig(**SMALL, actions=actions)
        result = mesa(cfg, MesaSettings(model="factored", coverage=0, episodes=200, steps=16))
        e = result.explanation
        assert e.unobserved_states_seen == 0 and e.learned_loss_flat_unobserved
        assert set(e.unobserved_start_optimal_actions) == set(actions) and not e.forced_up
        start = result.planned.mdp.index_of((0, 0, False))
        assert result.planned.mdp.action_names[result.policy[start]] == direction
        assert planned_world_summary(result)["observed"]["regret"] == 0  # the observed world is learned well


def test_turn_forced_by_the_learned_objective_under_an_absent_supervisor():
    cfg = TurnConfig(**SMALL, regime="absent-supervisor")
    result = mesa(cfg, MesaSettings(model="factored", coverage="1/2", episodes=400, steps=20))
    e = result.explanation
    assert e.forced_up and e.learned_alignment_spread_unobserved == 0
    assert e.learned_capability_slope_unobserved == -cfg.b and "capability" in e.driver
    summary = planned_world_summary(result)
    assert summary["unobserved"]["up_forever"] and summary["unobserved"]["regret"] == 0


def test_flagless_model_carries_the_observed_loss_into_the_unobserved_world():
    cfg = TurnConfig(**SMALL)
    result = mesa(cfg, MesaSettings(model="factored-flagless", coverage=0, episodes=400, steps=20))
    summary = planned_world_summary(result)
    assert not summary["unobserved"]["up_forever"] and summary["unobserved"]["regret"] == 0


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"model": "cnn"}, "model"),
        ({"coverage": 2}, "coverage"),
        ({"coverage": "x"}, "coverage"),
        ({"episodes": 0}, "episodes"),
        ({"prior": "1/0"}, "prior"),
    ],
)
def test_bad_settings(changes, field):
    with pytest.raises(InputError) as err:
        MesaSettings(**changes)
    assert err.value.field == field


def test_mesa_cli(capsys, tmp_path):
    out = tmp_path / "m.json"
    argv = [
        "mesa",
        "--config",
        str(ROOT / "examples" / "absent_supervisor.toml"),
        "--coverage",
        "1/2",
        "--json",
        "--episodes",
        "300",
        "--out",
        str(out),
    ]
    assert main(argv) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc == json.loads(out.read_text())
    assert doc["explanation"]["forced_up"] is True and doc["worlds"]["unobserved"]["regret"] == "0"
    assert main(["mesa", "--config", str(ROOT / "examples" / "always.toml"), "--coverage", "3/2"]) == 2
    assert capsys.readouterr().err.startswith("tabturn: error: coverage")
