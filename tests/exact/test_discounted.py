"""Discounted solvers: VI, PI and LP agree; the rational certificate accepts optima and rejects others."""

import itertools
from fractions import Fraction

import numpy as np
import pytest
import sympy
from hypothesis import given
from hypothesis import strategies as st

from tabturn.core.bellman import ExactBackup
from tabturn.core.limits import INT64_SAFE
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.discounted import (
    _scc_values,
    _solve_exact,
    certify,
    functional_policy_iteration,
    functional_values,
    linear_program,
    policy_iteration,
    policy_values,
    solve_discounted,
    sparse_policy_values,
    value_iteration,
)
from tabturn.interop.arrays import mdp_from_arrays


@st.composite
def random_mdps(draw, deterministic=False):
    S, A = draw(st.integers(1, 4)), draw(st.integers(1, 3))
    weights = draw(
        st.lists(
            st.lists(st.lists(st.integers(0, 3), min_size=S, max_size=S), min_size=S, max_size=S),
            min_size=A,
            max_size=A,
        )
    )
    P = np.zeros((A, S, S))
    for a in range(A):
        for s in range(S):
            row = np.array(weights[a][s], dtype=float)
            if deterministic:
                row = np.eye(S)[int(np.argmax(row))]
            if row.sum() == 0:
                row[draw(st.integers(0, S - 1))] = 1
            P[a, s] = row / row.sum()
    R = np.array(
        draw(st.lists(st.lists(st.integers(-5, 5), min_size=A, max_size=A), min_size=S, max_size=S)), dtype=float
    )
    gamma = draw(st.sampled_from([Fraction(0), Fraction(1, 2), Fraction(9, 10), Fraction(3, 4)]))
    return mdp_from_arrays(P, R), gamma


def sympy_optimum(mdp, gamma):
    """V* and Q* by enumerating every deterministic policy and solving each exactly with sympy."""
    S, A = mdp.n_states, mdp.n_actions
    g = sympy.Rational(gamma.numerator, gamma.denominator)
    P = [
        [
            [sympy.Rational(p.numerator, p.denominator) for p in (mdp.probability(s, a, t) for t in range(S))]
            for s in range(S)
        ]
        for a in range(A)
    ]
    R = [[sympy.Rational(mdp.cost(s, a).numerator, mdp.cost(s, a).denominator) for a in range(A)] for s in range(S)]
    best = None
    for pol in itertools.product(range(A), repeat=S):
        M = sympy.eye(S) - g * sympy.Matrix(S, S, lambda i, j, pol=pol: P[pol[i]][i][j])
        V = M.LUsolve(sympy.Matrix(S, 1, lambda i, _, pol=pol: R[i][pol[i]]))
        best = V if best is None else sympy.Matrix(S, 1, lambda i, _, best=best, V=V: max(best[i], V[i]))
    Q = [[R[s][a] + g * sum(P[a][s][t] * best[t] for t in range(S)) for a in range(A)] for s in range(S)]
    return [Fraction(str(v)) for v in best], [[Fraction(str(q)) for q in row] for row in Q]


@given(random_mdps())
def test_certified_optimum_equals_sympy_enumeration(case):
    mdp, gamma = case
    sol = solve_discounted(mdp, gamma)
    assert sol.certified
    V, Q = sympy_optimum(mdp, gamma)
    assert sol.values.to_fractions() == V
    for s in range(mdp.n_states):
        best = max(Q[s])
        assert set(sol.optimal_actions(s)) == {a for a in range(mdp.n_actions) if Q[s][a] == best}
        worse = [best - q for q in Q[s] if q < best]
        assert sol.gap(s) == (min(worse) if worse else None)


