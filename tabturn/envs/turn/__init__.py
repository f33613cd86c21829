"""envs.turn: the treacherous-turn family — its TOML config (``config``) and the model it builds (``model``).

May import ``tabturn.core`` and ``tabturn.exact``.
"""
