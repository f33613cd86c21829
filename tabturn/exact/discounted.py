"""Infinite-horizon discounted solvers: float value/policy iteration, an LP, and the exact certificate."""

from __future__ import annotations

import math
from collections.abc import Callable
from dataclasses import dataclass
from fractions import Fraction
from typing import Any

import numpy as np
import scipy.sparse as sp
from numpy.typing import ArrayLike

from tabturn.core.bellman import (
    ExactBackup,
    as_dtype,
    gaps_to_second,
    max_abs,
    minimum_and_mask,
    reduce_fraction,
    shifted_views,
)
from tabturn.core.csr import ExactCSR, exact_csr, segment_sums
from tabturn.core.errors import InputError
from tabturn.core.limits import INT64_SAFE
from tabturn.core.mdp import TabularMDP
from tabturn.core.progress import Status
from tabturn.core.rational import RationalLike, format_rational
from tabturn.core.validation import check_choice, check_discount
from tabturn.exact.solution import ExactVector, Solution, mask_dtype

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


def _discount(discount: object) -> Fraction:
    return check_discount(discount, infinite=True)


def _check_epsilon(epsilon: float) -> float:
    if not epsilon > 0 or not math.isfinite(epsilon):
        raise InputError("epsilon", f"must be a positive finite number, not {epsilon!r}")
    return float(epsilon)


def _float_q(mdp: TabularMDP, V: np.ndarray, gamma: float, cache: dict[str, Any]) -> list[np.ndarray]:
    """Float Q-values (minimisation units, flat (S,)) for each action."""
    if mdp.grid is not None:
        if "arrival" not in cache:
            cache["arrival"] = mdp.sign * np.asarray(mdp.grid.arrival_cost, dtype=np.float64) / mdp.cost_denominator
        W = cache["arrival"] + gamma * V.reshape(mdp.grid.shape)
        return [v.ravel() for v in shifted_views(W, mdp.grid.shifts)]
    if "P" not in cache:  # all actions in one (A S x S) matrix: one sparse product per sweep
        cache["P"] = sp.vstack([mdp.transition_matrix(a) for a in range(mdp.n_actions)]).tocsr()
        cache["c"] = np.ascontiguousarray((mdp.sign * mdp.costs_float()).T).ravel()
    return list((cache["c"] + gamma * (cache["P"] @ V)).reshape(mdp.n_actions, -1))


def _rounding_allowance(mdp: TabularMDP, V: np.ndarray, gamma: float) -> float:
    """First-order bound on accumulated float64 rounding in a fixed point of the float Bellman operator."""
    nnz = mdp.max_successors()
    scale = float(np.abs(mdp.costs_float()).max()) + float(np.abs(V).max())
    return (nnz + 3) * FLOAT_EPS * scale / (1 - gamma)


def value_iteration(
    mdp: TabularMDP,
    discount: RationalLike,
    epsilon: float = 1e-9,
    max_iterations: int = 10**6,
    status: Status | None = None,
) -> FloatResult:
    """Float64 value iteration stopped when ||V_k+1 - V*||_inf <= epsilon is guaranteed.

    Stop rule: gamma/(1-gamma) * ||V_k+1 - V_k||_inf <= epsilon (Puterman 6.3.2). ``status``, if given, is
    called with a progress message every 100 sweeps.
    """
    return _value_iteration(mdp, float(_discount(discount)), _check_epsilon(epsilon), max_iterations, status)


def _value_iteration(
    mdp: TabularMDP, gamma: float, epsilon: float, max_iterations: int = 10**6, status: Status | None = None
) -> FloatResult:
    cache: dict[str, Any] = {}
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
        if status is not None and k % 100 == 0:
            status(f"value iteration sweep {k}, error bound {gamma / (1 - gamma) * delta:.3g} (target {epsilon:g})")
    policy = np.argmin(np.stack(_float_q(mdp, V, gamma, cache)), axis=0)
    bound = (gamma / (1 - gamma) * delta if gamma else 0.0) + _rounding_allowance(mdp, V, gamma)
    return FloatResult(mdp.sign * V, policy, bound, k, reason)


