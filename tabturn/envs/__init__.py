"""envs: environment families, each building a ``TabularMDP`` — the treacherous-turn family (``envs.turn``) and the
AI Safety Gridworlds (``envs.gridworld``) — and ``solve_config``, which solves any of their configs.

May import ``tabturn.core`` and ``tabturn.exact``.
"""
