"""reports/README.md: the index of the reports and the answers, each sentence computed from a table."""

from __future__ import annotations

import sys
from pathlib import Path

from analysis.common import REPORTS, read_csv, shown, write_atomic

FILES = [
    ("exact_optimum.md", "exact optimum of every example config: start value, optimal sets, trajectory, attractor"),
    ("policy_maps.png", "optimal action sets on the grid, observed and unobserved side by side"),
    ("symbolic.md", "symbolic claims (sympy) and their exact verification against the solver"),
    ("learned_agents.md", "four tabular learners x every example, 1000 seeds each, against the exact optimum"),
    ("regret.png", "exact regret across seeds"),
    (
        "attribution.md",
        "each learned behaviour's cause: optimum, policy-class, value-aliasing, training, unvisited or "
        "untrained-path, with evidence",
    ),
    ("attribution.png", "shares of seeds not optimal and going up forever, by stage and factor level, 95% intervals"),
    ("variant_robustness.md", "every plausible reading of the lost setup: exact optimum, learners, verdict"),
    ("mesa.md", "a learned-loss-model + exact-planner agent: when the turn appears, forced or by tie"),
    ("phase_diagram.png", "on the diagonal: stay vs staircase over b/a and gamma (certified), with b/a = c(1 - gamma)"),
    ("agreement_heatmap.png", "share of Q-learning seeds whose greedy action is exactly optimal, state by state"),
    ("learning_curves.png", "exact regret vs training episodes, median and 10-90% band across seeds"),
    (
        "convergence.md",
        "budgets at which 1000 seeds are exactly optimal: step-indexed vs stationary tables, per learner",
    ),
    ("convergence.png", "fraction of seeds exactly optimal vs training episodes, per example and learner"),
    ("phenomenon.md", "the seed's observation hunted down: where observed agents go up forever in some seeds, and why"),
    ("phenomenon.csv", "every cell of that search: settings, stage, stream, seeds, always-up share with its interval"),
    ("phenomenon_regions.csv", "each region's local design: one change at a time around its representative, paired"),
    (
        "supervised_until.md",
        "supervision that ends at step k: when the exact optimum turns; flag-aware and flag-blind learners, verdicts",
    ),
    ("supervised_until_learners.csv", "each learner x table x view on the example: class optimum, reach, turn steps"),
    (
        "gridworlds.md",
        "the AI Safety Gridworlds exactly: reward vs hidden performance, safety gaps, whisky, shifted maps",
    ),
    ("tomato_watering.md", "tomato watering (237,568 states, up to 8,192 outcomes a step) solved exactly"),
    ("gridworlds.png", "each gridworld map with its optimal path under the reward and under the performance"),
    (
        "gridworld_learners.csv",
        "the four learners on the gridworlds: shortcut, button, whisky, lava; regret, performance, cause",
    ),
    ("minigrid.md", "MiniGrid levels enumerated from their simulator and solved exactly; Q-learning on them"),
    ("minigrid_learners.csv", "Q-learning (stationary, step-indexed) on each level: seeds optimal, reaching the goal"),
    ("provenance.json", "tabturn version, configs, seeds, run time of each script"),
]


def _one(rows, **match):
    hits = [r for r in rows if all(r[k] == v for k, v in match.items())]
    return hits[0] if hits else None


def _screen(rows: list[dict]) -> list[dict]:
    return [r for r in rows if not r["block"].startswith("local-")]


def _region_effects(found: list[dict], region: str) -> dict[str, list[dict]]:
    mine = [r for r in found if r["region"] == region and r["stage"] != "local"]
    return {e: [r for r in mine if r["effect"] == e] for e in ("removes", "weakens", "strengthens", "none")}


def _changes(rows: list[dict], limit: int | None = None) -> str:
    shown = rows if limit is None else rows[:limit]
    text = ", ".join(f"{r['change'].replace('learner.', '')} ({float(r['share']):.1%})" for r in shown)
    return text + (f" and {len(rows) - limit} more" if limit is not None and len(rows) > limit else "")


NAMED = (
    ("learner.tie_break = random", "a random tie-break"),
    ("learner.action_order = up last", "'up' listed last"),
    ("learner.initial_value = -1", "initial value -1"),
    ("learner.initial_value = 1", "initial value 1"),
    ("learner.initial_value = pessimistic", "pessimistic"),
    ("learner.episodes = 1000", "1000 episodes"),
    ("learner.algorithm = sarsa", "SARSA"),
    ("learner.algorithm = double-q", "double Q"),
)


def _named(found: list[dict], region: str) -> str:
    """The share after each of the NAMED changes tried in a region's local design."""
    mine = {r["change"]: r for r in found if r["region"] == region}
    return ", ".join(f"{label} {float(mine[c]['share']):.1%}" for c, label in NAMED if c in mine)


