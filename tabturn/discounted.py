"""Infinite-horizon discounted solvers: float value/policy iteration, an LP, and the exact certificate."""

from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
import scipy.sparse.linalg as spla

from tabturn.bellman import (INT64_SAFE, ExactBackup, as_dtype, gaps_to_second, max_abs, minimum_and_mask,
                              shifted_views)
from tabturn.errors import InputError
from tabturn.mdp import TabularMDP
from tabturn.rational import format_rational, parse_rational
from tabturn.solution import ExactVector, Solution, mask_dtype

FLOAT_EPS = 2.0**-52


@dataclass(frozen=True, eq=False)
class FloatResult:
    """A floating-point solution: values in objective units, a greedy policy, and its error bound.

    ``error_bound`` bounds ||values - V*||_inf (including a first-order allowance for float64 rounding);
    it is a floating result, not an exact one.
    """

    values: np.ndarray
    policy: np.ndarray
    error_bound: float
    iterations: int
    stop_reason: str


def _check_discount(discount) -> Fraction:
    gamma = parse_rational(discount, "discount")
    if not 0 <= gamma < 1:
        raise InputError("discount", f"must lie in [0, 1) for an infinite horizon, not {format_rational(gamma)}")
    return gamma


def _float_q(mdp: TabularMDP, V: np.ndarray, gamma: float, cache: dict) -> list[np.ndarray]:
    """Float Q-values (minimisation units, flat (S,)) for each action."""
    if mdp.grid is not None:
        if "arrival" not in cache:
            cache["arrival"] = mdp.sign * np.asarray(mdp.grid.arrival_cost, dtype=np.float64) / mdp.cost_denominator
        W = cache["arrival"] + gamma * V.reshape(mdp.grid.shape)
        return [v.ravel() for v in shifted_views(W, mdp.grid.shifts)]
    if "P" not in cache:
        cache["P"] = [mdp.transition_matrix(a) for a in range(mdp.n_actions)]
        cache["c"] = mdp.sign * mdp.costs_float()
    return [cache["c"][:, a] + gamma * (cache["P"][a] @ V) for a in range(mdp.n_actions)]


def _rounding_allowance(mdp: TabularMDP, V: np.ndarray, gamma: float) -> float:
    """First-order bound on accumulated float64 rounding in a fixed point of the float Bellman operator."""
    nnz = max(int(np.diff(m.indptr).max()) for m in mdp.transition_numerators)
    scale = float(np.abs(mdp.costs_float()).max()) + float(np.abs(V).max())
    return (nnz + 3) * FLOAT_EPS * scale / (1 - gamma)


def value_iteration(mdp: TabularMDP, discount, epsilon: float = 1e-9, max_iterations: int = 10**6) -> FloatResult:
    """Float64 value iteration stopped when ||V_k+1 - V*||_inf <= epsilon is guaranteed.

    Stop rule: gamma/(1-gamma) * ||V_k+1 - V_k||_inf <= epsilon (Puterman 6.3.2).
    """
    gamma = float(_check_discount(discount))
    if not epsilon > 0 or not math.isfinite(epsilon):
        raise InputError("epsilon", f"must be a positive finite number, not {epsilon!r}")
    cache: dict = {}
    V = np.zeros(mdp.n_states)
    reason, delta = "max-iterations", math.inf
    for k in range(1, max_iterations + 1):
        Q = _float_q(mdp, V, gamma, cache)
        V_new = np.minimum.reduce(Q)
        delta = float(np.abs(V_new - V).max())
        V = V_new
        if gamma == 0 or gamma / (1 - gamma) * delta <= epsilon:
            reason = "converged"
            break
    policy = np.argmin(np.stack(_float_q(mdp, V, gamma, cache)), axis=0)
    bound = (gamma / (1 - gamma) * delta if gamma else 0.0) + _rounding_allowance(mdp, V, gamma)
    return FloatResult(mdp.sign * V, policy, bound, k, reason)


