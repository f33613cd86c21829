"""Batched tabular learners: per-seed reproducibility, the sign convention, convergence on tiny MDPs."""

import dataclasses
from fractions import Fraction

import numpy as np
import pytest

from tabturn.core.errors import InputError
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.experiments.compare import compare
from tabturn.interop.arrays import mdp_from_arrays
from tabturn.learners import numba_kernel
from tabturn.learners.tabular import ALGORITHMS, LearnerSettings, learn
from tests.helpers import requires_extra

SMALL = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), regime="switching", p="1/3", q="1/2", horizon=5)


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"tie_break": "random"},
        {"exploration": "softmax", "temperature": 0.5},
        {
            "step_schedule": "1/n",
            "omega": 0.8,
            "epsilon_schedule": "exponential",
            "epsilon": 0.5,
            "epsilon_final": 0.01,
        },
    ],
)
def test_seed_is_bit_identical_alone_and_in_any_batch(algorithm, extra):
    mdp = turn_mdp(SMALL)
    settings = LearnerSettings(algorithm=algorithm, episodes=40, horizon=5, **extra)
    batch = learn(mdp, settings, [11, 4, 7, 4000], base_seed=3)
    alone = learn(mdp, settings, [7], base_seed=3)
    other = learn(mdp, settings, [7, 2], base_seed=3)
    assert np.array_equal(batch.q[2], alone.q[0]) and np.array_equal(other.q[0], alone.q[0])
    assert np.array_equal(batch.visits[2], alone.visits[0])
    assert not np.array_equal(batch.q[0], batch.q[1])  # different seeds, different streams


def test_reward_mdp_sign_convention():
    # State 0: action 0 pays 1 and stays; action 1 pays 10 and moves to the absorbing, zero-reward state 1.
    P = np.array([[[1.0, 0.0], [0.0, 1.0]], [[0.0, 1.0], [0.0, 1.0]]])
    R = np.array([[1.0, 10.0], [0.0, 0.0]])
    mdp = mdp_from_arrays(P, R)
    result = learn(mdp, LearnerSettings(episodes=300, horizon=3, discount=0.5, epsilon=0.5), range(4))
    assert (result.greedy()[:, 0] == 1).all()
    assert (result.q[:, 0, 1] > result.q[:, 0, 0]).all()  # rewards: larger is better


@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_learners_reach_the_exact_optimal_sets_on_a_column(algorithm):
    # One column, actions stay/up, loss -y, discounted: up is strictly optimal below the top.
    cfg = TurnConfig(x_bounds=(0, 0), y_bounds=(0, 3), actions=("stay", "up"), a=0, b=1, horizon=None, discount="4/5")
    mdp, sol = turn_mdp(cfg), solve_config(cfg)
    settings = LearnerSettings(
        algorithm=algorithm, episodes=400, horizon=10, discount=0.8, epsilon=0.5, step_size=0.2, truncation="bootstrap"
    )
    greedy = learn(mdp, settings, range(6)).greedy()
    checked = 0
    for s in range(mdp.n_states):
        if mdp.state_labels[s][2] and sol.has_gap[s]:
            assert set(greedy[:, s]) <= set(sol.optimal_actions(s))
            checked += 1
    assert checked == 3


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"algorithm": "td"}, "algorithm"),
        ({"episodes": 0}, "episodes"),
        ({"epsilon": 1.5}, "epsilon"),
        ({"temperature": 0}, "temperature"),
        ({"tie_break": "middle"}, "tie_break"),
        ({"step_size": 0}, "step_size"),
    ],
)
def test_invalid_settings_name_their_field(changes, field):
    with pytest.raises(InputError) as err:
        LearnerSettings(**changes)
    assert err.value.field == field


def test_action_order_permutation_is_validated_and_used():
    mdp = turn_mdp(SMALL)
    with pytest.raises(InputError):
        learn(mdp, LearnerSettings(action_order=(0, 0, 1, 2)), [0])
    flipped = learn(mdp, LearnerSettings(episodes=1, horizon=1, action_order=(3, 2, 1, 0), epsilon=0), [0])
    # With all-zero initial values and epsilon 0, the first greedy action is the first in learner order (MDP 3).
    assert flipped.visits[0][mdp.start[0][0]].tolist() == [0, 0, 0, 1]


