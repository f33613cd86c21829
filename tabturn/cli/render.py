"""Human- and machine-readable views of a Solution: ASCII policy maps and the JSON document."""

from __future__ import annotations

from fractions import Fraction

from tabturn.core.rational import format_rational
from tabturn.exact.solution import Solution
from tabturn.exact.trajectory import optimal_trajectory, policy_attractors

LETTERS = {"up": "U", "down": "D", "left": "L", "right": "R", "stay": "S"}
MAX_MAP_COLUMNS = 40


def _state_json(label) -> dict:
    if isinstance(label, tuple) and len(label) == 3:
        return {"x": label[0], "y": label[1], "observed": bool(label[2])}
    if isinstance(label, tuple) and len(label) == 4:  # supervised-until: the clock of the observed steps
        return {"x": label[0], "y": label[1], "observed": bool(label[2]), "clock": label[3]}
    return {"index": label}


def turn_step(summary: dict, y_high: int) -> int | None:
    """The turn step of a trajectory summary (tabturn.experiments.turning.turn_step)."""
    from tabturn.experiments.turning import turn_step as step_of

    return step_of(summary["actions"], [state["y"] for state in summary["states"]], y_high)


def _num(value: Fraction | None) -> str | None:
    return None if value is None else format_rational(value)


def attractor_summary(solution: Solution) -> dict:
    """The optimal behaviour from the start: a trajectory with its cycle, or the policy's attractors."""
    if solution.mdp.is_deterministic() and len(solution.mdp.start) == 1:
        traj = optimal_trajectory(solution)
        return {
            "kind": "trajectory",
            "states": [_state_json(s) for s in traj["states"]],
            "actions": traj["actions"],
            "cycle": None if traj["cycle"] is None else [_state_json(s) for s in traj["cycle"]],
            "offset_cycle": traj["offset_cycle"],
            "terminal": None if traj["terminal"] is None else _state_json(traj["terminal"]),
        }
    return {
        "kind": "attractors",
        "components": [[_state_json(s) for s in comp] for comp in policy_attractors(solution)],
    }


STATE_CHOICES = ("all", "start", "none")


def solution_json(solution: Solution, provenance: dict, step: int = 0, states: str = "all") -> dict:
    """The `tabturn solve --json` document (schema: docs/json.md); exact numbers as "p/q" or integer strings,
    each beside a ``*_float`` rounding. ``states``: all, start or none; ``step``: the step the states' values,
    optimal actions and gaps refer to."""
    mdp = solution.mdp
    start = mdp.start[0][0] if len(mdp.start) == 1 else None
    summary = attractor_summary(solution)
    value = solution.start_value()
    chosen = {"all": range(mdp.n_states), "start": [s for s, _ in mdp.start], "none": []}[states]
    values = solution.values_at(step)
    return {
        "certified": solution.certified,
        "reason": solution.reason,
        "method": solution.method,
        "objective": mdp.objective,
        "horizon": solution.horizon,
        "discount": format_rational(solution.discount),
        "start": {
            "state": None if start is None else _state_json(mdp.state_labels[start]),
            "value": format_rational(value),
            "value_float": float(value),
        },
        ("optimal_trajectory" if summary["kind"] == "trajectory" else "attractors"): summary,
        "stats": solution.stats,
        "step": step,
        "states": [_state_entry(solution, s, step, values) for s in chosen],
        "provenance": provenance,
    }


def _state_entry(solution: Solution, s: int, step: int, values) -> dict:
    gap = solution.gap(s) if step == 0 else step_gap(solution, s, step)
    return {
        "state": _state_json(solution.mdp.state_labels[s]),
        "value": format_rational(values[s]),
        "value_float": float(values[s]),
        "optimal_actions": list(solution.optimal_action_names(s, step)),
        "gap": _num(gap),
        "gap_float": None if gap is None else float(gap),
    }


def step_gap(solution: Solution, s: int, step: int) -> Fraction | None:
    """Exact gap to the best non-optimal action at ``s`` after ``step`` steps (None when all are optimal)."""
    from tabturn.experiments.policy_check import action_gap

    optimal = set(solution.optimal_actions(s, step))
    others = [action_gap(solution, s, a, step) for a in range(solution.mdp.n_actions) if a not in optimal]
    return min(others) if others else None


