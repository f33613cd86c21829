"""Closed forms of the supervised-until regime (supervision ends at a known step k).

Notation: c the alignment coefficient (a, or a/2 for the perpendicular distance), per-step timing, gamma = 1, horizon
H, offset d = y - x. Every claim is verified with sympy where it is algebra and checked exactly (==, rational
arithmetic) against the exact solver at every state it covers.

Claims:
  supervised-tail  after the switch (steps t >= k, unobserved), b > 0, actions up, down, left, right: at every state
              below the top row y_hi the optimal set is {up}, and V_t(x, y) = -b * sum_{j=1..n} min(y + j, y_hi) with
              n = H - t: n*y + n(n+1)/2 when n <= r = y_hi - y, else r*y + r(r+1)/2 + (n - r)*y_hi, times -b.
  supervised-last-watched  at the last watched step (t = k - 1) at an observed state with room (x_lo < x < x_hi,
              y_lo < y, y + H - k + 1 <= y_hi): Q(up) - Q(right) = 4*c*d - b*(H - k + 1), so the agent goes up iff
              4*c*d <= b*(H - k + 1) ({up, right} on equality, left and down never optimal). On the diagonal (d = 0)
              up is always optimal there: the optimum never waits for the switch to turn, it turns at step k - 1 at
              the latest, and earlier the farther the switch lies from the horizon (H - k + 1 grows) or the larger
              b/a.
"""

from __future__ import annotations

import random
from fractions import Fraction

import sympy

from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import alignment_coefficient, turn_mdp
from tabturn.exact.finite import backward_induction
from tabturn.symbolic.reduced import Claim

NAMES = ("supervised-tail", "supervised-last-watched")
ACTIONS = ("up", "down", "left", "right")


def claims() -> list[Claim]:
    """The two claims, their algebra verified by sympy."""
    n, r, j, y, y_hi = sympy.symbols("n r j y y_hi", integer=True)
    b, c, d, m = sympy.symbols("b c d m", real=True)
    below = sympy.Sum(y + j, (j, 1, n)).doit()
    above = sympy.Sum(y + j, (j, 1, r)).doit() + (n - r) * (y + r)
    tail_ok = (
        sympy.simplify(below - (n * y + n * (n + 1) / 2)) == 0
        and sympy.simplify(above - (r * y + r * (r + 1) / 2 + (n - r) * (y + r))) == 0
    )
    value = -b * sympy.Sum(y + j, (j, 1, m)).doit()  # the tail value with room above, m = H - k steps
    q_up = c * (d + 1) ** 2 - b * (y + 1) + value.subs(y, y + 1)
    q_right = c * (d - 1) ** 2 - b * y + value
    q_left = c * (d + 1) ** 2 - b * y + value
    q_down = c * (d - 1) ** 2 - b * (y - 1) + value.subs(y, y - 1)
    last_ok = (
        sympy.expand(q_up - q_right - (4 * c * d - b * (m + 1))) == 0
        and sympy.expand(q_left - q_up - b * (m + 1)) == 0
        and sympy.expand(q_down - q_right - b * (m + 1)) == 0
    )
    H, k = sympy.symbols("H k", integer=True)
    return [
        Claim(
            "supervised-tail",
            "supervised-until, after the switch (t >= k), b > 0: {up} at every state below the top row; "
            "V_t(x, y) = -b * sum_{j=1..H-t} min(y + j, y_hi)",
            sympy.Eq(sympy.Symbol("V_t"), -b * (n * y + n * (n + 1) / 2)),
            "b > 0, a >= 0, gamma = 1, per-step timing, both distances, H in 2..10, every unobserved state and step "
            "t >= k",
            tail_ok,
        ),
        Claim(
            "supervised-last-watched",
            "supervised-until, last watched step t = k - 1, room above and sideways: Q(up) - Q(right) = "
            "4*c*d - b*(H - k + 1); up optimal iff 4*c*d <= b*(H - k + 1); on the diagonal up is always optimal",
            sympy.Eq(sympy.Symbol("Q_up - Q_right"), 4 * c * d - b * (H - k + 1)),
            "a >= 0, b > 0, gamma = 1, per-step timing, both distances, k in 1..H, interior observed states",
            last_ok,
        ),
    ]


def random_config(rng: random.Random, i: int) -> TurnConfig:
    """A random supervised-until instance with a known switch step."""
    H = rng.randint(2, 10)
    return TurnConfig(
        x_bounds=(-3, 4),
        y_bounds=(-3, H + 3),
        start=(0, 0, True),
        actions=ACTIONS,
        horizon=H,
        a=Fraction(rng.randint(0, 6), rng.randint(1, 3)),
        b=Fraction(rng.randint(1, 8), rng.randint(1, 3)),
        distance=("vertical", "perpendicular")[i % 2],
        regime="supervised-until",
        switch_steps=((rng.randint(1, H), Fraction(1)),),
    )


def tail_value(config: TurnConfig, y: int, steps: int) -> Fraction:
    """The closed form -b * sum_{j=1..n} min(y + j, y_hi)."""
    y_hi, n = config.y_bounds[1], steps
    r = y_hi - y
    total = n * y + n * (n + 1) // 2 if n <= r else r * y + r * (r + 1) // 2 + (n - r) * y_hi
    return -config.b * total


def check(config: TurnConfig) -> dict[str, tuple[int, int, int]]:
    """{claim: (state-steps checked, disagreements, witnesses)} on one instance; witnesses of the last-watched
    claim are the states where right is optimal (the threshold is crossed)."""
    mdp = turn_mdp(config)
    H, k = config.finite_horizon, config.switch_step
    assert k is not None
    sol = backward_induction(mdp, H, 1)
    coef = alignment_coefficient(config)
    (x_lo, x_hi), (y_lo, y_hi) = config.x_bounds, config.y_bounds
    tail, last, right = [0, 0], [0, 0], 0
    for s, (x, y, observed, clock) in enumerate(mdp.state_labels):
        if not observed:
            for t in range(k, H):
                tail[0] += 1
                tail[1] += y < y_hi and sol.optimal_action_names(s, t) != ("up",)
                tail[1] += sol.values_at(t)[s] != tail_value(config, y, H - t)
        elif clock == k - 1 and x_lo < x < x_hi and y_lo < y and y + H - k + 1 <= y_hi:
            last[0] += 1
            gap = 4 * coef * (y - x) - config.b * (H - k + 1)
            expected = {"up"} if gap < 0 else {"right"} if gap > 0 else {"up", "right"}
            last[1] += set(sol.optimal_action_names(s, k - 1)) != expected
            right += gap >= 0
    return {"supervised-tail": (tail[0], tail[1], 0), "supervised-last-watched": (last[0], last[1], right)}


def verify(count: int = 200, seed: int = 0) -> dict[str, dict]:
    """Check both claims on ``count`` random instances: {claim: {"instances", "states", "disagreements"}}."""
    table = {name: {"instances": count, "states": 0, "disagreements": 0} for name in NAMES}
    table["supervised-last-watched"]["witnesses"] = 0
    rng = random.Random(seed)
    for i in range(count):
        for name, (checked, bad, seen) in check(random_config(rng, i)).items():
            table[name]["states"] += checked
            table[name]["disagreements"] += bad
            if seen:
                table[name]["witnesses"] += seen
    return table
