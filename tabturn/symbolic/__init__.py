"""symbolic: sympy claims about the turn family — the 1-D reduction (``reduced``), the interior claims (``claims``)
and the other regimes (``regimes``) — each checked exactly against the solvers.

May import ``core``, ``exact``, ``envs``, ``learners`` and ``experiments``. The names of ``claims`` are served here
too (``tabturn.symbolic.claims_document``), imported on first use so that importing a submodule stays light.
"""

from __future__ import annotations

import importlib


def __getattr__(name: str) -> object:
    claims = importlib.import_module("tabturn.symbolic.claims")
    try:
        return getattr(claims, name)
    except AttributeError:
        raise AttributeError(f"module 'tabturn.symbolic' has no attribute {name!r}") from None
