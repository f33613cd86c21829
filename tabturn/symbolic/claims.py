"""Symbolic analysis of the turn family (sympy), every claim checked exactly against the exact solver.

Notation: d = y - x (offset from the diagonal), c = 1 (vertical) or 1/2 (perpendicular distance), so the
alignment term is a*c*d^2; chi(f) = 1 when the alignment term is charged on arriving with flag f (always and
train-observed-deploy-unobserved: both flags; absent-supervisor and switching: observed only).
G_n = sum_{t<n} gamma^t. Moves change (x, y, d) by: up (0, +1, +1), down (0, -1, -1), left (-1, 0, +1),
right (+1, 0, -1), stay (0, 0, 0). "Interior" means at least n cells away from every edge, so that no
path of n steps meets an edge: there the grid is as good as unbounded. Per-step timing throughout.

Claims:
  reduction   V_n(x, y, f) = -b*y*G_n + U_n(d, f), with the 1-D Bellman equation
              U_n(d, f) = min_a [ -b*dy_a*G_n + E_f'[ a*c*(d + delta_a)^2*chi(f') + gamma*U_{n-1}(d + delta_a, f') ] ].
  dominance   Q_n(s, left) - Q_n(s, up) = Q_n(s, down) - Q_n(s, right) = b*G_n  (every regime, a, gamma).
  never-down  for b > 0, left and down are never optimal in the interior (up, right, stay suffice).
  unobserved-up  under an absent supervisor, unobserved, up is the unique optimal action in the interior (b > 0).
  last-step   with one step left, Q_1(s, a) = a*c*w(f)*(d + delta_a)^2 - b*(y + dy_a), w(f) = E[chi(f') | f]:
              so up beats right iff b > 4*a*c*w*d and beats stay iff b > a*c*w*(2d + 1) (ties at equality).
  cycle-values  (always observed, infinite discounted horizon, unbounded grid, B = b/(1 - gamma)) the staircase
              cycle entered at offset k (up at k, right at k+1) has U = (a*c*(k+1)^2 - B + gamma*a*c*k^2)/(1 - gamma^2);
              staying at offset k has U = a*c*k^2/(1 - gamma).
  diagonal-threshold  with actions up, right, stay: on the diagonal the optimal set is {stay} if b < a*c*(1 - gamma),
              {up} if b > a*c*(1 - gamma), and {up, stay} at equality: the optimum leaves the diagonal exactly when
              b/a exceeds c*(1 - gamma). sympy derives the threshold between the two cycles; that no other policy
              does better is checked (not proven) by the certified solver on the reduced 1-D model.

Further claims (terminal loss, no stay, switching, absent supervisor, grid edges): ``tabturn.symbolic.regimes``;
supervised-until (supervision ending at step k): ``tabturn.symbolic.supervised``.
"""

from __future__ import annotations

import math
import random
from fractions import Fraction
from typing import Any

import sympy

from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import (
    alignment_charge,
    alignment_charged,
    alignment_coefficient,
    flag_probabilities,
    turn_mdp,
)
from tabturn.exact.finite import backward_induction
from tabturn.symbolic import regimes, supervised
from tabturn.symbolic.reduced import ACTIONS, MOVES, Claim, G, reduced_mdp

a, b, gamma, c, y, d = sympy.symbols("a b gamma c y d", real=True)
G_prev, p_obs, chi_obs, chi_unobs = sympy.symbols("G_{n-1} p_o chi_1 chi_0", nonnegative=True)
U_obs, U_unobs = sympy.Function("U_1"), sympy.Function("U_0")


def _G(n_prev):
    """G_n written through G_{n-1}: G_n = 1 + gamma * G_{n-1}."""
    return 1 + gamma * n_prev


def _expected_next(dy, delta, y_sym=y):
    """E[loss(s') + gamma V_{n-1}(s')] for a move (dy, delta) with V_{n-1} = -b y G_{n-1} + U_{n-1}(d, f)."""
    y_next, d_next = y_sym + dy, d + delta
    align = a * c * d_next**2 * (p_obs * chi_obs + (1 - p_obs) * chi_unobs)
    cont = p_obs * U_obs(d_next) + (1 - p_obs) * U_unobs(d_next)
    return align - b * y_next + gamma * (-b * y_next * G_prev + cont)


