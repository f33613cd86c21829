"""Invariants of the turn family over every (state, action)."""

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from tabturn.core.errors import InputError
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import state_index, turn_mdp
from tests.helpers import reference_flags, reference_loss, reference_move

CONFIGS = [
    TurnConfig(x_bounds=(0, 3), y_bounds=(0, 2)),
    TurnConfig(
        x_bounds=(-2, 1),
        y_bounds=(1, 3),
        start=(0, 2, False),
        regime="absent-supervisor",
        distance="perpendicular",
        actions=("stay", "left", "up"),
    ),
    TurnConfig(
        x_bounds=(0, 2),
        y_bounds=(0, 3),
        regime="switching",
        p="1/3",
        q="2/7",
        a="3/2",
        b="1/5",
        actions=("right", "up", "down", "left", "stay"),
    ),
    TurnConfig(
        x_bounds=(0, 2), y_bounds=(0, 2), regime="train-observed-deploy-unobserved", timing="terminal", horizon=3
    ),
    TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), regime="switching", p=1, q=0, distance="perpendicular"),
]


@pytest.mark.parametrize("cfg", CONFIGS)
def test_every_state_action_matches_the_semantics(cfg):
    mdp = turn_mdp(cfg)
    assert mdp.n_states == 2 * (cfg.x_bounds[1] - cfg.x_bounds[0] + 1) * (cfg.y_bounds[1] - cfg.y_bounds[0] + 1)
    for s, (x, y, obs) in enumerate(mdp.state_labels):
        assert state_index(cfg, x, y, obs) == s
        for a, name in enumerate(cfg.actions):
            nxt = mdp.next_states(s, a)
            assert sum(p for _, p in nxt) == 1
            nx_, ny_ = reference_move(cfg, x, y, name)
            expected = {(nx_, ny_, o): p for o, p in reference_flags(cfg, obs) if p}
            assert {mdp.state_labels[t]: p for t, p in nxt} == expected
            if cfg.timing == "per-step":
                want = sum((p * reference_loss(cfg, *lab) for lab, p in expected.items()), Fraction(0))
                assert mdp.cost(s, a) == want
            else:
                assert mdp.cost(s, a) == 0
        assert mdp.final_cost(s) == (reference_loss(cfg, x, y, obs) if cfg.timing == "terminal" else 0)
    assert mdp.start == ((state_index(cfg, *cfg.start), 1),)


def test_no_move_leaves_the_grid():
    cfg = TurnConfig(x_bounds=(0, 1), y_bounds=(0, 1), actions=("up", "down", "left", "right", "stay"))
    mdp = turn_mdp(cfg)
    for s in range(mdp.n_states):
        for a in range(mdp.n_actions):
            for t, _ in mdp.next_states(s, a):
                x, y, _ = mdp.state_labels[t]
                assert 0 <= x <= 1 and 0 <= y <= 1


def test_grid_hint_is_checked_against_transitions():
    mdp = turn_mdp(TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2)))
    bad = dataclasses.replace(mdp.grid, shifts=tuple(reversed(mdp.grid.shifts)))
    with pytest.raises(InputError):
        dataclasses.replace(mdp, grid=bad)
    costs = np.asarray(mdp.grid.arrival_cost).copy()
    costs[0, 0, 0] += 1
    with pytest.raises(InputError):
        dataclasses.replace(mdp, grid=dataclasses.replace(mdp.grid, arrival_cost=costs))


def test_switching_has_no_grid_hint_and_common_denominator():
    mdp = turn_mdp(CONFIGS[2])
    assert mdp.grid is None
    assert mdp.prob_denominator % 21 == 0


def test_far_offset_grid_switches_to_exact_python_integers():
    big = 10**12
    cfg = TurnConfig(x_bounds=(0, 1), y_bounds=(big, big + 1), start=(0, big, True), a=7, b=3, horizon=2)
    mdp = turn_mdp(cfg)
    assert mdp.cost_numerators.dtype == object  # 7 * (10^12)^2 does not fit int64 safely
    for s, (x, y, obs) in enumerate(mdp.state_labels):
        for a, name in enumerate(cfg.actions):
            nx_, ny_ = reference_move(cfg, x, y, name)
            assert mdp.cost(s, a) == reference_loss(cfg, nx_, ny_, obs)
