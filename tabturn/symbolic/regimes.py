"""Closed forms beyond the interior per-step model: terminal loss, no stay, switching, absent supervisor, edges.

Notation as in ``tabturn.symbolic.claims`` (c, chi, G_n, the reduced model). Every claim is derived or verified with
sympy where it is algebra, and checked exactly (==, rational arithmetic) against the exact solver.

Claims:
  terminal-sequences  terminal timing, actions {up, right}, t steps left at offset d, w = probability that the
              final arrival is charged the alignment term: after u ups and t - u rights the loss is
              a*c*w*(d + 2u - t)^2 - b*(y + u), convex in u with increments g(u) = 4*a*c*w*(d + 2u - t + 1) - b.
              The optimal up-counts are U* = {u in 0..t : (u = 0 or g(u-1) <= 0) and (u = t or g(u) >= 0)}. Only the
              count matters, not the order: up is optimal iff max U* >= 1, right iff min U* <= t - 1, and exactly
              sum_{u in U*} C(H, u) action sequences are optimal from the start. Regimes without switching only
              (w = chi(flag)): under switching the flag seen along the way changes the plan, so the optimum is a
              closed-loop policy and this open-loop form does not hold (the exact check found disagreements).
  no-stay-offset  always observed, infinite discounted horizon, actions {up, right}, a, b > 0: the optimal set at
              offset d is {up} if 4*a*c*d < b, {right} if 4*a*c*d > b, both if equal, whatever gamma in [0, 1). From
              the diagonal the agent climbs to k* = floor(b/(4*a*c)) (ties broken towards up) and then alternates
              between k* and k* + 1 for ever: gamma does not move the long-run offset. sympy: climbing one step
              further before alternating changes the value by gamma^(k+1)*(4*a*c*(k+1) - b)/(1 - gamma^2).
  switching-threshold  switching with q = 0 (once unobserved, unobserved for good), infinite discounted horizon,
              actions {up, right, stay}: observed on the diagonal the optimal set is {stay} if
              b < a*c*(1-p)*(1-gamma), {up} if b > a*c*(1-p)*(1-gamma), both if equal. The chance of becoming
              unobserved changes what is optimal while observed exactly when b < a*c*(1-gamma), and then from
              p > 1 - b/(a*c*(1-gamma)) onwards.
  absent-values  absent supervisor, horizon n, interior states: V_n(x, y, unobserved) = -b*(y*G_n + H_n) with
              H_n = sum_{t<n} (t+1)*gamma^t; observed states have exactly the always regime's values and optimal sets.
  edges       any rectangular grid, b > 0, finite horizon, per-step timing, every regime, all five actions: a left
              move that is not clipped by an edge is optimal only where up is clipped (top edge), and a down move
              that is not clipped only where right is clipped (right edge). Checked exactly at every state and step;
              not proven (sympy verifies the interior gap b*G_n it reduces to away from the edges).
"""

from __future__ import annotations

import dataclasses
import math
import random
from fractions import Fraction
from typing import Any

import sympy

from tabturn.envs.turn.config import REGIMES, TurnConfig
from tabturn.envs.turn.model import alignment_charged, alignment_coefficient, state_index, turn_mdp
from tabturn.exact.discounted import solve_discounted
from tabturn.exact.finite import backward_induction
from tabturn.symbolic.reduced import ACTIONS, OBSERVED, Claim, G, reduced_mdp

NAMES = ("terminal-sequences", "no-stay-offset", "switching-threshold", "absent-values", "edges")
a, b, gamma, c, d, u, t, w, y, k, p = sympy.symbols("a b gamma c d u t w y k p", real=True)


