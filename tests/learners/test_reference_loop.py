"""An independent plain-Python re-implementation of the four tabular learners, written from docs/learners.md, and
tests that require both engines of tabturn.learners.tabular.learn to give its Q-tables and visit counts bit for bit.

The reference runs one seed at a time with scalar loops (no vectorisation over seeds or states). From tabturn it
uses only the documented building blocks: the counter-based uniforms (counter_rng), the column layout
(draw_columns), the settings (LearnerSettings.epsilon_at), the CPU-independent exp and step sizes (detmath) and the
MDP's data. Nothing of the learner loops of tabular.py or numba_kernel.py is imported.
"""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from tabturn.core import detmath
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.interop.arrays import mdp_from_arrays
from tabturn.learners import counter_rng
from tabturn.learners.tabular import LearnerSettings, draw_columns, learn
from tests.helpers import requires_extra

ALGORITHMS = ("q", "sarsa", "expected-sarsa", "double-q")
ENGINES = ("numpy", "numba")
SEEDS = (0, 5, 12)
BASE_SEED = 7


# ---------------------------------------------------------------------------------------------------------------
# The reference learner (docs/learners.md, "Uniforms", "Pieces", "The loops")
# ---------------------------------------------------------------------------------------------------------------


class _Model:
    """The MDP's data in the learner's action order, as Python scalars and lists."""

    def __init__(self, mdp, order):
        S, A, sign = mdp.n_states, mdp.n_actions, mdp.sign
        costs = mdp.costs_float()
        self.S, self.A, self.sign = S, A, sign
        self.cost = [[sign * float(costs[s, order[i]]) for i in range(A)] for s in range(S)]
        self.final = [sign * (float(mdp.final_numerators[s]) / float(mdp.cost_denominator)) for s in range(S)]
        self.terminal = [bool(mdp.terminal[s]) for s in range(S)]
        # successor lists and their cumulative probabilities per (state, learner action): P(first k successors),
        # the running integer sum of the numerators divided by the denominator (one rounding per entry)
        self.succ, self.cum = [], []
        for s in range(S):
            succ_row, cum_row = [], []
            for i in range(A):
                mat = mdp.transition_numerators[order[i]]
                lo, hi = int(mat.indptr[s]), int(mat.indptr[s + 1])
                nexts = [int(t) for t in mat.indices[lo:hi]]
                cums, acc = [], 0
                for num in mat.data[lo:hi]:
                    acc += int(num)
                    cums.append(float(acc) / float(mdp.prob_denominator))
                succ_row.append(nexts)
                cum_row.append(cums)
            self.succ.append(succ_row)
            self.cum.append(cum_row)
        self.start_states = [int(s) for s, _ in mdp.start]
        self.start_cum, acc = [], 0.0  # the start distribution: a running float sum of the rounded probabilities
        for _, p in mdp.start:
            acc += float(p)
            self.start_cum.append(acc)
        self.stochastic = not mdp.is_deterministic()


def _count_below(cums, u):
    """The number of entries of ``cums`` below ``u``."""
    return sum(1 for c in cums if c < u)


def _episode_uniforms(key, episode, rows, columns):
    """rows x columns nested list: u(e, r, c) = unit(splitmix(key XOR splitmix((e rows + r) columns + c)))."""
    first = episode * rows * columns
    counters = np.arange(first, first + rows * columns, dtype=np.uint64)
    values = counter_rng.unit(counter_rng.splitmix(key ^ counter_rng.splitmix(counters)))
    return values.reshape(rows, columns).tolist()


def _greedy(row, u_tie, tie_break):
    least = row[0]
    for v in row[1:]:
        if v < least:
            least = v
    ties = [i for i, v in enumerate(row) if v == least]
    if tie_break == "first":
        return ties[0]
    if tie_break == "last":
        return ties[-1]
    return ties[min(math.floor(u_tie * len(ties)), len(ties) - 1)]


def _softmax(row, temperature):
    least = row[0]
    for v in row[1:]:
        if v < least:
            least = v
    z = [detmath.exp_scalar(-(v - least) / temperature) for v in row]
    total = 0.0
    for zi in z:
        total += zi
    return [zi / total for zi in z]


