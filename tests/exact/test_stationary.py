"""The exact best-stationary-policy search, against brute force over every stationary policy."""

import itertools
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabturn.core.errors import InputError
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.exact.evaluate import path_value
from tabturn.exact.finite import backward_induction
from tabturn.exact.stationary import stationary_optimum
from tabturn.interop.arrays import mdp_from_arrays


def _deterministic_mdp(succ, rewards, start=0):
    S, A = len(succ), len(succ[0])
    P = np.zeros((A, S, S))
    for s in range(S):
        for a in range(A):
            P[a, s, succ[s][a]] = 1.0
    return mdp_from_arrays(P, np.asarray(rewards, dtype=float), start=start)


def _brute_force(mdp, horizon, start, gamma=Fraction(1)):
    """The best value (objective units) over every stationary deterministic policy."""
    values = [
        path_value(mdp, np.array(policy), start, horizon, gamma)
        for policy in itertools.product(range(mdp.n_actions), repeat=mdp.n_states)
    ]
    return max(values) if mdp.sign == -1 else min(values)


@st.composite
def small_mdps(draw):
    S = draw(st.integers(2, 4))
    A = draw(st.integers(1, 3))
    succ = [[draw(st.integers(0, S - 1)) for _ in range(A)] for _ in range(S)]
    rewards = [[draw(st.integers(-3, 3)) for _ in range(A)] for _ in range(S)]
    return succ, rewards, draw(st.integers(0, S - 1)), draw(st.integers(1, 6))


@settings(max_examples=150, deadline=None)
@given(small_mdps(), st.sampled_from([Fraction(1), Fraction(1, 2), Fraction(9, 10)]))
def test_search_equals_brute_force_over_every_stationary_policy(case, gamma):
    succ, rewards, start, horizon = case
    mdp = _deterministic_mdp(succ, rewards, start)
    solution = backward_induction(mdp, horizon, gamma)
    found = stationary_optimum(solution, start)
    best = _brute_force(mdp, horizon, start, gamma)
    assert found.value == best
    assert found.status == ("exists" if best == solution.value(start) else "none")
    assert found.regret == mdp.sign * (best - solution.value(start)) >= 0
    policy = np.zeros(mdp.n_states, dtype=np.int64)
    for s, a in found.policy.items():
        policy[s] = a
    assert path_value(mdp, policy, start, horizon, gamma) == best  # the returned policy attains it


def test_a_step_dependent_optimum_has_no_stationary_equal():
    # 0 -> 1 -> 2 by "walk"; "stop" ends in the absorbing state 3. At 2, "walk" stays and pays 1, "stop" pays 2.
    succ = [[1, 3], [2, 3], [2, 3], [3, 3]]
    mdp = _deterministic_mdp(succ, [[0, 0], [0, 0], [1, 2], [0, 0]])
    solution = backward_induction(mdp, 4, 1)
    found = stationary_optimum(solution, 0)
    assert solution.value(0) == 3  # walk, walk, stay at 2 (1), then stop (2): state 2 needs two actions
    assert found.status == "none" and found.value == 2 and found.regret == 1  # one action at 2: 1 + 1, or 2
    mdp = _deterministic_mdp(succ, [[0, 0], [0, 0], [1, -10], [0, 0]])
    found = stationary_optimum(backward_induction(mdp, 4, 1), 0)
    assert found.status == "exists" and found.value == 2 and found.path == (0, 0, 0, 0)  # walk at every step


def test_turn_examples_stationary_optimum_is_verified_by_path_evaluation():
    config = TurnConfig.load("examples/always.toml")
    solution = solve_config(config)
    start = solution.mdp.start[0][0]
    found = stationary_optimum(solution, start)
    assert found.status == "exists" and found.regret == 0 and len(found.path) == config.horizon