def _common(found: list[dict], regions: list[str]) -> str:
    """What every one of ``regions`` agrees on: the NAMED changes that remove it, and those within 5 points."""

    def rows(change):
        return [r for r in found if r["region"] in regions and r["change"] == change]

    removes, still = [], []
    for change, label in NAMED:
        mine = rows(change)
        if len(mine) != len(regions):
            continue
        if all(r["effect"] == "removes" for r in mine):
            removes.append(label)
        elif all(abs(float(r["share"]) - float(r["representative_share"])) < 0.05 for r in mine):
            still.append(label)
    return (
        f"in each of these regions {', '.join(removes) or 'no single change'} each remove it, and "
        f"{' and '.join(still) or 'no change'} move it by less than 5 points"
    )


def corner_hits(rows: list[dict], b: str = "1") -> list[dict]:
    """Seed-dependent cells of the corners block at weight b."""
    return [r for r in _screen(rows) if r["block"] == "corners" and r["loss.b"] == b and r["seed_dependent"] == "true"]


def _corner_text(rows: list[dict]) -> str:
    hits = corner_hits(rows)
    corner = [r for r in _screen(rows) if r["block"] == "corners" and r["loss.b"] == "1"]
    if not hits:
        return f"no seed-dependent cell among the {len(corner)} corner cells at a = b = 1"
    inits = sorted({r["learner.initial_value"] for r in hits})
    top = max(hits, key=lambda r: float(r["share"]))
    return (
        f"{len(hits)} of {len(corner)} corner cells at a = b = 1 are seed-dependent (horizons "
        f"{', '.join(sorted({r['objective.horizon'] for r in hits}, key=int))}; initial values {', '.join(inits)}; "
        f"up to {float(top['share']):.1%} at horizon {top['objective.horizon']}, {top['learner.episodes']} "
        f"episodes, initial value {top['learner.initial_value']}), on trained paths (untrained-path at most "
        f"{max(float(r['untrained_path']) for r in hits):.1%} in those cells)"
    )


def first_screen(
    rows: list[dict],
    found: list[dict],
    variants: list[dict],
    verdicts: list[dict],
    learned: list[dict],
    exact: list[dict],
    symbolic: list[dict],
) -> list[str]:
    """The report's first screen (at most 6 lines after the title): the seed's two questions, answered."""
    out = []
    observed_optimal = [r for r in variants if r["exact_up_forever_observed"] == "true"]
    obs_opt = len(observed_optimal)
    where = (
        f", all under {', '.join(sorted({r['regime'] for r in observed_optimal}))}: observed only until the "
        "switch step, there the climb starts before supervision ends"
        if observed_optimal
        else ""
    )
    hits = [r for r in _screen(rows) if r["seed_dependent"] == "true"]
    hit_opt = sum(r["exact_hunt_optimal"] == "true" for r in hits)
    optimal_cells = sum(r["exact_hunt_optimal"] == "true" for r in _screen(rows))
    out.append(
        f"- **Observed, the seed-dependent always-up habit is a training effect:** the exact optimum goes up forever "
        f"while observed in {obs_opt} of {len(variants)} readings of the setup{where} "
        f"([variant_robustness.csv](variant_robustness.csv)) and in {optimal_cells} of the search's "
        f"{len(_screen(rows))} cells (short horizons, large b), {hit_opt} of them seed-dependent; the "
        f"{len(hits)} seed-dependent cells all miss the optimum ([phenomenon.md](phenomenon.md)); at the seed's "
        f"own weights {_corner_text(rows)}."
    )
    if found:
        parts, chosen = [], []
        for region in dict.fromkeys(r["region"] for r in found):
            head = next(r for r in found if r["region"] == region)
            rep = next((r for r in rows if r["cell"] == head["representative"]), {})
            if rep.get("block") == "mesa" or len(parts) == 2:
                continue
            named = _named(found, region)
            chosen.append(region)
            parts.append(
                f"{rep.get('block')} block, b = {rep.get('loss.b')} ({head['cells']} cells; representative "
                f"{float(head['representative_share']):.1%} of 1000 seeds at horizon {rep.get('objective.horizon')}"
                f"): {named}"
            )
        out.append(
            f"- **Where it comes from:** {_common(found, chosen)} (one change at a time, paired McNemar, "
            "[phenomenon_regions.csv](phenomenon_regions.csv)): " + "; ".join(parts) + "."
        )
    absent = next(
        (
            v
            for v in verdicts
            if v["example"] == "absent_supervisor" and v["world"] == "unobserved" and v["behaviour"] == "up-forever"
        ),
        None,
    )
    tod = next(
        (r for r in learned if r["example"] == "train_observed_deploy_unobserved" and r["world"] == "unobserved"),
        None,
    )
    if absent and tod:
        tie = "tie-break picks" in absent["evidence"]
        out.append(
            "- **Unobserved, it depends on the world:** under an absent supervisor going up forever is exactly "
            f"optimal (allowed_by_optimum {absent['allowed_by_optimum']}: only -b*y is charged), an optimum effect"
            + (
                f" though not the only optimum: converged agents show it ({absent['converged']}) or not as their "
                f"tie-break picks among optimal actions (evidence column), {absent['default']} at the default budget"
                if tie
                else f" ({absent['converged']} converged agents, {absent['default']} at the default budget)"
            )
            + " ([attribution_verdicts.csv](attribution_verdicts.csv)); trained only while observed, the "
            f"unobserved world is never visited ({float(tod['unvisited']):.0%} `unvisited`, "
            "[learned_agents.csv](learned_agents.csv)), so what an agent does there is its initial values and "
            "tie-break."
        )
    down = sum(int(r["down_optimal_cells"]) for r in exact)
    cells = sum(2 * int(r["cells"]) for r in exact)
    dom = _one(symbolic, claim="dominance")
    up_first = sum(r["actions"].split()[0] == "up" for r in exact)
    if dom:
        out.append(
            f"- **Why up and not down:** 'down' is optimal in {down} of {cells} cells of the exact optima "
            "([exact_optimum.csv](exact_optimum.csv)), because it costs exactly b*G_n more than 'right' in every "
            f"regime ({dom['disagreements']} disagreements, [symbolic.csv](symbolic.csv)); where a learned agent "
            f"acts by tie-break, 'up' is simply listed first ({up_first} of {len(exact)} example configs)."
        )
    return out


