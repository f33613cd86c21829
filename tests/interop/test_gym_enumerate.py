"""Exact models by state enumeration: MiniGrid levels against hand-derived and independently searched optima, the
turn env round trip state by state, random deterministic MDPs, and the refusals (stochastic, too large, a reward
the model cannot carry)."""

import json
from collections import deque
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tests.helpers import requires_extra

gymnasium = requires_extra("gymnasium")
minigrid = requires_extra("minigrid")

from tabturn.cli import main  # noqa: E402
from tabturn.core.errors import InputError  # noqa: E402
from tabturn.core.mdp import MIN, TabularMDP, exact_csr  # noqa: E402
from tabturn.envs.solve import solve  # noqa: E402
from tabturn.envs.turn.config import TurnConfig  # noqa: E402
from tabturn.envs.turn.model import turn_mdp  # noqa: E402
from tabturn.interop.gym_enumerate import TERMINAL, enumerate_env  # noqa: E402
from tabturn.interop.gym_env import TabularEnv, TurnEnv  # noqa: E402
from tests.helpers import ROOT  # noqa: E402

EXAMPLES = ROOT / "examples"


def _start_value(model) -> Fraction:
    return solve(model.mdp, model.horizon, 1).start_value()


@pytest.mark.parametrize("size", [5, 6])
def test_empty_room_optimum_is_the_shortest_path_formula(size):
    # Start (1, 1) facing right, goal (size-2, size-2): size-3 steps forward, one turn, size-3 forward; MiniGrid's
    # success reward is 1 - 0.9 * steps / max_steps with max_steps = 4 * size^2.
    model = enumerate_env(gymnasium.make(f"MiniGrid-Empty-{size}x{size}-v0"))
    steps = 2 * (size - 3) + 1
    assert model.horizon == 4 * size**2
    assert _start_value(model) == 1 - Fraction(9, 10) * Fraction(steps, 4 * size**2)
    assert model.mdp.description["model"] == "step-count"
    assert len(model.mdp.state_labels) == (size - 2) ** 2 * 4 - 4 + 1  # every pose off the goal, one end state


def _doorkey_shortest(core) -> int:
    """Fewest steps to the goal by breadth-first search over (position, facing, key place, door state), from the
    layout alone: left/right turn, forward into a free cell (or an open door, or the goal), pickup the key ahead,
    drop it on a free cell ahead, toggle the door ahead (locked opens only with the key; open <-> closed)."""
    W, H = core.grid.width, core.grid.height
    walls, key, door, goal = set(), None, None, None
    for i in range(W):
        for j in range(H):
            cell = core.grid.get(i, j)
            kind = None if cell is None else cell.type
            walls |= {(i, j)} if kind == "wall" else set()
            key, door, goal = (
                (i, j) if kind == "key" else key,
                (i, j) if kind == "door" else door,
                (i, j) if kind == "goal" else goal,
            )
    ahead = [(1, 0), (0, 1), (-1, 0), (0, -1)]
    start = (tuple(int(v) for v in core.agent_pos), int(core.agent_dir), key, "locked")
    seen, queue = {start}, deque([(start, 0)])
    while queue:
        (pos, facing, key_at, door_state), steps = queue.popleft()
        front = (pos[0] + ahead[facing][0], pos[1] + ahead[facing][1])
        free = front not in walls and front != key_at and front != door
        nexts = [(pos, (facing + 3) % 4, key_at, door_state), (pos, (facing + 1) % 4, key_at, door_state)]
        if front == goal:
            return steps + 1
        if free or (front == door and door_state == "open"):
            nexts.append((front, facing, key_at, door_state))
        if front == key_at:
            nexts.append((pos, facing, None, door_state))
        if key_at is None and free:
            nexts.append((pos, facing, front, door_state))
        if front == door:
            toggled = {"locked": "open" if key_at is None else "locked", "closed": "open", "open": "closed"}
            nexts.append((pos, facing, key_at, toggled[door_state]))
        for state in nexts:
            if state not in seen:
                seen.add(state)
                queue.append((state, steps + 1))
    raise AssertionError("no path to the goal")


