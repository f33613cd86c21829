"""The treacherous-turn family as a TabularMDP (state = (x, y, observed); under supervised-until
(x, y, observed, clock)).

Under supervised-until the flag turns at a step k, which the state must remember: observed states carry the step
t (< K, the largest switch step) and there is one observed layer of cells per step; unobserved states form one
layer (labelled with clock K: once unobserved, the step no longer changes the dynamics). From the observed layer
of step t the flag stays observed with probability P(k > t + 1) / P(k > t). A step taken from an observed state
charges the alignment term (the supervisor watches the step it sees the agent take); with one known k, steps
0..k-1 are charged and the agent at step k sees the flag unobserved.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.limits import INT64_SAFE
from tabturn.core.mdp import MIN, GridLayout, TabularMDP, exact_csr
from tabturn.envs.turn.config import ACTION_SHIFTS, TurnConfig

OBSERVED, UNOBSERVED = 1, 0


def alignment_coefficient(config: TurnConfig) -> Fraction:
    """The factor c with a*dist^2 = c*(y - x)^2 for the config's distance variant."""
    return config.a if config.distance == "vertical" else config.a / 2


def turn_loss(config: TurnConfig, x: int, y: int, observed: bool) -> Fraction:
    """Exact loss charged on arriving at (x, y, observed), per the config's regime."""
    return alignment_coefficient(config) * (y - x) ** 2 * int(alignment_charged(config, observed)) - config.b * y


def alignment_charged(config: TurnConfig, observed: int | bool) -> bool:
    """Whether the alignment term is charged on arriving with this flag (only observed arrivals count under
    absent-supervisor and switching)."""
    return bool(observed) or config.regime in ("always", "train-observed-deploy-unobserved")


def flag_probabilities(config: TurnConfig) -> dict[int, dict[int, Fraction]]:
    """P(next flag | flag); the flag only moves under the switching regime."""
    if config.regime != "switching":
        return {f: {f: Fraction(1)} for f in (UNOBSERVED, OBSERVED)}
    p, q = config.p, config.q
    return {OBSERVED: {UNOBSERVED: p, OBSERVED: 1 - p}, UNOBSERVED: {OBSERVED: q, UNOBSERVED: 1 - q}}


def alignment_charge(config: TurnConfig, from_flag: int) -> Fraction:
    """Probability that the alignment term is charged on the next arrival, from flag ``from_flag``."""
    return sum(
        (p for to, p in flag_probabilities(config)[from_flag].items() if alignment_charged(config, to)), Fraction(0)
    )


def state_index(config: TurnConfig, x: int, y: int, observed: bool, clock: int = 0) -> int:
    """Index of (x, y, observed) in the MDP built by turn_mdp (under supervised-until: of (x, y, observed,
    clock), the clock counting the steps taken while observed)."""
    _, ny, nx = config.shape
    layer = int(observed) * (1 + clock if config.regime == "supervised-until" else 1)
    return ((layer * ny) + (y - config.y_bounds[0])) * nx + (x - config.x_bounds[0])


def observation_index(mdp: TabularMDP, observe_flag: bool = True) -> np.ndarray | None:
    """What a tabular agent's table is indexed by, as an (S,) array of observation indices (None: the state
    itself). A turn-family agent sees (x, y, observed) — not supervised-until's clock — or, flag-blind, (x, y);
    observations are numbered in order of their first state."""
    turn = mdp.description.get("builder") == "turn"
    if not turn:
        if not observe_flag:
            raise InputError(
                "observe_flag", "flag-blind learners need a turn-family MDP (states (x, y, observed)); this one is not"
            )
        return None
    width = 3 if observe_flag else 2
    if width == 3 and len(mdp.state_labels[0]) == 3:
        return None
    numbers: dict = {}
    index = np.array([numbers.setdefault(label[:width], len(numbers)) for label in mdp.state_labels], dtype=np.int64)
    return None if len(numbers) == mdp.n_states else index