class _Draws:
    """The uniforms of one row r of one episode, by column name (None when the column is absent)."""

    def __init__(self, values, cols):
        self.values, self.cols = values, cols

    def __getitem__(self, name):
        return self.values[self.cols[name]] if name in self.cols else None


def _behaviour(row, draws, eps, settings):
    A = len(row)
    if settings.exploration == "epsilon":
        if draws["explore"] < eps:
            return min(math.floor(draws["action"] * A), A - 1)
        return _greedy(row, draws["tie"], settings.tie_break)
    probs = _softmax(row, settings.temperature)
    cums, acc = [], 0.0
    for p in probs:
        acc += p
        cums.append(acc)
    return min(_count_below(cums, draws["action"]), A - 1)


def _policy(row, draws, eps, settings):
    A = len(row)
    if settings.exploration == "softmax":
        return _softmax(row, settings.temperature)
    probs = [eps / A] * A
    g = _greedy(row, draws["tie"], settings.tie_break)
    probs[g] = eps / A + (1.0 - eps)
    return probs


def reference_learn(mdp, settings, seeds, base_seed, choose_before_update=False):
    """(q, visits) of ``learn`` per docs/learners.md, one seed at a time with scalar loops.

    ``choose_before_update=True`` is the pre-fix loop: every algorithm picks the next action from the table before
    the step's update (what SARSA does anyway).
    """
    A = mdp.n_actions
    order = tuple(settings.action_order) if settings.action_order is not None else tuple(range(A))
    model = _Model(mdp, order)
    H, sign = settings.horizon, model.sign
    view = _view(mdp, settings.observe_flag)  # the table row of each state: what the agent observes
    n_obs = max(view) + 1
    rows = n_obs * H if settings.time_indexed else n_obs
    stride = n_obs if settings.time_indexed else 0
    cols = draw_columns(settings, model.stochastic, len(model.start_states) > 1)
    C = len(cols)
    gamma, algorithm = settings.discount, settings.algorithm
    keys = counter_rng.seed_keys(base_seed, list(seeds))
    alphas = detmath.step_sizes(settings.omega, settings.episodes * H + 2) if settings.step_schedule == "1/n" else None
    q_out = np.zeros((len(seeds), rows, A))
    visits_out = np.zeros((len(seeds), rows, A), dtype=np.int64)

    for b in range(len(seeds)):
        key = keys[b]
        init = sign * settings.initial_value
        q1 = [[init] * A for _ in range(rows)]
        q2 = [[init] * A for _ in range(rows)]
        n = [[0] * A for _ in range(rows)]

        def update(table, i, a, target, alive, count=True, n=n):
            if not alive:
                return
            if count:
                n[i][a] += 1
            alpha = float(alphas[n[i][a]]) if alphas is not None else settings.step_size
            table[i][a] = table[i][a] + alpha * (target - table[i][a])

        def summed(i, q1=q1, q2=q2):
            return [q1[i][k] + q2[i][k] for k in range(A)]

        for e in range(settings.episodes):
            u = _episode_uniforms(key, e, H + 1, C)
            eps = settings.epsilon_at(e)
            draws0 = _Draws(u[0], cols)
            if len(model.start_states) > 1:
                k = min(_count_below(model.start_cum, draws0["next"]), len(model.start_states) - 1)
                s = model.start_states[k]
            else:
                s = model.start_states[0]
            o = view[s]
            a = _behaviour(summed(o) if algorithm == "double-q" else q1[o], draws0, eps, settings)
            alive = not model.terminal[s]
            for t in range(H):
                draws = _Draws(u[t + 1], cols)
                nexts = model.succ[s][a]
                if len(nexts) == 1:
                    s2 = nexts[0]
                else:
                    s2 = nexts[min(_count_below(model.cum[s][a], draws["next"]), len(nexts) - 1)]
                last = t == H - 1 and settings.truncation == "terminal"
                done = model.terminal[s2] or last
                end = model.final[s2] if last else 0.0
                i = view[s] + t * stride
                i2 = view[s2] + min(t + 1, H - 1) * stride
                c = model.cost[s][a]
                if algorithm == "sarsa" or choose_before_update:
                    a2 = _behaviour(summed(i2) if algorithm == "double-q" else q1[i2], draws, eps, settings)
                if algorithm == "q":
                    least = q1[i2][0]
                    for v in q1[i2][1:]:
                        if v < least:
                            least = v
                    target = c + gamma * (end if done else least)
                    update(q1, i, a, target, alive)
                elif algorithm == "sarsa":
                    target = c + gamma * (end if done else q1[i2][a2])
                    update(q1, i, a, target, alive)
                elif algorithm == "expected-sarsa":
                    probs = _policy(q1[i2], draws, eps, settings)
                    expected = 0.0
                    for k in range(A):
                        expected += probs[k] * q1[i2][k]
                    target = c + gamma * (end if done else expected)
                    update(q1, i, a, target, alive)
                else:  # double Q
                    coin = draws["coin"] < 0.5
                    if coin:
                        target = c + gamma * (
                            end if done else q2[i2][_greedy(q1[i2], draws["tie"], settings.tie_break)]
                        )
                        update(q1, i, a, target, alive)
                    else:
                        target = c + gamma * (
                            end if done else q1[i2][_greedy(q2[i2], draws["tie"], settings.tie_break)]
                        )
                        update(q2, i, a, target, alive)
                if not (algorithm == "sarsa" or choose_before_update):
                    a2 = _behaviour(summed(i2) if algorithm == "double-q" else q1[i2], draws, eps, settings)
                alive = alive and not model.terminal[s2]
                s, a = s2, a2

        for r in range(rows):
            for k in range(A):
                value = (q1[r][k] + q2[r][k]) / 2 if algorithm == "double-q" else q1[r][k]
                q_out[b, r, order[k]] = sign * value
                visits_out[b, r, order[k]] = n[r][k]
    if settings.time_indexed:
        q_out = q_out.reshape(len(seeds), H, n_obs, A)
        visits_out = visits_out.reshape(len(seeds), H, n_obs, A)
    return q_out[..., view, :], visits_out[..., view, :]  # one row per state: its observation's


