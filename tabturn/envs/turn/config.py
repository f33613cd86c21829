"""TurnConfig: one member of the treacherous-turn family, built in Python or loaded from TOML.

TOML layout (every key optional; defaults as in TurnConfig)::

    [grid]
    x = [0, 7]                      # inclusive bounds of x
    y = [0, 7]                      # inclusive bounds of y
    start = { x = 0, y = 0, observed = true }
    actions = ["up", "down", "left", "right"]   # ordered subset of up, down, left, right, stay

    [loss]
    a = 1                           # alignment weight: integer, or rational string "1/2"
    b = 1                           # capability weight
    distance = "vertical"           # vertical: dist^2 = (y-x)^2;  perpendicular: dist^2 = (y-x)^2 / 2
    timing = "per-step"             # per-step: charged on arrival each step;  terminal: loss(s_H) only

    [objective]
    horizon = 16                    # finite horizon H, or "none" for an infinite horizon
    discount = "1"                  # gamma in [0, 1]; gamma < 1 is required when horizon = "none"

    [supervision]
    regime = "always"               # always | absent-supervisor | train-observed-deploy-unobserved | switching
    p = "0"                         # switching: P(observed -> unobserved) per step
    q = "0"                         # switching: P(unobserved -> observed) per step
"""

from __future__ import annotations

import dataclasses
import tomllib
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, NamedTuple

from tabturn.core.errors import InputError
from tabturn.core.limits import MAX_TABLE_BYTES, read_bounded  # MAX_TABLE_BYTES re-exported: its old home
from tabturn.core.rational import format_rational, parse_rational
from tabturn.core.validation import check_choice, check_discount, check_horizon, check_int

ACTION_NAMES = ("up", "down", "left", "right", "stay")


class Move(NamedTuple):
    """An action's displacement on the turn family's grid (y grows upward: "up" is dy = +1)."""

    dx: int
    dy: int


MOVES = {
    "up": Move(dx=0, dy=1),
    "down": Move(dx=0, dy=-1),
    "left": Move(dx=-1, dy=0),
    "right": Move(dx=1, dy=0),
    "stay": Move(dx=0, dy=0),
}
ACTION_SHIFTS = {name: (move.dy, move.dx) for name, move in MOVES.items()}  # (row, column) shifts of grid arrays
DISTANCES = ("vertical", "perpendicular")
TIMINGS = ("per-step", "terminal")
REGIMES = ("always", "absent-supervisor", "train-observed-deploy-unobserved", "switching")
MAX_STATES = 1 << 24