def stay_observed(config: TurnConfig) -> list[Fraction]:
    """Under supervised-until, P(the flag is still observed at step t + 1 | observed at step t) for t < K."""
    K = config.switch_steps[-1][0]
    survival = [sum((p for k, p in config.switch_steps if k > t), Fraction(0)) for t in range(K + 1)]
    return [survival[t + 1] / survival[t] for t in range(K)]


def turn_mdp(config: TurnConfig) -> TabularMDP:
    """Build the TabularMDP of ``config`` (objective: minimise loss)."""
    if config.regime == "supervised-until":
        return _supervised_until_mdp(config)
    nf, ny, nx = config.shape
    f, yy, xx = np.indices(config.shape)
    ys, xs = yy + config.y_bounds[0], xx + config.x_bounds[0]
    labels = tuple(zip(xs.ravel().tolist(), ys.ravel().tolist(), (f.ravel() == OBSERVED).tolist()))
    n = nf * ny * nx
    flags = flag_probabilities(config)
    D = math.lcm(*(pr.denominator for row in flags.values() for pr in row.values()))
    coef = alignment_coefficient(config)
    charged_from = {fl: alignment_charge(config, fl) for fl in (UNOBSERVED, OBSERVED)}
    L = math.lcm(
        config.b.denominator, coef.denominator, *(Fraction(coef * c).denominator for c in charged_from.values())
    )
    (x_lo, x_hi), (y_lo, y_hi) = config.x_bounds, config.y_bounds
    max_offset = max(abs(y_hi - x_lo), abs(y_lo - x_hi))
    bound = abs(coef * L) * max_offset**2 + abs(config.b * L) * max(abs(y_lo), abs(y_hi))
    dtype = np.int64 if bound < INT64_SAFE else object
    offsets = (
        np.array([[y - x for x in range(x_lo, x_hi + 1)] for y in range(y_lo, y_hi + 1)], dtype=dtype)
        if dtype is object
        else (ys[0] - xs[0]).astype(np.int64)
    )
    y_cells = np.array([[y] * nx for y in range(y_lo, y_hi + 1)], dtype=dtype) if dtype is object else ys[0]
    charge_by_from = np.array([int(coef * charged_from[fl] * L) for fl in range(nf)], dtype=dtype)[:, None, None]
    # Loss numerators (over L) of arriving at cell (y, x) when coming from flag f.
    per_from = np.asarray(charge_by_from * offsets**2 - int(config.b * L) * y_cells, dtype=dtype)

    mats, costs, shifts = [], [], []
    rows_all = np.arange(n)
    for name in config.actions:
        dy, dx = ACTION_SHIFTS[name]
        shifts.append((dy, dx))
        y2, x2 = np.clip(yy + dy, 0, ny - 1), np.clip(xx + dx, 0, nx - 1)
        rows, cols, nums = [], [], []
        for to in (UNOBSERVED, OBSERVED):
            num = np.array([int(flags[fl].get(to, 0) * D) for fl in (UNOBSERVED, OBSERVED)], dtype=np.int64)[f.ravel()]
            rows.append(rows_all)
            cols.append(((to * ny + y2) * nx + x2).ravel())
            nums.append(num)
        mats.append(exact_csr(np.concatenate(rows), np.concatenate(cols), np.concatenate(nums), n))
        costs.append(per_from[f, y2, x2].ravel())
    cost = np.stack(costs, axis=1)
    final = np.zeros(n, dtype=object)
    if config.timing == "terminal":
        final = np.array([int(turn_loss(config, x, y, obs) * L) for x, y, obs in labels], dtype=object)
        cost = np.zeros_like(cost)
    grid = None
    if config.regime != "switching":
        arrival_cell = per_from if config.timing == "per-step" else np.zeros_like(per_from)
        grid = GridLayout(config.shape, tuple(shifts), np.asarray(arrival_cell, dtype=dtype))
    start = ((state_index(config, *config.start), Fraction(1)),)
    return TabularMDP(
        state_labels=labels,
        action_names=tuple(config.actions),
        transition_numerators=tuple(mats),
        prob_denominator=D,
        cost_numerators=np.asarray(cost, dtype=dtype),
        final_numerators=np.asarray(final, dtype=dtype),
        cost_denominator=L,
        terminal=np.zeros(n, dtype=bool),
        start=start,
        objective=MIN,
        grid=grid,
        description={"builder": "turn", "config": config.to_dict()},
    )