@given(random_mdps())
def test_value_policy_iteration_and_lp_agree(case):
    mdp, gamma = case
    exact = np.array([float(v) for v in solve_discounted(mdp, gamma).values.to_fractions()])
    vi = value_iteration(mdp, gamma, epsilon=1e-10)
    assert vi.stop_reason == "converged"
    assert np.abs(vi.values - exact).max() <= vi.error_bound
    pi = policy_iteration(mdp, gamma)
    assert pi.stop_reason == "stable" and np.allclose(pi.values, exact, atol=1e-9)
    lp = linear_program(mdp, gamma)
    assert np.allclose(lp.values, exact, atol=1e-6)
    for result in (vi, pi, lp):
        assert certify(mdp, result.policy, gamma).certified


@given(random_mdps())
def test_certificate_rejects_a_non_optimal_policy(case):
    mdp, gamma = case
    sol = solve_discounted(mdp, gamma)
    policy = np.array([sol.optimal_actions(s)[0] for s in range(mdp.n_states)])
    states = [s for s in range(mdp.n_states) if sol.has_gap[s]]
    if not states:
        return  # every action optimal everywhere: no non-optimal policy exists
    s = states[0]
    policy[s] = next(a for a in range(mdp.n_actions) if a not in sol.optimal_actions(s))
    cert = certify(mdp, policy, gamma)
    assert not cert.certified
    assert "improvable" in cert.reason


@pytest.mark.parametrize("regime", ["always", "absent-supervisor", "train-observed-deploy-unobserved"])
def test_functional_graph_evaluation_equals_scc_elimination(regime):
    cfg = TurnConfig(
        x_bounds=(0, 4),
        y_bounds=(0, 4),
        horizon=None,
        discount="9/10",
        regime=regime,
        actions=("up", "right", "down", "stay"),
    )
    mdp = turn_mdp(cfg)
    rng = np.random.default_rng(3)
    gamma = cfg.discount
    for _ in range(3):
        policy = rng.integers(0, mdp.n_actions, mdp.n_states)
        fast = policy_values(mdp, policy, gamma).to_fractions()
        cost = [mdp.cost(s, a) for s, a in enumerate(policy)]
        assert fast == _scc_values(mdp, policy.tolist(), cost, gamma)


def test_turn_family_certified_by_every_float_method():
    cfg = TurnConfig(
        x_bounds=(0, 5),
        y_bounds=(0, 5),
        horizon=None,
        discount="19/20",
        regime="switching",
        p="1/10",
        q="1/4",
        distance="perpendicular",
    )
    mdp = turn_mdp(cfg)
    sols = [
        solve_discounted(mdp, cfg.discount, method=m) for m in ("value-iteration", "policy-iteration", "linear-program")
    ]
    assert all(s.certified for s in sols)
    assert sols[0].values.to_fractions() == sols[1].values.to_fractions() == sols[2].values.to_fractions()
    assert (sols[0].action_masks == sols[2].action_masks).all()


def test_loose_value_iteration_is_repaired_by_exact_improvement():
    # A chain: "take" pays 1 and stays; "go" pays 0 and moves right; the last state pays 100 forever.
    k = 5
    P = np.zeros((2, k + 1, k + 1))
    R = np.zeros((k + 1, 2))
    for s in range(k + 1):
        P[0, s, s] = 1
        P[1, s, min(s + 1, k)] = 1
        R[s] = (1, 0) if s < k else (100, 100)
    mdp = mdp_from_arrays(P, R)
    loose = solve_discounted(mdp, "9/10", epsilon=1e3, method="value-iteration")
    assert loose.stats["float_iterations"] == 1 and loose.stats["exact_improvement_rounds"] > 0
    assert loose.certified
    assert loose.value(0) == Fraction(9, 10) ** k * 1000
    assert loose.optimal_actions(0) == (1,)