def _policy_system(mdp: TabularMDP, policy: np.ndarray, gamma: float) -> tuple[sp.csr_matrix, np.ndarray]:
    S = mdp.n_states
    rows = sp.vstack([mdp.transition_matrix(int(a)).getrow(s) for s, a in enumerate(policy)]).tocsr()
    costs = mdp.sign * mdp.costs_float()[np.arange(S), policy]
    return sp.identity(S, format="csr") - gamma * rows, costs


def policy_iteration(mdp: TabularMDP, discount: RationalLike, max_iterations: int = 1000) -> FloatResult:
    """Float64 policy iteration (sparse direct evaluation); keeps the current action on near-ties."""
    return _policy_iteration(mdp, float(_discount(discount)), max_iterations)


def _policy_iteration(mdp: TabularMDP, gamma: float, max_iterations: int = 1000) -> FloatResult:
    from scipy.sparse.linalg import spsolve  # imported here: slow to import, only this solver needs it

    cache: dict[str, Any] = {}
    policy = np.zeros(mdp.n_states, dtype=np.int64)
    for k in range(1, max_iterations + 1):
        A, c = _policy_system(mdp, policy, gamma)
        V = spsolve(A.tocsc(), c)
        best, new = _improve(np.stack(_float_q(mdp, V, gamma, cache), axis=1), policy)
        if np.array_equal(new, policy):
            return _stable(mdp, V, best, policy, gamma, k)
        policy = new
    return FloatResult(mdp.sign * V, policy, math.inf, k, "max-iterations")


