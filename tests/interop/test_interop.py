"""Gymnasium in and out, DRN/PRISM/npz export, and Storm's exact engine as an independent check."""

import warnings
from fractions import Fraction

import numpy as np
import pytest

from tabturn.cli.commands import main
from tabturn.core.errors import InputError
from tabturn.envs.solve import solve
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tabturn.exact.finite import backward_induction
from tabturn.interop.arrays import load_npz
from tabturn.interop.export import storm_property, to_drn, to_npz_bytes, to_prism
from tests.helpers import reference_loss, requires_extra

gymnasium = requires_extra("gymnasium")
from tabturn.interop.gym_env import ENV_ID, TabularEnv, TurnEnv  # noqa: E402
from tabturn.interop.gym_import import TERMINAL, make_env, mdp_from_gym  # noqa: E402

SWITCHING = TurnConfig(
    x_bounds=(0, 3),
    y_bounds=(0, 2),
    actions=("up", "down", "left", "right", "stay"),
    horizon=4,
    a="1/3",
    b="1/2",
    regime="switching",
    p="1/3",
    q="1/4",
)
TERMINAL_CFG = TurnConfig(x_bounds=(0, 4), y_bounds=(0, 4), actions=("up", "right"), horizon=4, timing="terminal")


def _exact_rows(mdp):
    return [[dict(mdp.next_states(s, a)) for a in range(mdp.n_actions)] for s in range(mdp.n_states)]


def test_turn_env_passes_gymnasiums_env_checker():
    from gymnasium.utils.env_checker import check_env

    with warnings.catch_warnings():
        warnings.simplefilter("error")  # the checker reports problems as warnings
        check_env(TurnEnv(SWITCHING), skip_render_check=True)


def test_registered_id_builds_the_configured_env():
    env = gymnasium.make(ENV_ID, config=SWITCHING)
    obs, info = env.reset(seed=3)
    assert env.observation_space.n == turn_mdp(SWITCHING).n_states and env.action_space.n == 5
    assert info["label"] == SWITCHING.start and obs == turn_mdp(SWITCHING).index_of(SWITCHING.start)


def test_infinite_horizon_env_truncates_and_reset_options_pick_the_flag():
    config = TurnConfig(x_bounds=(0, 3), y_bounds=(0, 2), horizon=None, discount="9/10")
    env = TurnEnv(config)
    obs, info = env.reset(seed=0, options={"observed": False})
    assert info["label"] == (0, 0, False)
    steps, done = 0, False
    while not done:
        obs, _, terminated, truncated, info = env.step(0)
        steps += 1
        done = terminated or truncated
    assert truncated and steps == 4 * (4 + 3)  # the learners' default episode length for this grid
    assert TurnEnv(config, max_episode_steps=5).reset(options={"start": (2, 1, True)})[1]["label"] == (2, 1, True)
    env = TurnEnv(config, max_episode_steps=5)
    env.reset(seed=1)
    assert [env.step(0)[3] for _ in range(5)] == [False] * 4 + [True]


def test_sampler_reproduces_every_transition_probability_exactly():
    # Feed the env every integer draw 0..D-1 in turn: the histogram of next states must equal the numerators.
    env = TurnEnv(SWITCHING)
    mdp = env.mdp
    D = mdp.prob_denominator
    env.reset(seed=0)

    class Draws:
        value = 0

        def integers(self, n):
            assert n == D
            return Draws.value

    env._np_random = Draws()
    for s in range(mdp.n_states):
        for a in range(mdp.n_actions):
            counts: dict[int, int] = {}
            for draw in range(D):
                env._state, env._t, Draws.value = s, 0, draw
                nxt, reward, _, _, info = env.step(a)
                counts[nxt] = counts.get(nxt, 0) + 1
                assert Fraction(info["reward"]) == -mdp.cost(s, a) and reward == float(-mdp.cost(s, a))
            assert {t: Fraction(c, D) for t, c in counts.items()} == dict(mdp.next_states(s, a))


def test_env_rewards_are_negated_losses_and_the_terminal_loss_is_paid_at_the_horizon():
    env = TurnEnv(TERMINAL_CFG)
    env.reset(seed=0)
    total = Fraction(0)
    for t in range(TERMINAL_CFG.horizon):
        _, reward, terminated, truncated, info = env.step(0)  # up
        total += Fraction(info["reward"])
        assert truncated == (t == TERMINAL_CFG.horizon - 1) and not terminated
    assert total == -reference_loss(TERMINAL_CFG, 0, 4, True) == -12  # four ups: a*(4 - 0)^2 - b*4


