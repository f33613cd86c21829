"""Reachability, optimal trajectories and attractors."""

from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.trajectory import optimal_trajectory, policy_attractors, reachable_states


def test_static_flag_reaches_exactly_its_own_copy():
    cfg = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 2), regime="absent-supervisor", start=(1, 1, False))
    mdp = turn_mdp(cfg)
    assert {mdp.state_labels[s] for s in reachable_states(mdp)} == {(x, y, False) for x in range(4) for y in range(3)}
    only_up = turn_mdp(cfg.replace(actions=("up",)))
    assert {only_up.state_labels[s] for s in reachable_states(only_up)} == {(1, 1, False), (1, 2, False)}


def test_switching_reaches_both_flags():
    cfg = TurnConfig(x_bounds=(0, 1), y_bounds=(0, 1), regime="switching", p="1/2", q="1/2")
    assert len(reachable_states(turn_mdp(cfg))) == 8


def test_staircase_trajectory_and_offset_cycle_when_observed():
    # a = b = 1 from the diagonal: up costs 1 - 1 = 0 now and enables the next diagonal; the optimum is a
    # staircase whose offset y - x alternates 1, 0 until the top-right corner.
    cfg = TurnConfig(x_bounds=(0, 30), y_bounds=(0, 30), horizon=20)
    traj = optimal_trajectory(solve_config(cfg))
    assert traj["actions"][:4] == ["up", "right", "up", "right"]
    assert sorted(traj["offset_cycle"]) == [0, 1]
    assert traj["cycle"] is None  # no state repeats before the horizon


def test_discounted_trajectory_ends_in_a_corner_cycle():
    cfg = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 3), horizon=None, discount="9/10")
    sol = solve_config(cfg)
    traj = optimal_trajectory(sol)
    assert traj["cycle"] == [(3, 3, True)]
    assert policy_attractors(sol) == [[(3, 3, True)]]


def test_unobserved_absent_supervisor_goes_straight_up():
    cfg = TurnConfig(x_bounds=(0, 5), y_bounds=(0, 5), horizon=8, regime="absent-supervisor", start=(0, 0, False))
    traj = optimal_trajectory(solve_config(cfg))
    assert traj["actions"][:5] == ["up"] * 5
