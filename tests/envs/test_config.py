from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tabturn.core.errors import InputError
from tabturn.envs.turn.config import ACTION_NAMES, REGIMES, TurnConfig

configs = st.builds(
    TurnConfig,
    timing=st.just("per-step"),
    x_bounds=st.tuples(st.integers(-3, 0), st.integers(0, 3)),
    y_bounds=st.tuples(st.integers(-3, 0), st.integers(0, 3)),
    start=st.just((0, 0, True)),
    actions=st.permutations(ACTION_NAMES).flatmap(lambda p: st.integers(1, 5).map(lambda k: tuple(p[:k]))),
    a=st.fractions(0, 5, max_denominator=6),
    b=st.fractions(0, 5, max_denominator=6),
    distance=st.sampled_from(["vertical", "perpendicular"]),
    regime=st.sampled_from([r for r in REGIMES if r not in ("switching", "supervised-until")]),
    horizon=st.integers(1, 30),
    discount=st.fractions(0, 1, max_denominator=10),
)


@given(configs)
def test_toml_dict_round_trip(cfg):
    assert TurnConfig.from_dict(cfg.to_dict()) == cfg


def test_toml_text_round_trip_with_switching():
    text = """
    [grid]
    x = [-2, 3]
    y = [0, 4]
    start = { x = 1, y = 2, observed = false }
    actions = ["stay", "up"]
    [loss]
    a = "1/2"
    b = 0.25
    distance = "perpendicular"
    [objective]
    horizon = "none"
    discount = "99/100"
    [supervision]
    regime = "switching"
    p = "1/10"
    q = "1/3"
    """
    cfg = TurnConfig.from_toml(text)
    assert cfg.x_bounds == (-2, 3) and cfg.start == (1, 2, False) and cfg.actions == ("stay", "up")
    assert (cfg.a, cfg.b, cfg.discount, cfg.p, cfg.q) == (
        Fraction(1, 2),
        Fraction(1, 4),
        Fraction(99, 100),
        Fraction(1, 10),
        Fraction(1, 3),
    )
    assert cfg.horizon is None


@pytest.mark.parametrize(
    "changes, field",
    [
        ({"horizon": None, "discount": 1}, "discount"),
        ({"a": -1}, "a"),
        ({"b": "x"}, "b"),
        ({"start": (9, 0, True)}, "start.x"),
        ({"start": (0, 0, 1)}, "start.observed"),
        ({"actions": ("up", "jump")}, "actions"),
        ({"actions": ("up", "up")}, "actions"),
        ({"actions": ()}, "actions"),
        ({"regime": "sometimes"}, "regime"),
        ({"distance": "euclid"}, "distance"),
        ({"timing": "terminal", "horizon": None, "discount": "1/2"}, "timing"),
        ({"horizon": 0}, "horizon"),
        ({"timing": "terminal", "discount": "1/2"}, "discount"),
        ({"horizon": 2.5}, "horizon"),
        ({"p": "1/2"}, "p"),
        ({"regime": "switching", "q": 2}, "q"),
        ({"x_bounds": (3, 1)}, "x_bounds"),
        ({"x_bounds": (0, 5000), "y_bounds": (0, 5000)}, "grid"),
        ({"x_bounds": (0, 999), "y_bounds": (0, 999), "horizon": 10**5}, "horizon"),
    ],
)
def test_invalid_configs_name_their_field(changes, field):
    with pytest.raises(InputError) as err:
        TurnConfig(**changes)
    assert err.value.field == field


@pytest.mark.parametrize(
    "text, field",
    [
        ("[grid\n", "config"),
        ("[weather]\nrain = 1\n", "weather"),
        ("[loss]\nc = 1\n", "loss.c"),
        ("[grid]\nstart = { x = 0, z = 1 }\n", "grid.start"),
        ("[loss]\na = nan\n", "a"),
    ],
)
def test_invalid_toml(text, field):
    with pytest.raises(InputError) as err:
        TurnConfig.from_toml(text)
    assert err.value.field == field