def _supervised_until_mdp(config: TurnConfig) -> TabularMDP:
    """The supervised-until member: layer 0 unobserved, layer 1 + t observed at step t (see module doc)."""
    _, ny, nx = config.shape
    K = config.switch_steps[-1][0]
    n_layers = K + 1
    stay = stay_observed(config)
    D = math.lcm(*(p.denominator for p in stay))
    coef = alignment_coefficient(config)
    L = math.lcm(config.b.denominator, coef.denominator)
    (x_lo, x_hi), (y_lo, y_hi) = config.x_bounds, config.y_bounds
    max_offset = max(abs(y_hi - x_lo), abs(y_lo - x_hi))
    bound = abs(coef * L) * max_offset**2 + abs(config.b * L) * max(abs(y_lo), abs(y_hi))
    dtype = np.int64 if bound < INT64_SAFE else object
    yy, xx = np.indices((ny, nx))
    ys = np.array([[y] * nx for y in range(y_lo, y_hi + 1)], dtype=dtype)
    offsets = np.array([[y - x for x in range(x_lo, x_hi + 1)] for y in range(y_lo, y_hi + 1)], dtype=dtype)
    watched = np.asarray(int(coef * L) * offsets**2 - int(config.b * L) * ys, dtype=dtype)  # arrival, observed step
    unwatched = np.asarray(-int(config.b * L) * ys, dtype=dtype)
    labels = tuple(
        (x, y, layer > 0, layer - 1 if layer else K)
        for layer in range(n_layers)
        for y in range(y_lo, y_hi + 1)
        for x in range(x_lo, x_hi + 1)
    )
    n = n_layers * ny * nx
    cell = (yy * nx + xx).ravel()
    mats, costs = [], []
    for name in config.actions:
        dy, dx = ACTION_SHIFTS[name]
        y2, x2 = np.clip(yy + dy, 0, ny - 1), np.clip(xx + dx, 0, nx - 1)
        to_cell = (y2 * nx + x2).ravel()
        rows, cols, nums = [np.arange(ny * nx)], [to_cell], [np.full(ny * nx, D, dtype=np.int64)]  # unobserved stays
        cost_layers = [unwatched[y2, x2].ravel()]
        for t in range(K):
            here = (1 + t) * ny * nx + cell
            keep = int(stay[t] * D)
            if keep:
                rows.append(here)
                cols.append((2 + t) * ny * nx + to_cell)
                nums.append(np.full(ny * nx, keep, dtype=np.int64))
            if keep != D:
                rows.append(here)
                cols.append(to_cell)
                nums.append(np.full(ny * nx, D - keep, dtype=np.int64))
            cost_layers.append(watched[y2, x2].ravel())
        mats.append(exact_csr(np.concatenate(rows), np.concatenate(cols), np.concatenate(nums), n))
        costs.append(np.concatenate(cost_layers))
    cost = np.stack(costs, axis=1)
    final = np.zeros(n, dtype=object)
    if config.timing == "terminal":
        final = np.array([int(turn_loss(config, x, y, obs) * L) for x, y, obs, _ in labels], dtype=object)
        cost = np.zeros_like(cost)
    start = ((state_index(config, *config.start), Fraction(1)),)
    return TabularMDP(
        state_labels=labels,
        action_names=tuple(config.actions),
        transition_numerators=tuple(mats),
        prob_denominator=D,
        cost_numerators=np.asarray(cost, dtype=dtype),
        final_numerators=np.asarray(final, dtype=dtype),
        cost_denominator=L,
        terminal=np.zeros(n, dtype=bool),
        start=start,
        objective=MIN,
        description={"builder": "turn", "config": config.to_dict()},
    )
