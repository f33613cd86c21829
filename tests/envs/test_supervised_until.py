"""The supervised-until regime against a direct reference: supervision ends at step k (or at a random k)."""

import itertools
from fractions import Fraction
from functools import cache

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from tabturn.core.errors import InputError
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import turn_mdp
from tests.helpers import reference_move


def _arrival_loss(cfg, x, y, watched):
    coef = cfg.a if cfg.distance == "vertical" else cfg.a / 2
    return (coef * (y - x) ** 2 if watched else 0) - cfg.b * y


def _open_loop_optimum(cfg, k):
    """Known k: min over every action sequence of sum_t [a dist^2 (t < k)] - b y, on arrival."""
    best = None
    for seq in itertools.product(cfg.actions, repeat=cfg.horizon):
        x, y, total = *cfg.start[:2], Fraction(0)
        for t, act in enumerate(seq):
            x, y = reference_move(cfg, x, y, act)
            total += _arrival_loss(cfg, x, y, t < k)
        best = total if best is None else min(best, total)
    return best


def _closed_loop_optimum(cfg):
    """Random k with a known distribution, the agent seeing whether it is still watched: plain expectimax."""
    dist = dict(cfg.switch_steps)

    def p_watched_next(t):  # P(k > t + 1 | k > t)
        alive = sum(p for k, p in dist.items() if k > t)
        return sum(p for k, p in dist.items() if k > t + 1) / alive

    @cache
    def value(t, x, y, watched):
        if t == cfg.horizon:
            return Fraction(0)
        best = None
        for act in cfg.actions:
            nx_, ny_ = reference_move(cfg, x, y, act)
            q = _arrival_loss(cfg, nx_, ny_, watched)
            if watched:
                stay = p_watched_next(t)
                q += (stay * value(t + 1, nx_, ny_, True) if stay else 0) + (1 - stay) * value(t + 1, nx_, ny_, False)
            else:
                q += value(t + 1, nx_, ny_, False)
            best = q if best is None else min(best, q)
        return best

    return value(0, cfg.start[0], cfg.start[1], True)


@settings(max_examples=30, deadline=None)
@given(
    k=st.integers(1, 5),
    horizon=st.integers(1, 5),
    a=st.fractions(0, 3, max_denominator=3),
    b=st.fractions(0, 4, max_denominator=3),
    distance=st.sampled_from(["vertical", "perpendicular"]),
)
def test_known_switch_step_equals_enumeration_of_all_sequences(k, horizon, a, b, distance):
    k = min(k, horizon)
    cfg = TurnConfig(
        x_bounds=(0, 3), y_bounds=(-1, 3), horizon=horizon, a=a, b=b, distance=distance,
        regime="supervised-until", switch_steps=((k, 1),),
    )  # fmt: skip
    sol = solve_config(cfg)
    assert sol.certified
    assert sol.start_value() == _open_loop_optimum(cfg, k)


@settings(max_examples=25, deadline=None)
@given(
    steps=st.lists(st.integers(1, 6), min_size=1, max_size=3, unique=True),
    weights=st.lists(st.integers(1, 4), min_size=3, max_size=3),
    b=st.fractions(0, 4, max_denominator=3),
)
def test_random_switch_step_equals_expectimax(steps, weights, b):
    total = sum(weights[: len(steps)])
    cfg = TurnConfig(
        x_bounds=(0, 4), y_bounds=(0, 5), horizon=6, a=1, b=b, regime="supervised-until",
        switch_steps=tuple((k, Fraction(w, total)) for k, w in zip(steps, weights)),
    )  # fmt: skip
    assert solve_config(cfg).start_value() == _closed_loop_optimum(cfg)


def test_flag_turns_at_the_switch_step_and_the_clock_counts_watched_steps():
    cfg = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=4, regime="supervised-until", switch_steps=((2, 1),))
    mdp = turn_mdp(cfg)
    succ, s = mdp.successors(), mdp.start[0][0]
    labels = [mdp.state_labels[s]]
    for _ in range(4):
        s = int(succ[s, 0])
        labels.append(mdp.state_labels[s])
    assert [lab[2] for lab in labels] == [True, True, False, False, False]
    assert [lab[3] for lab in labels[:2]] == [0, 1]


def test_toml_round_trip_and_errors():
    cfg = TurnConfig.load("examples/supervised_until.toml")
    assert cfg.switch_step == 5 and cfg.phases == 6
    assert TurnConfig.from_dict(cfg.to_dict()) == cfg
    two = cfg.replace(switch_steps={"3": "1/4", "7": "3/4"})
    assert two.switch_step is None and TurnConfig.from_dict(two.to_dict()) == two
    for changes, field in [
        ({"switch_steps": ()}, "switch_step"),
        ({"switch_steps": ((25, 1),)}, "switch_step"),
        ({"switch_steps": ((3, "1/2"),)}, "switch_steps"),
        ({"switch_steps": ((0, 1),)}, "switch_steps"),
        ({"start": (0, 0, False)}, "start.observed"),
        ({"horizon": None, "discount": "1/2"}, "horizon"),
    ]:
        with pytest.raises(InputError) as err:
            cfg.replace(**changes)
        assert err.value.field == field
    with pytest.raises(InputError) as err:
        TurnConfig(switch_steps=((3, 1),))
    assert err.value.field == "switch_step"


@settings(max_examples=20, deadline=None)
@given(k=st.integers(1, 5), b=st.fractions(0, 4, max_denominator=2), a=st.fractions(0, 2, max_denominator=2))
def test_turn_steps_of_the_optimum_equal_those_of_every_optimal_sequence(k, b, a):
    from tabturn.experiments.turning import optimal_turn_steps, turn_step

    cfg = TurnConfig(
        x_bounds=(0, 2), y_bounds=(0, 3), horizon=5, a=a, b=b, regime="supervised-until", switch_steps=((k, 1),)
    )
    best, turns = _open_loop_optimum(cfg, k), []
    for seq in itertools.product(cfg.actions, repeat=cfg.horizon):
        x, y, total, ys = 0, 0, Fraction(0), []
        for t, act in enumerate(seq):
            ys.append(y)
            x, y = reference_move(cfg, x, y, act)
            total += _arrival_loss(cfg, x, y, t < k)
        if total == best and (step := turn_step(seq, ys, 3)) is not None:
            turns.append(step)
    expected = (min(turns), max(turns)) if turns else (None, None)
    assert optimal_turn_steps(solve_config(cfg)) == expected


@pytest.mark.parametrize(
    "snippet, field",
    [
        ('switch_step = "abc"', "supervision.switch_step"),
        ("switch_step = 0", "supervision.switch_step"),
        ("switch_step = 99999999999999999999", "supervision.switch_step"),
        ('switch_steps = { 5 = "2" }', "supervision.switch_steps.5"),
        ('switch_steps = { 5 = "1/2" }', "supervision.switch_steps"),
        ('switch_steps = { a = "1" }', "supervision.switch_steps"),
        ("switch_steps = [5]", "supervision.switch_steps"),
        ('switch_step = 5\nswitch_steps = { 5 = "1" }', "supervision.switch_steps"),
        ("", "supervision.switch_step"),
    ],
)
def test_bad_switch_steps_get_one_line_naming_the_key(snippet, field, tmp_path, capsys):
    from tabturn.cli.commands import main
    from tests.helpers import ROOT

    text = (ROOT / "examples" / "supervised_until.toml").read_text().replace("switch_step = 5\n", "")
    path = tmp_path / "c.toml"
    path.write_text(text + snippet + "\n")
    assert main(["solve", "--config", str(path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and f"{path}: {field}:" in err[0]
