"""interop: the world outside — ``(P, R)`` arrays and ``.npz`` (``arrays``), Storm's DRN and PRISM (``export``),
the turn family as a Gymnasium env (``gym_env``) and any tabular Gymnasium env imported exactly (``gym_import``).

May import ``core``, ``exact``, ``envs``, ``learners``, ``experiments`` and ``symbolic``.
"""