def _improve(Q: np.ndarray, policy: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(min over actions, improved policy) of float Q (S, A); the current action is kept on near-ties."""
    best = Q.min(axis=1)
    keep = Q[np.arange(len(policy)), policy] <= best + 1e-12 * (1 + np.abs(best))
    return best, np.where(keep, policy, np.argmin(Q, axis=1))


def _stable(mdp: TabularMDP, V: np.ndarray, best: np.ndarray, policy: np.ndarray, gamma: float, k: int) -> FloatResult:
    """The result of a policy no action improves: its error bound from the Bellman residual and float rounding."""
    residual = float(np.abs(best - V).max())
    return FloatResult(mdp.sign * V, policy, residual / (1 - gamma) + _rounding_allowance(mdp, V, gamma), k, "stable")


def functional_float_values(succ: np.ndarray, cost: np.ndarray, gamma: float) -> np.ndarray:
    """Float values of V = cost + gamma V[succ] by pointer doubling: round k adds the next 2^k steps."""
    values, ptr, weight = cost.astype(np.float64), succ.copy(), gamma
    while weight > FLOAT_EPS**2:  # the steps not yet added weigh at most weight / (1 - gamma) of the cost scale
        values += weight * values[ptr]
        ptr = ptr[ptr]
        weight *= weight
    return values


def functional_policy_iteration(
    mdp: TabularMDP, discount: RationalLike, max_iterations: int = 10_000, status: Status | None = None
) -> FloatResult:
    """Float64 policy iteration for deterministic dynamics: each policy's values by pointer doubling on its
    functional graph (O(S log(1/(1-gamma))) per evaluation); keeps the current action on near-ties.

    Starts from the myopic policy (least one-step cost). The error bound comes from the Bellman residual.
    """
    return _functional_policy_iteration(mdp, float(_discount(discount)), max_iterations, status)


def _functional_policy_iteration(
    mdp: TabularMDP, gamma: float, max_iterations: int = 10_000, status: Status | None = None
) -> FloatResult:
    succ, cost = mdp.successors(), mdp.sign * mdp.costs_float()
    rows = np.arange(mdp.n_states)
    policy = np.argmin(cost, axis=1)
    for k in range(1, max_iterations + 1):
        if status is not None:
            status(f"policy iteration round {k}")
        V = functional_float_values(succ[rows, policy], cost[rows, policy], gamma)
        best, new = _improve(cost + gamma * V[succ], policy)
        if np.array_equal(new, policy):
            return _stable(mdp, V, best, policy, gamma, k)
        policy = new
    return FloatResult(mdp.sign * V, policy, math.inf, k, "max-iterations")


def linear_program(mdp: TabularMDP, discount: RationalLike) -> FloatResult:
    """Float LP (scipy HiGHS): maximise sum V subject to V(s) <= c(s,a) + gamma P_a V (minimisation units)."""
    return _linear_program(mdp, float(_discount(discount)))


def _linear_program(mdp: TabularMDP, gamma: float) -> FloatResult:
    S, A = mdp.n_states, mdp.n_actions
    c = mdp.sign * mdp.costs_float()
    blocks = [sp.identity(S, format="csr") - gamma * mdp.transition_matrix(a) for a in range(A)]
    from scipy.optimize import linprog  # imported here: it is slow to import and only this solver needs it

    result = linprog(
        -np.ones(S),
        A_ub=sp.vstack(blocks).tocsr(),
        b_ub=np.concatenate([c[:, a] for a in range(A)]),
        bounds=[(None, None)] * S,
        method="highs",
    )
    if result.status != 0:
        raise RuntimeError(f"linear program failed: {result.message}")
    V = result.x
    policy = np.argmin(np.stack(_float_q(mdp, V, gamma, {})), axis=0)
    return FloatResult(mdp.sign * V, policy, math.nan, int(result.nit), "optimal")


def policy_values(mdp: TabularMDP, policy: ArrayLike, discount: RationalLike) -> ExactVector:
    """Exact discounted values (objective units) of a deterministic stationary policy, over one denominator.

    Deterministic dynamics: the policy's functional graph (each cycle solved in closed form, then the paths
    into it, level by level; functional_values). Otherwise: strongly connected components level by level from
    the sinks, single states in vectorised integer arithmetic and larger components by exact elimination
    (sparse_policy_values).
    """
    return _policy_values(mdp, _policy(mdp, policy), _discount(discount))


def _policy(mdp: TabularMDP, policy: object) -> np.ndarray:
    """``policy`` as an int64 vector of one action index per state, else InputError."""
    table = np.asarray(policy).ravel()
    if len(table) != mdp.n_states or not np.all((table >= 0) & (table < mdp.n_actions)):
        raise InputError("policy", f"must give one action index in [0, {mdp.n_actions}) per state")
    return table.astype(np.int64)


def _policy_values(mdp: TabularMDP, policy: np.ndarray, gamma: Fraction) -> ExactVector:
    if mdp.is_deterministic():
        rows = np.arange(mdp.n_states)
        succ = mdp.successors()[rows, policy]
        N, D = functional_values(
            succ, mdp.sign * np.asarray(mdp.cost_numerators)[rows, policy], mdp.cost_denominator, gamma
        )
        return _exact_vector(mdp.sign * N, D)
    N, D = sparse_policy_values(mdp, policy, gamma)
    return _exact_vector(mdp.sign * N, D)


def _exact_vector(N: np.ndarray, D: int) -> ExactVector:
    """N / D as an ExactVector: int64 when it fits (after removing a common factor, when that is cheap)."""
    largest = max_abs(N)
    if largest < INT64_SAFE:
        return ExactVector(N.astype(np.int64), D)
    if largest.bit_length() <= 192:  # a common factor may bring it into int64; beyond, reducing costs
        N, D = reduce_fraction(N, D)  # more than it saves
    return ExactVector(N.astype(np.int64) if max_abs(N) < INT64_SAFE else N, D)


def _cycle_heads(succ: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Bool masks of the nodes on cycles of the functional graph s -> succ[s] and of one node per cycle
    (its smallest index)."""
    S = len(succ)
    lowest, ptr = np.arange(S), succ.copy()
    for _ in range(max(S - 1, 1).bit_length()):  # afterwards ptr = succ^(2^k) with 2^k >= S
        np.minimum(lowest, lowest[ptr], out=lowest)
        ptr = ptr[ptr]
    on_cycle = np.zeros(S, dtype=bool)
    on_cycle[ptr] = True  # the image of succ^n for n >= S is exactly the set of nodes on cycles
    return on_cycle & (lowest == np.arange(S)), on_cycle