def test_round_trip_through_the_toy_text_model_keeps_the_mdp():
    for config in (SWITCHING, TurnConfig(horizon=3)):
        mdp = turn_mdp(config)
        back = mdp_from_gym(TabularEnv(mdp, config.horizon))
        assert back.description["inexact_values"] == 0 and _exact_rows(back) == _exact_rows(mdp)
        assert all(back.cost(s, a) == -mdp.cost(s, a) for s in range(mdp.n_states) for a in range(mdp.n_actions))


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "CliffWalking-v1", "Taxi-v4"])
def test_toy_text_envs_import_and_solve_with_a_certificate(env_id):
    mdp = mdp_from_gym(make_env(env_id))
    sol = solve(mdp, None, Fraction(99, 100))
    assert sol.certified
    # Independent float value iteration straight from env.unwrapped.P agrees to 1e-9.
    P = make_env(env_id).unwrapped.P
    S, A = len(P), len(P[0])
    T, R = np.zeros((A, S, S)), np.zeros((S, A))
    for s in range(S):
        for a in range(A):
            for p, t, r, done in P[s][a]:
                R[s, a] += p * r
                T[a, s, t] += 0 if done else p  # the episode ends: nothing after
    V = np.zeros(S)
    for _ in range(4000):
        V = (R + 0.99 * np.einsum("ast,t->sa", T, V)).max(axis=1)
    assert np.allclose([float(sol.value(s)) for s in range(len(P))], V, atol=1e-9)


def test_frozen_lake_rows_are_exact_thirds_with_duplicates_summed_and_terminations_to_the_sink():
    mdp = mdp_from_gym(make_env("FrozenLake-v1"))
    sink = mdp.index_of(TERMINAL)
    assert dict(mdp.next_states(0, 0)) == {0: Fraction(2, 3), 4: Fraction(1, 3)}  # left at the corner
    assert dict(mdp.next_states(14, 2)) == {sink: Fraction(1, 3), 10: Fraction(1, 3), 14: Fraction(1, 3)}
    assert mdp.cost(14, 2) == Fraction(1, 3) and mdp.terminal[sink]  # right, slipping into the goal 1/3 of the time
    assert mdp.description["inexact_values"] > 0  # FrozenLake stores 1/3 as 0.33333333333333337 in places


class _FakeEnv:
    def __init__(self, P, n_states=2, n_actions=1):
        self.unwrapped = self
        self.P = P
        self.observation_space = gymnasium.spaces.Discrete(n_states)
        self.action_space = gymnasium.spaces.Discrete(n_actions)