def _view(mdp, observe_flag):
    """docs/learners.md, "Observations": turn-family agents see (x, y, observed), flag-blind ones (x, y); rows are
    numbered in order of the first state showing them."""
    labels = mdp.state_labels
    if mdp.description.get("builder") != "turn":
        return list(range(len(labels)))
    seen = {}
    return [seen.setdefault(label[: 3 if observe_flag else 2], len(seen)) for label in labels]


# ---------------------------------------------------------------------------------------------------------------
# Test models and cases
# ---------------------------------------------------------------------------------------------------------------

STAY_WALLS = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=6, actions=("up", "right", "stay", "down"))
SWITCHING = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=5, regime="switching", p="1/3", q="1/2")
SUPERVISED_UNTIL = TurnConfig(
    x_bounds=(0, 2), y_bounds=(0, 3), horizon=5, b=2, regime="supervised-until", switch_steps=((2, "1/2"), (3, "1/2"))
)
ABSENT = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=5, regime="absent-supervisor", start=(0, 0, False))
TERMINAL_TIMING = TurnConfig(
    x_bounds=(0, 1), y_bounds=(0, 2), horizon=4, timing="terminal", actions=("stay", "up", "left", "down")
)


def _reward_mdp(terminal: bool):
    """A reward MDP from arrays: 4 states, 3 actions, self-loops, stochastic rows, a two-state start distribution.

    State 3 is absorbing with zero reward; with ``terminal`` it is also marked terminal.
    """
    P = np.zeros((3, 4, 4))
    P[0] = [[1, 0, 0, 0], [1, 0, 0, 0], [0, 0, 1, 0], [0, 0, 0, 1]]
    P[1] = [[0.2, 0.5, 0.3, 0], [0, 1, 0, 0], [0.25, 0.75, 0, 0], [0, 0, 0, 1]]
    P[2] = [[0, 0, 0, 1], [0, 0, 0.6, 0.4], [0, 0, 0, 1], [0, 0, 0, 1]]
    R = np.array([[1.0, 0.5, 3.0], [0.2, 1.0, 2.0], [0.0, -1.0, 4.0], [0.0, 0.0, 0.0]])
    mdp = mdp_from_arrays(P, R, start=[0.5, 0.25, 0.25, 0.0])
    if terminal:
        mdp = dataclasses.replace(mdp, terminal=np.array([False, False, False, True]))
    return mdp