def _edges_into(targets: np.ndarray, n: int) -> Callable[[np.ndarray], np.ndarray]:
    """For edges with these ``targets`` (nodes 0..n-1), a function from a frontier of nodes to the indices of the
    edges entering it (edges grouped by target once, each frontier gathered in one vectorised pass)."""
    order = np.argsort(targets, kind="stable")
    indptr = np.searchsorted(targets[order], np.arange(n + 1))

    def into(frontier: np.ndarray) -> np.ndarray:
        lo, hi = indptr[frontier], indptr[frontier + 1]
        counts = hi - lo
        starts = np.repeat(lo - np.concatenate(([0], np.cumsum(counts)[:-1])), counts)
        edges: np.ndarray = order[starts + np.arange(counts.sum())]
        return edges

    return into


def _levels(succ: np.ndarray, heads: np.ndarray) -> list[np.ndarray]:
    """Nodes grouped by their number of steps to a cycle head (level 0 = the heads), via predecessor lists."""
    into = _edges_into(succ, len(succ))  # edge s -> succ[s] has index s: the edges entering are the predecessors
    levels = [np.flatnonzero(heads)]
    while True:
        preds = into(levels[-1])
        preds = preds[~heads[preds]]  # a head is reached again only around its own cycle
        if not preds.size:
            return levels
        levels.append(preds)