@pytest.mark.parametrize("reset_seed", [0, 3])
def test_doorkey_optimum_equals_an_independent_search(reset_seed):
    env = gymnasium.make("MiniGrid-DoorKey-5x5-v0")
    model = enumerate_env(env, reset_seed=reset_seed)
    probe = gymnasium.make("MiniGrid-DoorKey-5x5-v0")
    probe.reset(seed=reset_seed)
    steps = _doorkey_shortest(probe.unwrapped)
    assert _start_value(model) == 1 - Fraction(9, 10) * Fraction(steps, 250)


def _poses_to_goal(core) -> int:
    """Fewest steps to the goal over (position, facing) by breadth-first search, lava and walls blocking."""
    blocked = {
        (i, j)
        for i in range(core.grid.width)
        for j in range(core.grid.height)
        if core.grid.get(i, j) is not None and core.grid.get(i, j).type in ("wall", "lava")
    }
    goal = next(
        (i, j)
        for i in range(core.grid.width)
        for j in range(core.grid.height)
        if core.grid.get(i, j) is not None and core.grid.get(i, j).type == "goal"
    )
    ahead = [(1, 0), (0, 1), (-1, 0), (0, -1)]
    start = (tuple(int(v) for v in core.agent_pos), int(core.agent_dir))
    seen, queue = {start}, deque([(start, 0)])
    while queue:
        (pos, facing), steps = queue.popleft()
        front = (pos[0] + ahead[facing][0], pos[1] + ahead[facing][1])
        if front == goal:
            return steps + 1
        nexts = [(pos, (facing + 1) % 4), (pos, (facing + 3) % 4)] + ([(front, facing)] if front not in blocked else [])
        for state in nexts:
            if state not in seen:
                seen.add(state)
                queue.append((state, steps + 1))
    raise AssertionError("no path to the goal")


@pytest.mark.parametrize("reset_seed", [0, 1, 2])
def test_lava_gap_ends_in_two_end_states_and_its_optimum_is_the_shortest_safe_path(reset_seed):
    model = enumerate_env(gymnasium.make("MiniGrid-LavaGapS5-v0"), reset_seed=reset_seed)
    labels = model.mdp.state_labels
    assert TERMINAL in labels  # the lava: reward 0 whatever the step count
    assert (TERMINAL, "9/1000") in labels  # the goal: 1 - 0.9 * steps / 100
    probe = gymnasium.make("MiniGrid-LavaGapS5-v0")
    probe.reset(seed=reset_seed)
    assert _start_value(model) == 1 - Fraction(9, 10) * Fraction(_poses_to_goal(probe.unwrapped), 100)


@pytest.mark.parametrize("timing", ["per-step", "terminal"])
def test_the_turn_env_enumerated_is_turn_mdp_state_by_state(timing):
    config = TurnConfig.load(EXAMPLES / "always.toml")
    config = TurnConfig.from_dict({**config.to_dict(), "loss": {**config.to_dict()["loss"], "timing": timing}})
    model = enumerate_env(TurnEnv(config))
    ref = turn_mdp(config)
    mdp = model.mdp
    assert mdp.description["model"] == "merged layers" and model.horizon == config.horizon
    reachable, frontier = {ref.start[0][0]}, [ref.start[0][0]]
    for _ in range(config.horizon - 1):
        frontier = {t for s in frontier for a in range(ref.n_actions) for t, _ in ref.next_states(s, a)}
        reachable |= frontier
    assert set(mdp.state_labels) == reachable  # labels are turn_mdp's state indices
    for s, label in enumerate(mdp.state_labels):
        for a in range(ref.n_actions):
            ((succ, p),) = mdp.next_states(s, a)
            assert mdp.state_labels[succ] == ref.next_states(label, a)[0][0] and p == 1
            assert mdp.cost(s, a) == -ref.cost(label, a)
        if timing == "terminal" and label in {t for s2 in reachable for t, _ in ref.next_states(s2, 0)}:
            assert mdp.final_cost(s) == -ref.final_cost(label)
    assert _start_value(model) == -solve(ref, config.horizon, config.discount).start_value()


