"""experiments: learned agents against the exact optimum — comparison and classes (``compare``), seed studies and
convergence (``study``), the optimum-or-training verdicts (``attribution``), the mesa-optimizer (``mesa``) and the
check of a user's own policy or Q-table (``policy_check``).

May import the layers below it: ``core``, ``exact``, ``envs``, ``learners``.
"""
