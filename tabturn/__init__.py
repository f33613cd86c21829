"""tabturn: exact analysis of tabular reinforcement-learning toys, starting with the treacherous turn."""

__version__ = "0.1.0"

from tabturn.arrays import load_npz, mdp_from_arrays
from tabturn.config import TurnConfig
from tabturn.discounted import certify, solve_discounted
from tabturn.errors import InputError
from tabturn.finite import backward_induction
from tabturn.learn import LearnerSettings, learn
from tabturn.mdp import TabularMDP
from tabturn.policy_check import CheckResult, check, state_table
from tabturn.solution import ExactVector, Solution
from tabturn.solve import solve, solve_config
from tabturn.turn import turn_mdp

__all__ = [
    "CheckResult", "ExactVector", "InputError", "LearnerSettings", "Solution", "TabularMDP", "TurnConfig",
    "backward_induction", "certify", "check", "learn", "load_npz", "mdp_from_arrays", "solve", "solve_config",
    "solve_discounted", "state_table", "turn_mdp",
]
