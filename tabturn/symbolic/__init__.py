"""symbolic: sympy claims about the turn family — the 1-D reduction (``reduced``), the interior claims (``claims``)
the other regimes (``regimes``) and supervision that ends at step k (``supervised``) — each checked exactly
against the solvers.

May import ``core``, ``exact``, ``envs``, ``learners`` and ``experiments``. The names of ``claims`` are served here
too (``tabturn.symbolic.claims_document``), imported on first use so that importing a submodule stays light.
"""

from tabturn._compat import served_names

__getattr__ = served_names("tabturn.symbolic", "tabturn.symbolic.claims")
