"""Independent reference implementations used only by tests (no tabturn solver code), and file helpers."""

from __future__ import annotations

import importlib
import itertools
import os
from fractions import Fraction
from pathlib import Path

import pytest

SHIFTS = {"up": (0, 1), "down": (0, -1), "left": (-1, 0), "right": (1, 0), "stay": (0, 0)}  # (dx, dy)


def reference_loss(cfg, x, y, observed) -> Fraction:
    d2 = Fraction((y - x) ** 2) if cfg.distance == "vertical" else Fraction((y - x) ** 2, 2)
    charged = observed or cfg.regime in ("always", "train-observed-deploy-unobserved")
    return (cfg.a * d2 if charged else 0) - cfg.b * y


def reference_move(cfg, x, y, action):
    dx, dy = SHIFTS[action]
    nx_, ny_ = x + dx, y + dy
    if not cfg.x_bounds[0] <= nx_ <= cfg.x_bounds[1]:
        nx_ = x
    if not cfg.y_bounds[0] <= ny_ <= cfg.y_bounds[1]:
        ny_ = y
    return nx_, ny_


def reference_flags(cfg, observed):
    """[(next observed, probability)]."""
    if cfg.regime != "switching":
        return [(observed, Fraction(1))]
    if observed:
        return [(False, cfg.p), (True, 1 - cfg.p)]
    return [(True, cfg.q), (False, 1 - cfg.q)]


def brute_force_sequences(cfg, state, horizon):
    """Deterministic regimes: min over all action sequences of the total loss; set of optimal first actions."""
    best, firsts = None, set()
    for seq in itertools.product(cfg.actions, repeat=horizon):
        x, y, obs = state
        total, gamma_t = Fraction(0), Fraction(1)
        for _t, act in enumerate(seq):
            x, y = reference_move(cfg, x, y, act)
            if cfg.timing == "per-step":
                total += gamma_t * reference_loss(cfg, x, y, obs)
            gamma_t *= cfg.discount
        if cfg.timing == "terminal":
            total = reference_loss(cfg, x, y, obs)
        if best is None or total < best:
            best, firsts = total, {seq[0]}
        elif total == best:
            firsts.add(seq[0])
    return best, firsts


def expectimax(cfg, state, steps_left):
    """Closed-loop optimum by plain tree search (no tables): (value, optimal first actions)."""
    if steps_left == 0:
        return (reference_loss(cfg, *state) if cfg.timing == "terminal" else Fraction(0)), set()
    x, y, obs = state
    q = {}
    for act in cfg.actions:
        nx_, ny_ = reference_move(cfg, x, y, act)
        total = Fraction(0)
        for nobs, p in reference_flags(cfg, obs):
            if p == 0:
                continue
            nxt = (nx_, ny_, nobs)
            step = reference_loss(cfg, *nxt) if cfg.timing == "per-step" else 0
            total += (
                p * (step + cfg.discount * expectimax(cfg, nxt, steps_left - 1)[0])
                if cfg.timing == "per-step"
                else p * expectimax(cfg, nxt, steps_left - 1)[0]
            )
        q[act] = total
    best = min(q.values())
    return best, {a for a, v in q.items() if v == best}


def write_file(directory, name: str, text: str) -> str:
    """Write ``text`` to directory/name and return the path as a string."""
    path = directory / name
    path.write_text(text)
    return str(path)


def write_npz(directory, **arrays) -> str:
    """Save ``arrays`` to directory/bad.npz and return the path as a string."""
    import numpy as np

    path = directory / "bad.npz"
    np.savez(path, **arrays)
    return str(path)


ROOT = Path(__file__).resolve().parents[1]


def requires_extra(module: str):
    """The imported ``module`` of an optional extra: skips the test when it is missing, except under
    TABTURN_REQUIRE_EXTRAS=1 (make test and CI install every extra, so there a missing one must fail)."""
    if os.environ.get("TABTURN_REQUIRE_EXTRAS"):
        return importlib.import_module(module)
    return pytest.importorskip(module)