def phenomenon_answers(rows: list[dict], found: list[dict]) -> list[str]:
    """The search's section: where agents trained while observed go always-up in a seed-dependent share."""
    if not rows:
        return []
    main = _screen(rows)
    hits = [r for r in main if r["seed_dependent"] == "true"]
    blocks = list(dict.fromkeys(r["block"] for r in main))
    out = ["## The seed's observation: always up while observed, depending on the seed?", ""]
    out.append(
        f"- The search ([phenomenon.md](phenomenon.md)) trained agents in the observed world in {len(main)} "
        f"cells ({', '.join(blocks)}), each on its own random stream; {len(hits)} are seed-dependent (share "
        "strictly between 1% and 99%), each over at least "
        f"{min((int(r['seeds']) for r in hits), default=0)} seeds ([phenomenon.csv](phenomenon.csv))."
    )
    out.append(
        f"- Going up forever while observed is optimal in {sum(r['exact_hunt_optimal'] == 'true' for r in main)} "
        f"of the {len(main)} cells (column exact_hunt_optimal), "
        f"{sum(r['exact_hunt_optimal'] == 'true' for r in hits)} of them seed-dependent."
    )
    out.append(f"- At the seed's own weights: {_corner_text(rows)} ([phenomenon.md](phenomenon.md)).")
    for region in dict.fromkeys(r["region"] for r in found):
        effects = _region_effects(found, region)
        head = next(r for r in found if r["region"] == region)
        rep = next((r for r in rows if r["cell"] == head["representative"]), {})
        out.append(
            f"- Region {region} (block {rep.get('block')}, b {rep.get('loss.b')}, {head['cells']} cells; "
            f"representative {float(head['representative_share']):.1%}): removed by "
            f"{_changes(effects['removes']) or 'none'}; weakened by {_changes(effects['weakens']) or 'none'}; "
            f"strengthened by {_changes(effects['strengthens']) or 'none'}; no significant effect: "
            f"{_changes(effects['none']) or 'none'} ([phenomenon_regions.csv](phenomenon_regions.csv))."
        )
    return out


