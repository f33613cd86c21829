"""Exact value of given policies — deterministic or mixed, stationary or step-indexed, one or many — for a finite
horizon or an infinite discounted one.

The callers hold a Solution or a config, so ``gamma`` arrives normalised (an exact Fraction in range, as
``tabturn.core.validation.check_discount`` gives it) and is not checked again here.
"""

from __future__ import annotations

import dataclasses
import math
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from tabturn.core.bellman import ExactBackup, reduce_fraction
from tabturn.core.errors import InputError
from tabturn.core.limits import INT64_SAFE
from tabturn.core.mdp import TabularMDP
from tabturn.exact.discounted import _policy, _policy_values
from tabturn.exact.finite import _backward_induction
from tabturn.exact.solution import ExactVector


def restrict(mdp: TabularMDP, policy: ArrayLike) -> TabularMDP:
    """The one-action MDP that always plays ``policy[s]`` (a Markov chain with costs)."""
    policy = np.asarray(policy, dtype=np.int64).ravel()
    S = mdp.n_states
    if policy.shape != (S,) or policy.min() < 0 or policy.max() >= mdp.n_actions:
        raise InputError("policy", f"must give one action index in [0, {mdp.n_actions}) per state")
    stacked = sp.vstack([m.to_scipy() for m in mdp.transition_numerators], format="csr")
    chain = stacked[policy * S + np.arange(S)].tocsr()
    cost = np.asarray(mdp.cost_numerators)[np.arange(S), policy][:, None]
    return dataclasses.replace(
        mdp, action_names=("policy",), transition_numerators=(chain,), cost_numerators=cost, grid=None
    )


def policy_value(mdp: TabularMDP, policy: ArrayLike, horizon: int | None, gamma: Fraction) -> ExactVector:
    """Exact value (objective units) of ``policy`` at step 0: H steps of backward evaluation, or the
    infinite discounted value when ``horizon`` is None."""
    if horizon is None:
        return _policy_values(mdp, _policy(mdp, policy), gamma)
    return _backward_induction(restrict(mdp, policy), horizon, gamma).values


def step_policy_value(mdp: TabularMDP, policies: ArrayLike, gamma: Fraction) -> ExactVector:
    """Exact value (objective units) at step 0 of the time-indexed policy ``policies[t][s]`` over H = len(policies)
    steps (backward evaluation, one restricted backup per step)."""
    policies = np.asarray(policies, dtype=np.int64)
    N, den = ExactBackup(mdp, gamma).initial()
    N = N.ravel()
    for t in range(len(policies) - 1, -1, -1):
        Q, den, _ = ExactBackup(restrict(mdp, policies[t]), gamma).q_values(N, den)
        N = Q[0]
    return ExactVector(mdp.sign * N, den)


def path_value(mdp: TabularMDP, policy: ArrayLike, start: int, horizon: int | None, gamma: Fraction) -> Fraction:
    """Exact value (objective units) at ``start`` of a stationary (S,) or time-indexed (H, S) policy on a
    deterministic MDP, by following its single path (H steps plus the final cost, or, for an infinite
    horizon, the lead-in and the cycle it ends in, summed as a geometric series)."""
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
    lead = sum((gamma**t * c for t, c in enumerate(steps[:j])), Fraction(0))
    loop = sum((gamma**t * c for t, c in enumerate(steps[j:])), Fraction(0))
    return (lead + gamma**j * loop / (1 - gamma ** len(steps[j:]))) / mdp.cost_denominator


# ---------------------------------------------------------------- policy tables (probabilities), many policies


def deterministic_table(actions: np.ndarray, n_actions: int) -> np.ndarray:
    """(T, S, A) Fraction policy table playing ``actions[t, s]`` with probability 1."""
    actions = np.asarray(actions)
    out = np.empty(actions.shape + (n_actions,), dtype=object)
    for t, s in np.ndindex(actions.shape):
        out[t, s] = [Fraction(int(a == actions[t, s])) for a in range(n_actions)]
    return out


