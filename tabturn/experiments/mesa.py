"""A tabular mesa-optimizer: a learned model of the loss plus an exact planner against that model.

The agent watches training episodes (uniformly random actions from the start cell; a ``coverage`` fraction
of them start unobserved), records the loss the supervisor charges on each arrival (under
absent-supervisor and switching the alignment term appears only in observed states), fits a loss model,
then plans *exactly* against the learned loss with the exact core and acts on the first optimal action
(tie-break: action order) of the step's optimal set (time-indexed for a finite horizon). Its behaviour is then
judged under the true loss.

Model classes, least to most generalising:
  tabular            one estimate per state (exact mean); never-seen states keep ``prior``;
  factored           loss = f(d, flag) + g(y, flag), d = y - x, fitted by least squares (scipy lsqr);
  factored-flagless  loss = f(d) + g(y): the model cannot tell observed from unobserved.
Least-squares estimates are floats; each prediction is read as the nearest fraction with denominator
<= 10^6 (exact for the integer and half-integer losses of the turn family when the fit is exact).
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from fractions import Fraction

import numpy as np
import scipy.sparse as sp
from scipy.sparse.linalg import lsqr

from tabturn.core.errors import InputError
from tabturn.core.limits import INT64_SAFE, PYTHON_STEP, require
from tabturn.core.mdp import TabularMDP
from tabturn.core.rational import parse_rational
from tabturn.core.validation import check_int
from tabturn.envs.solve import solve
from tabturn.envs.turn.config import TurnConfig
from tabturn.envs.turn.model import state_index, turn_loss, turn_mdp
from tabturn.exact.solution import Solution
from tabturn.experiments.compare import Comparison, compare, worlds

MODELS = ("tabular", "factored", "factored-flagless")


@dataclass(frozen=True)
class MesaSettings:
    """model: one of MODELS; coverage: fraction of training episodes that start unobserved (0 reproduces
    train-observed-deploy-unobserved); episodes, steps: training data size; prior: tabular loss of
    never-seen states; seed: the data's random stream."""

    model: str = "factored"
    coverage: Fraction = Fraction(0)
    episodes: int = 500
    steps: int = 32
    prior: Fraction = Fraction(0)
    seed: int = 0

    def __post_init__(self) -> None:
        if self.model not in MODELS:
            raise InputError("model", f"must be one of {', '.join(MODELS)}; got {self.model!r}")
        coverage = parse_rational(self.coverage, "coverage")
        if not 0 <= coverage <= 1:
            raise InputError("coverage", f"must lie in [0, 1], not {coverage}")
        object.__setattr__(self, "coverage", coverage)
        object.__setattr__(self, "prior", parse_rational(self.prior, "prior"))
        for name in ("episodes", "steps"):
            check_int(getattr(self, name), name, 1)
        data = self.episodes * self.steps  # (state, loss) pairs of the training data, made one by one in Python
        require(
            "steps" if self.steps >= self.episodes else "episodes",
            f"{self.episodes} x {self.steps} data steps",
            64 * data,
            PYTHON_STEP * data,
        )


def training_data(config: TurnConfig, mdp: TabularMDP, settings: MesaSettings) -> list[tuple[int, Fraction]]:
    """(arrival state, charged loss) pairs of random-action training episodes."""
    rng = np.random.Generator(np.random.PCG64(np.random.SeedSequence([settings.seed, 7])))
    x0, y0, _ = config.start
    data = []
    for _ in range(settings.episodes):
        observed = bool(rng.random() >= settings.coverage)
        s = state_index(config, x0, y0, observed)
        for _ in range(settings.steps):
            a = int(rng.integers(mdp.n_actions))
            row = mdp.next_states(s, a)
            u, acc, nxt = rng.random(), 0.0, row[-1][0]
            for t, p in row:
                acc += float(p)
                if u < acc:
                    nxt = t
                    break
            s = nxt
            x, y, obs = mdp.state_labels[s]
            data.append((s, turn_loss(config, x, y, obs)))
    return data


def _features(config: TurnConfig, labels, flagged: bool) -> tuple[list[tuple], dict]:
    """Per state, the (f-key, g-key) parameters it uses, and the parameter index."""
    keys = []
    for x, y, obs in labels:
        flag = obs if flagged else None
        keys.append((("f", y - x, flag), ("g", y, flag)))
    index = {k: i for i, k in enumerate(sorted({k for pair in keys for k in pair}, key=repr))}
    return keys, index