@pytest.mark.parametrize(
    "P, field",
    [
        ({0: {0: [(0.5, 0, 0.0, False), (0.6, 1, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, "P"),
        ({0: {0: [(1.0, 0, float("nan"), False)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, "P[0][0] reward"),
        ({0: {0: [(1.0, 5, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, "P"),
        ({0: {0: [(1.0, 0, 0.0)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, "P"),
        ({0: {0: [(-0.5, 0, 0.0, False), (1.5, 1, 0.0, False)]}, 1: {0: [(1.0, 1, 0.0, False)]}}, "P"),
        ({0: {}}, "P"),
    ],
)
def test_bad_tabular_models_are_refused_naming_the_field(P, field):
    with pytest.raises(InputError) as err:
        mdp_from_gym(_FakeEnv(P))
    assert err.value.field == field


def test_env_without_a_tabular_model_is_refused():
    with pytest.raises(InputError, match="no tabular model"):
        mdp_from_gym(make_env("CartPole-v1"))


def test_npz_export_round_trips(tmp_path):
    mdp = turn_mdp(SWITCHING)
    path = tmp_path / "m.npz"
    path.write_bytes(to_npz_bytes(mdp))
    back = load_npz(str(path))
    assert _exact_rows(back) == _exact_rows(mdp)
    assert backward_induction(back, 4, 1).values.to_fractions() == [
        -v for v in backward_induction(mdp, 4, 1).values.to_fractions()
    ]


def test_export_cli_writes_each_format_and_refuses_no_target(tmp_path, capsys):
    drn, prism = tmp_path / "m.drn", tmp_path / "m.prism"
    assert main(["export", "--gym", "FrozenLake-v1", "--drn", str(drn), "--prism", str(prism)]) == 0
    text = drn.read_text()
    assert "@type: MDP" in text and "\t\t0 : 2/3" in text and text.count("\nstate ") == 17
    assert prism.read_text().startswith("// exported by tabturn")
    assert main(["export", "--gym", "FrozenLake-v1"]) == 2
    assert "--drn" in capsys.readouterr().err


def test_solve_and_learn_accept_a_gym_id(capsys):
    assert main(["solve", "--gym", "FrozenLake-v1", "--discount", "99/100", "--json"]) == 0
    assert '"certified": true' in capsys.readouterr().out
    assert (
        main(["learn", "--gym", "CliffWalking-v1", "--discount", "9/10", "--seeds", "2", "--episodes", "50", "--quiet"])
        == 0
    )
    assert "exact regret" in capsys.readouterr().out
    assert main(["solve", "--gym", "NoSuchEnv-v0", "--discount", "1/2"]) == 2


# ---------------------------------------------------------------- Storm's exact engine (extra "check")


def _stormpy():
    return requires_extra("stormpy")


def _storm_values(text: str, prop: str, tmp_path, prism: bool = False) -> list[Fraction]:
    stormpy = _stormpy()
    path = tmp_path / ("m.prism" if prism else "m.drn")
    path.write_text(text)
    if prism:
        program = stormpy.parse_prism_program(str(path))
        props = stormpy.parse_properties(prop, program)
        model = stormpy.build_model[stormpy.Rational](program, props)
    else:
        props = stormpy.parse_properties(prop)
        model = stormpy.build_model_from_drn[stormpy.Rational](str(path))
    result = stormpy.model_checking(model, props[0])
    if prism:
        return [Fraction(str(result.get_value(model.initial_states[0])))]
    return [Fraction(str(v)) for v in result.get_value_vector()]


STORM_CONFIGS = [
    TurnConfig(horizon=6, actions=("up", "down", "left", "right", "stay"), a="1/2", b="1/3"),
    TurnConfig(horizon=5, regime="switching", p="1/3", q="1/4", a=2, distance="perpendicular"),
    TurnConfig(horizon=6, regime="absent-supervisor", start=(0, 0, False), b="3/2"),
    TurnConfig(
        horizon=4, regime="train-observed-deploy-unobserved", x_bounds=(-3, 3), y_bounds=(-2, 4), start=(0, 0, True)
    ),
    TERMINAL_CFG,
    TurnConfig(horizon=6, regime="supervised-until", switch_steps=((3, 1),), b=3, x_bounds=(0, 4), y_bounds=(0, 4)),
    TurnConfig(
        horizon=6,
        regime="supervised-until",
        switch_steps=((2, "1/3"), (4, "2/3")),
        b=2,
        x_bounds=(0, 3),
        y_bounds=(0, 5),
    ),
]


@pytest.mark.parametrize("config", STORM_CONFIGS, ids=lambda c: f"{c.regime}-{c.timing}-{len(c.switch_steps)}")
def test_storm_exact_optimum_equals_tabturn_on_turn_configs(config, tmp_path):
    mdp = turn_mdp(config)
    ours = backward_induction(mdp, config.horizon, 1).values.to_fractions()
    assert _storm_values(to_drn(mdp), storm_property(mdp, config.horizon), tmp_path) == ours
    start = mdp.start[0][0]
    assert _storm_values(to_prism(mdp), storm_property(mdp, config.horizon), tmp_path, prism=True) == [ours[start]]


@pytest.mark.parametrize("env_id", ["FrozenLake-v1", "CliffWalking-v1", "Taxi-v4"])
def test_storm_exact_total_reward_equals_tabturn_on_gym_imports(env_id, tmp_path):
    mdp = mdp_from_gym(make_env(env_id))
    ours = backward_induction(mdp, 30, 1).values.to_fractions()
    assert _storm_values(to_drn(mdp), storm_property(mdp, 30), tmp_path) == ours


def test_storm_check_detects_a_wrong_value(tmp_path):
    mdp = turn_mdp(STORM_CONFIGS[0])
    ours = backward_induction(mdp, 5, 1).values.to_fractions()  # one step short
    assert _storm_values(to_drn(mdp), storm_property(mdp, 6), tmp_path) != ours
