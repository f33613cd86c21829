"""Path-level coverage: a seed whose greedy policy reaches an untrained state is untrained-path, not always-up."""

import numpy as np

from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.experiments.compare import compare, untrained_reach


def _up_policy(mdp):
    return np.full((1, mdp.n_states), mdp.action_names.index("up"))


def test_always_up_needs_a_trained_path_and_untrained_path_names_the_other_case():
    config = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 3), horizon=4, actions=("up", "right"))
    mdp, solution = turn_mdp(config), solve_config(config)
    policy = _up_policy(mdp)  # up forever: not optimal while observed
    path = [mdp.index_of((0, y, True)) for y in range(4)]
    trained = np.zeros((1, mdp.n_states), dtype=bool)
    trained[0, path] = True
    assert compare(solution, policy, trained).classes["observed"] == ["always-up"]
    holed = trained.copy()
    holed[0, path[2]] = False  # the path crosses one state training never updated
    comp = compare(solution, policy, holed)
    assert comp.classes["observed"] == ["untrained-path"] and comp.untrained_path["observed"].tolist() == [True]
    off_path = trained.copy()
    off_path[0, mdp.index_of((3, 0, True))] = False  # untrained, but off the path: still always-up
    assert compare(solution, policy, off_path).classes["observed"] == ["always-up"]


def test_step_indexed_coverage_is_per_state_step():
    config = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 3), horizon=4, actions=("up", "right"))
    mdp, solution = turn_mdp(config), solve_config(config)
    policy = np.repeat(_up_policy(mdp)[:, None, :], 4, axis=1)  # (1, H, S)
    path = [mdp.index_of((0, y, True)) for y in range(4)]
    trained = np.zeros((1, 4, mdp.n_states), dtype=bool)
    for t, s in enumerate(path):
        trained[0, t, s] = True
    assert compare(solution, policy, trained).classes["observed"] == ["always-up"]
    shifted = trained.copy()
    shifted[0, 1, path[1]] = False
    shifted[0, 2, path[1]] = True  # the state was trained, but at another step
    assert compare(solution, policy, shifted).classes["observed"] == ["untrained-path"]


def test_stochastic_reach_counts_every_possible_successor():
    # switching: from the observed start, the unobserved copy is reachable with probability p > 0
    config = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=3, regime="switching", p="1/4", q="0")
    mdp = turn_mdp(config)
    from tabturn.experiments.compare import successor_table

    succ = successor_table(mdp)
    policy = _up_policy(mdp)
    start = mdp.index_of((0, 0, True))
    observed_only = np.array([[label[2] for label in mdp.state_labels]])
    assert untrained_reach(policy, start, 3, succ, observed_only, mdp.terminal).tolist() == [True]
    everything = np.ones_like(observed_only)
    assert untrained_reach(policy, start, 3, succ, everything, mdp.terminal).tolist() == [False]