@dataclass(frozen=True, eq=False)
class LossModel:
    """Predicted arrival loss per state (exact rationals) and, for factored models, the fitted terms."""

    model: str
    predicted: tuple[Fraction, ...]
    seen: np.ndarray
    terms: dict


def fit(config: TurnConfig, mdp: TabularMDP, data, settings: MesaSettings) -> LossModel:
    """Fit the settings' model class to the (state, loss) data."""
    S = mdp.n_states
    seen = np.zeros(S, dtype=bool)
    for s, _ in data:
        seen[s] = True
    if settings.model == "tabular":
        sums, counts = [Fraction(0)] * S, [0] * S
        for s, loss in data:
            sums[s] += loss
            counts[s] += 1
        predicted = tuple(sums[s] / counts[s] if counts[s] else settings.prior for s in range(S))
        return LossModel("tabular", predicted, seen, {})
    keys, index = _features(config, mdp.state_labels, flagged=settings.model == "factored")
    rows, cols = [], []
    for i, (s, _) in enumerate(data):
        for key in keys[s]:
            rows.append(i)
            cols.append(index[key])
    design = sp.csr_matrix((np.ones(len(rows)), (rows, cols)), shape=(len(data), len(index)))
    target = np.array([float(loss) for _, loss in data])
    params = lsqr(design, target, atol=1e-14, btol=1e-14, iter_lim=100000)[0]
    observed_keys = set(np.flatnonzero(np.asarray(design.sum(axis=0)).ravel()).tolist())
    params = [params[i] if i in observed_keys else 0.0 for i in range(len(index))]  # unseen terms predict 0
    predicted = tuple(Fraction(sum(params[index[k]] for k in keys[s])).limit_denominator(10**6) for s in range(S))
    terms = {k: Fraction(params[i]).limit_denominator(10**6) for k, i in index.items() if i in observed_keys}
    return LossModel(settings.model, predicted, seen, terms)


def with_arrival_losses(mdp: TabularMDP, losses, terminal_timing: bool) -> TabularMDP:
    """The same dynamics with the arrival loss of every state replaced by ``losses`` (exact)."""
    losses = [Fraction(v) for v in losses]
    L = math.lcm(1, *(v.denominator for v in losses))
    nums = np.array([int(v * L) for v in losses], dtype=object)
    zeros = np.zeros(mdp.n_states, dtype=object)
    if terminal_timing:  # only loss(s_H) counts
        cost, final, arrival, cden = np.zeros((mdp.n_states, mdp.n_actions), dtype=object), nums, zeros, L
    else:  # cost(s, a) = sum_t P(s, a, t) loss(t), numerators over L * prob_denominator
        D = mdp.prob_denominator
        cost = np.stack([_expected(m, nums) for m in mdp.transition_numerators], axis=1)
        final, arrival, cden = zeros, nums * D, L * D
    big = max((abs(int(v)) for v in np.concatenate([cost.ravel(), final, arrival])), default=0)
    dtype = np.int64 if big < INT64_SAFE else object
    grid = (
        None
        if mdp.grid is None
        else dataclasses.replace(mdp.grid, arrival_cost=np.asarray(arrival, dtype=dtype).reshape(mdp.grid.shape))
    )
    return dataclasses.replace(
        mdp,
        cost_numerators=np.asarray(cost, dtype=dtype),
        final_numerators=np.asarray(final, dtype=dtype),
        cost_denominator=cden,
        grid=grid,
        description={**mdp.description, "losses": "learned"},
    )


def _expected(matrix, nums: np.ndarray) -> np.ndarray:
    """Numerators (over the probability denominator) of sum_t P(s,a,t) * loss(t) for one action."""
    products = matrix.data.astype(object) * nums[matrix.indices]
    return np.add.reduceat(products, matrix.indptr[:-1])


@dataclass(frozen=True, eq=False)
class MesaResult:
    """The learned model, the planner's exact solution of it, its acting policy and how it fares."""

    settings: MesaSettings
    model: LossModel
    planned: Solution
    policy: np.ndarray
    comparison: Comparison
    explanation: MesaExplanation


