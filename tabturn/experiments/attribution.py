"""Attribution: is a learned behaviour an optimum, policy-class, value-aliasing, training or coverage effect?

One definition, used by every report script (``verdict``). For one behaviour in one world it weighs:

- the exact optimum: does some optimal policy from the world's start show the behaviour?
- coverage: a world training never visited acts by initial value and tie-break (*unvisited*); a seed whose greedy
  policy from the world's start reaches a state (or state-step) training never updated is left out of the counts,
  and a behaviour no seed shows on a fully trained path is *untrained-path*;
- converged agents (>= 99% exactly optimal in the trained world): a behaviour that vanishes there but not at the
  default budget is a *training* effect; one that persists with a stationary table but vanishes with a
  step-indexed table trained the same way is a *policy-class* effect when no stationary deterministic policy is
  exactly optimal from the world's start (decided exactly by tabturn.exact.stationary), and a *value-aliasing*
  effect when one is (the class holds an optimum, but a stationary table's targets mix values of different
  steps, so the learner does not find it);
- optimum-neutral factors (tie-break, action order, base seed) among converged agents: a behaviour the optimum
  allows that persists and does not move with them is an *optimum* effect; one that moves picks among optimal
  actions by the tie-break, a training effect.

"Moves" and "vanishes" are decided by a chi-square test of homogeneity at p < ALPHA
(tabturn.core.stats.homogeneity_p, the test of scipy.stats.chi2_contingency); "vanishes" also needs a share of at
most VANISH.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from tabturn.core.stats import homogeneity_p
from tabturn.exact.solution import Solution
from tabturn.exact.stationary import StationaryOptimum
from tabturn.experiments.compare import Comparison, worlds

ALPHA = 0.01
VANISH = 0.01  # the share of seeds a converged study may still miss (99% exactly optimal)
BEHAVIOURS = ("not-optimal", "up-forever", "first-move-off", "any-down")
# not-optimal: exact regret > 0 from the world's start; up-forever: the greedy path from the start goes up at every
# step (optimal or not); first-move-off: the greedy first move is outside the optimal set; any-down: the greedy
# path moves down at some step.
CAUSES = (
    "optimum",
    "policy-class",
    "value-aliasing",
    "training",
    "unvisited",
    "untrained-path",
    "absent",
    "undetermined",
)
NEUTRAL, TRAINING = "optimum-neutral", "training-only"
Level = tuple[str, str, str, dict[str, Any], int]  # (factor, kind, level label, settings overrides, base seed)


@dataclass(frozen=True)
class Count:
    """k of n seeds show the behaviour."""

    k: int
    n: int

    @property
    def share(self) -> float:
        return self.k / self.n if self.n else 0.0

    def __str__(self) -> str:
        return f"{self.k}/{self.n}"


@dataclass(frozen=True)
class Evidence:
    """What the verdict on one behaviour in one world is based on.

    Attributes:
      allowed: some exactly optimal policy shows the behaviour from the world's start.
      unvisited: no seed ever visited the world in training.
      untrained: no seed's greedy policy from the world's start stays on trained states (and some visited it).
      default: the behaviour at the default (reference) settings.
      converged: the behaviour among agents trained until >= 99% are exactly optimal, or None when the study
        has no converged agents.
      converged_label: how the converged agents were trained (table, recipe, budget), for the evidence text.
      stationary: a stationary table trained exactly like ``converged`` (finite horizons), or None.
      stationary_class: the exact answer to "is some stationary deterministic policy optimal from the world's
        start?" (tabturn.exact.stationary), or None when no stationary contrast was run.
      neutral: {factor: {level: Count}} optimum-neutral factors among converged agents.
      training: {factor: {level: Count}} training-only factors (epsilon, step size, episodes) at the default.
    """

    allowed: bool
    unvisited: bool
    default: Count
    converged: Count | None = None
    converged_label: str = ""
    stationary: Count | None = None
    stationary_class: StationaryOptimum | None = None
    untrained: bool = False
    neutral: dict[str, dict[str, Count]] = field(default_factory=dict)
    training: dict[str, dict[str, Count]] = field(default_factory=dict)


@dataclass(frozen=True)
class Verdict:
    """cause: one of CAUSES; evidence: the factor, budget, fractions and p-values behind it."""

    cause: str
    evidence: str
    p_values: dict[str, float]


def moves(counts: list[Count]) -> float:
    """p-value of the chi-square homogeneity test across ``counts`` (1.0 when nothing varies)."""
    arr = np.array([[c.k, c.n - c.k] for c in counts])
    arr = arr[arr.sum(axis=1) > 0]
    arr = arr[:, arr.sum(axis=0) > 0]
    if arr.shape[0] < 2 or arr.shape[1] < 2:
        return 1.0
    return homogeneity_p(arr)


def _shares(counts: dict[str, Count]) -> str:
    return ", ".join(f"{level} {c.share:.3f}" for level, c in counts.items())


def verdict(e: Evidence) -> Verdict:
    """The cause of one behaviour in one world, with the evidence that earned it."""
    p = {f"neutral:{f}": moves(list(levels.values())) for f, levels in e.neutral.items()}
    p |= {f"training:{f}": moves(list(levels.values())) for f, levels in e.training.items()}
    moved_training = [
        f"{f} ({_shares(levels)}; p = {p[f'training:{f}']:.2g})"
        for f, levels in e.training.items()
        if p[f"training:{f}"] < ALPHA
    ]
    if e.unvisited:
        return Verdict(
            "unvisited",
            "training never visited this world (coverage 0 in every seed): the greedy choice "
            "is the initial value and the tie-break",
            p,
        )
    if e.untrained:
        return Verdict(
            "untrained-path",
            f"every seed that visited this world ({e.default.n} counted) reaches, from the world's start, a state "
            "training never updated: what it does there is the initial value and the tie-break",
            p,
        )
    seen = [c for c in (e.default, e.converged, e.stationary) if c is not None]
    if all(c.k == 0 for c in seen):
        return Verdict(
            "absent",
            f"0 of {e.default.n} seeds at the default settings"
            + (f" and 0 of {e.converged.n} converged agents" if e.converged else ""),
            p,
        )
    allowed = "the exact optimum allows it" if e.allowed else "the exact optimum does not allow it"
    if e.converged is None:
        text = f"no converged agents in this study; {allowed}"
        text += "; moves with " + "; ".join(moved_training) if moved_training else ""
        moved_neutral = [
            f"{f} ({_shares(lv)}; p = {p[f'neutral:{f}']:.2g})"
            for f, lv in e.neutral.items()
            if p[f"neutral:{f}"] < ALPHA
        ]
        text += "; moves with optimum-neutral " + "; ".join(moved_neutral) if moved_neutral else ""
        return Verdict("undetermined", text, p)
    conv = e.converged
    if conv.share <= VANISH:
        if e.stationary is not None and e.stationary.share > VANISH:
            ps = moves([e.stationary, conv])
            p["stationary-table"] = ps
            if ps < ALPHA:
                return _class_verdict(e, ps, p)
        pd = moves([e.default, conv])
        p["budget"] = pd
        if e.default.share > VANISH and pd < ALPHA:
            return Verdict(
                "training",
                f"vanishes in converged agents: {e.default} at the default settings, {conv} "
                f"({e.converged_label}; p = {pd:.2g})"
                + ("; also moves with " + "; ".join(moved_training) if moved_training else ""),
                p,
            )
        return Verdict(
            "training" if moved_training else "absent",
            f"rare: {e.default} at the default settings, {conv} converged"
            + ("; moves with " + "; ".join(moved_training) if moved_training else ""),
            p,
        )
    if not e.allowed:
        return Verdict(
            "undetermined",
            f"{conv} converged agents ({e.converged_label}) still show it although the exact optimum does not allow it",
            p,
        )
    moved_neutral = [
        f"{f} ({_shares(lv)}; p = {p[f'neutral:{f}']:.2g})" for f, lv in e.neutral.items() if p[f"neutral:{f}"] < ALPHA
    ]
    if moved_neutral:
        return Verdict(
            "training",
            f"{allowed}, but among converged agents ({e.converged_label}) it moves with "
            + "; ".join(moved_neutral)
            + ": the tie-break picks among optimal actions",
            p,
        )
    tested = ", ".join(e.neutral) or "none tested"
    return Verdict(
        "optimum",
        f"{allowed}; {conv} converged agents ({e.converged_label}) show it, and no "
        f"optimum-neutral factor moves it (p >= {ALPHA} for {tested})",
        p,
    )


def _class_verdict(e: Evidence, ps: float, p: dict[str, float]) -> Verdict:
    """The stationary table keeps a behaviour the step-indexed one loses: policy class or value aliasing."""
    assert e.stationary is not None and e.converged is not None
    contrast = f"stationary table {e.stationary} vs step-indexed {e.converged} ({e.converged_label}; p = {ps:.2g})"
    found = e.stationary_class
    if found is not None and found.status == "none":
        return Verdict(
            "policy-class",
            f"{contrast}: no stationary deterministic policy is exactly optimal from this world's start (exact "
            f"search, {found.nodes} nodes; the best stationary policy has exact regret {found.regret}): a "
            "stationary table cannot follow the step-dependent optimum",
            p,
        )
    if found is not None and found.status == "exists":
        return Verdict(
            "value-aliasing",
            f"{contrast}: a stationary policy is exactly optimal from this world's start (exact search: "
            f"{_actions_text(found)}, regret 0), yet the converged stationary learners miss it: a stationary "
            "table's targets mix the values of different steps",
            p,
        )
    why = found.reason if found is not None else "not searched"
    return Verdict("undetermined", f"{contrast}; whether a stationary policy is optimal is undecided: {why}", p)


def _actions_text(found: StationaryOptimum) -> str:
    names = found.action_names or tuple(str(a) for a in found.path)
    return " ".join(names) if names else "no decisions"


def seed_behaviours(solution: Solution, comparison: Comparison, world: str) -> dict[str, np.ndarray]:
    """{behaviour: (B,) bool} for each seed in ``world`` (seeds whose greedy policy reaches an untrained state,
    and unvisited ones, are False everywhere: what they do there was not learned)."""
    classes = np.array(comparison.classes[world])
    visited = (classes != "unvisited") & (classes != "untrained-path")
    start = worlds(solution)[world]
    if comparison.first_action is None or comparison.path_down is None:
        raise ValueError("seed_behaviours needs a Comparison made by compare() (first actions and paths)")
    mask = int(solution.action_masks[0, start])
    optimal_first = np.array([bool(mask >> int(a) & 1) for a in comparison.first_action[world]], dtype=np.bool_)
    return {
        "not-optimal": visited & (classes != "optimal"),
        "up-forever": visited & comparison.up_forever[world],
        "first-move-off": visited & np.logical_not(optimal_first),
        "any-down": visited & comparison.path_down[world],
    }


def counts(solution: Solution, comparison: Comparison, world: str) -> dict[str, Count]:
    """{behaviour: Count} over the seeds whose greedy policy from ``world``'s start runs through trained states
    only."""
    n = sum(c not in ("unvisited", "untrained-path") for c in comparison.classes[world])
    return {b: Count(int(v.sum()), n) for b, v in seed_behaviours(solution, comparison, world).items()}


def optimum_allows(solution: Solution, world: str) -> dict[str, bool]:
    """{behaviour: bool}: whether some exactly optimal policy shows it from ``world``'s start."""
    mdp = solution.mdp
    start = worlds(solution)[world]
    masks = solution.action_masks
    down = mdp.action_names.index("down") if "down" in mdp.action_names else None
    any_down, seen, frontier = False, {(0, start)}, [(0, start)]
    last = (solution.horizon or 1) - 1
    while frontier and down is not None and not any_down:
        t, s = frontier.pop()
        mask = int(masks[min(t, len(masks) - 1), s])
        any_down = bool(mask >> down & 1)
        if solution.horizon is not None and t == last:
            continue
        nt = t + 1 if solution.horizon is not None else 0
        for a in range(mdp.n_actions):
            if mask >> a & 1:
                for n, _ in mdp.next_states(s, a):
                    if (nt, n) not in seen:
                        seen.add((nt, n))
                        frontier.append((nt, n))
    up = _up_forever_optimal(solution, start)
    return {"not-optimal": False, "up-forever": up, "first-move-off": False, "any-down": any_down}