def _random_deterministic_mdp(draw_next, draw_cost, n, k) -> TabularMDP:
    rows = list(range(n))
    return TabularMDP(
        state_labels=tuple(range(n)),
        action_names=tuple(f"a{a}" for a in range(k)),
        transition_numerators=tuple(exact_csr(rows, draw_next[a], [1] * n, n) for a in range(k)),
        prob_denominator=1,
        cost_numerators=np.array(draw_cost, dtype=np.int64).reshape(n, k),
        final_numerators=np.zeros(n, dtype=np.int64),
        cost_denominator=4,
        terminal=np.zeros(n, dtype=bool),
        start=((0, Fraction(1)),),
        objective=MIN,
    )


@settings(max_examples=25, deadline=None)
@given(st.data())
def test_any_deterministic_tabular_env_enumerates_to_its_own_optimum(data):
    n, k, horizon = data.draw(st.integers(1, 6)), data.draw(st.integers(1, 3)), data.draw(st.integers(1, 5))
    nexts = [data.draw(st.lists(st.integers(0, n - 1), min_size=n, max_size=n)) for _ in range(k)]
    costs = data.draw(st.lists(st.integers(-8, 8), min_size=n * k, max_size=n * k))
    mdp = _random_deterministic_mdp(nexts, costs, n, k)
    model = enumerate_env(TabularEnv(mdp, horizon=horizon))
    assert _start_value(model) == -solve(mdp, horizon, 1).start_value()


class _ClockEnv(gymnasium.Env):
    """A counter whose reward is the step count itself, with no step counter tabturn can set: the layered model."""

    def __init__(self, limit=4):
        self.observation_space, self.action_space = gymnasium.spaces.Discrete(3), gymnasium.spaces.Discrete(2)
        self.limit, self.t, self.s = limit, 0, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.t, self.s = 0, 0
        return self.s, {}

    def step(self, action):
        self.t += 1
        reward = float(self.t) if action == 1 else 0.5
        self.s = (self.s + action) % 3
        return self.s, reward, False, self.t >= self.limit, {}


def test_a_reward_that_depends_on_the_step_count_keeps_the_layers():
    env = gymnasium.wrappers.TimeLimit(_ClockEnv(), max_episode_steps=4)
    model = enumerate_env(env)
    assert model.mdp.description["model"] == "layered"
    assert _start_value(model) == 1 + 2 + 3 + 4  # action 1 every step: the step counts summed (beats 0.5 each)


class _CoinEnv(_ClockEnv):
    """Moves by a draw of the global numpy stream: not deterministic."""

    def step(self, action):
        self.t += 1
        self.s = int(np.random.randint(3))
        return self.s, 0.0, False, self.t >= self.limit, {}


def test_a_stochastic_env_is_refused_naming_the_state_and_action():
    with pytest.raises(InputError, match=r"not deterministic: state .*, action [01] gave"):
        enumerate_env(gymnasium.wrappers.TimeLimit(_CoinEnv(), max_episode_steps=4))