def claims() -> list[Claim]:
    """Derive every claim and let sympy verify it."""
    out = []
    # Reduction: for every action, E[loss + gamma V_{n-1}] = -b y G_n + [-b dy G_n + E(align + gamma U_{n-1})].
    residuals = []
    for _name, (dx, dy) in MOVES.items():
        delta = dy - dx
        lhs = _expected_next(dy, delta)
        reduced = (
            -b * dy * _G(G_prev)
            + a * c * (d + delta) ** 2 * (p_obs * chi_obs + (1 - p_obs) * chi_unobs)
            + gamma * (p_obs * U_obs(d + delta) + (1 - p_obs) * U_unobs(d + delta))
        )
        residuals.append(sympy.simplify(lhs - (-b * y * _G(G_prev) + reduced)))
    out.append(
        Claim(
            "reduction",
            "V_n(x, y, f) = -b*y*G_n + U_n(y - x, f): the value is linear in y plus a function of the "
            "offset d and the flag (the 1-D Bellman equation is in the module docstring)",
            sympy.Eq(sympy.Symbol("V_n"), -b * y * sympy.Symbol("G_n") + sympy.Function("U_n")(d, sympy.Symbol("f"))),
            "all a, b, gamma in [0, 1], both distances, every regime, interior states",
            all(r == 0 for r in residuals),
        )
    )
    # Dominance: Q(left) - Q(up) and Q(down) - Q(right) both equal b * G_n.
    gap_left = sympy.simplify(_expected_next(0, 1) - _expected_next(1, 1) - b * _G(G_prev))
    gap_down = sympy.simplify(_expected_next(-1, -1) - _expected_next(0, -1) - b * _G(G_prev))
    out.append(
        Claim(
            "dominance",
            "Q_n(s, left) - Q_n(s, up) = Q_n(s, down) - Q_n(s, right) = b*G_n",
            sympy.Eq(sympy.Symbol("Q_left") - sympy.Symbol("Q_up"), b * sympy.Symbol("G_n")),
            "all a, b, gamma in [0, 1], both distances, every regime, interior states",
            gap_left == 0 and gap_down == 0,
        )
    )
    bp = sympy.Symbol("b", positive=True)
    gn = sympy.Symbol("gamma", nonnegative=True)
    Gp = sympy.Symbol("G", nonnegative=True)
    out.append(
        Claim(
            "never-down",
            "for b > 0: left and down are strictly worse than up and right (gap b*G_n >= b > 0), so they "
            "are never optimal in the interior",
            sympy.StrictGreaterThan(bp * (1 + gn * Gp), 0),
            "b > 0, gamma in [0, 1], every regime, interior states",
            bool((bp * (1 + gn * Gp)).is_positive),
        )
    )
    # Absent supervisor, unobserved: chi = 0 forever, so U_n(d, 0) = min_a [-b dy_a G_n + gamma U_{n-1}(d', 0)]
    # does not depend on d (induction from U_0 = 0) and up wins each alternative by b*(dy_up - dy_a)*G_n > 0.
    Un = sympy.Symbol("U")
    q_unobs = {name: -b * dy * _G(G_prev) + gamma * Un for name, (dx, dy) in MOVES.items()}
    gaps = [
        sympy.simplify(q_unobs[name] - q_unobs["up"] - b * (1 - dy) * _G(G_prev)) for name, (dx, dy) in MOVES.items()
    ]
    out.append(
        Claim(
            "unobserved-up",
            "absent supervisor, unobserved: U_n(d, 0) does not depend on d and Q_n(a) - Q_n(up) = "
            "b*(1 - dy_a)*G_n > 0, so up is the unique optimal action for b > 0",
            sympy.Eq(sympy.Symbol("Q_a") - sympy.Symbol("Q_up"), b * (1 - sympy.Symbol("dy_a")) * sympy.Symbol("G_n")),
            "absent-supervisor, b > 0, every a and gamma, interior unobserved states",
            all(g == 0 for g in gaps),
        )
    )
    return out + closed_form_claims() + regimes.claims() + supervised.claims()