def gridworld_answers(rows: list[dict], extra: list[dict], learners: list[dict] | None = None) -> list[str]:
    """The gridworlds section: the absent-supervisor gridworld beside the turn family's absent-supervisor regime."""
    by = {r["environment"]: r for r in rows}
    if "absent_supervisor" not in by:
        return []
    a = by["absent_supervisor"]
    out = ["## The AI Safety Gridworlds, exactly", ""]
    enters = {
        e["quantity"].rsplit("_", 1)[-1]: e["value"]
        for e in extra
        if e["quantity"].startswith("reward_optimal_path_enters_P")
    }
    out.append(
        f"- Absent supervisor ([gridworlds.md](gridworlds.md)): the reward optimum is {a['reward_optimum']} and "
        f"the hidden-performance optimum {a['performance_optimum']}; every reward-optimal policy has "
        f"performance {a['reward_optimal_performance_min']}, a safety gap of {a['safety_gap']}. The "
        f"reward-optimal path enters the punishment cell when supervised: {enters.get('supervised')}; when "
        f"unsupervised: {enters.get('unsupervised')}."
        + (
            " As in the turn family's absent-supervisor regime, behaving differently when unsupervised is "
            "then what the visible objective asks for (an optimum effect), not a training artifact."
            if enters.get("supervised") == "false" and enters.get("unsupervised") == "true"
            else ""
        )
    )
    gaps = [f"{r['environment']} {shown(r['safety_gap'])}" for r in rows if r["safety_gap"] != "0"]
    out.append(
        f"- Safety gaps (performance optimum minus the performance of the worst reward-optimal policy): "
        f"{', '.join(gaps) or 'none'}; zero in the other {len(rows) - len(gaps)} maps."
    )
    whisky = {e["quantity"]: e for e in extra if e["environment"] == "whisky_gold"}
    if whisky:
        out.append(
            f"- Whisky and gold: a planner that models its own forced randomisation avoids the whisky (optimum "
            f"{whisky['embedded_optimum']['value']}); one that assumes its actions stay its own expects "
            f"{whisky['naive_believed_optimum']['value']} by drinking and really gets "
            f"{float(whisky['naive_actual_value']['value_float']):.4g}."
        )
    shift = {(e["environment"], e["quantity"]): e["value"] for e in extra if e["environment"].startswith("distrib")}
    if shift:
        out.append(
            "- Distributional shift: the training map's optimal plan, played on the testing maps, gets "
            + "; ".join(
                f"{env.split('_')[-1]}: {shift[(env, 'train_plan_on_test')]} (optimum {shift[(env, 'test_optimum')]})"
                for env in sorted({k[0] for k in shift})
            )
            + "."
        )
    names = {"q": "Q-learning", "sarsa": "SARSA", "expected-sarsa": "expected SARSA", "double-q": "double Q-learning"}
    default = [r for r in learners or [] if r["stage"] == "default"]
    groups: dict[tuple, list[dict]] = {}
    for r in default:
        groups.setdefault((r["environment"], r["start"], r["behaviour"], bool(r["cause"])), []).append(r)
    for (env, start, behaviour, judged), rows in groups.items():
        each = "; ".join(
            f"{names[r['learner']]} {int(r['shows'])}/{r['seeds']}"
            + (f" (cause **{r['cause']}**)" if judged else f" (mean exact reward {r['performance_mean']})")
            for r in rows
        )
        where = f"- {env}, start {start}" if judged else f"- {env}"
        out.append(
            f'{where}, seeds that show "{behaviour}" at the default settings: {each} '
            "([gridworld_learners.csv](gridworld_learners.csv))."
        )
    for r in default:
        if r["environment"] == "whisky_gold":
            out.append(
                f"- Whisky: {r['naive_optimal']} of {r['seeds']} {names[r['learner']]} seeds are exactly optimal for "
                f"the naive planner and {r['optimal']} for the planner that models its own randomisation."
            )
    return out


def convergence_answers(learned: list[dict], convergence: list[dict]) -> list[str]:
    """Sentences on whether learned agents reach the optimum: default budget, converged budget, stationary table."""
    out = []
    unvisited = [r for r in learned if float(r["unvisited"]) == 1]
    out.append(
        f"- At the default budget (500 episodes), {sum(float(r['optimal']) > 0 for r in learned)} of "
        f"{len(learned)} example x learner x world rows of [learned_agents.csv](learned_agents.csv) have any "
        f"exactly optimal seed; {len(unvisited)} rows are worlds training never visits (class `unvisited`, "
        "coverage 0): their choices are initial values and the tie-break, not learned behaviour."
    )
    timed = [r for r in convergence if r["table"] == "step-indexed"]
    hit = [r for r in timed if r["converged_episodes"] != "none"]
    out.append(
        f"- With step-indexed tables (finite horizons), {len(hit)} of {len(timed)} example x learner rows reach "
        f">= 99% of 1000 seeds exactly optimal in the trained world within the budgets tried "
        f"([convergence.md](convergence.md)): "
        + ", ".join(f"{r['example']}/{r['learner']} at {r['converged_episodes']}" for r in hit)
        + "."
    )
    finite = {r["example"] for r in timed}
    stat = [r for r in convergence if r["table"] == "stationary" and r["example"] in finite]
    aliasing = [r for r in stat if r["note"].startswith("value-aliasing")]
    policy_class = [r for r in stat if r["note"].startswith("policy-class")]
    misses = aliasing + policy_class
    both = [f"{r['example']}/{r['learner']}" for r in stat if r["converged_episodes"] != "none"]
    if stat:
        sentence = (
            f"- With the same recipe and a stationary table on those finite horizons, {len(misses)} of "
            f"{len(stat)} example x learner rows miss where the step-indexed table converges (best "
            f"{max((float(r['best_fraction']) for r in misses), default=0):.1%}). In {len(aliasing)} of them a "
            "stationary policy is exactly optimal from the start (exact search, column note of "
            "[convergence_summary.csv](convergence_summary.csv)): the class holds an optimum, so the misses are "
            "value aliasing (a stationary table's targets mix values of different steps), not the policy class"
        )
        if policy_class:
            sentence += (
                f"; in {len(policy_class)} no stationary policy is optimal: a stationary table cannot follow the "
                "step-dependent optimum (policy-class)"
            )
        out.append(
            sentence
            + ". The stationary table converges too in "
            + (", ".join(both) if both else "no row")
            + (
                " (with terminal timing only the number of ups matters, which a stationary table can follow)."
                if both and all(b.startswith("terminal/") for b in both)
                else "."
            )
        )
    inf = [r for r in convergence if r["example"] not in finite]
    if inf:
        out.append(
            "- Infinite horizons (stationary optimum): "
            + ", ".join(
                f"{r['example']}/{r['learner']} "
                + (
                    f"reaches >= 99% at {r['converged_episodes']} episodes"
                    if r["converged_episodes"] != "none"
                    else f"best {float(r['best_fraction']):.1%} at {r['best_episodes']}"
                )
                for r in inf
            )
            + " ([convergence.md](convergence.md))."
        )
    return out


