"""core: the hub type ``TabularMDP``, exact Bellman backups, rational helpers, limits, validators, the
CPU-independent transcendental routines and the progress line.

The lowest layer: it imports only the standard library, numpy, scipy and mpmath — never an environment family,
a solver, a learner or anything else of tabturn.
"""
