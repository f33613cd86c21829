"""Tabular Gymnasium environments (``env.unwrapped.P``, as FrozenLake, CliffWalking and Taxi expose) as TabularMDPs.

``P[s][a]`` is a list of ``(probability, next_state, reward, terminated)``. Duplicate next states are summed.
A transition flagged ``terminated`` ends the episode: it leads to one added absorbing, zero-reward state
labelled ``"terminal"`` (so both conventions, absorbing states and flagged transitions, come out the same).
Floats become the small fraction within 1e-12 of them (1/3 from 0.33333333333333337); how many were not exactly
that fraction is recorded in ``description["inexact_values"]``; each row must then sum to exactly 1.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from tabturn.core.errors import InputError
from tabturn.core.limits import INT64_SAFE
from tabturn.core.mdp import MAX, TabularMDP, exact_csr
from tabturn.core.rational import near_fraction

TERMINAL = "terminal"


def parse_env_spec(spec: str) -> tuple[str, dict]:
    """ "ID" or "ID:key=value,key=value" -> (ID, options); values are ints, floats, true/false/none or text."""
    env_id, _, rest = spec.partition(":") if "=" in spec.partition(":")[2] else (spec, "", "")
    options = {}
    for item in filter(None, (part.strip() for part in rest.split(","))):
        key, eq, value = item.partition("=")
        if not eq or not key.strip():
            raise InputError("--gym", f"options must be key=value, not {item!r} (e.g. FrozenLake-v1:map_name=8x8)")
        options[key.strip()] = _option_value(value.strip())
    return env_id, options


def _option_value(text: str):
    lowered = text.lower()
    if lowered in ("true", "false"):
        return lowered == "true"
    if lowered == "none":
        return None
    for kind in (int, float):
        try:
            return kind(text)
        except ValueError:
            pass
    return text


def make_env(env_id: str, **kwargs):
    """gymnasium.make(env_id, **kwargs) (``env_id`` may carry ":key=value,..." options), with unknown ids, bad
    options and a missing gymnasium reported as InputError."""
    try:
        import gymnasium
    except ImportError:
        raise InputError("--gym", "needs gymnasium: pip install -e '.[gym]' in a tabturn checkout") from None
    env_id, options = parse_env_spec(env_id)
    try:
        return gymnasium.make(env_id, **options, **kwargs)
    except (gymnasium.error.Error, ModuleNotFoundError, ImportError) as exc:
        raise InputError("--gym", f"{env_id!r}: {str(exc).splitlines()[0]}") from None
    except (TypeError, ValueError, KeyError) as exc:
        raise InputError("--gym", f"{env_id!r} does not accept options {options}: {exc}") from None


def mdp_from_gym(env) -> TabularMDP:
    """The reward-maximising TabularMDP of a Gymnasium env that exposes a tabular model ``unwrapped.P``."""
    inner = env.unwrapped
    model = getattr(inner, "P", None)
    if not isinstance(model, dict):
        raise InputError("--gym", f"{type(inner).__name__} exposes no tabular model (env.unwrapped.P)")
    S, A = _space_size(env.observation_space, "observation_space"), _space_size(env.action_space, "action_space")
    inexact = 0

    def exact(value, field):
        nonlocal inexact
        if not np.isfinite(value):
            raise InputError(field, f"is {value!r}; must be finite")
        frac, same = near_fraction(float(value))
        inexact += not same
        return frac

    rows: dict[tuple[int, int], dict[int, Fraction]] = {}
    rewards: dict[tuple[int, int], Fraction] = {}
    any_terminal = False
    for s in range(S):
        for a in range(A):
            try:
                outcomes = model[s][a]
            except (KeyError, IndexError, TypeError):
                raise InputError("P", f"has no entry for state {s}, action {a}") from None
            row: dict[int, Fraction] = {}
            reward = Fraction(0)
            for item in outcomes:
                if len(item) != 4:
                    raise InputError("P", f"state {s}, action {a}: entries must be (p, next, reward, terminated)")
                p, nxt, r, done = item
                p, r = exact(p, f"P[{s}][{a}] probability"), exact(r, f"P[{s}][{a}] reward")
                if p < 0:
                    raise InputError("P", f"state {s}, action {a} has a negative probability")
                nxt = int(nxt)
                if not 0 <= nxt < S:
                    raise InputError("P", f"state {s}, action {a} leads to state {nxt}, outside 0..{S - 1}")
                target = S if done else nxt
                any_terminal |= bool(done)
                row[target] = row.get(target, Fraction(0)) + p
                reward += p * r
            if sum(row.values(), Fraction(0)) != 1:
                raise InputError(
                    "P",
                    f"state {s}, action {a}: probabilities sum to "
                    f"{float(sum(row.values(), Fraction(0)))!r}, not exactly 1",
                )
            rows[s, a], rewards[s, a] = row, reward
    n = S + 1 if any_terminal else S
    if any_terminal:
        for a in range(A):
            rows[S, a], rewards[S, a] = {S: Fraction(1)}, Fraction(0)
    D = math.lcm(1, *(p.denominator for row in rows.values() for p in row.values()))
    L = math.lcm(1, *(r.denominator for r in rewards.values()))
    mats = []
    for a in range(A):
        entries = [(s, t, int(p * D)) for s in range(n) for t, p in rows[s, a].items() if p]
        mats.append(exact_csr([e[0] for e in entries], [e[1] for e in entries], [e[2] for e in entries], n))
    cost = np.array([[int(rewards[s, a] * L) for a in range(A)] for s in range(n)], dtype=object)
    if max((abs(v) for v in cost.ravel()), default=0) < INT64_SAFE:
        cost = cost.astype(np.int64)
    terminal = np.zeros(n, dtype=bool)
    terminal[S:] = True
    return TabularMDP(
        state_labels=tuple(range(S)) + ((TERMINAL,) if any_terminal else ()),
        action_names=tuple(f"a{a}" for a in range(A)),
        transition_numerators=tuple(mats),
        prob_denominator=D,
        cost_numerators=cost,
        final_numerators=np.zeros(n, dtype=cost.dtype),
        cost_denominator=L,
        terminal=terminal,
        start=_start(inner, S),
        objective=MAX,
        description={
            "builder": "gymnasium",
            "env": _env_id(env),
            "inexact_values": inexact,
            "max_episode_steps": getattr(getattr(env, "spec", None), "max_episode_steps", None),
        },
    )


def _space_size(space, field: str) -> int:
    n = getattr(space, "n", None)
    if n is None or getattr(space, "start", 0) != 0:
        raise InputError(field, f"must be Discrete(n) starting at 0, not {space}")
    return int(n)


def _start(inner, S: int) -> tuple:
    dist = getattr(inner, "initial_state_distrib", None)
    if dist is None:
        return ((0, Fraction(1)),)
    probs = [near_fraction(float(p))[0] for p in np.asarray(dist, dtype=float).ravel()]
    total = sum(probs, Fraction(0))
    if len(probs) != S or total <= 0:
        raise InputError("initial_state_distrib", f"must be a distribution over {S} states")
    return tuple((s, p / total) for s, p in enumerate(probs) if p)


def _env_id(env) -> str | None:
    spec = getattr(env, "spec", None)
    return getattr(spec, "id", None)