def _policy_system(mdp: TabularMDP, policy: np.ndarray, gamma: float) -> tuple[sp.csr_matrix, np.ndarray]:
    S = mdp.n_states
    rows = sp.vstack([mdp.transition_matrix(int(a)).getrow(s) for s, a in enumerate(policy)]).tocsr()
    costs = mdp.sign * mdp.costs_float()[np.arange(S), policy]
    return sp.identity(S, format="csr") - gamma * rows, costs


def policy_iteration(mdp: TabularMDP, discount, max_iterations: int = 1000) -> FloatResult:
    """Float64 policy iteration (sparse direct evaluation); keeps the current action on near-ties."""
    gamma = float(_check_discount(discount))
    cache: dict = {}
    policy = np.zeros(mdp.n_states, dtype=np.int64)
    for k in range(1, max_iterations + 1):
        A, c = _policy_system(mdp, policy, gamma)
        V = spla.spsolve(A.tocsc(), c)
        Q = np.stack(_float_q(mdp, V, gamma, cache))
        best = Q.min(axis=0)
        tol = 1e-12 * (1 + np.abs(best))
        keep = Q[policy, np.arange(mdp.n_states)] <= best + tol
        new = np.where(keep, policy, np.argmin(Q, axis=0))
        if np.array_equal(new, policy):
            residual = float(np.abs(best - V).max())
            return FloatResult(mdp.sign * V, policy, residual / (1 - gamma) + _rounding_allowance(mdp, V, gamma),
                               k, "stable")
        policy = new
    return FloatResult(mdp.sign * V, policy, math.inf, k, "max-iterations")


def linear_program(mdp: TabularMDP, discount) -> FloatResult:
    """Float LP (scipy HiGHS): maximise sum V subject to V(s) <= c(s,a) + gamma P_a V (minimisation units)."""
    gamma = float(_check_discount(discount))
    S, A = mdp.n_states, mdp.n_actions
    c = mdp.sign * mdp.costs_float()
    blocks = [sp.identity(S, format="csr") - gamma * mdp.transition_matrix(a) for a in range(A)]
    from scipy.optimize import linprog  # imported here: it is slow to import and only this solver needs it

    result = linprog(-np.ones(S), A_ub=sp.vstack(blocks).tocsr(), b_ub=np.concatenate([c[:, a] for a in range(A)]),
                     bounds=[(None, None)] * S, method="highs")
    if result.status != 0:
        raise RuntimeError(f"linear program failed: {result.message}")
    V = result.x
    policy = np.argmin(np.stack(_float_q(mdp, V, gamma, {})), axis=0)
    return FloatResult(mdp.sign * V, policy, math.nan, int(result.nit), "optimal")


def evaluate_policy_exact(mdp: TabularMDP, policy, discount) -> list[Fraction]:
    """Exact discounted value (objective units) of a deterministic stationary policy.

    Deterministic dynamics: walk the policy's functional graph (each cycle solved in closed form,
    then the paths into it). Otherwise: strongly connected components in reverse topological order,
    each solved by exact Gaussian elimination over Fractions.
    """
    return policy_values(mdp, policy, discount).to_fractions()