@pytest.mark.parametrize("algorithm", ALGORITHMS)
@pytest.mark.parametrize(
    "extra",
    [
        {},
        {"tie_break": "random"},
        {
            "tie_break": "last",
            "step_schedule": "1/n",
            "omega": 0.8,
            "epsilon_schedule": "linear",
            "epsilon": 0.6,
            "epsilon_final": 0.0,
        },
        {
            "exploration": "softmax",
            "temperature": 0.5,
            "epsilon_schedule": "exponential",
            "epsilon": 0.5,
            "epsilon_final": 0.01,
        },
        {"time_indexed": True, "step_schedule": "1/n", "omega": 0.6, "epsilon": 0.4},
    ],
)
@pytest.mark.parametrize("regime", ["switching", "always", "terminal-timing"])
def test_numba_engine_is_bit_identical_to_numpy(algorithm, extra, regime):
    requires_extra("numba")
    cfg = {
        "switching": SMALL,
        "always": TurnConfig(x_bounds=(0, 2), y_bounds=(0, 3), horizon=5),
        "terminal-timing": TurnConfig(x_bounds=(0, 2), y_bounds=(0, 3), horizon=5, timing="terminal"),
    }[regime]
    mdp = turn_mdp(cfg)
    settings = LearnerSettings(algorithm=algorithm, episodes=45, horizon=5, **extra)
    two_starts = ((0, Fraction(1, 3)), (5, Fraction(2, 3)))
    for start in (None, two_starts):
        ref = learn(mdp, settings, [0, 9, 33], base_seed=2, start=start, engine="numpy")
        fast = learn(mdp, settings, [0, 9, 33], base_seed=2, start=start, engine="numba")
        assert np.array_equal(ref.q, fast.q) and np.array_equal(ref.visits, fast.visits)
        assert ref.q.shape == ((3, 5, mdp.n_states, 4) if extra.get("time_indexed") else (3, mdp.n_states, 4))


@pytest.mark.parametrize("algorithm", ["q", "double-q"])
def test_step_indexed_learner_reaches_the_step_indexed_optimum_for_every_seed(algorithm):
    # always regime, H = 3, gamma = 1: the optimum depends on the step (no stationary table can represent it).
    # Off-policy learners with uniform exploration from every state reach the optimal set at every (step, state).
    cfg = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=3, regime="always", b=1)
    mdp, sol = turn_mdp(cfg), solve_config(cfg)
    settings = LearnerSettings(
        algorithm=algorithm, episodes=3000, horizon=3, time_indexed=True, epsilon=1.0, step_size=0.5
    )
    seeds = range(12)
    engine = "numba" if numba_kernel.available() else "numpy"
    result = learn(
        mdp, settings, seeds, start=tuple((s, Fraction(1, mdp.n_states)) for s in range(mdp.n_states)), engine=engine
    )
    greedy = result.greedy()
    assert greedy.shape == (12, 3, mdp.n_states)
    masks = sol.action_masks  # (H, S) bit sets of the exactly optimal actions at each step
    for t in range(3):
        for s in range(mdp.n_states):
            for b in seeds:
                assert (int(masks[t, s]) >> int(greedy[b, t, s])) & 1, (algorithm, b, t, s)
    assert any(len({int(masks[t, s]) for t in range(3)}) > 1 for s in range(mdp.n_states))  # step-dependent
    stationary = learn(mdp, dataclasses.replace(settings, time_indexed=False), seeds, engine=engine).greedy()
    timed_path = compare(sol, greedy).classes["observed"]
    assert timed_path.count("optimal") == 12 and compare(sol, stationary).classes["observed"].count("optimal") < 12


def test_time_indexed_needs_terminal_truncation():
    with pytest.raises(InputError) as err:
        LearnerSettings(time_indexed=True, truncation="bootstrap")
    assert err.value.field == "time_indexed"


def test_split_across_worker_processes_is_bit_identical():
    from concurrent.futures import ProcessPoolExecutor

    mdp = turn_mdp(SMALL)
    settings = LearnerSettings(algorithm="expected-sarsa", episodes=30, horizon=5, tie_break="random")
    whole = learn(mdp, settings, range(6), base_seed=5).q
    with ProcessPoolExecutor(max_workers=2) as pool:
        parts = list(pool.map(_learn_part, [(mdp, settings, range(0, 3)), (mdp, settings, range(3, 6))]))
    assert np.array_equal(np.concatenate(parts), whole)


def _learn_part(args):
    mdp, settings, seeds = args
    return learn(mdp, settings, seeds, base_seed=5).q


