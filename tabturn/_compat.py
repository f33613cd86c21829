"""The flat module paths of release 0.1 as aliases of their new homes, for one release.

``import tabturn.finite`` (or ``from tabturn.config import TurnConfig``) gives the very module object of
``tabturn.exact.finite`` (``tabturn.envs.turn.config``), with a DeprecationWarning naming the new path; private
names, monkeypatching and pickles behave as with the new path. Nothing inside tabturn uses these aliases.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import sys
import warnings
from collections.abc import Callable
from types import ModuleType

OLD_PATHS = {  # 0.1 module -> its module since 0.2
    "tabturn.errors": "tabturn.core.errors",
    "tabturn.limits": "tabturn.core.limits",
    "tabturn.validation": "tabturn.core.validation",
    "tabturn.rational": "tabturn.core.rational",
    "tabturn.mdp": "tabturn.core.mdp",
    "tabturn.bellman": "tabturn.core.bellman",
    "tabturn.detmath": "tabturn.core.detmath",
    "tabturn.progress": "tabturn.core.progress",
    "tabturn.solution": "tabturn.exact.solution",
    "tabturn.finite": "tabturn.exact.finite",
    "tabturn.discounted": "tabturn.exact.discounted",
    "tabturn.evaluate": "tabturn.exact.evaluate",
    "tabturn.graph": "tabturn.exact.trajectory",
    "tabturn.config": "tabturn.envs.turn.config",
    "tabturn.turn": "tabturn.envs.turn.model",
    "tabturn.gridworld": "tabturn.envs.gridworld",
    "tabturn.solve": "tabturn.envs.solve",
    "tabturn.counter_rng": "tabturn.learners.counter_rng",
    "tabturn.learn": "tabturn.learners.tabular",
    "tabturn.learn_numba": "tabturn.learners.numba_kernel",
    "tabturn.compare": "tabturn.experiments.compare",
    "tabturn.study": "tabturn.experiments.study",
    "tabturn.attribute": "tabturn.experiments.attribution",
    "tabturn.mesa": "tabturn.experiments.mesa",
    "tabturn.policy_check": "tabturn.experiments.policy_check",
    "tabturn.reduced": "tabturn.symbolic.reduced",
    "tabturn.symbolic_regimes": "tabturn.symbolic.regimes",
    "tabturn.arrays": "tabturn.interop.arrays",
    "tabturn.export": "tabturn.interop.export",
    "tabturn.gym_env": "tabturn.interop.gym_env",
    "tabturn.gym_import": "tabturn.interop.gym_import",
    "tabturn.io": "tabturn.runs.files",
    "tabturn.sweep": "tabturn.runs.sweep",
    "tabturn.render": "tabturn.cli.render",
}
# tabturn.symbolic and tabturn.cli are packages now; they serve the old modules' names themselves.


class _AliasLoader(importlib.abc.Loader):
    """Puts the new module in ``sys.modules`` under the old name (the import system returns what is there)."""

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return None

    def exec_module(self, module: ModuleType) -> None:
        new = OLD_PATHS[module.__name__]
        warnings.warn(f"{module.__name__} is deprecated; import {new}", DeprecationWarning, stacklevel=2)
        sys.modules[module.__name__] = importlib.import_module(new)


class _AliasFinder(importlib.abc.MetaPathFinder):
    def find_spec(
        self, fullname: str, path: object = None, target: object = None
    ) -> importlib.machinery.ModuleSpec | None:
        if fullname not in OLD_PATHS:
            return None
        return importlib.machinery.ModuleSpec(fullname, _AliasLoader())


def install() -> None:
    """Adds the alias finder to ``sys.meta_path`` once."""
    if not any(isinstance(finder, _AliasFinder) for finder in sys.meta_path):
        sys.meta_path.append(_AliasFinder())


def served_names(package: str, module: str) -> Callable[[str], object]:
    """A PEP 562 ``__getattr__`` for ``package`` that serves the names of ``module`` (imported on first use), as
    the 0.1 module of the package's name did."""

    def __getattr__(name: str) -> object:
        try:
            return getattr(importlib.import_module(module), name)
        except AttributeError:
            raise AttributeError(f"module {package!r} has no attribute {name!r}") from None

    return __getattr__