def claims() -> list[Claim]:
    """Derive the five claims and let sympy verify their algebra."""
    f = a * c * w * (d + 2 * u - t) ** 2 - b * u
    g = 4 * a * c * w * (d + 2 * u - t + 1) - b
    terminal_ok = sympy.expand(f.subs(u, u + 1) - f - g) == 0 and sympy.expand(g.subs(u, u + 1) - g) == 8 * a * c * w

    B = b / (1 - gamma)
    stair = (a * c * (k + 1) ** 2 - B + gamma * a * c * k**2) / (1 - gamma**2)  # the cycle-values claim
    climb = (a * c * (k + 1) ** 2 - B) + gamma * stair.subs(k, k + 1) - stair  # (V_{k+1}(0) - V_k(0)) / gamma^k
    no_stay_ok = sympy.simplify(climb - gamma * (4 * a * c * (k + 1) - b) / (1 - gamma**2)) == 0
    myopic = (a * c * (d - 1) ** 2) - (a * c * (d + 1) ** 2 - b)  # gamma = 0: Q(right) - Q(up)
    no_stay_ok = no_stay_ok and sympy.expand(myopic - (b - 4 * a * c * d)) == 0

    S0, S1, Z, U0 = sympy.symbols("S0 S1 Z U0")
    gone = sympy.solve(sympy.Eq(U0, -B + gamma * U0), U0)[0]  # unobserved for good: up for ever
    sol = sympy.solve(
        [
            sympy.Eq(S0, a * c * (1 - p) - B + gamma * ((1 - p) * S1 + p * gone)),
            sympy.Eq(S1, gamma * ((1 - p) * S0 + p * gone)),
            sympy.Eq(Z, gamma * ((1 - p) * Z + p * gone)),
        ],
        [S0, S1, Z],
        dict=True,
    )[0]
    lead = sol[S0] - sol[Z]  # staircase minus staying
    switching_ok = (
        sympy.simplify(lead * (1 - gamma**2 * (1 - p) ** 2) * (1 - gamma) - (a * c * (1 - p) * (1 - gamma) - b)) == 0
    )

    Gp, Hp = sympy.symbols("G_{n-1} H_{n-1}")
    step = -b * (y + 1) + gamma * (-b * ((y + 1) * Gp + Hp))  # up, then the closed form at n-1
    absent_ok = sympy.expand(step - (-b * (y * (1 + gamma * Gp) + 1 + gamma * (Gp + Hp)))) == 0
    n = sympy.Symbol("n", integer=True, positive=True)
    tt = sympy.Symbol("t", integer=True, nonnegative=True)
    H_n = sympy.Sum((tt + 1) * gamma**tt, (tt, 0, n - 1))
    absent_ok = absent_ok and sympy.simplify((H_n.subs(n, 3).doit()) - (1 + gamma * (1 + gamma + 1 + 2 * gamma))) == 0

    bp = sympy.Symbol("b", positive=True)
    Gn = sympy.Symbol("G_n", positive=True)
    edges_ok = bool((bp * Gn).is_positive)
    return [
        Claim(
            "terminal-sequences",
            "terminal loss, {up, right}: g(u) = 4*a*c*w*(d + 2u - t + 1) - b; optimal up-counts "
            "U* = {u : (u = 0 or g(u-1) <= 0) and (u = t or g(u) >= 0)}; every ordering of an optimal count is "
            "optimal: sum_{u in U*} C(H, u) optimal sequences",
            sympy.Eq(sympy.Symbol("g(u)"), g),
            "a >= 0, b > 0, H in 1..6, both distances, regimes without switching, interior states, every step",
            terminal_ok,
        ),
        Claim(
            "no-stay-offset",
            "always observed, infinite horizon, {up, right}: up optimal iff 4*a*c*d <= b, right iff "
            "4*a*c*d >= b; the long-run offset alternates between floor(b/(4*a*c)) and one more, for every gamma",
            sympy.Eq(sympy.Symbol("k^*"), sympy.floor(b / (4 * a * c))),
            "a > 0, b > 0, 0 <= gamma < 1, both distances, reduced 1-D model",
            no_stay_ok,
        ),
        Claim(
            "switching-threshold",
            "switching with q = 0, infinite horizon, {up, right, stay}: observed on the "
            "diagonal, {stay} if b < a*c*(1-p)*(1-gamma), {up} if b > a*c*(1-p)*(1-gamma), both if equal; p changes "
            "the observed optimum iff b < a*c*(1-gamma), from p > 1 - b/(a*c*(1-gamma)) on",
            sympy.Eq(sympy.Symbol("b^*"), a * c * (1 - p) * (1 - gamma)),
            "a >= 0, b > 0, p in [0, 1], q = 0, 0 <= gamma < 1, both distances, reduced 2-flag model",
            switching_ok,
        ),
        Claim(
            "absent-values",
            "absent supervisor: V_n(x, y, unobserved) = -b*(y*G_n + H_n), H_n = sum_{t<n} (t+1)*gamma^t; "
            "observed values and optimal sets equal the always regime's",
            sympy.Eq(sympy.Symbol("V_n"), -b * (y * sympy.Symbol("G_n") + H_n)),
            "a, b >= 0, gamma in [0, 1], H in 1..4, both distances, interior states",
            absent_ok,
        ),
        Claim(
            "edges",
            "any grid, b > 0: an unclipped left is optimal only where up is clipped (top edge); an unclipped "
            "down only where right is clipped (right edge)",
            sympy.StrictGreaterThan(bp * Gn, 0),
            "b > 0, every regime, H in 1..4, grids 1..5 x 1..5, every state and step (checked exactly, not proven)",
            edges_ok,
        ),
    ]