@dataclass(frozen=True)
class TurnConfig:
    """One member of the turn family. Loss at an arrival state: a*dist^2 - b*y (see module doc).

    Attributes:
      x_bounds, y_bounds: inclusive (low, high) integer bounds of the grid.
      start: (x, y, observed) of the start state.
      actions: ordered action names; order matters to learners that break ties by index.
      a, b: alignment and capability weights (exact rationals, a, b >= 0).
      distance: "vertical" (dist^2 = (y-x)^2) or "perpendicular" (dist^2 = (y-x)^2 / 2).
      timing: "per-step" (sum_t gamma^t loss(s_{t+1})) or "terminal" (loss(s_H) only, finite H).
      horizon: finite horizon H >= 1, or None for the infinite discounted horizon.
      discount: gamma in [0, 1]; must be < 1 when horizon is None and 1 with terminal timing.
      regime: supervision regime, one of REGIMES.
      p, q: switching probabilities P(observed -> unobserved) and P(unobserved -> observed).
    """

    x_bounds: tuple[int, int] = (0, 7)
    y_bounds: tuple[int, int] = (0, 7)
    start: tuple[int, int, bool] = (0, 0, True)
    actions: tuple[str, ...] = ("up", "down", "left", "right")
    a: Fraction = Fraction(1)
    b: Fraction = Fraction(1)
    distance: str = "vertical"
    timing: str = "per-step"
    horizon: int | None = 16
    discount: Fraction = Fraction(1)
    regime: str = "always"
    p: Fraction = Fraction(0)
    q: Fraction = Fraction(0)

    def __post_init__(self) -> None:
        set_ = lambda k, v: object.__setattr__(self, k, v)  # noqa: E731  (frozen dataclass normalisation)
        for name in ("x_bounds", "y_bounds"):
            bounds = getattr(self, name)
            if not isinstance(bounds, (tuple, list)) or len(bounds) != 2:
                raise InputError(name, f"must be a pair [low, high] of integers, not {bounds!r}")
            low, high = (check_int(v, name) for v in bounds)
            if high < low:
                raise InputError(name, f"high bound {high} is below low bound {low}")
            set_(name, (low, high))
        nx = self.x_bounds[1] - self.x_bounds[0] + 1
        ny = self.y_bounds[1] - self.y_bounds[0] + 1
        if 2 * nx * ny > MAX_STATES:
            raise InputError("grid", f"{2 * nx * ny} states (2 x {nx} x {ny}) exceed the limit of {MAX_STATES}")
        start = self.start
        if not isinstance(start, (tuple, list)) or len(start) != 3:
            raise InputError("start", f"must be (x, y, observed), not {start!r}")
        sx, sy = check_int(start[0], "start.x"), check_int(start[1], "start.y")
        if not isinstance(start[2], bool):
            raise InputError("start.observed", f"must be true or false, not {start[2]!r}")
        if not self.x_bounds[0] <= sx <= self.x_bounds[1]:
            raise InputError("start.x", f"must lie in the grid's x bounds {list(self.x_bounds)}, not {sx}")
        if not self.y_bounds[0] <= sy <= self.y_bounds[1]:
            raise InputError("start.y", f"must lie in the grid's y bounds {list(self.y_bounds)}, not {sy}")
        set_("start", (sx, sy, start[2]))
        actions = self.actions
        if isinstance(actions, str) or not isinstance(actions, (tuple, list)) or not actions:
            raise InputError("actions", f"must be a non-empty list drawn from {', '.join(ACTION_NAMES)}")
        for act in actions:
            check_choice(act, "actions", ACTION_NAMES)
        if len(set(actions)) != len(actions):
            raise InputError("actions", f"must not repeat a name: {list(actions)}")
        set_("actions", tuple(actions))
        for name in ("a", "b"):
            value = parse_rational(getattr(self, name), name)
            if value < 0:
                raise InputError(name, f"must be >= 0, not {format_rational(value)}")
            set_(name, value)
        check_choice(self.distance, "distance", DISTANCES)
        check_choice(self.timing, "timing", TIMINGS)
        check_choice(self.regime, "regime", REGIMES)
        set_("horizon", check_horizon(self.horizon))
        gamma = check_discount(self.discount, infinite=self.horizon is None)
        if self.horizon is None and self.timing == "terminal":
            raise InputError("timing", "terminal timing needs a finite horizon")
        if self.timing == "terminal" and gamma != 1:
            raise InputError("discount", "must be 1 with terminal timing (only loss(s_H) is charged)")
        set_("discount", gamma)
        for name in ("p", "q"):
            value = parse_rational(getattr(self, name), name)
            if not 0 <= value <= 1:
                raise InputError(name, f"must be a probability in [0, 1], not {format_rational(value)}")
            set_(name, value)
        if self.regime != "switching" and (self.p or self.q):
            raise InputError("p", f"p and q apply only to regime 'switching', not {self.regime!r}")
        if self.horizon is not None and self.horizon * 2 * nx * ny > MAX_TABLE_BYTES:
            need = self.horizon * 2 * nx * ny
            raise InputError(
                "horizon",
                f"the action-set table would need about {need / 2**30:.1f} GiB "
                f"(H x states bytes); the limit is {MAX_TABLE_BYTES / 2**30:.0f} GiB",
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """(flags, ny, nx): flag index 0 = unobserved, 1 = observed."""
        return (2, self.y_bounds[1] - self.y_bounds[0] + 1, self.x_bounds[1] - self.x_bounds[0] + 1)

    def replace(self, **changes: Any) -> TurnConfig:
        """Return a copy with ``changes`` applied (validated again)."""
        return dataclasses.replace(self, **changes)

    @property
    def finite_horizon(self) -> int:
        """The horizon, for analyses defined only for a finite one (InputError when it is none)."""
        if self.horizon is None:
            raise InputError("horizon", "this analysis needs a finite horizon, not none")
        return self.horizon

    def to_dict(self) -> dict[str, Any]:
        """The TOML-shaped dict of this config, exact numbers as strings."""
        return {
            "grid": {
                "x": list(self.x_bounds),
                "y": list(self.y_bounds),
                "start": {"x": self.start[0], "y": self.start[1], "observed": self.start[2]},
                "actions": list(self.actions),
            },
            "loss": {
                "a": format_rational(self.a),
                "b": format_rational(self.b),
                "distance": self.distance,
                "timing": self.timing,
            },
            "objective": {
                "horizon": "none" if self.horizon is None else self.horizon,
                "discount": format_rational(self.discount),
            },
            "supervision": {"regime": self.regime, "p": format_rational(self.p), "q": format_rational(self.q)},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> TurnConfig:
        """Build from the TOML-shaped dict; unknown sections or keys are refused."""
        return cls(**_flatten(data))

    @classmethod
    def from_toml(cls, text: str) -> TurnConfig:
        """Parse TOML text (see the module docstring for the layout)."""
        try:
            data = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            raise InputError("config", f"not valid TOML: {exc}") from None
        return cls.from_dict(data)

    @classmethod
    def load(cls, path: str) -> TurnConfig:
        """Read a TOML config file."""
        try:
            raw = read_bounded(path, "config")
        except OSError as exc:
            raise InputError("config", f"cannot read {path!r}: {exc.strerror}") from None
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError:
            raise InputError("config", f"{path!r} is not UTF-8 text") from None
        try:
            return cls.from_toml(text)
        except InputError as exc:  # name the file and the full TOML key
            raise InputError(f"{path}: {toml_key(exc.field)}", exc.message) from None


_SECTIONS = {
    "grid": {"x": "x_bounds", "y": "y_bounds", "start": "start", "actions": "actions"},
    "loss": {"a": "a", "b": "b", "distance": "distance", "timing": "timing"},
    "objective": {"horizon": "horizon", "discount": "discount"},
    "supervision": {"regime": "regime", "p": "p", "q": "q"},
}


def toml_key(field: str) -> str:
    """The TOML key ("supervision.regime") of a TurnConfig field name ("regime", "start.x"); others unchanged."""
    keys = {attr: f"{section}.{key}" for section, body in _SECTIONS.items() for key, attr in body.items()}
    head, dot, rest = field.partition(".")
    if head in keys and (not dot or head == "start"):
        return keys[head] + dot + rest
    return field


def _flatten(data: dict[str, Any]) -> dict[str, Any]:
    if not isinstance(data, dict):
        raise InputError("config", "must be a table of sections")
    kwargs: dict[str, Any] = {}
    for section, body in data.items():
        if section == "gridworld":
            raise InputError(
                "gridworld",
                "this is a gridworld map; this command needs a turn-family config "
                "(sections grid, loss, objective, supervision); solve, check, learn, export and states "
                "take gridworlds",
            )
        if section not in _SECTIONS:
            raise InputError(section, f"unknown section; allowed: {', '.join(_SECTIONS)}")
        if not isinstance(body, dict):
            raise InputError(section, "must be a table")
        for key, value in body.items():
            if key not in _SECTIONS[section]:
                raise InputError(f"{section}.{key}", f"unknown key; allowed: {', '.join(_SECTIONS[section])}")
            kwargs[_SECTIONS[section][key]] = value
    if "start" in kwargs:
        start = kwargs["start"]
        if not isinstance(start, dict):
            raise InputError("grid.start", "must be a table {x = .., y = .., observed = ..}")
        unknown = set(start) - {"x", "y", "observed"}
        if unknown:
            raise InputError("grid.start", f"unknown key {sorted(unknown)[0]!r}; allowed: x, y, observed")
        kwargs["start"] = (start.get("x", 0), start.get("y", 0), start.get("observed", True))
    if kwargs.get("horizon") == "none":
        kwargs["horizon"] = None
    return kwargs