def test_large_batches_with_threaded_draws_match_single_seeds():
    mdp = turn_mdp(SMALL)
    settings = LearnerSettings(episodes=40, horizon=5, tie_break="random")
    big = learn(mdp, settings, range(100, 170), base_seed=1)  # >= 64 seeds: draws filled by a thread pool
    for i in (0, 33, 69):
        assert np.array_equal(big.q[i], learn(mdp, settings, [100 + i], base_seed=1).q[0])


@pytest.mark.parametrize("extra", [{}, {"time_indexed": True, "step_schedule": "1/n", "omega": 0.7, "epsilon": 0.3}])
def test_checkpoints_equal_shorter_runs_and_can_stop_training(extra):
    mdp = turn_mdp(SMALL)
    settings = LearnerSettings(algorithm="sarsa", episodes=100, horizon=5, **extra)
    seen = {}

    def keep(n, result):
        seen[n] = result
        return n == 70  # stop after 70 episodes

    last = learn(mdp, settings, [3, 8], checkpoints=[10, 45, 70, 90], on_checkpoint=keep)
    assert sorted(seen) == [10, 45, 70] and last.settings.episodes == 100
    assert np.array_equal(last.q, seen[70].q)  # stopped at the checkpoint
    for n in (10, 45, 70):
        alone = learn(mdp, dataclasses.replace(settings, episodes=n), [3, 8])
        assert np.array_equal(seen[n].q, alone.q) and np.array_equal(seen[n].visits, alone.visits)
        assert seen[n].settings.episodes == n
    with pytest.raises(InputError) as err:
        learn(mdp, dataclasses.replace(settings, epsilon_schedule="linear", epsilon_final=0.0), [0], checkpoints=[5])
    assert err.value.field == "checkpoints"


@pytest.mark.parametrize("time_indexed", [False, True])
def test_terminal_timing_loss_reaches_the_learner(time_indexed):
    # Regression: with timing = "terminal" every step cost is 0 and the loss is charged on s_H only; the
    # learners once ignored it. Step-indexed, alpha = 1, deterministic moves: the last step's Q is exactly
    # the final loss of the successor.
    cfg = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 3), horizon=3, timing="terminal", actions=("up", "right"))
    mdp = turn_mdp(cfg)
    assert not mdp.cost_numerators.any() and mdp.final_numerators.any()
    settings = LearnerSettings(episodes=200, horizon=3, epsilon=1.0, step_size=1.0, time_indexed=time_indexed)
    result = learn(mdp, settings, [0, 1])
    if not time_indexed:
        assert (result.q != 0).any()  # the final loss moved the table
        return
    for s in range(mdp.n_states):
        for a in range(mdp.n_actions):
            if result.visits[0, 2, s, a]:
                ((nxt, _),) = mdp.next_states(s, a)
                assert result.q[0, 2, s, a] == float(mdp.final_cost(nxt))
    assert result.visits[0, 2].sum() > 0


@pytest.mark.parametrize("n_seeds", [1, 2, 3, 4, 5])
@pytest.mark.parametrize("extra", [{}, {"algorithm": "sarsa", "tie_break": "last"}, {"observe_flag": False}])
def test_numba_seeds_in_lock_step_groups_equal_one_seed_at_a_time(n_seeds, extra):
    # the compiled greedy loop advances seeds in groups (numba_kernel.LANES) and pads the last group: every seed's
    # table equals the numpy engine's and a run of that seed alone, on a stochastic MDP and a flag-blind table
    requires_extra("numba")
    from tabturn.interop.arrays import mdp_from_arrays

    rng = np.random.default_rng(7)
    P = rng.integers(0, 3, size=(3, 6, 6)).astype(float) + np.eye(6)
    P /= P.sum(axis=2, keepdims=True)
    stochastic = mdp_from_arrays(P, rng.integers(-2, 3, size=(6, 3)).astype(float))
    worlds = [turn_mdp(SMALL)] if "observe_flag" in extra else [stochastic, turn_mdp(SMALL)]
    for mdp in worlds:
        settings = LearnerSettings(episodes=30, horizon=6, epsilon=0.3, **extra)
        seeds = list(range(10, 10 + n_seeds))
        fast = learn(mdp, settings, seeds, base_seed=4, engine="numba")
        ref = learn(mdp, settings, seeds, base_seed=4, engine="numpy")
        assert np.array_equal(ref.q, fast.q) and np.array_equal(ref.visits, fast.visits)
        alone = learn(mdp, settings, seeds[-1:], base_seed=4, engine="numba")
        assert np.array_equal(alone.q[0], fast.q[-1])