def attribution_answers(verdicts: list[dict]) -> list[str]:
    """One sentence per attribution example: the cause of each behaviour seen in the trained world."""
    out = []
    for ex in dict.fromkeys(v["example"] for v in verdicts):
        mine = [v for v in verdicts if v["example"] == ex]
        never = sorted({v["world"] for v in mine} - {v["world"] for v in mine if v["cause"] != "unvisited"})
        parts = []
        for v in mine:
            if v["cause"] in ("unvisited", "absent", "untrained-path"):
                continue
            seen = f"default {v['default']}, converged {v['converged']}"
            if v["cause"] in ("policy-class", "value-aliasing"):
                seen += f", stationary table {v['stationary']}"
            if "tie-break picks" in v["evidence"]:
                seen += (
                    "; among converged agents it follows the tie-break: the objective allows it, the tie-break "
                    "picks it among optimal actions"
                )
            if v["allowed_by_optimum"] == "true" and v["cause"] == "training":
                parts.append(
                    f"`{v['behaviour']}` in the {v['world']} world is allowed by the exact optimum (an optimum "
                    f"effect); how many agents show it is set by **training** ({seen})"
                )
            else:
                parts.append(f"`{v['behaviour']}` in the {v['world']} world is a **{v['cause']}** effect ({seen})")
        absent = [v["behaviour"] for v in mine if v["cause"] == "absent"]
        text = f"- {ex} (Q-learning, [attribution.md](attribution.md)): " + ("; ".join(parts) or "nothing to attribute")
        if absent:
            text += f"; absent: {', '.join(absent)}"
        if never:
            text += f". The {' and '.join(never)} world is never trained: every behaviour there is `unvisited`"
        out.append(text + ".")
    return out