def test_certificate_rescaling_cannot_overflow_int64():
    # Regression: exact values near 2^61 rescaled by the backup's denominator once overflowed int64 in the
    # certificate's self-check. They must switch to Python integers instead.
    from tabturn.symbolic.claims import reduced_mdp

    mdp = reduced_mdp(Fraction(1), Fraction(1, 2), Fraction(2, 3), Fraction(1))
    sol = solve_discounted(mdp, Fraction(3, 4))
    assert sol.certified
    values = sol.values
    _, den, _ = ExactBackup(mdp, Fraction(3, 4)).q_values(values.numerators, values.denominator)
    largest = max(abs(int(v)) for v in values.numerators)
    assert values.numerators.dtype == np.int64 and largest * (den // values.denominator) >= INT64_SAFE


@given(
    st.lists(st.integers(0, 7), min_size=1, max_size=8),
    st.lists(st.integers(-9, 9), min_size=8, max_size=8),
    st.sampled_from([Fraction(0), Fraction(1, 3), Fraction(9, 10), Fraction(99, 100)]),
    st.integers(1, 3),
)
def test_functional_values_solve_the_linear_system(targets, costs, gamma, cden):
    # Any functional graph (trees into cycles of any length, self-loops): N / D must solve
    # (I - gamma P) V = c / cden, checked against Gauss-Jordan elimination over Fractions.
    S = len(targets)
    succ = np.array([t % S for t in targets])
    N, D = functional_values(succ, np.array(costs[:S]), cden, gamma)
    matrix = [[Fraction(int(i == j)) - gamma * int(succ[i] == j) for j in range(S)] for i in range(S)]
    assert [Fraction(int(n), D) for n in N] == _solve_exact(matrix, [Fraction(c, cden) for c in costs[:S]])


@given(random_mdps(deterministic=True))
def test_functional_policy_iteration_is_certified(case):
    mdp, gamma = case
    result = functional_policy_iteration(mdp, gamma)
    assert result.stop_reason == "stable"
    assert certify(mdp, result.policy, gamma).certified
    exact = np.array([float(v) for v in solve_discounted(mdp, gamma, method="value-iteration").values.to_fractions()])
    assert np.abs(result.values - exact).max() <= result.error_bound


@given(random_mdps(), st.data())
def test_level_evaluation_equals_scc_elimination(case, data):
    # Stochastic dynamics: the vectorised level-by-level evaluation against plain elimination per component.
    mdp, gamma = case
    policy = np.array(
        data.draw(st.lists(st.integers(0, mdp.n_actions - 1), min_size=mdp.n_states, max_size=mdp.n_states))
    )
    N, D = sparse_policy_values(mdp, policy, gamma)  # minimisation units: sign * cost
    cost = [mdp.sign * mdp.cost(s, int(a)) for s, a in enumerate(policy)]
    assert [Fraction(int(n), D) for n in N] == _scc_values(mdp, policy.tolist(), cost, gamma)


def test_level_evaluation_on_the_switching_regime():
    cfg = TurnConfig(
        x_bounds=(0, 4),
        y_bounds=(0, 4),
        horizon=None,
        discount="9/10",
        regime="switching",
        p="1/10",
        q="1/5",
        actions=("up", "right", "down", "stay"),
    )
    mdp = turn_mdp(cfg)
    rng = np.random.default_rng(5)
    for _ in range(3):
        policy = rng.integers(0, mdp.n_actions, mdp.n_states)
        cost = [mdp.cost(s, int(a)) for s, a in enumerate(policy)]
        assert policy_values(mdp, policy, cfg.discount).to_fractions() == _scc_values(
            mdp, policy.tolist(), cost, cfg.discount
        )


class _Terminal(list):
    def isatty(self):
        return True

    def write(self, text):
        self.append(text)

    def flush(self):
        pass


def test_status_line_reports_the_stages_of_a_long_solve():
    from tabturn.core.progress import StatusLine

    cfg = TurnConfig(
        x_bounds=(0, 7), y_bounds=(0, 7), horizon=None, discount="99/100", regime="switching", p="1/10", q="1/5"
    )
    shown, hidden = _Terminal(), _Terminal()
    solve_discounted(turn_mdp(cfg), cfg.discount, status=StatusLine("solve", delay=0, stream=shown))
    solve_discounted(turn_mdp(cfg), cfg.discount, status=StatusLine("solve", delay=60, stream=hidden))
    assert any("value iteration sweep 100" in line for line in shown)
    assert any("exact certificate" in line for line in shown)
    assert hidden == []  # a solve shorter than the delay prints nothing