MDPS = {
    "stay-walls": lambda: turn_mdp(STAY_WALLS),
    "switching": lambda: turn_mdp(SWITCHING),
    "terminal-timing": lambda: turn_mdp(TERMINAL_TIMING),
    "supervised-until": lambda: turn_mdp(SUPERVISED_UNTIL),
    "absent": lambda: turn_mdp(ABSENT),
    "reward-terminal": lambda: _reward_mdp(terminal=True),
    "reward-absorbing": lambda: _reward_mdp(terminal=False),
}

CASES = {
    "stay-walls-stationary": (
        "stay-walls",
        dict(episodes=50, horizon=6, epsilon=0.3, step_size=0.3),
    ),
    "stay-walls-stationary-last-order-init": (
        "stay-walls",
        dict(episodes=50, horizon=6, epsilon=0.25, tie_break="last", action_order=(2, 0, 3, 1), initial_value=2.5),
    ),
    "stay-walls-step-indexed-1/n": (
        "stay-walls",
        dict(episodes=50, horizon=6, epsilon=0.4, time_indexed=True, step_schedule="1/n", omega=0.7),
    ),
    "stay-walls-bootstrap-softmax": (
        "stay-walls",
        dict(
            episodes=40,
            horizon=6,
            truncation="bootstrap",
            discount=0.9,
            exploration="softmax",
            temperature=0.6,
            tie_break="random",
        ),
    ),
    "switching-softmax-order-init": (
        "switching",
        dict(
            episodes=50,
            horizon=5,
            exploration="softmax",
            temperature=0.7,
            tie_break="last",
            action_order=(3, 0, 2, 1),
            initial_value=1.5,
        ),
    ),
    "switching-random-1/n-linear": (
        "switching",
        dict(
            episodes=50,
            horizon=5,
            tie_break="random",
            step_schedule="1/n",
            omega=1.0,
            epsilon=0.5,
            epsilon_final=0.05,
            epsilon_schedule="linear",
        ),
    ),
    "switching-step-indexed-random-softmax": (
        "switching",
        dict(episodes=40, horizon=5, time_indexed=True, exploration="softmax", temperature=1.3, tie_break="random"),
    ),
    "supervised-until-flag-aware-stationary": ("supervised-until", dict(episodes=40, horizon=5, epsilon=0.3)),
    "supervised-until-flag-blind-stationary": (
        "supervised-until",
        dict(episodes=40, horizon=5, epsilon=0.3, observe_flag=False, step_size=0.5),
    ),
    "supervised-until-flag-blind-step-indexed": (
        "supervised-until",
        dict(episodes=40, horizon=5, time_indexed=True, observe_flag=False, tie_break="random"),
    ),
    "absent-flag-blind-softmax": (
        "absent",
        dict(episodes=40, horizon=5, observe_flag=False, exploration="softmax", temperature=0.7),
    ),
    "terminal-timing-exponential": (
        "terminal-timing",
        dict(
            episodes=50,
            horizon=4,
            epsilon=0.6,
            epsilon_final=0.02,
            epsilon_schedule="exponential",
            initial_value=-1.0,
            step_size=0.4,
        ),
    ),
    "reward-terminal-bootstrap": (
        "reward-terminal",
        dict(
            episodes=60,
            horizon=5,
            truncation="bootstrap",
            discount=0.9,
            epsilon=0.35,
            tie_break="random",
            action_order=(2, 0, 1),
            initial_value=0.5,
            step_schedule="1/n",
            omega=0.8,
        ),
    ),
    "reward-absorbing-softmax": (
        "reward-absorbing",
        dict(episodes=60, horizon=5, discount=0.95, exploration="softmax", temperature=0.8, tie_break="last"),
    ),
    "reward-terminal-step-indexed": (
        "reward-terminal",
        dict(episodes=40, horizon=4, time_indexed=True, epsilon=0.3, action_order=(1, 2, 0)),
    ),
}


def _engine(engine):
    if engine == "numba":
        requires_extra("numba")
    return engine


def _case(name, algorithm):
    mdp_name, extra = CASES[name]
    return MDPS[mdp_name](), LearnerSettings(algorithm=algorithm, **extra)