def mixed_chain(mdp: TabularMDP, probs: np.ndarray) -> TabularMDP:
    """The one-action MDP that plays action a in state s with probability probs[s][a] (exact)."""
    S, A = mdp.n_states, mdp.n_actions
    L = math.lcm(1, *(p.denominator for row in probs for p in row))
    weights = np.array([[int(p * L) for p in row] for row in probs], dtype=object)
    if L * mdp.prob_denominator >= INT64_SAFE:
        raise InputError("policy", "the probabilities' common denominator is too large for exact evaluation")
    w64 = weights.astype(np.int64)
    chain = sp.csr_matrix((S, S), dtype=np.int64)
    for a in range(A):
        weighted = mdp.transition_numerators[a].to_scipy().multiply(w64[:, a][:, None])
        chain = chain + sp.csr_matrix(weighted, dtype=np.int64)
    chain = sp.csr_matrix(chain, dtype=np.int64)
    chain.eliminate_zeros()
    cost = np.array(
        [sum(weights[s, a] * int(mdp.cost_numerators[s, a]) for a in range(A)) for s in range(S)], dtype=object
    )
    cost = cost.astype(np.int64) if max(abs(int(c)) for c in cost) < INT64_SAFE else cost
    final = np.array([int(f) * L for f in mdp.final_numerators], dtype=object)
    final = final.astype(np.int64) if max(abs(int(f)) for f in final) < INT64_SAFE else final
    return dataclasses.replace(
        mdp,
        action_names=("policy",),
        transition_numerators=(chain,),
        prob_denominator=mdp.prob_denominator * L,
        cost_numerators=cost[:, None],
        final_numerators=final,
        cost_denominator=mdp.cost_denominator * L,
        grid=None,
    )


def mixed_policy_values(mdp: TabularMDP, policy: np.ndarray, horizon: int | None, gamma: Fraction) -> list[Fraction]:
    """Exact values (objective units) at step 0 of a (T, S, A) Fraction policy (T = 1 stationary or T = H)."""
    if horizon is None:
        return _policy_values(mixed_chain(mdp, policy[0]), np.zeros(mdp.n_states, dtype=np.int64), gamma).to_fractions()
    if len(policy) == 1:
        return _backward_induction(mixed_chain(mdp, policy[0]), horizon, gamma).values.to_fractions()
    N, den = ExactBackup(mdp, gamma).initial()
    N = N.ravel()
    for t in range(horizon - 1, -1, -1):
        Q, den, _ = ExactBackup(mixed_chain(mdp, policy[t]), gamma).q_values(N, den)
        N = Q[0]
    return [Fraction(int(mdp.sign * n), den) for n in N]


def many_policy_values(
    mdp: TabularMDP, policies: ArrayLike, horizon: int, gamma: Fraction = Fraction(1)
) -> tuple[np.ndarray, int]:
    """Exact step-0 values N / den (objective units) of many deterministic policies over a finite horizon:
    ``policies`` (B, S) stationary or (B, H, S) step-indexed action indices give numerators (B, S) over one
    denominator.

    The distinct policies are stacked into one single-action MDP per step (policy-major states) and evaluated by
    one exact backward induction, so the cost is one sparse product per step, not one solve per policy.
    """
    policies = np.asarray(policies, dtype=np.int64)
    if policies.ndim == 2:
        policies = policies[:, None, :]
    if policies.ndim != 3 or policies.shape[2] != mdp.n_states or policies.shape[1] not in (1, horizon):
        raise InputError(
            "policies", f"must have shape (B, {mdp.n_states}) or (B, {horizon}, {mdp.n_states}), not {policies.shape}"
        )
    if policies.size and not (policies.min() >= 0 and policies.max() < mdp.n_actions):
        raise InputError("policies", f"actions must lie in 0..{mdp.n_actions - 1}")
    B, T, S = policies.shape
    unique, inverse = np.unique(policies.reshape(B, T * S), axis=0, return_inverse=True)
    U = len(unique)
    unique = unique.reshape(U, T, S)
    block = sp.identity(U, dtype=np.int64, format="csr")
    stacked = [sp.kron(block, m.to_scipy(), format="csr") for m in mdp.transition_numerators]
    cost_table = np.asarray(mdp.cost_numerators)

    def step_mdp(flat: np.ndarray) -> TabularMDP:
        chain = sum(sp.diags((flat == a).astype(np.int64), dtype=np.int64) @ stacked[a] for a in range(mdp.n_actions))
        chain = sp.csr_matrix(chain, dtype=np.int64)
        chain.eliminate_zeros()
        return dataclasses.replace(
            mdp,
            state_labels=tuple(range(U * S)),
            action_names=("policy",),
            transition_numerators=(chain,),
            cost_numerators=cost_table[np.tile(np.arange(S), U), flat][:, None],
            final_numerators=np.tile(np.asarray(mdp.final_numerators), U),
            terminal=np.tile(mdp.terminal, U),
            start=((0, Fraction(1)),),
            grid=None,
            description={},
        )

    backups = {}
    N, den = ExactBackup(step_mdp(unique[:, 0].ravel()), gamma).initial()
    bound = None
    for t in range(horizon - 1, -1, -1):
        k = min(t, T - 1)
        if k not in backups:
            backups = {k: ExactBackup(step_mdp(unique[:, k].ravel()), gamma)}
        Q, den, bound = backups[k].q_values(N, den, bound)
        N = Q[0]
        if den != mdp.cost_denominator:
            N, reduced = reduce_fraction(N, den)
            bound, den = bound // (den // reduced), reduced
    return (mdp.sign * N).reshape(U, S)[inverse.ravel()], den
