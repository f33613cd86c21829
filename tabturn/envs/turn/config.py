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
                                    # | supervised-until
    p = "0"                         # switching: P(observed -> unobserved) per step
    q = "0"                         # switching: P(unobserved -> observed) per step
    switch_step = 5                 # supervised-until: steps 0..k-1 are observed, steps k.. unobserved
    switch_steps = { 5 = "1/2", 8 = "1/2" }   # or: a known distribution of k (instead of switch_step)

Under supervised-until the flag of the state at step t says whether step t is supervised (t < k): the loss of a
step taken while observed carries the alignment term, and the flag turns unobserved at step k for the rest of the
episode. The state also holds the step while observed (the clock that decides when the flag turns), so its
states are (x, y, observed, clock); see tabturn.envs.turn.model.
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
REGIMES = ("always", "absent-supervisor", "train-observed-deploy-unobserved", "switching", "supervised-until")
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
      switch_steps: supervised-until: ((k, probability), ...) of the step k at which supervision ends (steps
        0..k-1 observed), increasing k, probabilities summing to 1; one pair (k, 1) for a known step.
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
    switch_steps: tuple[tuple[int, Fraction], ...] = ()

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
        check_choice(self.regime, "regime", REGIMES)
        set_("switch_steps", _switch_steps(self.switch_steps, self.regime))
        _switch_within(self.switch_steps, self.horizon)  # before the state count, which a huge k would blow up
        phases = self.phases
        if phases * nx * ny > MAX_STATES:
            raise InputError(
                "grid", f"{phases * nx * ny} states ({phases} x {nx} x {ny}) exceed the limit of {MAX_STATES}"
            )
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
        if self.regime == "supervised-until":
            if self.horizon is None:
                raise InputError("horizon", "regime supervised-until needs a finite horizon")
            if not self.start[2]:
                raise InputError("start.observed", "must be true under supervised-until (supervision ends at step k)")
            if self.switch_steps[-1][0] > self.horizon:
                raise InputError(
                    "switch_step", f"must be <= the horizon {self.horizon}, not {self.switch_steps[-1][0]}"
                )
        if self.horizon is not None and self.horizon * phases * nx * ny > MAX_TABLE_BYTES:
            need = self.horizon * phases * nx * ny
            raise InputError(
                "horizon",
                f"the action-set table would need about {need / 2**30:.1f} GiB "
                f"(H x states bytes); the limit is {MAX_TABLE_BYTES / 2**30:.0f} GiB",
            )

    @property
    def shape(self) -> tuple[int, int, int]:
        """(flags, ny, nx): flag index 0 = unobserved, 1 = observed."""
        return (2, self.y_bounds[1] - self.y_bounds[0] + 1, self.x_bounds[1] - self.x_bounds[0] + 1)

    @property
    def phases(self) -> int:
        """Layers of (ny, nx) cells in the state space: the two flags, or under supervised-until the unobserved
        layer and one observed layer per step before the last switch step (the clock)."""
        return 1 + self.switch_steps[-1][0] if self.regime == "supervised-until" else 2

    @property
    def switch_step(self) -> int | None:
        """The step k at which supervision ends when it is known (supervised-until with one k), else None."""
        return self.switch_steps[0][0] if len(self.switch_steps) == 1 else None

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
            "supervision": {"regime": self.regime, "p": format_rational(self.p), "q": format_rational(self.q)}
            | _switch_dict(self.switch_steps),
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
    "supervision": {
        "regime": "regime",
        "p": "p",
        "q": "q",
        "switch_step": "switch_step",
        "switch_steps": "switch_steps",
    },
}


def _switch_steps(value: Any, regime: str) -> tuple[tuple[int, Fraction], ...]:
    """The supervised-until switch distribution as sorted (k, probability) pairs (empty for other regimes)."""
    if regime != "supervised-until":
        if value:
            raise InputError("switch_step", f"applies only to regime 'supervised-until', not {regime!r}")
        return ()
    if isinstance(value, (dict, tuple, list)) and not value or value is None:
        raise InputError("switch_step", "regime supervised-until needs switch_step = k (or switch_steps = {k = p})")
    pairs = value.items() if isinstance(value, dict) else value
    out: dict[int, Fraction] = {}
    for pair in pairs:
        if not isinstance(pair, (tuple, list)) or len(pair) != 2:
            raise InputError("switch_steps", f"must map steps to probabilities, not {value!r}")
        k, prob = pair
        if isinstance(k, str) and k.strip().isdigit():
            k = int(k)
        k = check_int(k, "switch_steps", 1)
        prob = parse_rational(prob, f"switch_steps.{k}")
        if not 0 < prob <= 1:
            raise InputError(f"switch_steps.{k}", f"must be a probability in (0, 1], not {format_rational(prob)}")
        if k in out:
            raise InputError("switch_steps", f"names step {k} twice")
        out[k] = prob
    if sum(out.values()) != 1:
        raise InputError("switch_steps", f"probabilities must sum to 1, not {format_rational(sum(out.values()))}")
    return tuple(sorted(out.items()))


def _switch_within(steps: tuple[tuple[int, Fraction], ...], horizon: Any) -> None:
    """Refuse a switch step beyond a finite integer horizon."""
    if steps and isinstance(horizon, int) and not isinstance(horizon, bool) and steps[-1][0] > horizon:
        raise InputError("switch_step", f"must be <= the horizon {horizon}, not {steps[-1][0]}")


def _switch_dict(steps: tuple[tuple[int, Fraction], ...]) -> dict[str, Any]:
    """The TOML keys of a switch distribution: switch_step = k for a known step, else switch_steps."""
    if not steps:
        return {}
    if len(steps) == 1:
        return {"switch_step": steps[0][0]}
    return {"switch_steps": {str(k): format_rational(p) for k, p in steps}}


def toml_key(field: str) -> str:
    """The TOML key ("supervision.regime") of a TurnConfig field name ("regime", "start.x"); others unchanged."""
    keys = {attr: f"{section}.{key}" for section, body in _SECTIONS.items() for key, attr in body.items()}
    head, dot, rest = field.partition(".")
    if head in keys and (not dot or head in ("start", "switch_steps")):
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
    if "switch_step" in kwargs:
        if "switch_steps" in kwargs:
            raise InputError("supervision.switch_steps", "give switch_step or switch_steps, not both")
        kwargs["switch_steps"] = ((check_int(kwargs.pop("switch_step"), "switch_step", 1), 1),)
    elif "switch_steps" in kwargs and not isinstance(kwargs["switch_steps"], dict):
        raise InputError("supervision.switch_steps", "must be a table {k = probability}")
    return kwargs
