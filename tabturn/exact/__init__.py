"""exact: optimal values and action sets in integer/rational arithmetic — backward induction for finite horizons,
float value/policy iteration with a rational certificate for discounted ones — exact policy evaluation, the
``Solution`` result type and optimal trajectories.

May import ``tabturn.core`` only.
"""
