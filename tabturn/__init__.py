"""tabturn: exact analysis of tabular reinforcement-learning toys, starting with the treacherous turn.

The public names below are imported on first use (PEP 562), so ``import tabturn`` and the command line start fast.
"""

from __future__ import annotations

import importlib
import sys
import types

__version__ = "0.1.0"

_EXPORTS = {
    "CheckResult": "tabturn.policy_check",
    "check": "tabturn.policy_check",
    "state_table": "tabturn.policy_check",
    "ExactVector": "tabturn.solution",
    "Solution": "tabturn.solution",
    "InputError": "tabturn.errors",
    "LearnerSettings": "tabturn.learn",
    "learn": "tabturn.learn",
    "TabularMDP": "tabturn.mdp",
    "TurnConfig": "tabturn.config",
    "backward_induction": "tabturn.finite",
    "certify": "tabturn.discounted",
    "solve_discounted": "tabturn.discounted",
    "load_npz": "tabturn.arrays",
    "mdp_from_arrays": "tabturn.arrays",
    "solve": "tabturn.solve",
    "solve_config": "tabturn.solve",
    "turn_mdp": "tabturn.turn",
}
__all__ = sorted(_EXPORTS)


def __getattr__(name: str):
    if name in _EXPORTS:
        value = getattr(importlib.import_module(_EXPORTS[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'tabturn' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(_EXPORTS))


class _Package(types.ModuleType):
    """``tabturn.solve`` and ``tabturn.learn`` name functions, although submodules of those names exist (importing a
    submodule sets the package attribute to the module; this keeps the function)."""

    def __getattribute__(self, name: str):
        if name in ("solve", "learn"):
            return getattr(importlib.import_module(f"tabturn.{name}"), name)
        return super().__getattribute__(name)


sys.modules[__name__].__class__ = _Package