# ---------------------------------------------------------------- terminal-sequences


def optimal_up_counts(coef_w: Fraction, b_value: Fraction, offset: int, steps: int) -> list[int]:
    """U*: the up-counts u in 0..steps that minimise coef_w*(offset + 2u - steps)^2 - b*u, from the g(u) rule."""
    g = lambda uu: 4 * coef_w * (offset + 2 * uu - steps + 1) - b_value  # noqa: E731
    return [uu for uu in range(steps + 1) if (uu == 0 or g(uu - 1) <= 0) and (uu == steps or g(uu) >= 0)]


def terminal_configs(count: int, seed: int) -> list[TurnConfig]:
    """Random terminal-timing instances with actions {up, right} (regimes without switching)."""
    rng = random.Random(seed)
    out = []
    for i in range(count):
        H, regime = rng.randint(1, 6), REGIMES[i % 3]
        start = (rng.randint(-2, 2), rng.randint(-2, 2), bool(rng.randint(0, 1)))
        out.append(
            TurnConfig(
                x_bounds=(-2, H + 2),
                y_bounds=(-2, H + 2),
                start=start,
                actions=("up", "right"),
                horizon=H,
                a=Fraction(rng.randint(0, 6), rng.randint(1, 3)),
                b=Fraction(rng.randint(1, 6), rng.randint(1, 3)),
                distance=("vertical", "perpendicular")[i // 3 % 2],
                timing="terminal",
                regime=regime,
            )
        )
    return out


def check_terminal(config: TurnConfig) -> tuple[int, int]:
    """(state-steps checked, disagreements) of terminal-sequences: optimal sets at every step, values, and the
    number of optimal action sequences from the start."""
    mdp = turn_mdp(config)
    H = config.finite_horizon
    sol = backward_induction(mdp, H, 1)
    coef = alignment_coefficient(config)
    hi = config.x_bounds[1]
    checked = bad = 0
    memo: dict = {}
    for s, (x, yy, obs) in enumerate(mdp.state_labels):
        w = coef * int(alignment_charged(config, obs))
        for step in range(H):
            left = H - step
            if x + left > hi or yy + left > hi:
                continue  # an edge is within reach: not the unbounded grid
            key = (w, yy - x, left)
            best = memo[key] if key in memo else memo.setdefault(key, optimal_up_counts(w, config.b, yy - x, left))
            expected = {n for n, ok in (("up", max(best) >= 1), ("right", min(best) <= left - 1)) if ok}
            checked += 1
            bad += set(sol.optimal_action_names(s, step)) != expected
            if step == 0:
                bad += sol.value(s) != w * (yy - x + 2 * best[0] - H) ** 2 - config.b * (yy + best[0])
    x0, y0, obs0 = config.start
    best = optimal_up_counts(coef * int(alignment_charged(config, obs0)), config.b, y0 - x0, H)
    bad += _count_sequences(mdp, sol, state_index(config, *config.start), H) != sum(math.comb(H, uu) for uu in best)
    return checked + 1, bad


def _count_sequences(mdp, sol, start: int, H: int) -> int:
    """Number of action sequences that follow the solver's optimal sets at every step from ``start``."""
    succ = mdp.successors()
    counts = {start: 1}
    for step in range(H):
        nxt: dict[int, int] = {}
        for s, n in counts.items():
            for act in sol.optimal_actions(s, step):
                t2 = int(succ[s, act])
                nxt[t2] = nxt.get(t2, 0) + n
        counts = nxt
    return sum(counts.values())


# ---------------------------------------------------------------- no-stay-offset and switching-threshold


def _weights(rng: random.Random, i: int) -> tuple[Fraction, Fraction, Fraction]:
    """(a, gamma, c) for a reduced-model instance."""
    return (
        Fraction(rng.randint(1, 6), rng.randint(1, 3)),
        Fraction(rng.randint(0, 9), 10),
        Fraction(1) if i % 2 == 0 else Fraction(1, 2),
    )


def check_no_stay(i: int, rng: random.Random) -> tuple[int, int]:
    """(offsets checked, disagreements) of no-stay-offset on one random reduced instance.

    The clamp at +-K lets "up" at K earn the bonus without moving, so offsets near the clamp are not the unbounded
    line's; K = 2*k* + 16 and only offsets within k* + 8 of the diagonal are compared.
    """
    a_value, gam, c_value = _weights(rng, i)
    ac4 = 4 * a_value * c_value
    b_value = ac4 * rng.randint(1, 4) if i % 4 == 3 else Fraction(rng.randint(1, 12), rng.randint(1, 3))  # ties too
    k_star = math.floor(b_value / ac4)
    K = 2 * k_star + 16
    mdp = reduced_mdp(a_value, b_value, gam, c_value, K, actions=("up", "right"))
    sol = solve_discounted(mdp, gam)
    bad = int(not sol.certified)
    checked = 0
    for dd in range(-k_star - 8, k_star + 9):
        expected = {n for n, ok in (("up", ac4 * dd <= b_value), ("right", ac4 * dd >= b_value)) if ok}
        checked += 1
        bad += set(sol.optimal_action_names(mdp.index_of(dd))) != expected
    succ = mdp.successors()
    s = mdp.index_of(0)
    for _ in range(2 * K):  # follow the first optimal action (up before right) until the cycle
        s = int(succ[s, sol.optimal_actions(s)[0]])
    cycle = {mdp.state_labels[s], mdp.state_labels[int(succ[s, sol.optimal_actions(s)[0]])]}
    bad += cycle != {k_star, k_star + 1}
    return checked + 1, bad


def check_switching(i: int, rng: random.Random, K: int = 12) -> tuple[int, int]:
    """(solves checked, disagreements) of switching-threshold on one random instance (q = 0)."""
    a_value, gam, c_value = _weights(rng, i)
    a_value = a_value if i % 10 else Fraction(0)
    p_value = Fraction(rng.randint(0, 8), 8)
    threshold = a_value * c_value * (1 - p_value) * (1 - gam)
    b_values = [Fraction(rng.randint(1, 12), rng.randint(1, 6))] + ([threshold] if threshold > 0 else [])
    checked = bad = 0
    for b_value in b_values:
        mdp = reduced_mdp(a_value, b_value, gam, c_value, K, p=p_value)
        sol = solve_discounted(mdp, gam)
        expected = {"stay"} if b_value < threshold else {"up"} if b_value > threshold else {"up", "stay"}
        checked += 1
        bad += not sol.certified or set(sol.optimal_action_names(mdp.index_of((0, OBSERVED)))) != expected
    return checked, bad


def observed_threshold_p(
    a_value: Fraction,
    b_value: Fraction,
    gamma_value: Fraction,
    c_value: Fraction,
    q: Fraction,
    steps: int = 10,
    K: int = 24,
) -> tuple[Fraction, Fraction] | None:
    """Computed, not a closed form (q > 0 has none here): a bracket (lo, hi), hi - lo = 2^-steps, such that observed
    on the diagonal the certified optimal set is {stay} at p = lo and contains up at p = hi (switching, q given;
    bisection assumes one change in p). None when the set at p = 0 already contains up or at p = 1 is still {stay}."""

    def leaves(p):
        mdp = reduced_mdp(a_value, b_value, gamma_value, c_value, K, p=p, q=q)
        sol = solve_discounted(mdp, gamma_value)
        if not sol.certified:
            raise ArithmeticError("the reduced model was not certified")
        return "up" in sol.optimal_action_names(mdp.index_of((0, OBSERVED)))

    lo, hi = Fraction(0), Fraction(1)
    if leaves(lo) or not leaves(hi):
        return None
    for _ in range(steps):
        mid = (lo + hi) / 2
        lo, hi = (lo, mid) if leaves(mid) else (mid, hi)
    return lo, hi


# ---------------------------------------------------------------- absent-values and edges


def _random_config(rng: random.Random, regime: str, bounds, horizon: int, i: int) -> TurnConfig:
    extra: dict[str, Any] = (
        {"p": Fraction(rng.randint(0, 4), 4), "q": Fraction(rng.randint(0, 3), 3)} if regime == "switching" else {}
    )
    (x_lo, x_hi), (y_lo, y_hi) = bounds
    return TurnConfig(
        x_bounds=(x_lo, x_hi),
        y_bounds=(y_lo, y_hi),
        start=(x_lo, y_lo, True),
        actions=ACTIONS,
        horizon=horizon,
        a=Fraction(rng.randint(0, 6), rng.randint(1, 3)),
        b=Fraction(rng.randint(1, 6), rng.randint(1, 3)),
        discount=Fraction(rng.randint(0, 10), 10),
        distance=("vertical", "perpendicular")[i % 2],
        regime=regime,
        **extra,
    )


def check_absent(i: int, rng: random.Random) -> tuple[int, int]:
    """(interior states checked, disagreements) of absent-values on one random instance."""
    n = rng.randint(1, 4)
    config = _random_config(rng, "absent-supervisor", ((-n - 2, n + 2), (-n - 2, n + 2)), n, i)
    always = dataclasses.replace(config, regime="always")
    mdp = turn_mdp(config)
    sol = backward_induction(mdp, n, config.discount)
    ref = backward_induction(turn_mdp(always), n, config.discount)
    Gn = G(config.discount, n)
    Hn = sum(((tt + 1) * config.discount**tt for tt in range(n)), Fraction(0))
    checked = bad = 0
    for s, (x, yy, obs) in enumerate(mdp.state_labels):
        if max(abs(x), abs(yy)) > 2:  # interior: no n-step path meets an edge
            continue
        checked += 1
        if obs:
            bad += sol.value(s) != ref.value(s) or sol.optimal_actions(s) != ref.optimal_actions(s)
        else:
            bad += sol.value(s) != -config.b * (yy * Gn + Hn)
    return checked, bad


def check_edges(i: int, rng: random.Random) -> tuple[int, int, int]:
    """(state-steps checked, disagreements, state-steps where an unclipped left or down is optimal)."""
    nx, ny, x0, y0 = rng.randint(1, 5), rng.randint(1, 5), rng.randint(-3, 3), rng.randint(-3, 3)
    H = rng.randint(1, 4)
    config = _random_config(rng, REGIMES[i % 4], ((x0, x0 + nx - 1), (y0, y0 + ny - 1)), H, i)
    mdp = turn_mdp(config)
    sol = backward_induction(mdp, H, config.discount)
    (x_lo, x_hi), (y_lo, y_hi) = config.x_bounds, config.y_bounds
    checked = bad = seen = 0
    for s, (x, yy, _) in enumerate(mdp.state_labels):
        for step in range(H):
            opt = set(sol.optimal_action_names(s, step))
            left_real, down_real = "left" in opt and x > x_lo, "down" in opt and yy > y_lo
            checked += 1
            seen += left_real or down_real
            bad += (left_real and yy < y_hi) or (down_real and x < x_hi)
    return checked, bad, seen


def verify(count: int = 200, seed: int = 0) -> dict[str, dict]:
    """Check each of the five claims on ``count`` instances: {claim: {"instances", "states", "disagreements"}}."""
    table = {name: {"instances": count, "states": 0, "disagreements": 0} for name in NAMES}
    rng = random.Random(seed)

    def add(name, result):
        table[name]["states"] += result[0]
        table[name]["disagreements"] += result[1]

    for config in terminal_configs(count, seed):
        add("terminal-sequences", check_terminal(config))
    witnesses = 0
    for i in range(count):
        add("no-stay-offset", check_no_stay(i, rng))
        add("switching-threshold", check_switching(i, rng))
        add("absent-values", check_absent(i, rng))
        result = check_edges(i, rng)
        add("edges", result)
        witnesses += result[2]
    table["edges"]["witnesses"] = witnesses
    return table