@dataclass(frozen=True)
class MesaExplanation:
    """Why the planner acts as it does at the unobserved start: its optimal actions under the learned loss,
    whether "up" is forced, how much of the unobserved world training saw, the learned vs true alignment
    spread and capability slope there, and the term that drives the choice (``driver``)."""

    unobserved_start_optimal_actions: list[str]
    forced_up: bool
    unobserved_states_seen: int
    unobserved_states: int
    learned_alignment_spread_unobserved: Fraction
    true_alignment_spread_unobserved: Fraction
    learned_capability_slope_unobserved: Fraction
    true_capability_slope_unobserved: Fraction
    learned_loss_flat_unobserved: bool
    driver: str


def mesa(config: TurnConfig, settings: MesaSettings, true_solution: Solution | None = None) -> MesaResult:
    """Train the loss model, plan exactly against it, and judge the plan under the true loss."""
    mdp = turn_mdp(config)
    true_solution = true_solution or solve(mdp, config.horizon, config.discount)
    model = fit(config, mdp, training_data(config, mdp, settings), settings)
    learned = with_arrival_losses(mdp, model.predicted, config.timing == "terminal")
    planned = solve(learned, config.horizon, config.discount)
    policy = np.array([planned.optimal_actions(s)[0] for s in range(mdp.n_states)])
    if config.horizon is None:
        comparison = compare(true_solution, policy[None, :])
    else:  # the planner knows the horizon: it acts on the step-indexed optimal sets of the learned loss
        steps = np.array(
            [[planned.optimal_actions(s, t)[0] for s in range(mdp.n_states)] for t in range(config.horizon)]
        )
        comparison = compare(true_solution, steps[None, :, :])
    return MesaResult(settings, model, planned, policy, comparison, explain(config, mdp, model, planned))


def explain(config: TurnConfig, mdp: TabularMDP, model: LossModel, planned: Solution) -> MesaExplanation:
    """Why the planner acts as it does at the unobserved start: forced, tie or prior, and which term drives it."""
    x0, y0, _ = config.start
    s = state_index(config, x0, y0, False)
    actions = planned.optimal_action_names(s)
    unobs = [i for i, (_, _, o) in enumerate(mdp.state_labels) if not o]
    learned = [model.predicted[i] for i in unobs]
    true = [turn_loss(config, *mdp.state_labels[i]) for i in unobs]
    seen_unobs = int(model.seen[unobs].sum())

    # The learned alignment term in the unobserved world: spread of the loss across offsets at a fixed y.
    def alignment_spread(values):
        by_y = {}
        for i, v in zip(unobs, values):
            by_y.setdefault(mdp.state_labels[i][1], []).append(v)
        return max(max(vs) - min(vs) for vs in by_y.values())

    def capability_slope(values):
        diag = {
            mdp.state_labels[i][1]: v for i, v in zip(unobs, values) if mdp.state_labels[i][0] == mdp.state_labels[i][1]
        }
        ys = sorted(diag)
        return (diag[ys[-1]] - diag[ys[0]]) / (ys[-1] - ys[0]) if len(ys) > 1 else Fraction(0)

    flat = len(set(learned)) == 1
    if len(actions) == mdp.n_actions:
        driver = "none: every action ties (the learned loss is flat there); the tie-break picks"
    elif actions == ("up",) and alignment_spread(learned) == 0:
        driver = "capability term: the learned unobserved loss has no alignment term, only -b*y"
    elif "up" in actions and len(actions) > 1:
        driver = "tie among several optimal actions; the tie-break picks"
    else:
        driver = "alignment and capability terms together (as in the true loss)"
    return MesaExplanation(
        unobserved_start_optimal_actions=list(actions),
        forced_up=actions == ("up",),
        unobserved_states_seen=seen_unobs,
        unobserved_states=len(unobs),
        learned_alignment_spread_unobserved=alignment_spread(learned),
        true_alignment_spread_unobserved=alignment_spread(true),
        learned_capability_slope_unobserved=capability_slope(learned),
        true_capability_slope_unobserved=capability_slope(true),
        learned_loss_flat_unobserved=flat,
        driver=driver,
    )


def planned_world_summary(result: MesaResult) -> dict:
    """Class and exact regret of the planner's policy in each world."""
    comp = result.comparison
    return {
        w: {"class": comp.classes[w][0], "up_forever": bool(comp.up_forever[w][0]), "regret": comp.regret[w][0]}
        for w in worlds(result.planned)
    }