def policy_map(solution: Solution, observed: bool, step: int = 0) -> str:
    """ASCII map of the optimal action sets at ``step`` for one flag of a turn-family solution (y up)."""
    mdp = solution.mdp
    labels = mdp.state_labels
    cells = {
        (label[0], label[1]): s
        for s, label in enumerate(labels)
        if label[2] == observed and (len(label) == 3 or not observed or label[3] == step)
    }
    if not cells:
        return f"(no observed states at step {step}: supervision has ended)"
    xs = sorted({x for x, _ in cells})
    ys = sorted({y for _, y in cells}, reverse=True)
    if len(xs) > MAX_MAP_COLUMNS:
        return f"(map omitted: {len(xs)} columns > {MAX_MAP_COLUMNS}; use --json)"
    start = mdp.start[0][0] if len(mdp.start) == 1 else None
    text = {
        xy: "".join(LETTERS.get(n, n[0]) for n in solution.optimal_action_names(s, step)) for xy, s in cells.items()
    }
    text = {xy: f"[{t}]" if cells[xy] == start else t for xy, t in text.items()}
    width = max(max(len(t) for t in text.values()), len(str(xs[-1])), len(str(xs[0]))) + 1
    lines = [f"{y:>4} |" + "".join(text[(x, y)].rjust(width) for x in xs) for y in ys]
    lines.append("     +" + "-" * (width * len(xs)))
    lines.append("      " + "".join(str(x).rjust(width) for x in xs))
    return "\n".join(lines)


def solution_text(solution: Solution, step: int = 0) -> str:
    """The default `tabturn solve` text report (maps and state lines at ``step``)."""
    mdp = solution.mdp
    out = [
        f"method: {solution.method}",
        f"certified: {str(solution.certified).lower()} ({solution.reason})",
        f"objective: {mdp.objective}; horizon: {solution.horizon if solution.horizon else 'infinite'}; "
        f"discount: {format_rational(solution.discount)}",
        f"start value: {format_rational(solution.start_value())} (~{float(solution.start_value()):.6g})",
    ]
    summary = attractor_summary(solution)
    if summary["kind"] == "trajectory":
        cyc = summary["cycle"]
        out.append(
            "optimal trajectory actions (first-index tie-break): "
            + " ".join(summary["actions"][:40])
            + (" ..." if len(summary["actions"]) > 40 else "")
        )
        if summary["terminal"] is not None:
            ended = format_state(summary["terminal"])
            out.append(f"the episode ends after {len(summary['actions'])} steps (terminal state {ended})")
        else:
            out.append(
                "attractor cycle: " + (" -> ".join(format_state(s) for s in cyc) if cyc else "none within the horizon")
            )
        if summary["offset_cycle"]:
            out.append(f"long-run offset y-x pattern: {summary['offset_cycle']}")
        config = mdp.description.get("config", {})
        if mdp.description.get("builder") == "turn" and config.get("supervision", {}).get("switch_step"):
            k, turn = config["supervision"]["switch_step"], turn_step(summary, config["grid"]["y"][1])
            when = "never" if turn is None else ("at" if turn == k else ("before" if turn < k else "after"))
            out.append(
                f"supervision ends at step {k}; the optimal trajectory turns (goes up every step to the top row) "
                + ("never" if turn is None else f"from step {turn} ({when} the switch step)")
            )
    else:
        for comp in summary["components"]:
            out.append("attracting set: {" + ", ".join(format_state(s) for s in comp) + "}")
    if mdp.description.get("builder") == "turn":
        for observed in (True, False):
            out.append(
                f"\noptimal action sets at step {step}, {'observed' if observed else 'unobserved'} "
                "(U/D/L/R/S; [ ] = start):"
            )
            out.append(policy_map(solution, observed, step))
    else:
        out.append(f"\nstate: value | optimal actions | gap (step {step})")
        values = solution.values_at(step)
        for s in range(min(mdp.n_states, 200)):
            if mdp.terminal[s]:
                out.append(f"{mdp.state_labels[s]}: terminal (the episode is over; no actions)")
                continue
            gap = solution.gap(s) if step == 0 else step_gap(solution, s, step)
            out.append(
                f"{mdp.state_labels[s]}: {_short(values[s])} | "
                f"{','.join(solution.optimal_action_names(s, step))} | "
                f"{'-' if gap is None else _short(gap)}"
            )
    return "\n".join(out) + "\n"


def _short(value) -> str:
    """An exact number for a text line: "p/q" when short, else its float marked as one (the JSON has it exactly)."""
    text = format_rational(value)
    return text if len(text) <= 24 else f"~{float(value):.10g} (float; exact in --json)"


def format_state(state: dict) -> str:
    """Short text of a JSON state: "(x,y,obs)" / "(x,y,unobs)" ("(x,y,obs@t)" with a clock) or the index."""
    if "x" in state:
        clock = f"@{state['clock']}" if state.get("clock") is not None and state["observed"] else ""
        return f"({state['x']},{state['y']},{'obs' if state['observed'] else 'unobs'}{clock})"
    return str(state["index"])