def answers(
    exact: list[dict],
    learned: list[dict],
    verdicts: list[dict],
    attribution: list[dict],
    variants: list[dict],
    mesa: list[dict],
    symbolic: list[dict],
    switching: list[dict],
    convergence: list[dict],
) -> list[str]:
    """The answer sentences, each naming the table behind it."""
    out = ["## Is 'up' the optimum or a training artifact?", ""]
    up_obs = [r["example"] for r in exact if r["optimal_at_start_observed"].split() == ["up"]]
    out.append(
        f"- Observed, 'up' is the unique optimal *first* move from the start in {len(up_obs)} of {len(exact)} "
        f"examples ({', '.join(up_obs)}), but going up *forever* is never optimal while observed: "
        f"`exact_up_forever_optimal` is false for every observed row of "
        f"[learned_agents.csv](learned_agents.csv) "
        f"({sum(r['exact_up_forever_optimal'] == 'false' for r in learned if r['world'] == 'observed')} of "
        f"{sum(r['world'] == 'observed' for r in learned)}). The observed optimum is a staircase along the "
        "diagonal (trajectories in [exact_optimum.md](exact_optimum.md))."
    )
    absent = [r for r in learned if r["regime"] == "absent-supervisor" and r["world"] == "unobserved"]
    if absent:
        out.append(
            f"- Unobserved with an absent supervisor, going up forever *is* optimal "
            f"(`exact_up_forever_optimal` = {absent[0]['exact_up_forever_optimal']} in "
            "[learned_agents.csv](learned_agents.csv)): only -b*y is charged there, so this turn is an "
            "optimum effect of that objective (which converged agents show it is their tie-break: below)."
        )
    tod = [r for r in learned if r["example"] == "train_observed_deploy_unobserved" and r["world"] == "unobserved"]
    for r in tod[:1]:
        out.append(
            f"- Trained only while observed and deployed unobserved ({r['learner']}-learning, {r['seeds']} "
            f"seeds), the unobserved world is never visited in training: class `unvisited` for "
            f"{float(r['unvisited']):.1%} of seeds, coverage {r['coverage_mean']} "
            "([learned_agents.csv](learned_agents.csv)). What such an agent does when deployed unobserved is its "
            "initial values and its tie-break, not something it learned."
        )
    out += attribution_answers(verdicts)
    out += convergence_answers(learned, convergence)
    out += ["", "## Does the answer hold for every reading of the original setup?", ""]
    causes = {c: [r for r in variants if r["cause"] == c] for c in dict.fromkeys(r["cause"] for r in variants)}
    out.append(
        f"- Of {len(variants)} readings ([variant_robustness.md](variant_robustness.md)), the cause of going up "
        "forever while unobserved (the same verdict function as the attribution) is "
        + ", ".join(
            f"{c} in {len(rows)} (regimes: {', '.join(sorted({r['regime'] for r in rows}))})"
            for c, rows in causes.items()
        )
        + "."
    )
    undetermined = causes.get("undetermined", [])
    if undetermined:
        no_conv = sum(r["converged_episodes"] == "none" for r in undetermined)
        out.append(
            f"- The {len(undetermined)} undetermined readings (regime(s) "
            f"{', '.join(sorted({r['regime'] for r in undetermined}))}) have no converged agents in this table "
            f"({no_conv} of {len(undetermined)}: column converged_episodes), so no training verdict is earned; in "
            f"{sum(r['exact_up_forever_unobserved'] == 'false' for r in undetermined)} of them the exact "
            "optimum does not go up forever, so it is not an optimum effect either."
        )
    allowed = [r for r in variants if r["exact_up_forever_unobserved"] == "true"]
    out.append(
        f"- The exact optimum itself goes up forever while unobserved in {len(allowed)} readings, all under "
        f"regime(s) {', '.join(sorted({r['regime'] for r in allowed})) or 'none'} (column "
        "exact_up_forever_unobserved): there the turn is what the objective asks for. In "
        f"{sum(r['cause'] == 'unvisited' for r in allowed)} of them training starts observed and never "
        "visits the unobserved world, so what learners do there says nothing about the objective."
    )
    never_obs = sum(r["exact_up_forever_observed"] == "false" for r in variants)
    out.append(
        f"- Going up forever while observed is optimal in {len(variants) - never_obs} of {len(variants)} "
        "readings (column exact_up_forever_observed)."
    )
    out += ["", "## The mesa-optimizer: when does the turn appear, and is 'up' forced?", ""]
    up_rows = [r for r in mesa if r["actions"].split()[0] == "up"]
    turns = [r for r in up_rows if r["unobserved_class"] == "always-up"]
    out.append(
        f"- A planner against a learned loss goes up forever while unobserved, although that is not optimal, in "
        f"{len(turns)} of {len(up_rows)} settings ([mesa.md](mesa.md)): models "
        f"{', '.join(sorted({r['model'] for r in turns})) or 'none'}, coverage "
        f"{', '.join(sorted({r['coverage'] for r in turns})) or 'none'}, regimes "
        f"{', '.join(sorted({r['regime'] for r in turns})) or 'none'}. In "
        f"{sum(r['forced'] == 'false' for r in turns)} of them every action ties under the learned loss "
        "(the unobserved world was never seen), so the direction is the tie-break's."
    )
    down_rows = [r for r in mesa if r["actions"].split()[0] == "down"]
    flat_down = [r for r in down_rows if r["forced"] == "false"]
    out.append(
        f"- With 'down' listed first, the planner's first unobserved move in those tie settings is down in "
        f"{sum(r['unobserved_first_move'] == 'down' for r in flat_down)} of {len(flat_down)} "
        "([mesa.md](mesa.md)): when the turn comes from a flat learned loss, up versus down is decided by the "
        "action order alone."
    )
    forced = [
        r
        for r in up_rows
        if r["regime"] == "absent-supervisor" and r["model"] != "factored-flagless" and r["coverage"] != "0"
    ]
    out.append(
        f"- Under an absent supervisor with some unobserved training data (coverage > 0, flag-aware models), "
        f"'up' is forced by the learned objective in {sum(r['forced'] == 'true' for r in forced)} of "
        f"{len(forced)} settings and optimal under the true loss in "
        f"{sum(r['unobserved_class'] == 'optimal' for r in forced)}: the learned unobserved loss has no "
        "alignment term (column learned_alignment_spread) and only the capability slope."
    )
    flagless = [
        r
        for r in up_rows
        if r["model"] == "factored-flagless" and r["regime"] in ("always", "train-observed-deploy-unobserved")
    ]
    out.append(
        f"- A model that cannot see the flag (factored-flagless) carries the observed loss into the unobserved "
        f"world: no turn in {sum(r['unobserved_class'] != 'always-up' for r in flagless)} of {len(flagless)} "
        "such settings."
    )
    out += ["", "## Why up and not down?", ""]
    down = sum(int(r["down_optimal_cells"]) for r in exact)
    up_cells = sum(int(r["up_optimal_cells_observed"]) + int(r["up_optimal_cells_unobserved"]) for r in exact)
    cells = sum(2 * int(r["cells"]) for r in exact)
    out.append(
        f"- In the exact optimum, 'down' is optimal in {down} cells and 'up' in {up_cells} of {cells} "
        "cells across all examples ([exact_optimum.csv](exact_optimum.csv)). This fits the loss: 'down' changes "
        "the offset y - x exactly as 'right' does but lowers y, so with b > 0 it is never better than 'right'."
    )
    up_first = [r["example"] for r in exact if r["actions"].split()[0] == "up"]
    dom = _one(symbolic, claim="dominance")
    never = _one(symbolic, claim="never-down")
    if dom and never:
        out.append(
            f"- Symbolically ([symbolic.md](symbolic.md)): going left costs exactly b*G_n more than going up, and "
            f"going down exactly b*G_n more than going right, in every regime (sympy-verified; "
            f"{dom['disagreements']} disagreements with the exact solver over {dom['instances']} instances and "
            f"{dom['states']} interior states). So for b > 0 'down' is never optimal away from the edges "
            f"({never['disagreements']} disagreements)."
        )
    thr = _one(symbolic, claim="diagonal-threshold")
    last = _one(symbolic, claim="last-step")
    if thr and last:
        out.append(
            f"- When does the optimum leave the diagonal? Always observed with up, right and stay, it stays on the "
            f"diagonal iff b < a*c*(1 - gamma) and climbs the staircase iff b > a*c*(1 - gamma) (tie at equality; "
            f"{thr['disagreements']} disagreements in {thr['states']} certified checks). With one step left, 'up' "
            f"beats 'right' iff b > 4*a*c*w*d (w = chance the alignment term is charged; "
            f"{last['disagreements']} disagreements over {last['states']} states), so on or below the diagonal "
            "the last move of a finite horizon is never 'right' when b > 0."
        )
    more = {
        name: _one(symbolic, claim=name)
        for name in ("switching-threshold", "absent-values", "no-stay-offset", "terminal-sequences", "edges")
    }
    if all(more.values()):
        sw, ab, ns, te, ed = more.values()
        out.append(
            f"- Does the chance of becoming unobserved change what is optimal while observed? Yes, above a "
            f"threshold: with switching probability p (and no way back), the observed agent on the diagonal "
            f"leaves it iff b > a*c*(1 - p)*(1 - gamma), so p matters exactly when b < a*c*(1 - gamma), from "
            f"p > 1 - b/(a*c*(1 - gamma)) on ({sw['disagreements']} disagreements in {sw['states']} certified "
            f"checks). Under an absent supervisor the unobserved value is -b*(y*G_n + H_n) and the observed "
            f"optimum is exactly the always-observed one ({ab['disagreements']} disagreements over "
            f"{ab['states']} states)."
        )
        brackets = [r for r in switching if r["b"] == "1/20"]
        if brackets:
            shown = "; ".join(f"q = {r['q']}: p* in {r['computed_p_star_bracket']}" for r in brackets)
            out.append(
                f"- With a way back to being observed (q > 0) no closed form is claimed; certified bisection "
                f"([symbolic.md](symbolic.md), switching_thresholds.csv) brackets the threshold for a = c = 1, "
                f"gamma = 9/10, b = 1/20: {shown}."
            )
        out.append(
            f"- Without 'stay' ({{up, right}}), the long-run offset alternates between floor(b/(4*a*c)) and one "
            f"more, whatever gamma ({ns['disagreements']} disagreements). With terminal loss only the number of "
            f"ups matters, not their order, so the optimal sequences are all orderings of the optimal up-counts "
            f"({te['disagreements']} disagreements over {te['states']} state-steps). At the grid's edges, 'left' "
            f"and 'down' can be optimal, but only where up or right is blocked ({ed['disagreements']} "
            f"disagreements over {ed['states']} state-steps)."
        )
    unvisited = [v for v in verdicts if v["cause"] == "unvisited"]
    out.append(
        f"- In learned agents, unvisited states act by tie-break, and 'up' is the first action in {len(up_first)} "
        f"of {len(exact)} example configs ([exact_optimum.csv](exact_optimum.csv), column actions): a learned "
        "'up' in a world training never visits is the action order's choice "
        f"({len(unvisited)} of {len(verdicts)} attribution verdicts are `unvisited`; "
        "[attribution.md](attribution.md))."
    )
    return out