def _up_forever_optimal(solution: Solution, start: int) -> bool:
    from tabturn.exact.evaluate import policy_value

    mdp = solution.mdp
    if "up" not in mdp.action_names:
        return False
    policy = np.full(mdp.n_states, mdp.action_names.index("up"))
    return policy_value(mdp, policy, solution.horizon, solution.discount)[start] == solution.value(start)


def factor_levels(config, solution: Solution, episodes: int) -> list[Level]:
    """(factor, kind, level label, settings overrides, base seed) of the default-settings experiments."""
    from tabturn.experiments.study import resolve_initial_value

    levels: list[Level] = [("tie_break", NEUTRAL, t, {"tie_break": t}, 0) for t in ("first", "last", "random")]
    levels += _order_levels(config.actions)
    levels += [
        ("initial_value", NEUTRAL, v, {"initial_value": resolve_initial_value(v, solution)}, 0)
        for v in ("0", "optimistic", "pessimistic")
    ]
    levels += [("base_seed", NEUTRAL, str(b), {}, b) for b in (0, 1, 2)]
    levels += [("epsilon", TRAINING, str(e), {"epsilon": e, "epsilon_final": e}, 0) for e in (0.02, 0.1, 0.3)]
    levels += [("step_size", TRAINING, str(a), {"step_size": a}, 0) for a in (0.05, 0.1, 0.5)]
    levels += [
        ("episodes", TRAINING, str(n), {"episodes": n}, 0) for n in (max(1, episodes // 4), episodes, episodes * 4)
    ]
    return levels


def converged_levels(config) -> list[Level]:
    """Optimum-neutral factor levels tried among converged agents (initial values belong to the recipe)."""
    levels: list[Level] = [("tie_break", NEUTRAL, t, {"tie_break": t}, 0) for t in ("first", "last", "random")]
    return levels + _order_levels(config.actions) + [("base_seed", NEUTRAL, str(b), {}, b) for b in (0, 1, 2)]


def _order_levels(actions) -> list[Level]:
    actions = list(actions)
    if "up" not in actions or len(actions) < 2:
        return []
    up, rest = actions.index("up"), [i for i, a in enumerate(actions) if a != "up"]
    return [
        ("action_order", NEUTRAL, "up first", {"action_order": tuple([up] + rest)}, 0),
        ("action_order", NEUTRAL, "up last", {"action_order": tuple(rest + [up])}, 0),
    ]


@dataclass(frozen=True)
class Attribution:
    """rows: one per (stage, factor level, world) with behaviour counts; verdicts: one per (world, behaviour);
    converged_episodes: the budget at which the recipe converged, or None."""

    rows: list[LevelRow]
    verdicts: list[VerdictRow]
    converged_episodes: int | None
    converged_label: str


@dataclass(frozen=True)
class LevelRow:
    """One level of one factor in one world: how many seeds show each behaviour (``counts``, by BEHAVIOURS)."""

    stage: str  # "default" or "converged"
    factor: str
    kind: str  # NEUTRAL, TRAINING or "table"
    level: str
    world: str
    unvisited: int
    untrained_path: int
    counts: dict[str, Count]


@dataclass(frozen=True)
class VerdictRow:
    """The verdict on one behaviour in one world, with the counts it rests on (as text) and its p-values."""

    world: str
    behaviour: str
    allowed_by_optimum: bool
    default: str
    converged: str
    stationary: str
    stationary_optimum: str  # exact: "exists", "none (best regret R)", "undecided" or "" (no stationary contrast)
    cause: str
    evidence: str
    p_values: dict[str, float]


def attribute(
    config,
    seeds: int,
    learner: str = "q",
    episodes: int = 500,
    progress=None,
    engine: str = "numpy",
    budgets=None,
    observe_flag: bool = True,
) -> Attribution:
    """Default-settings factor experiments, then the recipe trained to convergence with its neutral factors and
    (finite horizons) a stationary table, for ``seeds`` seeds each; one verdict per world and behaviour.
    ``observe_flag=False``: flag-blind learners throughout, and the policy class is that of flag-blind tables."""
    from tabturn.envs.solve import solve_config
    from tabturn.envs.turn.model import turn_mdp
    from tabturn.experiments.study import converge, default_settings, recipe_name, recipe_settings, run_study

    mdp, solution = turn_mdp(config), solve_config(config)
    runs: dict[tuple, Comparison] = {}

    def run(settings, base_seed: int) -> Comparison:
        key = (repr(settings), base_seed)
        if key not in runs:
            runs[key] = run_study(config, mdp, solution, settings, range(seeds), base_seed=base_seed, engine=engine)
        return runs[key]

    rows: list[LevelRow] = []

    def add(stage: str, factor: str, kind: str, level: str, comp: Comparison) -> None:
        for world in comp.classes:
            rows.append(
                LevelRow(
                    stage,
                    factor,
                    kind,
                    level,
                    world,
                    comp.classes[world].count("unvisited"),
                    comp.classes[world].count("untrained-path"),
                    counts(solution, comp, world),
                )
            )

    for factor, kind, label, overrides, base_seed in factor_levels(config, solution, episodes):
        settings = default_settings(
            config, **{"algorithm": learner, "episodes": episodes, "observe_flag": observe_flag, **overrides}
        )
        add("default", factor, kind, label, run(settings, base_seed))
        if progress is not None:
            progress()
    table = "step-indexed" if config.horizon is not None else "stationary"
    blind = {"observe_flag": observe_flag}
    budget, _ = converge(config, mdp, solution, learner, table, range(seeds), budgets=budgets, engine=engine, **blind)
    label = ""
    if budget is not None:
        label = f"{table} table, {recipe_name(mdp)} recipe, {budget} episodes"
        for factor, kind, level, overrides, base_seed in converged_levels(config):
            add(
                "converged",
                factor,
                kind,
                level,
                run(recipe_settings(config, solution, learner, table, budget, **overrides, **blind), base_seed),
            )
        if table == "step-indexed":
            add(
                "converged",
                "table",
                "table",
                "stationary",
                run(recipe_settings(config, solution, learner, "stationary", budget, **blind), 0),
            )
    if progress is not None:
        progress()
    return Attribution(rows, _verdicts(solution, rows, label, observe_flag), budget, label)


def _verdicts(solution: Solution, rows: list[LevelRow], label: str, observe_flag: bool = True) -> list[VerdictRow]:
    out = []
    for world in dict.fromkeys(r.world for r in rows):
        allowed = optimum_allows(solution, world)
        mine = [r for r in rows if r.world == world]
        reference = mine[0]  # default settings, first level
        conv = [r for r in mine if r.stage == "converged"]
        found = _stationary_class(solution, world, observe_flag) if any(r.factor == "table" for r in conv) else None
        for behaviour in BEHAVIOURS:

            def levels(stage: str, kind: str, mine=mine, behaviour=behaviour) -> dict[str, dict[str, Count]]:
                out_: dict[str, dict[str, Count]] = {}
                for r in mine:
                    if r.stage == stage and r.kind == kind:
                        out_.setdefault(r.factor, {})[r.level] = r.counts[behaviour]
                return out_

            stationary = next((r.counts[behaviour] for r in conv if r.factor == "table"), None)
            never = reference.untrained_path + reference.counts[behaviour].n == 0  # every seed unvisited
            evidence = Evidence(
                allowed=allowed[behaviour],
                unvisited=never,
                untrained=reference.counts[behaviour].n == 0 and not never,
                stationary_class=found if stationary is not None else None,
                default=reference.counts[behaviour],
                converged=conv[0].counts[behaviour] if conv else None,
                converged_label=label,
                stationary=stationary,
                neutral=levels("converged", NEUTRAL),
                training=levels("default", TRAINING),
            )
            v = verdict(evidence)
            out.append(
                VerdictRow(
                    world,
                    behaviour,
                    allowed[behaviour],
                    str(evidence.default),
                    str(evidence.converged or ""),
                    str(stationary or ""),
                    _class_text(found) if stationary is not None else "",
                    v.cause,
                    v.evidence,
                    v.p_values,
                )
            )
    return out


def _stationary_class(solution: Solution, world: str, observe_flag: bool = True) -> StationaryOptimum:
    """The exact answer from ``world``'s start for stationary tables of what the learner observes (turn family:
    (x, y, observed), or flag-blind (x, y); supervised-until's clock is never seen); sizes beyond the search are
    "undecided"."""
    from tabturn.core.errors import InputError
    from tabturn.experiments.policy_class import observation_class_optimum

    start = worlds(solution)[world]
    try:
        return observation_class_optimum(solution, start, observe_flag, time_indexed=False)
    except InputError as err:
        return StationaryOptimum.undecided(start, solution.value(start), str(err))


def _class_text(found: StationaryOptimum | None) -> str:
    if found is None:
        return ""
    return f"none (best regret {found.regret})" if found.status == "none" else found.status
