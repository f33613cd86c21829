"""tabturn: exact analysis of tabular reinforcement-learning toys, starting with the treacherous turn.

This module is the stable public surface: the names below are imported on first use (PEP 562), so
``import tabturn`` and the command line start fast. The package's layers, lowest first (a layer imports only the
layers before it; ``tests/test_layers.py`` enforces it):

    core → exact → envs → learners → experiments → symbolic → interop → runs → cli

The flat module paths of release 0.1 (``tabturn.finite``, ``tabturn.config``, …) still import, as aliases of their
new homes, with a DeprecationWarning; see ``tabturn._compat``.
"""

from __future__ import annotations

import importlib
import sys
import types

from tabturn import _compat

__version__ = "0.2.0"

_EXPORTS = {
    "CheckBatch": "tabturn.experiments.policy_check",
    "CheckResult": "tabturn.experiments.policy_check",
    "check": "tabturn.experiments.policy_check",
    "state_table": "tabturn.experiments.policy_check",
    "ExactVector": "tabturn.exact.solution",
    "Solution": "tabturn.exact.solution",
    "InputError": "tabturn.core.errors",
    "LearnerSettings": "tabturn.learners.tabular",
    "learn": "tabturn.learners.tabular",
    "TabularMDP": "tabturn.core.mdp",
    "TurnConfig": "tabturn.envs.turn.config",
    "backward_induction": "tabturn.exact.finite",
    "certify": "tabturn.exact.discounted",
    "solve_discounted": "tabturn.exact.discounted",
    "load_npz": "tabturn.interop.arrays",
    "mdp_from_arrays": "tabturn.interop.arrays",
    "predict_policy": "tabturn.interop.gym_env",
    "solve": "tabturn.envs.solve",
    "solve_config": "tabturn.envs.solve",
    "turn_mdp": "tabturn.envs.turn.model",
}
__all__ = sorted(_EXPORTS)

_compat.install()


def __getattr__(name: str) -> object:
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tabturn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """``tabturn.solve`` and ``tabturn.learn`` name functions, although the 0.1 modules of those names still import
    (importing a module sets the package attribute to it; this keeps the function)."""

    def __getattribute__(self, name: str) -> object:
        if name in ("solve", "learn"):
            return getattr(importlib.import_module(_EXPORTS[name]), name)
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _Package