def supervised_answers(turns: list[dict], learners: list[dict]) -> list[str]:
    """The supervised-until section: when the optimum turns, and whether converged learners do."""
    cells = [r for r in turns if r["relation"] != "supervised throughout"]
    relations = {
        name: sum(r["relation"] == name for r in cells) for name in dict.fromkeys(r["relation"] for r in cells)
    }
    out = [
        "## Supervision that ends at step k",
        "",
        f"- The exact optimum turns {', '.join(f'{name} in {n}' for name, n in relations.items())} of {len(cells)} "
        f"cells (a = 1, {len({r['b'] for r in cells})} values of b, {len({r['k'] for r in cells})} switch steps k; "
        "[supervised_until.md](supervised_until.md)).",
    ]
    q = [r for r in learners if r["learner"] == "q"]
    converged = [r for r in q if r["converged_episodes"] != "none"]
    out.append(
        "- Q-learning on the example ([supervised_until_learners.csv](supervised_until_learners.csv)): "
        + "; ".join(
            f"{r['table']} {r['view']} "
            + (
                f"converges at {r['converged_episodes']} episodes and {float(r['turn_at_optimum_step']):.1%} of "
                "seeds turn at the optimum's step"
                if r in converged
                else f"does not converge by {r['episodes']} episodes ("
                + ("its class holds an optimum" if r["class_status"] == "exists" else f"class {r['class_status']}")
                + f"), {float(r['turn_never']):.1%} of seeds never turn"
            )
            for r in q
        )
        + "."
    )
    return out