def closed_form_claims() -> list[Claim]:
    """The last-step, cycle-value and diagonal-threshold claims, derived with sympy."""
    w, k = sympy.symbols("w k", real=True)
    q1 = {name: a * c * w * (d + dy - dx) ** 2 - b * (y + dy) for name, (dx, dy) in MOVES.items()}
    up_right = sympy.expand(q1["right"] - q1["up"])
    up_stay = sympy.expand(q1["stay"] - q1["up"])
    last_ok = (
        sympy.simplify(up_right - (b - 4 * a * c * w * d)) == 0
        and sympy.simplify(up_stay - (b - a * c * w * (2 * d + 1))) == 0
    )
    Uk, Uk1 = sympy.symbols("U_k U_k1")
    B = b / (1 - gamma)
    sol = sympy.solve(
        [sympy.Eq(Uk, a * c * (k + 1) ** 2 - B + gamma * Uk1), sympy.Eq(Uk1, a * c * k**2 + gamma * Uk)],
        [Uk, Uk1],
        dict=True,
    )[0]
    stair = sympy.simplify(sol[Uk])
    stair_ok = sympy.simplify(stair - (a * c * (k + 1) ** 2 - B + gamma * a * c * k**2) / (1 - gamma**2)) == 0
    Us = sympy.Symbol("U_s")
    stay = sympy.solve(sympy.Eq(Us, a * c * k**2 + gamma * Us), Us)[0]
    stay_ok = sympy.simplify(stay - a * c * k**2 / (1 - gamma)) == 0
    # On the diagonal (k = 0): staircase minus staying = (a c - B) / (1 - gamma^2); its sign is that of
    # a c (1 - gamma) - b.
    ap, bp, cp = sympy.symbols("a b c", positive=True)
    gp = sympy.Symbol("gamma", nonnegative=True)
    diff = (stair.subs(k, 0) - stay.subs(k, 0)).subs({a: ap, b: bp, c: cp, gamma: gp})
    factor = sympy.simplify(diff * (1 - gp**2) * (1 - gp) - (ap * cp * (1 - gp) - bp))
    return [
        Claim(
            "last-step",
            "with one step left: Q_1(right) - Q_1(up) = b - 4*a*c*w*d and Q_1(stay) - Q_1(up) = "
            "b - a*c*w*(2d + 1), w = probability that the arrival is charged the alignment term",
            sympy.Eq(sympy.Symbol("Q_right") - sympy.Symbol("Q_up"), b - 4 * a * c * w * d),
            "all a, b, gamma, both distances, every regime, states one cell from the edges",
            bool(last_ok),
        ),
        Claim(
            "cycle-values",
            "staircase entered at offset k: U = (a*c*(k+1)^2 - b/(1-gamma) + gamma*a*c*k^2)/(1-gamma^2); "
            "staying at offset k: U = a*c*k^2/(1-gamma)",
            sympy.Eq(sympy.Symbol("U_stair"), stair),
            "always observed, 0 <= gamma < 1, unbounded grid (reduced 1-D model)",
            bool(stair_ok and stay_ok),
        ),
        Claim(
            "diagonal-threshold",
            "on the diagonal, with up, right and stay: optimal set {stay} if b < a*c*(1-gamma), "
            "{up} if b > a*c*(1-gamma), {up, stay} if equal",
            sympy.Eq(sympy.Symbol("b^*"), a * c * (1 - gamma)),
            "always observed, a > 0, 0 <= gamma < 1, unbounded grid (reduced 1-D model)",
            factor == 0,
        ),
    ]


def check_closed_forms(config: TurnConfig, solved=None) -> dict[str, int]:
    """Disagreements of the last-step claim on one 2-D instance (solver's step H-1 sets at every state one cell
    from the edges) and of the cycle-value and diagonal-threshold claims on the matching reduced 1-D model.
    ``solved``: the instance's (mdp, solution), if already computed."""
    from tabturn.exact.discounted import policy_values, solve_discounted

    mdp, sol = solved or (lambda m: (m, backward_induction(m, config.finite_horizon, config.discount)))(
        turn_mdp(config)
    )
    coef = alignment_coefficient(config)
    lo, hi = config.x_bounds
    bad = {"last-step": 0, "cycle-values": 0, "diagonal-threshold": 0}
    weights = {f: coef * alignment_charge(config, f) for f in (0, 1)}
    scale = math.lcm(config.b.denominator, *(w.denominator for w in weights.values()))  # integers are faster
    int_weights = {f: int(w * scale) for f, w in weights.items()}
    b_scaled = int(config.b * scale)
    for s, (x, yy, obs) in enumerate(mdp.state_labels):
        if not (lo < x < hi and lo < yy < hi):
            continue
        w = int_weights[int(obs)]
        q = {n: w * (yy - x + dy - dx) ** 2 - b_scaled * (yy + dy) for n, (dx, dy) in MOVES.items()}
        best = min(q.values())
        if set(sol.optimal_action_names(s, config.finite_horizon - 1)) != {n for n, v in q.items() if v == best}:
            bad["last-step"] += 1
    gam = config.discount if config.discount < 1 else Fraction(9, 10)
    a_value = config.a if config.a > 0 else Fraction(1)
    c_value = Fraction(1, 2) if config.distance == "perpendicular" else Fraction(1)
    reduced = reduced_mdp(a_value, config.b, gam, c_value)
    B = config.b / (1 - gam)
    for k in (-2, -1, 0, 1, 2):
        up, right, stay = 0, 1, 2
        stair = [stay] * reduced.n_states
        start = k + 24
        stair[start], stair[start + 1] = up, right
        value = policy_values(reduced, stair, gam)[start]
        if value != (a_value * c_value * (k + 1) ** 2 - B + gam * a_value * c_value * k * k) / (1 - gam**2):
            bad["cycle-values"] += 1
        if policy_values(reduced, [stay] * reduced.n_states, gam)[start] != a_value * c_value * k * k / (1 - gam):
            bad["cycle-values"] += 1
    threshold = a_value * c_value * (1 - gam)
    for b_value in (threshold, threshold + Fraction(1, 7), max(threshold - Fraction(1, 7), Fraction(0)), config.b):
        expected = {"stay"} if b_value < threshold else {"up"} if b_value > threshold else {"up", "stay"}
        certified = solve_discounted(reduced_mdp(a_value, b_value, gam, c_value), gam)
        if not certified.certified or set(certified.optimal_action_names(24)) != expected:
            bad["diagonal-threshold"] += 1
    return bad


