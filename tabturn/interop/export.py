"""Export a TabularMDP: Storm's explicit DRN format, a PRISM model, or .npz arrays in the (P, R) convention.

DRN and PRISM carry the exact rationals: transition probabilities, a reward model ``cost`` (per state and action,
in the objective's units: loss to minimise, or reward to maximise) and, when there are end-of-horizon values, a
reward model ``final`` of state rewards. State i of the file is state i of the TabularMDP. In Storm, the
finite-horizon optimum is ``R{"cost"}min=? [ C<=H ]`` (``max`` for reward-maximising MDPs) plus, for terminal
loss, ``R{"final"}min=? [ I=H ]``. Storm's exact engine does not support discounted objectives
("Exact solving of discounted total reward objectives is currently not supported", Storm 1.11 / stormpy 2.0),
so discounted problems can be exported but not cross-checked exactly there.
"""

from __future__ import annotations

import io
import re

import numpy as np

from tabturn.core.limits import require
from tabturn.core.mdp import MIN, TabularMDP
from tabturn.core.rational import format_rational


def _action_ids(mdp: TabularMDP) -> list[str]:
    return [re.sub(r"\W", "_", str(name)) for name in mdp.action_names]


def _has_final(mdp: TabularMDP) -> bool:
    return any(v != 0 for v in mdp.final_numerators)


def to_drn(mdp: TabularMDP, comment: str = "") -> str:
    """Storm's explicit DRN text of ``mdp`` (exact rationals)."""
    final = _has_final(mdp)
    out = io.StringIO()
    for line in comment.splitlines() if comment else []:
        out.write(f"// {line}\n")
    out.write("@type: MDP\n@parameters\n\n@reward_models\n" + ("cost final\n" if final else "cost\n"))
    out.write(f"@nr_states\n{mdp.n_states}\n@nr_choices\n{mdp.n_states * mdp.n_actions}\n@model\n")
    starts = {s for s, _ in mdp.start}
    ids = _action_ids(mdp)
    for s in range(mdp.n_states):
        state_reward = f" [0, {format_rational(mdp.final_cost(s))}]" if final else ""
        out.write(f"state {s}{state_reward}{' init' if s in starts else ''}\n")
        for a, name in enumerate(ids):
            cost = format_rational(mdp.cost(s, a))
            out.write(f"\taction {name} [{cost + ', 0' if final else cost}]\n")
            for t, p in mdp.next_states(s, a):
                out.write(f"\t\t{t} : {format_rational(p)}\n")
    return out.getvalue()


def to_prism(mdp: TabularMDP, comment: str = "") -> str:
    """A PRISM MDP with one state variable ``s`` (exact rationals); it needs a single start state."""
    if len(mdp.start) != 1:
        raise ValueError("PRISM export needs a single start state; use DRN for a start distribution")
    ids = [f"a_{name}" for name in _action_ids(mdp)]
    lines = [f"// {line}" for line in (comment.splitlines() if comment else [])]
    lines += ["mdp", "", "module tabturn", f"  s : [0..{mdp.n_states - 1}] init {mdp.start[0][0]};"]
    for s in range(mdp.n_states):
        for a, name in enumerate(ids):
            update = " + ".join(f"{format_rational(p)} : (s'={t})" for t, p in mdp.next_states(s, a))
            lines.append(f"  [{name}] s={s} -> {update};")
    lines += ["endmodule", "", 'rewards "cost"']
    costs = [
        f"  [{name}] s={s} : {format_rational(mdp.cost(s, a))};"
        for s in range(mdp.n_states)
        for a, name in enumerate(ids)
        if mdp.cost(s, a) != 0
    ]
    lines += (costs or ["  true : 0;"]) + ["endrewards"]  # PRISM refuses an empty reward block
    if _has_final(mdp):
        lines += (
            ["", 'rewards "final"']
            + [
                f"  s={s} : {format_rational(mdp.final_cost(s))};"
                for s in range(mdp.n_states)
                if mdp.final_cost(s) != 0
            ]
            + ["endrewards"]
        )
    return "\n".join(lines) + "\n"


def to_npz_bytes(mdp: TabularMDP) -> bytes:
    """.npz bytes with P (A, S, S) and R (S, A) as float64 rewards (loss negated), start, labels and action names
    as strings. A final-step cost (terminal timing) has no place in (P, R): refused rather than dropped."""
    from tabturn.core.errors import InputError

    if _has_final(mdp):
        raise InputError(
            "--npz",
            "(P, R) arrays cannot hold a cost charged at the end of the horizon (timing "
            "terminal); export DRN or PRISM instead",
        )
    S, A = mdp.n_states, mdp.n_actions
    require("--npz", f"dense P of {A} x {S} x {S}", 2 * 8 * A * S * S + 8 * S * A)
    P = np.stack([m.toarray().astype(np.float64) / mdp.prob_denominator for m in mdp.transition_numerators])
    sign = -1 if mdp.objective == MIN else 1
    R = sign * np.asarray(mdp.cost_numerators, dtype=np.float64) / mdp.cost_denominator
    start = np.zeros(S)
    for s, p in mdp.start:
        start[s] = float(p)
    buffer = io.BytesIO()
    np.savez(
        buffer,
        P=P,
        R=R.reshape(S, A),
        start=start,
        labels=np.array([str(lab) for lab in mdp.state_labels]),
        actions=np.array(mdp.action_names),
    )
    return buffer.getvalue()


def storm_property(mdp: TabularMDP, horizon: int) -> str:
    """The Storm property whose value is the finite-horizon optimum of ``mdp`` (per-step costs or a final cost;
    Storm has no single property for both, so that combination raises ValueError)."""
    direction = "min" if mdp.objective == MIN else "max"
    if not _has_final(mdp):
        return f'R{{"cost"}}{direction}=? [ C<={horizon} ]'
    if np.any(mdp.cost_numerators != 0):
        raise ValueError("Storm has no single property for per-step costs plus a final cost")
    return f'R{{"final"}}{direction}=? [ I={horizon} ]'