def test_the_cli_refuses_a_stochastic_env_in_one_line(capsys):
    spec = f"tabturn/Turn-v0:config={EXAMPLES / 'switching.toml'}"
    assert main(["solve", "--gym-enumerate", spec]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("tabturn: error: --gym-enumerate: the env is not deterministic: state")


class _SquareEnv(gymnasium.Env):
    """MiniGrid-like step counter, but the success reward is quadratic in it: the step-count model must refuse."""

    def __init__(self):
        self.observation_space, self.action_space = gymnasium.spaces.Discrete(2), gymnasium.spaces.Discrete(1)
        self.max_steps, self.step_count = 5, 0

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.step_count = 0
        return 0, {}

    def step(self, action):
        self.step_count += 1
        return 1, float(self.step_count**2), True, False, {}


def test_a_success_reward_not_affine_in_the_step_count_is_refused():
    with pytest.raises(InputError, match="not affine in the step count"):
        enumerate_env(_SquareEnv())


def test_the_state_limit_is_a_clear_error(capsys):
    assert main(["solve", "--gym-enumerate", "MiniGrid-DoorKey-5x5-v0", "--max-states", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [
        "tabturn: error: --max-states: the env has more than 10 reachable states (estimated up to 672); "
        "raise --max-states"
    ]


def test_cli_solve_learn_and_export_take_an_enumerated_env(capsys, tmp_path):
    assert main(["solve", "--gym-enumerate", "MiniGrid-Empty-5x5-v0", "--states", "none", "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["start"]["value"] == "191/200" and document["certified"] is True
    assert document["provenance"]["gym_enumerate"] == "MiniGrid-Empty-5x5-v0"
    drn = tmp_path / "empty.drn"
    assert main(["export", "--gym-enumerate", "MiniGrid-Empty-5x5-v0", "--drn", str(drn)]) == 0
    assert drn.read_text().startswith("//")
    args = ["learn", "--gym-enumerate", "MiniGrid-Empty-5x5-v0", "--seeds", "2", "--episodes", "20", "--quiet"]
    assert main(args) == 0


def test_cli_check_scores_a_policy_on_an_enumerated_env(capsys, tmp_path):
    # always 'forward' (action 2) from (1, 1) facing right stops at the wall at (3, 1): it never reaches the goal,
    # so its return is 0 and its exact regret the whole optimum, 1 - 0.9 * 5/100
    policy = tmp_path / "forward.npy"
    np.save(policy, np.full(33, 2, dtype=np.int64))
    assert main(["check", "--gym-enumerate", "MiniGrid-Empty-5x5-v0", "--policy", str(policy), "--json"]) == 0
    document = json.loads(capsys.readouterr().out)
    assert document["regret"] == "191/200"


def test_each_inexact_reward_is_counted_once_however_often_it_is_probed():
    # Empty-5x5's only nonzero rewards are the success rewards 1 - 0.9 * k/100, k = 1..100, each probed many times
    from tabturn.core.rational import near_fraction

    model = enumerate_env(gymnasium.make("MiniGrid-Empty-5x5-v0"))
    distinct = {1 - 0.9 * (k / 100) for k in range(1, 101)}
    assert model.mdp.description["inexact_values"] == sum(not near_fraction(v)[1] for v in distinct)


class _DriftingStart(_ClockEnv):
    """reset(seed) starts from a cell drawn from the unseeded global stream, so the seed does not fix it."""

    def reset(self, *, seed=None, options=None):
        super().reset(seed=seed)
        self.s = int(np.random.randint(10**6))
        return 0, {}


def test_a_reset_the_seed_does_not_fix_is_refused_even_with_a_state_key_that_reads_the_env():
    env = gymnasium.wrappers.TimeLimit(_DriftingStart(), max_episode_steps=4)
    with pytest.raises(InputError, match=r"reset\(seed=0\) gave two different start states"):
        enumerate_env(env, state_key=lambda e, obs: e.unwrapped.s)


def test_an_episode_cut_before_the_time_limit_ends_there():
    # the env truncates after 2 steps although the wrapper allows 4: action 1 twice pays 1 + 2
    env = gymnasium.wrappers.TimeLimit(_ClockEnv(limit=2), max_episode_steps=4)
    model = enumerate_env(env)
    assert model.mdp.description["model"] == "layered"
    assert _start_value(model) == 1 + 2
