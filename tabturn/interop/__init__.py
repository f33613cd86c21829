"""interop: the world outside — ``(P, R)`` arrays and ``.npz`` (``arrays``), Storm's DRN and PRISM (``export``),
the turn family as a Gymnasium env (``gym_env``), any tabular Gymnasium env imported exactly (``gym_import``) and
any small deterministic Gymnasium env modelled exactly by enumerating its reachable states (``gym_enumerate``).

May import ``core``, ``exact``, ``envs``, ``learners``, ``experiments`` and ``symbolic``.
"""
