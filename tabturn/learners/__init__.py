"""learners: tabular learners (Q-learning, SARSA, expected SARSA, double Q; stationary or step-indexed) over many
seeds at once — the numpy engine (``tabular``), the bit-identical numba kernel (``numba_kernel``) and the
counter-based random streams both use (``counter_rng``).

May import ``tabturn.core``, ``tabturn.exact`` and ``tabturn.envs``.
"""