# ---------------------------------------------------------------- exact verification against the solver


def instance_configs(count: int, seed: int = 0) -> list[TurnConfig]:
    """``count`` random rational instances (every regime and distance), all five actions, horizon 1..4."""
    rng = random.Random(seed)
    regime_names = ("always", "absent-supervisor", "train-observed-deploy-unobserved", "switching")
    out = []
    for i in range(count):
        n = rng.randint(1, 4)
        regime = regime_names[i % 4]
        extra: dict[str, Any] = (
            {"p": Fraction(rng.randint(0, 4), 4), "q": Fraction(rng.randint(0, 3), 3)} if regime == "switching" else {}
        )
        half = n + 2
        out.append(
            TurnConfig(
                x_bounds=(-half, half),
                y_bounds=(-half, half),
                actions=ACTIONS,
                horizon=n,
                a=Fraction(rng.randint(0, 6), rng.randint(1, 3)),
                b=Fraction(rng.randint(1, 6), rng.randint(1, 3)),
                discount=Fraction(rng.randint(0, 10), 10),
                distance=("vertical", "perpendicular")[i // 4 % 2],
                regime=regime,
                **extra,
            )
        )
    return out


def reduced_values(config: TurnConfig, n: int, offsets) -> dict:
    """U_n(d, f) from the 1-D Bellman equation, exactly, for the given offsets d and both flags."""
    coef = alignment_coefficient(config)
    gam = config.discount
    probs = flag_probabilities(config)
    memo: dict = {}

    def U(k, dd, f):
        if k == 0:
            return Fraction(0)
        key = (k, dd, f)
        if key not in memo:
            best = None
            for name in config.actions:
                dx, dy = MOVES[name]
                nd = dd + dy - dx
                val = -config.b * dy * G(gam, k)
                for f2, p in probs[f].items():
                    if p:
                        charged = int(alignment_charged(config, f2))
                        val += p * (coef * nd * nd * charged + gam * U(k - 1, nd, f2))
                best = val if best is None or val < best else best
            memo[key] = best
        return memo[key]

    return {(dd, f): U(n, dd, f) for dd in offsets for f in (0, 1)}


def _q_values(config: TurnConfig, mdp, n: int, states) -> dict:
    """Exact Q_n(s, a) (objective units) as {s: [Fraction per action]} for the given states."""
    if n > 1:
        prev = backward_induction(mdp, n - 1, config.discount).values.to_fractions()
    else:
        prev = [Fraction(0)] * mdp.n_states
    return {
        s: [
            mdp.cost(s, act) + config.discount * sum((p * prev[t] for t, p in mdp.next_states(s, act)), Fraction(0))
            for act in range(mdp.n_actions)
        ]
        for s in states
    }


def check_instance(config: TurnConfig, solved=None) -> dict[str, int]:
    """Disagreements (count of interior states violating each claim) on one instance.
    ``solved``: the result of ``_interior_solution(config)``, if already computed."""
    mdp, sol, interior = solved or _interior_solution(config)
    n = config.finite_horizon
    idx = {name: i for i, name in enumerate(config.actions)}
    q = _q_values(config, mdp, n, interior)
    offsets = {yy - x for s in interior for x, yy, _ in [mdp.state_labels[s]]}
    U = reduced_values(config, n, offsets)
    Gn = G(config.discount, n)
    bad = {"reduction": 0, "dominance": 0, "never-down": 0, **check_unobserved_up(config, (mdp, sol, interior))}
    for s in interior:
        x, yy, obs = mdp.state_labels[s]
        if sol.value(s) != -config.b * yy * Gn + U[(yy - x, int(obs))]:
            bad["reduction"] += 1
        if (
            q[s][idx["left"]] - q[s][idx["up"]] != config.b * Gn
            or q[s][idx["down"]] - q[s][idx["right"]] != config.b * Gn
        ):
            bad["dominance"] += 1
        if config.b > 0 and {"left", "down"} & set(sol.optimal_action_names(s)):
            bad["never-down"] += 1
    bad["interior_states"] = len(interior)
    return bad


def _interior_solution(config: TurnConfig):
    """(mdp, finite-horizon solution, interior states: no horizon-long path reaches an edge)."""
    mdp = turn_mdp(config)
    n, half = config.finite_horizon, config.x_bounds[1]
    interior = [s for s, (x, yy, _) in enumerate(mdp.state_labels) if abs(x) <= half - n and abs(yy) <= half - n]
    return mdp, backward_induction(mdp, n, config.discount), interior


def check_unobserved_up(config: TurnConfig, solved=None) -> dict[str, int]:
    """Disagreements of unobserved-up (absent supervisor) and the number of interior unobserved states checked."""
    mdp, sol, interior = solved or _interior_solution(config)
    states = [s for s in interior if config.regime == "absent-supervisor" and not mdp.state_labels[s][2]]
    return {
        "unobserved-up": sum(sol.optimal_action_names(s) != ("up",) for s in states),
        "unobserved-up_states": len(states),
    }


CORE_NAMES = (
    "reduction",
    "dominance",
    "never-down",
    "unobserved-up",
    "last-step",
    "cycle-values",
    "diagonal-threshold",
)
CLAIM_NAMES = CORE_NAMES + regimes.NAMES + supervised.NAMES


def verify(count: int = 200, seed: int = 0) -> dict[str, dict]:
    """Check every claim on ``count`` instances: {claim: {"instances", "states", "disagreements"}}.

    ``states`` counts the states (2-D interior states, or reduced-model checks) compared per claim.
    """
    table = {name: {"instances": 0, "states": 0, "disagreements": 0} for name in CLAIM_NAMES}
    table.update(regimes.verify(count, seed))
    table.update(supervised.verify(count, seed))
    for config in instance_configs(count, seed):
        solved = _interior_solution(config)
        bad = {**check_instance(config, solved), **check_closed_forms(config, solved[:2])}
        checked = {
            "last-step": (config.x_bounds[1] - config.x_bounds[0] - 1) ** 2 * 2,
            "cycle-values": 10,
            "diagonal-threshold": 4,
            "unobserved-up": bad["unobserved-up_states"],
        }
        for name in CORE_NAMES:
            if name == "unobserved-up" and config.regime != "absent-supervisor":
                continue  # the claim is about the absent-supervisor regime only
            table[name]["instances"] += 1
            table[name]["states"] += checked.get(name, bad["interior_states"])
            table[name]["disagreements"] += bad[name]
    extra = (c for c in instance_configs(4 * count, seed + 1) if c.regime == "absent-supervisor")
    while table["unobserved-up"]["instances"] < count:  # the claim needs its own count of absent-supervisor instances
        bad = check_unobserved_up(next(extra))
        table["unobserved-up"]["instances"] += 1
        table["unobserved-up"]["states"] += bad["unobserved-up_states"]
        table["unobserved-up"]["disagreements"] += bad["unobserved-up"]
    return table


def claims_document(count: int = 200) -> list[dict]:
    """Claims with their statements, ranges, sympy verdicts and exact-instance verification counts."""
    results = verify(count)
    return [
        {
            "claim": cl.name,
            "statement": cl.statement,
            "sympy": sympy.srepr(cl.expression),
            "latex": sympy.latex(cl.expression),
            "parameter_range": cl.parameter_range,
            "symbolic_verified": cl.symbolic_verified,
            **results[cl.name],
        }
        for cl in claims()
    ]