def test_infinite_horizon_always_exists_and_size_limit_is_clear(monkeypatch):
    config = TurnConfig.load("examples/switching.toml")
    solution = solve_config(config)
    assert stationary_optimum(solution, solution.mdp.start[0][0]).status == "exists"
    from tabturn.exact import stationary

    monkeypatch.setattr(stationary, "MAX_STEP_STATES", 10)
    finite = solve_config(TurnConfig.load("examples/always.toml"))
    with pytest.raises(InputError, match="horizon x states"):
        stationary_optimum(finite, finite.mdp.start[0][0])


def test_node_limit_gives_undecided_not_a_guess():
    succ = [[1, 3], [2, 3], [2, 3], [3, 3]]
    mdp = _deterministic_mdp(succ, [[0, 0], [0, 0], [1, 2], [0, 0]])
    found = stationary_optimum(backward_induction(mdp, 4, 1), 0, max_nodes=2)
    assert found.status == "undecided" and found.value is None and "nodes" in found.reason


# ------------------------------------------------------------------ observation classes (flag-blind tables)


def _brute_force_observation_policies(mdp, horizon, start, view):
    """Min over every assignment of one action per observation class: the exact path loss from ``start``."""
    import itertools

    succ = mdp.successors()
    cost = mdp.cost_numerators
    best = None
    for assign in itertools.product(range(mdp.n_actions), repeat=max(view) + 1):
        s, total = start, 0
        for _ in range(horizon):
            a = assign[view[s]]
            total += int(cost[s, a])
            s = int(succ[s, a])
        best = total if best is None else min(best, total)
    return Fraction(best, mdp.cost_denominator)


@settings(max_examples=25, deadline=None)
@given(
    k=st.integers(1, 4),
    horizon=st.integers(2, 6),
    a=st.fractions(0, 3, max_denominator=2),
    b=st.fractions(0, 4, max_denominator=2),
    observe_flag=st.booleans(),
)
def test_observation_class_search_equals_brute_force(k, horizon, a, b, observe_flag):
    from tabturn.envs.turn.model import observation_index
    from tabturn.experiments.policy_class import observation_class_optimum

    k = min(k, horizon)
    cfg = TurnConfig(
        x_bounds=(0, 1), y_bounds=(0, 1 if observe_flag else 2), horizon=horizon, a=a, b=b,
        actions=("up", "right", "left", "down"), regime="supervised-until", switch_steps=((k, 1),),
    )  # fmt: skip
    sol = solve_config(cfg)
    mdp, start = sol.mdp, sol.mdp.start[0][0]
    view = observation_index(mdp, observe_flag)
    view = range(mdp.n_states) if view is None else view  # k = 1: one watched layer, no clock to hide
    found = observation_class_optimum(sol, start, observe_flag, time_indexed=False)
    assert found.value == _brute_force_observation_policies(mdp, horizon, start, list(view))
    assert (found.status == "exists") == (found.value == sol.start_value())
    stepped = observation_class_optimum(sol, start, observe_flag, time_indexed=True)
    assert stepped.status == "exists" and stepped.value == sol.start_value()


def test_a_flag_blind_stationary_table_can_miss_the_optimum():
    from tabturn.envs.turn.model import observation_index
    from tabturn.experiments.policy_class import observation_class_optimum

    # supervised until step 3 on a 2 x 3 strip: the optimal path passes a cell twice, once watched and once not,
    # and needs different actions there; a table of positions cannot hold both
    cfg = TurnConfig(
        x_bounds=(0, 1), y_bounds=(0, 2), horizon=5, a=2, b=1, actions=("up", "right", "left", "down"),
        regime="supervised-until", switch_steps=((3, 1),),
    )  # fmt: skip
    sol = solve_config(cfg)
    start = sol.mdp.start[0][0]
    blind = observation_class_optimum(sol, start, False, time_indexed=False)
    brute = _brute_force_observation_policies(sol.mdp, 5, start, list(observation_index(sol.mdp, False)))
    assert blind.status == "none" and blind.value == brute and blind.regret == brute - sol.start_value() > 0
    assert observation_class_optimum(sol, start, True, time_indexed=False).status == "exists"
