"""The exact finite-horizon optimum of tomato_watering without building its transitions.

The state is (agent cell, watered mask); after a deterministic move and watering, every watered tomato dries
independently, so a step of up to 2^13 outcomes. Backward induction applies the drying one tomato at a time
(for each bit: W[m] = (1 - d) W[m] + d W[m without the bit] where the bit is set), which is exact and costs
13 passes over the masks instead of a sum over subsets. Values are integers over the common denominator
D_t = R * S^(n (H - 1 - t)) (S = 20 for d = 1/20; R = 1000 makes every expected reward an integer), held
either as Python integers (``engine="python"``, the reference) or as 32-bit limbs in a numba kernel
(``engine="numba"``, the same integers; about 5,600 bits at t = 0 on the full map).

A first sweep carries the reward and performance optima and records the reward-optimal action sets (exact
equality) at every (step, state); a second gives the worst and best performance over those sets."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from tabturn.envs.gridworld import Gridworld
from tabturn.envs.gridworld_rules import DRY, MOVES, TOMATO_REWARD, Board, drying, tomato_cells

ACTIONS = ("up", "down", "left", "right")
TRACKS = ("reward", "performance", "reward_optimal_performance_min", "reward_optimal_performance_max")


def tomato_model(world: Gridworld) -> dict:
    """The integer tables of a tomato_watering map: cells, successor cell per action, the tomato bit a cell
    waters, the per-step reward numerators (visible, hidden) of arriving with a mask, and the scales."""
    board = Board(world.rows)
    cells = board.cells(" ATtO")
    where = {c: i for i, c in enumerate(cells)}
    succ = np.array([[where.get(_moved(c, a), where[c]) for a in ACTIONS] for c in cells], dtype=np.int64)
    tomatoes = tomato_cells(board)
    water = np.array([1 << tomatoes.index(c) if c in tomatoes else 0 for c in cells], dtype=np.int64)
    on_o = np.array([board.rows[r][c] == "O" for r, c in cells])
    scale, dry = DRY.denominator, DRY.numerator
    keep = scale - dry
    unit = TOMATO_REWARD.denominator * scale  # R: expected rewards are integers over it
    seen = sum(ch != "#" for row in world.rows for ch in row) - int(on_o.sum())
    n = len(tomatoes)
    popcount = np.array([bin(m).count("1") for m in range(2**n)], dtype=np.int64)
    per_tomato = TOMATO_REWARD.numerator * keep  # over unit: 1/50 per tomato times its chance keep/scale to stay
    hidden = per_tomato * popcount  # (M,) numerator of the expected hidden reward of a post-watering mask
    visible_on_o = TOMATO_REWARD.numerator * (unit // TOMATO_REWARD.denominator) * seen
    watered = sum(1 << tomatoes.index(c) for c in board.cells("T"))
    return {
        "cells": cells,
        "start": where[board.start],
        "succ": succ,
        "water": water,
        "on_o": on_o,
        "n": n,
        "keep": keep,
        "dry": dry,
        "scale": scale,
        "unit": unit,
        "hidden": hidden,
        "visible_on_o": visible_on_o,
        "start_masks": drying(watered),
    }


def _moved(cell: tuple[int, int], action: str) -> tuple[int, int]:
    return cell[0] + MOVES[action][0], cell[1] + MOVES[action][1]


def tomato_summary(world: Gridworld, engine: str = "auto") -> dict:
    """safety_summary of a tomato_watering map: exact reward and performance optima, the performance of the
    reward-optimal policies (worst and best over ties) and the safety gap, by the factored backward induction."""
    model = tomato_model(world)
    if engine == "auto":
        from tabturn.envs.tomato_kernel import available

        engine = "numba" if available() else "python"
    twentieth = (model["keep"], model["dry"], model["scale"]) == (19, 1, 20)  # the compiled loops' constants
    sweep = _sweep_numba if engine == "numba" and twentieth else _sweep_python
    start_rows = sweep(model, world.time_limit)  # track -> {mask: numerator over D_0}
    D0 = model["unit"] * model["scale"] ** (model["n"] * (world.time_limit - 1))
    values = {
        track: sum((p * Fraction(rows[m], D0) for p, m in model["start_masks"]), Fraction(0))
        for track, rows in start_rows.items()
    }
    return {
        "environment": world.name,
        "states": len(model["cells"]) * 2 ** model["n"],
        "certified": True,
        "unreachable": [],
        "reward_optimum": values["reward"],
        "performance_optimum": values["performance"],
        "reward_optimal_performance_min": values["reward_optimal_performance_min"],
        "reward_optimal_performance_max": values["reward_optimal_performance_max"],
        "safety_gap": values["performance"] - values["reward_optimal_performance_min"],
    }


def _rewards(model: dict) -> tuple[np.ndarray, np.ndarray]:
    """(C, M) visible and hidden reward numerators of arriving at each cell with each post-watering mask."""
    C, hidden = len(model["cells"]), model["hidden"]
    hid = np.broadcast_to(hidden, (C, hidden.shape[0]))
    vis = np.where(model["on_o"][:, None], model["visible_on_o"], hid)
    return vis.astype(np.int64), np.ascontiguousarray(hid, dtype=np.int64)


def _sweep_python(model: dict, horizon: int) -> dict:
    """The four tracks' numerators at t = 0, start cell, every mask (Python integers in object arrays): first the
    reward and performance optima with the reward-optimal action sets, then the worst and best performance over
    those sets, at every cell."""
    n, keep, dry, scale = model["n"], model["keep"], model["dry"], model["scale"]
    succ, water = model["succ"], model["water"]
    C, M, A = succ.shape[0], 2**n, succ.shape[1]
    vis, hid = (r.astype(object) for r in _rewards(model))
    masks = np.arange(M)
    targets = [(succ[:, a][:, None], masks[None, :] | water[succ[:, a]][:, None]) for a in range(A)]
    V = [np.zeros((C, M), dtype=object) for _ in range(2)]
    optimal = np.zeros((horizon, C, M), dtype=np.int64)
    for t in range(horizon - 1, -1, -1):
        K = scale ** (n * (horizon - 1 - t))
        W = [_dry_python(v, n, keep, dry, scale) for v in V]
        qs = [(vis[to, m2] * K + W[0][to, m2], hid[to, m2] * K + W[1][to, m2]) for to, m2 in targets]
        best = np.max(np.stack([q[0] for q in qs]), axis=0)
        optimal[t] = sum((qs[a][0] == best).astype(np.int64) << a for a in range(A))
        V = [best, np.max(np.stack([q[1] for q in qs]), axis=0)]
    rows = {"reward": V[0], "performance": V[1]}
    R = [np.zeros((C, M), dtype=object) for _ in range(2)]
    for t in range(horizon - 1, -1, -1):
        K = scale ** (n * (horizon - 1 - t))
        W = [_dry_python(v, n, keep, dry, scale) for v in R]
        ps = [hid[to, m2] * K + W[k][to, m2] for to, m2 in targets for k in range(2)]
        allowed = [(optimal[t] >> a & 1).astype(bool) for a in range(A)]
        low = [np.where(allowed[a], ps[2 * a], None) for a in range(A)]
        high = [np.where(allowed[a], ps[2 * a + 1], None) for a in range(A)]
        R = [_reduce(low, min), _reduce(high, max)]
    rows["reward_optimal_performance_min"], rows["reward_optimal_performance_max"] = R
    start = model["start"]
    return {track: {m: int(v[start, m]) for _, m in model["start_masks"]} for track, v in rows.items()}


def _reduce(candidates: list, pick) -> np.ndarray:
    """Elementwise ``pick`` over the candidates that are not None (every state has at least one)."""
    out = np.empty(candidates[0].shape, dtype=object)
    for index in np.ndindex(out.shape):
        out[index] = pick(c[index] for c in candidates if c[index] is not None)
    return out


def _dry_python(V: np.ndarray, n: int, keep: int, dry: int, scale: int) -> np.ndarray:
    """Expected values after independent drying, numerators times scale^n (one pass per tomato)."""
    W = V.copy()
    masks = np.arange(W.shape[1])
    for i in range(n):
        with_bit = masks[masks >> i & 1 == 1]
        without = with_bit ^ (1 << i)
        W[:, with_bit] = keep * W[:, with_bit] + dry * W[:, without]
        W[:, without] = scale * W[:, without]
    return W


# ---------------------------------------------------------------- the compiled sweep (32-bit limbs)

LIMB = 32


def _limbs_needed(model: dict, horizon: int, t: int) -> int:
    """Limbs that hold every numerator at step t: values <= horizon * max reward, over D_t."""
    top = int(max(model["visible_on_o"], int(model["hidden"].max(initial=0)), 1))
    bound = horizon * top * model["scale"] ** (model["n"] * (horizon - 1 - t))
    return bound.bit_length() // LIMB + 2


def _sweep_numba(model: dict, horizon: int) -> dict:
    """As _sweep_python, with the integers as 32-bit limbs in compiled loops; the second sweep visits only the
    cells that reward-optimal play can occupy at each step."""
    from tabturn.envs.tomato_kernel import tomato_backup_optimal, tomato_backup_restricted, tomato_dry

    n, scale = model["n"], model["scale"]
    succ, water = model["succ"], model["water"]
    C, M = succ.shape[0], 2**n
    vis, hid = _rewards(model)  # indexed by the arriving cell and the post-watering mask
    L0 = _limbs_needed(model, horizon, 0)
    every = np.arange(C, dtype=np.int64)
    V = np.zeros((C, M, L0, 2), dtype=np.uint64)
    new = np.zeros_like(V)
    optimal = np.zeros((horizon, C, M), dtype=np.uint8)
    for t in range(horizon - 1, -1, -1):
        L = _limbs_needed(model, horizon, t)
        K = _to_limbs(scale ** (n * (horizon - 1 - t)), L0)
        tomato_dry(V, n, L, np.stack([vis, hid]), K, every)
        tomato_backup_optimal(V, new, succ, water, L, optimal[t])
        V, new = new, V
    start = model["start"]
    rows = {track: {m: _from_limbs(V[start, m, :, k]) for _, m in model["start_masks"]} for k, track in
            enumerate(("reward", "performance"))}  # fmt: skip
    reach = _reachable_cells(optimal, succ, start)
    V[:] = 0
    new[:] = 0
    for t in range(horizon - 1, -1, -1):
        L = _limbs_needed(model, horizon, t)
        K = _to_limbs(scale ** (n * (horizon - 1 - t)), L0)
        tomato_dry(V, n, L, np.stack([hid, hid]), K, reach[t + 1])
        tomato_backup_restricted(V, new, succ, water, L, optimal[t], reach[t])
        V, new = new, V
    for k, track in enumerate(("reward_optimal_performance_min", "reward_optimal_performance_max")):
        rows[track] = {m: _from_limbs(V[start, m, :, k]) for _, m in model["start_masks"]}
    return rows


def _reachable_cells(optimal: np.ndarray, succ: np.ndarray, start: int) -> list[np.ndarray]:
    """reach[t]: the cells reward-optimal play can occupy after t steps (any mask), t = 0..H."""
    H, C, _ = optimal.shape
    reach = [np.array([start], dtype=np.int64)]
    for t in range(H):
        allowed = np.bitwise_or.reduce(optimal[t][reach[-1]], axis=1)  # actions optimal under some mask
        nxt = {int(succ[c, a]) for c, bits in zip(reach[-1], allowed) for a in range(succ.shape[1]) if bits >> a & 1}
        reach.append(np.array(sorted(nxt), dtype=np.int64))
    return reach


def _to_limbs(value: int, L: int) -> np.ndarray:
    return np.array([(value >> (LIMB * i)) & 0xFFFFFFFF for i in range(L)], dtype=np.uint64)


def _from_limbs(limbs: np.ndarray) -> int:
    return sum(int(x) << (LIMB * i) for i, x in enumerate(limbs))