def functional_values(succ: ArrayLike, cost: ArrayLike, cden: int, gamma: Fraction) -> tuple[np.ndarray, int]:
    """Exact values N / D of V = cost / cden + gamma V[succ] (a deterministic policy's Bellman equation).

    Each cycle's head is solved in closed form, V = sum_j gamma^j c_j / (1 - gamma^k); every other node
    follows its successor level by level. With gamma = g/h, L levels and k over the cycle lengths,
    D = cden h^max(d, 1) lcm_k(h^k - g^k), d the longest path into a cycle, makes every value an integer
    multiple of 1 / D and N(s) = c(s) D / cden + g N(succ s) / h divide exactly.
    N is an object array of Python ints.
    """
    g, h = gamma.numerator, gamma.denominator
    succ = np.asarray(succ, dtype=np.int64)
    cost = np.asarray(cost)
    heads, on_cycle = _cycle_heads(succ)
    levels = _levels(succ, heads)
    depth = np.zeros(len(succ), dtype=np.int64)  # steps to the first node on a cycle
    for level in levels[1:]:
        depth[level] = np.where(on_cycle[level], 0, depth[succ[level]] + 1)
    loops = levels[0][succ[levels[0]] == levels[0]]
    cycles = {}
    for head in levels[0][succ[levels[0]] != levels[0]].tolist():
        nodes, s = [head], int(succ[head])
        while s != head:
            nodes.append(s)
            s = int(succ[s])
        cycles[head] = nodes
    lengths = {len(nodes) for nodes in cycles.values()} | ({1} if loops.size else set())
    D = cden * h ** max(int(depth.max()), 1) * math.lcm(*(h**k - g**k for k in lengths))
    N = np.zeros(len(succ), dtype=object)
    N[loops] = cost[loops].astype(object) * (h * (D // (cden * (h - g))))
    for head, nodes in cycles.items():
        k = len(nodes)
        total = sum(g**j * h ** (k - j) * int(cost[t]) for j, t in enumerate(nodes))
        N[head] = total * (D // (cden * (h**k - g**k)))
    scale = D // cden
    for level in levels[1:]:
        N[level] = cost[level].astype(object) * scale + g * (N[succ[level]] // h)
    return N, D


def _policy_matrix(mdp: TabularMDP, policy: np.ndarray) -> ExactCSR:
    """(S x S) int64 ExactCSR of the policy's transition numerators (over mdp.prob_denominator)."""
    parts = []
    for a, numerators in enumerate(mdp.transition_numerators):
        states = np.flatnonzero(policy == a)
        owner, cols, vals = numerators.rows_of(states)
        parts.append((states[owner], cols, vals))
    rows, cols, vals = (np.concatenate(p) for p in zip(*parts))
    return exact_csr(rows, cols, vals, mdp.n_states)


def _condensation_levels(matrix: ExactCSR) -> tuple[np.ndarray, list[np.ndarray]]:
    """Strong components of the policy graph and the components grouped by level (0 = no way out; a
    component's level exceeds every level it can move to)."""
    from scipy.sparse.csgraph import connected_components

    n, comp = connected_components(matrix.to_scipy(), directed=True, connection="strong")
    row = np.repeat(np.arange(matrix.n), np.diff(matrix.indptr))
    cross = comp[row] != comp[matrix.indices]
    src, dst = comp[row[cross]], comp[matrix.indices[cross]]
    edges = np.unique(np.stack([src, dst], axis=1), axis=0) if src.size else np.zeros((0, 2), dtype=np.int64)
    remaining = np.bincount(edges[:, 0], minlength=n)  # components each one still waits for
    into = _edges_into(edges[:, 1], n)
    levels, frontier = [], np.flatnonzero(remaining == 0)
    while frontier.size:
        levels.append(frontier)
        preds = edges[into(frontier), 0]
        np.subtract.at(remaining, preds, 1)
        frontier = np.unique(preds[remaining[preds] == 0])
    return comp, levels


def sparse_policy_values(mdp: TabularMDP, policy: np.ndarray, gamma: Fraction) -> tuple[np.ndarray, int]:
    """Exact values N / D (minimisation units) of a stationary deterministic policy, any dynamics.

    Strong components level by level from the sinks: a single state s is
    V = (c h Pd / cd + g sum_(t != s) n_t V_t) / (h Pd - g n_ss) over the next level's denominator, in
    vectorised Python-int arithmetic (gamma = g/h, probabilities n / Pd, costs c / cd); a larger component
    is solved by Gauss-Jordan elimination over Fractions. N is an object array of Python ints.
    """
    g, h = gamma.numerator, gamma.denominator
    pd, cd = mdp.prob_denominator, mdp.cost_denominator
    matrix = _policy_matrix(mdp, policy)
    cost = (mdp.sign * np.asarray(mdp.cost_numerators)[np.arange(mdp.n_states), policy]).astype(object)
    comp, levels = _condensation_levels(matrix)
    members = np.argsort(comp, kind="stable")
    bounds = np.searchsorted(comp[members], np.arange(comp.max() + 2))
    N = np.zeros(mdp.n_states, dtype=object)
    level_of = np.zeros(mdp.n_states, dtype=np.int64)
    dens = [cd]  # dens[k + 1]: the denominator of level k's numerators; each divides the next
    for k, comps in enumerate(levels):
        sizes = bounds[comps + 1] - bounds[comps]
        single = members[bounds[comps[sizes == 1]]]
        multi = [members[bounds[c] : bounds[c + 1]] for c in comps[sizes > 1]]
        below = dens[-1]
        rows, cols, nums = matrix.rows_of(single)
        own = cols == single[rows]
        stay = np.zeros(len(single), dtype=np.int64)
        stay[rows[own]] = nums[own]
        stay = stay.astype(object)
        out = ~own
        levels_out = level_of[cols[out]]
        used = np.unique(levels_out)  # rescale each referenced level's numerators to `below`
        ratio = np.zeros(k + 1, dtype=object)
        ratio[used] = [below // dens[j + 1] for j in used.tolist()]
        parts = nums[out].astype(object) * N[cols[out]] * ratio[levels_out]
        summed = segment_sums(np.searchsorted(rows[out], np.arange(len(single) + 1)), parts)
        factor = h * pd - g * stay
        exact = [_component_values(mdp, policy, cost, gamma, block, N, level_of, dens) for block in multi]
        new = below * math.lcm(1, *set(factor.tolist()))
        new = math.lcm(new, *(v.denominator for block in exact for v in block))
        N[single] = (cost[single] * (h * pd * below // cd) + g * summed) * (new // below) // factor
        for block, values in zip(multi, exact):
            N[block] = [v.numerator * (new // v.denominator) for v in values]
        level_of[single] = k
        for block in multi:
            level_of[block] = k
        dens.append(new)
    D = dens[-1]
    scale = np.array([D // d for d in dens[1:]], dtype=object)
    return N * scale[level_of], D


def _component_values(
    mdp: TabularMDP,
    policy: np.ndarray,
    cost: np.ndarray,
    gamma: Fraction,
    block: np.ndarray,
    N: np.ndarray,
    level_of: np.ndarray,
    dens: list[int],
) -> list[Fraction]:
    """Exact values (Fractions) of one strong component given the solved values outside it."""
    inside = {int(s): i for i, s in enumerate(block)}
    k = len(block)
    matrix = [[Fraction(int(i == j)) for j in range(k)] for i in range(k)]
    rhs = []
    for i, s in enumerate(block.tolist()):
        outside = Fraction(0)
        for t, p in mdp.next_states(s, int(policy[s])):
            if t in inside:
                matrix[i][inside[t]] -= gamma * p
            else:
                outside += p * Fraction(int(N[t]), dens[level_of[t] + 1])
        rhs.append(Fraction(int(cost[s]), mdp.cost_denominator) + gamma * outside)
    return _solve_exact(matrix, rhs)


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


def certify(mdp: TabularMDP, policy: ArrayLike, discount: RationalLike) -> Certificate:
    """Evaluate ``policy`` exactly and check exactly that no action improves any state."""
    return _certify(mdp, _policy(mdp, policy), _discount(discount))


def _certify(mdp: TabularMDP, policy: np.ndarray, gamma: Fraction) -> Certificate:
    exact = _policy_values(mdp, policy, gamma)
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
        reason = (
            f"{bad.size} state(s) improvable, e.g. state {mdp.state_labels[s]!r}: action "
            f"{mdp.action_names[int(improved[s])]!r} beats {mdp.action_names[int(policy[s])]!r} by "
            f"{format_rational(better)}"
        )
    else:
        reason = "exact policy evaluation satisfies the Bellman optimality equation at every state"
    return Certificate(
        not bad.size,
        reason,
        exact,
        mask.ravel()[None, :],
        ExactVector(gap_num.ravel(), den),
        has_gap.ravel(),
        np.where(np.isin(np.arange(mdp.n_states), bad), improved, policy),
    )


def _bits(mask: np.ndarray, n_actions: int) -> list[np.ndarray]:
    return [(mask >> mask.dtype.type(a)) & 1 for a in range(n_actions)]


METHODS = ("auto", "value-iteration", "policy-iteration", "functional-policy-iteration", "linear-program")


def solve_discounted(
    mdp: TabularMDP,
    discount: RationalLike,
    epsilon: float = 1e-9,
    method: str = "auto",
    max_rounds: int = 1000,
    status: Status | None = None,
) -> Solution:
    """Exact optimum of the infinite discounted sum: a float solve, then a rational certificate.

    ``method`` "auto" is functional-policy-iteration for deterministic dynamics and value-iteration
    otherwise. When the float policy fails the certificate, exact policy improvement (switch improvable
    states to an exactly optimal action, re-evaluate exactly) repeats until it passes. ``status``, if given,
    receives a message at each stage (e.g. a tabturn.core.progress.StatusLine).
    """
    gamma = _discount(discount)
    epsilon = _check_epsilon(epsilon)
    check_choice(method, "method", METHODS)
    if method == "auto":
        method = "functional-policy-iteration" if mdp.is_deterministic() else "value-iteration"
    solvers = {
        "value-iteration": lambda: _value_iteration(mdp, float(gamma), epsilon, status=status),
        "policy-iteration": lambda: _policy_iteration(mdp, float(gamma)),
        "functional-policy-iteration": lambda: _functional_policy_iteration(mdp, float(gamma), status=status),
        "linear-program": lambda: _linear_program(mdp, float(gamma)),
    }
    if method == "functional-policy-iteration" and not mdp.is_deterministic():
        raise InputError("method", "functional-policy-iteration needs deterministic transitions")
    floating = solvers[method]()
    policy, rounds = floating.policy, 0
    while True:
        if status is not None:
            status(f"exact certificate{f', improvement round {rounds}' if rounds else ''}")
        cert = _certify(mdp, policy, gamma)
        if cert.certified or rounds >= max_rounds:
            break
        policy, rounds = cert.improved_policy, rounds + 1
    return Solution(
        mdp=mdp,
        horizon=None,
        discount=gamma,
        method=f"{method}+certificate",
        certified=cert.certified,
        reason=cert.reason,
        values=cert.values,
        action_masks=cert.action_masks,
        gaps=cert.gaps,
        has_gap=cert.has_gap,
        stats={
            "float_iterations": floating.iterations,
            "float_stop": floating.stop_reason,
            "float_error_bound": floating.error_bound,
            "exact_improvement_rounds": rounds,
        },
    )
