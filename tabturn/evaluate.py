"""Exact value of a given stationary deterministic policy, finite-horizon or discounted."""

from __future__ import annotations

import dataclasses
from fractions import Fraction

import numpy as np
import scipy.sparse as sp

from tabturn.bellman import ExactBackup
from tabturn.discounted import policy_values
from tabturn.errors import InputError
from tabturn.finite import backward_induction
from tabturn.mdp import TabularMDP
from tabturn.solution import ExactVector


def restrict(mdp: TabularMDP, policy) -> TabularMDP:
    """The one-action MDP that always plays ``policy[s]`` (a Markov chain with costs)."""
    policy = np.asarray(policy, dtype=np.int64).ravel()
    S = mdp.n_states
    if policy.shape != (S,) or policy.min() < 0 or policy.max() >= mdp.n_actions:
        raise InputError("policy", f"must give one action index in [0, {mdp.n_actions}) per state")
    stacked = sp.vstack(mdp.transition_numerators, format="csr")
    chain = stacked[policy * S + np.arange(S)].tocsr()
    cost = np.asarray(mdp.cost_numerators)[np.arange(S), policy][:, None]
    return dataclasses.replace(mdp, action_names=("policy",), transition_numerators=(chain,),
                               cost_numerators=cost, grid=None)


def policy_value(mdp: TabularMDP, policy, horizon: int | None, discount) -> ExactVector:
    """Exact value (objective units) of ``policy`` at step 0: H steps of backward evaluation, or the
    infinite discounted value when ``horizon`` is None."""
    if horizon is None:
        return policy_values(mdp, policy, discount)
    return backward_induction(restrict(mdp, policy), horizon, discount).values


def step_policy_value(mdp: TabularMDP, policies, discount) -> ExactVector:
    """Exact value (objective units) at step 0 of the time-indexed policy ``policies[t][s]`` over H = len(policies)
    steps (backward evaluation, one restricted backup per step)."""
    from tabturn.rational import parse_rational

    gamma = parse_rational(discount, "discount")
    policies = np.asarray(policies, dtype=np.int64)
    N, den = ExactBackup(mdp, gamma).initial()
    N = N.ravel()
    for t in range(len(policies) - 1, -1, -1):
        Q, den, _ = ExactBackup(restrict(mdp, policies[t]), gamma).q_values(N, den)
        N = Q[0]
    return ExactVector(mdp.sign * N, den)


def path_value(mdp: TabularMDP, policy, start: int, horizon: int | None, discount) -> Fraction:
    """Exact value (objective units) at ``start`` of a stationary (S,) or time-indexed (H, S) policy on a
    deterministic MDP, by following its single path (H steps plus the final cost, or, for an infinite
    horizon, the lead-in and the cycle it ends in, summed as a geometric series)."""
    from tabturn.rational import parse_rational

    gamma = parse_rational(discount, "discount")
    succ = mdp.successors()
    policy = np.asarray(policy, dtype=np.int64)
    cost = np.asarray(mdp.cost_numerators)
    s, total, weight = int(start), Fraction(0), Fraction(1)
    if horizon is not None:
        for t in range(horizon):
            a = int(policy[s] if policy.ndim == 1 else policy[t, s])
            total += weight * int(cost[s, a])
            weight *= gamma
            s = int(succ[s, a])
        return (total + weight * int(mdp.final_numerators[s])) / mdp.cost_denominator
    if policy.ndim != 1:
        raise InputError("policy", "an infinite horizon needs a stationary policy")
    first_seen: dict[int, int] = {}
    steps: list[int] = []  # cost numerators along the path
    while s not in first_seen:
        first_seen[s] = len(steps)
        a = int(policy[s])
        steps.append(int(cost[s, a]))
        s = int(succ[s, a])
    j = first_seen[s]  # the path enters its cycle at step j
    lead = sum((gamma ** t * c for t, c in enumerate(steps[:j])), Fraction(0))
    loop = sum((gamma ** t * c for t, c in enumerate(steps[j:])), Fraction(0))
    return (lead + gamma ** j * loop / (1 - gamma ** len(steps[j:]))) / mdp.cost_denominator