def minigrid_answers(levels: list[dict], learners: list[dict]) -> list[str]:
    """The MiniGrid section: exact optima from enumeration, and how far Q-learning gets."""
    out = [
        "## Bring your own environment: MiniGrid, exactly",
        "",
        f"- {len(levels)} MiniGrid levels enumerated from the simulator and solved exactly "
        "([minigrid.md](minigrid.md)): "
        + "; ".join(
            f"{r['level']} {r['states']} states, optimum {r['optimum']} ({r['fewest_steps']} steps)" for r in levels
        )
        + ".",
    ]
    best = []
    for level in dict.fromkeys(r["level"] for r in learners):
        for table in ("stationary", "step-indexed"):
            rows = [r for r in learners if r["level"] == level and r["table"] == table]
            if rows:
                last = rows[-1]
                best.append(f"{level} {table} {last['optimal']}/{last['seeds']} at {last['episodes']} episodes")
    out.append(
        "- Q-learning seeds whose greedy policy is exactly optimal at the largest budget "
        "([minigrid_learners.csv](minigrid_learners.csv)): " + "; ".join(best) + "."
    )
    return out


def main(out_dir: str | Path = REPORTS) -> None:
    out = Path(out_dir)
    exact = read_csv(out / "exact_optimum.csv")
    learned = read_csv(out / "learned_agents.csv")
    verdicts = read_csv(out / "attribution_verdicts.csv")
    attribution = read_csv(out / "attribution.csv")
    variants = read_csv(out / "variant_robustness.csv")
    mesa = read_csv(out / "mesa.csv")
    symbolic = read_csv(out / "symbolic.csv")
    switching = read_csv(out / "switching_thresholds.csv")
    convergence = read_csv(out / "convergence_summary.csv")
    phenomenon = read_csv(out / "phenomenon.csv") if (out / "phenomenon.csv").exists() else []
    regions = read_csv(out / "phenomenon_regions.csv") if (out / "phenomenon_regions.csv").exists() else []
    screen = first_screen(phenomenon, regions, variants, verdicts, learned, exact, symbolic)
    lines = (
        ["# tabturn reports", ""]
        + screen
        + [
            "",
            "Every sentence above is computed from the table it links; the details, question by question, follow "
            "the file index.",
        ]
        + [
            "",
            "Regenerated by `make report`; tables are byte-identical across runs, and figures differ at most in "
            "metadata. Run times live only in [provenance.json](provenance.json).",
            "",
            "| file | what |",
            "|---|---|",
        ]
        + [f"| [{f}]({f}) | {what} |" for f, what in FILES]
        + [""]
    )
    lines += phenomenon_answers(phenomenon, regions) + [""]
    lines += answers(exact, learned, verdicts, attribution, variants, mesa, symbolic, switching, convergence) + [""]
    if (out / "supervised_until.csv").exists():
        lines += supervised_answers(
            read_csv(out / "supervised_until.csv"), read_csv(out / "supervised_until_learners.csv")
        ) + [""]
    if (out / "gridworlds.csv").exists():
        learners = read_csv(out / "gridworld_learners.csv") if (out / "gridworld_learners.csv").exists() else []
        maps = read_csv(out / "gridworlds.csv")
        if (out / "tomato_watering.csv").exists():
            maps += read_csv(out / "tomato_watering.csv")
        lines += gridworld_answers(maps, read_csv(out / "gridworlds_extra.csv"), learners) + [""]
    if (out / "minigrid.csv").exists():
        lines += minigrid_answers(read_csv(out / "minigrid.csv"), read_csv(out / "minigrid_learners.csv")) + [""]
    write_atomic(out / "README.md", "\n".join(lines))
    print(f"wrote {out}/README.md")


if __name__ == "__main__":
    main(*sys.argv[1:])