# ---------------------------------------------------------------------------------------------------------------
# Tests
# ---------------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("engine", ENGINES)
@pytest.mark.parametrize("case", list(CASES))
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_engines_equal_the_reference_loop_bit_for_bit(algorithm, case, engine):
    mdp, settings = _case(case, algorithm)
    ref_q, ref_visits = reference_learn(mdp, settings, SEEDS, BASE_SEED)
    result = learn(mdp, settings, SEEDS, base_seed=BASE_SEED, engine=_engine(engine))
    assert result.q.shape == ref_q.shape and result.visits.shape == ref_visits.shape
    assert ref_visits.sum() > 0 and not np.all(ref_q == settings.initial_value)  # training did something
    assert np.array_equal(result.visits, ref_visits)
    assert np.array_equal(result.q, ref_q)


def test_the_cases_cover_what_they_claim():
    # moves into a wall and `stay` keep the state (the case where the loop order matters), the switching regime
    # and the reward MDPs are stochastic, the reward MDPs start from several states and one has a terminal state
    succ = turn_mdp(STAY_WALLS).successors()
    assert (succ == np.arange(succ.shape[0])[:, None]).any(axis=0).all()  # every action keeps some state
    assert (succ[:, 2] == np.arange(succ.shape[0])).all()  # stay
    assert not turn_mdp(SWITCHING).is_deterministic() and not _reward_mdp(True).is_deterministic()
    assert len(_reward_mdp(True).start) > 1 and _reward_mdp(True).terminal.any()
    assert _reward_mdp(True).sign == -1 and turn_mdp(TERMINAL_TIMING).final_numerators.any()
    # supervised-until is stochastic (a random switch step) and its flag-aware view merges the clock's layers; the
    # flag-blind view merges the flags too
    mdp = turn_mdp(SUPERVISED_UNTIL)
    assert not mdp.is_deterministic()
    assert max(_view(mdp, True)) + 1 == 2 * 12 < mdp.n_states and max(_view(mdp, False)) + 1 == 12


@pytest.mark.parametrize("engine", ENGINES)
def test_flag_blind_tables_repeat_one_row_for_every_state_of_a_position(engine):
    mdp, settings = _case("supervised-until-flag-blind-stationary", "q")
    q = learn(mdp, settings, SEEDS, base_seed=BASE_SEED, engine=_engine(engine)).q
    by_cell = {}
    for s, (x, y, *_) in enumerate(mdp.state_labels):
        by_cell.setdefault((x, y), []).append(s)
    assert all(len(states) == 4 for states in by_cell.values())  # unobserved + three clock layers
    for states in by_cell.values():
        assert all(np.array_equal(q[:, states[0]], q[:, s]) for s in states)
    aware = learn(mdp, dataclasses.replace(settings, observe_flag=True), SEEDS, base_seed=BASE_SEED).q
    assert not np.array_equal(aware, q)


@pytest.mark.parametrize("engine", ENGINES)
def test_choosing_the_next_action_before_the_update_changes_q_learning(engine):
    # Stationary table, `stay` and walls: the successor's row is often the row just updated, so an action chosen
    # before the update can differ from one chosen after it (docs/learners.md: Q-learning chooses after).
    mdp, settings = _case("stay-walls-stationary", "q")
    result = learn(mdp, settings, SEEDS, base_seed=BASE_SEED, engine=_engine(engine))
    after_q, after_visits = reference_learn(mdp, settings, SEEDS, BASE_SEED)
    before_q, before_visits = reference_learn(mdp, settings, SEEDS, BASE_SEED, choose_before_update=True)
    assert np.array_equal(result.q, after_q) and np.array_equal(result.visits, after_visits)
    assert not np.array_equal(before_q, after_q)
    assert not np.array_equal(result.q, before_q)


@pytest.mark.parametrize("algorithm", ["q", "expected-sarsa", "double-q"])
def test_step_indexed_tables_do_not_depend_on_the_loop_order(algorithm):
    # a step-indexed table never bootstraps from the row it updates, so both orders give the same bits
    mdp, settings = _case("stay-walls-step-indexed-1/n", algorithm)
    after_q, after_visits = reference_learn(mdp, settings, SEEDS, BASE_SEED)
    before_q, before_visits = reference_learn(mdp, settings, SEEDS, BASE_SEED, choose_before_update=True)
    assert np.array_equal(before_q, after_q) and np.array_equal(before_visits, after_visits)
    assert np.array_equal(learn(mdp, settings, SEEDS, base_seed=BASE_SEED).q, after_q)