def policy_values(mdp: TabularMDP, policy, discount) -> ExactVector:
    """Like evaluate_policy_exact, as an ExactVector (common denominator)."""
    gamma = _check_discount(discount)
    policy = [int(a) for a in np.asarray(policy).ravel()]
    if len(policy) != mdp.n_states or any(not 0 <= a < mdp.n_actions for a in policy):
        raise InputError("policy", f"must give one action index in [0, {mdp.n_actions}) per state")
    if mdp.is_deterministic():
        succ = mdp.successors()[np.arange(mdp.n_states), policy].tolist()
        cost = [mdp.sign * int(c) for c in np.asarray(mdp.cost_numerators)[np.arange(mdp.n_states), policy]]
        nums, dens = _functional_graph_values(succ, cost, mdp.cost_denominator, gamma)
        common = math.lcm(*set(dens))
        values = np.array([mdp.sign * n * (common // d) for n, d in zip(nums, dens)], dtype=object)
        if max_abs(values) < 2**62:
            values = values.astype(np.int64)
        return ExactVector(values, common)
    cost = [mdp.sign * mdp.cost(s, a) for s, a in enumerate(policy)]
    return ExactVector.from_fractions([mdp.sign * v for v in _scc_values(mdp, policy, cost, gamma)])


def _functional_graph_values(succ: list[int], cost: list[int], cden: int, gamma: Fraction):
    """Values N[s] / D[s] of V = c + gamma V(succ) with c = cost / cden, in unreduced Python integers."""
    g, h = gamma.numerator, gamma.denominator
    S = len(succ)
    num, den = [0] * S, [1] * S
    status = [0] * S  # 0 new, 1 on the current path, 2 solved
    for origin in range(S):
        path, s = [], origin
        while status[s] == 0:
            status[s] = 1
            path.append(s)
            s = succ[s]
        if status[s] == 1:  # closed a new cycle starting at s: V(s) = sum_j gamma^j c_j / (1 - gamma^k)
            at = len(path) - 1
            while path[at] != s:
                at -= 1
            cycle = path[at:]
            total, power = Fraction(0), Fraction(1)
            for t in cycle:
                total += power * Fraction(cost[t], cden)
                power *= gamma
            head = total / (1 - power)
            num[cycle[0]], den[cycle[0]] = head.numerator, head.denominator
            status[cycle[0]] = 2
            path = path[:at] + cycle[1:]
        for t in reversed(path):  # V(t) = c/cden + (g/h) N'/D' = (c h D' + cden g N') / (cden h D')
            nxt = succ[t]
            num[t] = cost[t] * h * den[nxt] + cden * g * num[nxt]
            den[t] = cden * h * den[nxt]
            status[t] = 2
    return num, den


def _scc_values(mdp: TabularMDP, policy: list[int], cost: list[Fraction], gamma: Fraction) -> list[Fraction]:
    import networkx as nx

    rows = [mdp.next_states(s, a) for s, a in enumerate(policy)]
    graph = nx.DiGraph()
    graph.add_nodes_from(range(mdp.n_states))
    graph.add_edges_from((s, t) for s, row in enumerate(rows) for t, _ in row)
    condensed = nx.condensation(graph)
    value: list[Fraction | None] = [None] * mdp.n_states
    for comp in reversed(list(nx.topological_sort(condensed))):
        members = sorted(condensed.nodes[comp]["members"])
        local = {s: i for i, s in enumerate(members)}
        k = len(members)
        matrix = [[Fraction(int(i == j)) for j in range(k)] for i in range(k)]
        rhs = []
        for i, s in enumerate(members):
            outside = Fraction(0)
            for t, p in rows[s]:
                if t in local:
                    matrix[i][local[t]] -= gamma * p
                else:
                    outside += p * value[t]
            rhs.append(cost[s] + gamma * outside)
        for s, v in zip(members, _solve_exact(matrix, rhs)):
            value[s] = v
    return value  # type: ignore[return-value]


def _solve_exact(matrix: list[list[Fraction]], rhs: list[Fraction]) -> list[Fraction]:
    """Gauss-Jordan elimination over Fractions (matrix is nonsingular: I - gamma P with gamma < 1)."""
    k = len(rhs)
    rows = [row[:] + [b] for row, b in zip(matrix, rhs)]
    for col in range(k):
        pivot = next(r for r in range(col, k) if rows[r][col] != 0)
        rows[col], rows[pivot] = rows[pivot], rows[col]
        inv = 1 / rows[col][col]
        rows[col] = [v * inv for v in rows[col]]
        for r in range(k):
            if r != col and rows[r][col] != 0:
                factor = rows[r][col]
                rows[r] = [a - factor * b for a, b in zip(rows[r], rows[col])]
    return [rows[i][k] for i in range(k)]


@dataclass(frozen=True, eq=False)
class Certificate:
    """Outcome of the exact optimality check of a stationary deterministic policy.

    ``certified`` is True iff the policy's exact values V satisfy V(s) = min_a Q(s, a) at every state
    (Bellman optimality, which has a unique fixed point for gamma < 1), checked in rational arithmetic.
    """

    certified: bool
    reason: str
    values: ExactVector
    action_masks: np.ndarray
    gaps: ExactVector
    has_gap: np.ndarray
    improved_policy: np.ndarray


def certify(mdp: TabularMDP, policy, discount) -> Certificate:
    """Evaluate ``policy`` exactly and check exactly that no action improves any state."""
    gamma = _check_discount(discount)
    policy = np.asarray(policy, dtype=np.int64)
    exact = policy_values(mdp, policy, gamma)
    backup = ExactBackup(mdp, gamma)
    N = (mdp.sign * exact.numerators).reshape(backup.state_shape)
    Q, den, _ = backup.q_values(N, exact.denominator)
    best, mask = minimum_and_mask(Q, mask_dtype(mdp.n_actions))
    S = mdp.n_states
    own = np.stack([q.ravel() for q in Q])[policy, np.arange(S)]
    scale = den // exact.denominator
    values = N.ravel()
    if values.dtype != object and max_abs(values) * scale >= INT64_SAFE:
        values = as_dtype(values, object)  # the rescaled values would overflow int64
    if not np.all(np.asarray(own == values * scale, dtype=bool)):
        raise ArithmeticError("exact policy evaluation does not satisfy its own Bellman equation")
    bad = np.flatnonzero(np.asarray(own != best.ravel(), dtype=bool))
    gap_num, has_gap = gaps_to_second(Q, best)
    improved = np.argmax(np.stack([bit.ravel() for bit in _bits(mask, mdp.n_actions)]), axis=0)
    if bad.size:
        s = int(bad[0])
        better = Fraction(int(own[s] - best.ravel()[s]), den)
        reason = (f"{bad.size} state(s) improvable, e.g. state {mdp.state_labels[s]!r}: action "
                  f"{mdp.action_names[int(improved[s])]!r} beats {mdp.action_names[int(policy[s])]!r} by "
                  f"{format_rational(better)}")
    else:
        reason = "exact policy evaluation satisfies the Bellman optimality equation at every state"
    return Certificate(not bad.size, reason, exact, mask.ravel()[None, :],
                       ExactVector(gap_num.ravel(), den), has_gap.ravel(), np.where(
                           np.isin(np.arange(mdp.n_states), bad), improved, policy))


def _bits(mask: np.ndarray, n_actions: int) -> list[np.ndarray]:
    return [(mask >> mask.dtype.type(a)) & 1 for a in range(n_actions)]


def solve_discounted(mdp: TabularMDP, discount, epsilon: float = 1e-9, method: str = "value-iteration",
                     max_rounds: int = 1000) -> Solution:
    """Exact optimum of the infinite discounted sum: a float solve, then a rational certificate.

    When the float policy fails the certificate, exact policy improvement (switch improvable states
    to an exactly optimal action, re-evaluate exactly) repeats until it passes.
    """
    gamma = _check_discount(discount)
    solvers = {"value-iteration": lambda: value_iteration(mdp, gamma, epsilon),
               "policy-iteration": lambda: policy_iteration(mdp, gamma),
               "linear-program": lambda: linear_program(mdp, gamma)}
    if method not in solvers:
        raise InputError("method", f"must be one of {', '.join(solvers)}, not {method!r}")
    floating = solvers[method]()
    policy, rounds = floating.policy, 0
    while True:
        cert = certify(mdp, policy, gamma)
        if cert.certified or rounds >= max_rounds:
            break
        policy, rounds = cert.improved_policy, rounds + 1
    return Solution(
        mdp=mdp, horizon=None, discount=gamma, method=f"{method}+certificate", certified=cert.certified,
        reason=cert.reason, values=cert.values, action_masks=cert.action_masks, gaps=cert.gaps,
        has_gap=cert.has_gap, stats={"float_iterations": floating.iterations, "float_stop": floating.stop_reason,
                                     "float_error_bound": floating.error_bound, "exact_improvement_rounds": rounds})
