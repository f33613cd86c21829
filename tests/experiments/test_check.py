"""`tabturn check` and tabturn.check: your own policy or Q-table against the exact optimum."""

import csv
import itertools
import random
from fractions import Fraction

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import tabturn
from tabturn.cli.commands import main
from tabturn.core.errors import InputError
from tabturn.envs.solve import solve_config
from tabturn.envs.turn.config import TurnConfig
from tabturn.exact.evaluate import path_value
from tabturn.experiments.compare import compare
from tests.helpers import ROOT

ALWAYS = str(ROOT / "examples" / "always.toml")


def _write(path, header, rows):
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(header)
        writer.writerows(rows)
    return str(path)


def _q_rows(config: TurnConfig, seed: int = 0):
    rng = np.random.default_rng(seed)
    (x0, x1), (y0, y1) = config.x_bounds, config.y_bounds
    return [
        [x, y, str(obs).lower(), *rng.normal(size=len(config.actions)).round(3)]
        for x, y, obs in itertools.product(range(x0, x1 + 1), range(y0, y1 + 1), (True, False))
    ]


def test_numpy_q_table_by_label_cli_and_python_agree_and_row_order_does_not_matter(tmp_path, capsys):
    config = TurnConfig.load(ALWAYS)
    rows = _q_rows(config)
    header = ["x", "y", "observed", *config.actions]
    path = _write(tmp_path / "q.csv", header, rows)
    shuffled = rows[:]
    random.Random(1).shuffle(shuffled)
    other = _write(tmp_path / "q_shuffled.csv", header, shuffled)
    import json

    assert main(["check", "--config", ALWAYS, "--q", path, "--objective", "reward", "--json"]) == 0
    by_cli = json.loads(capsys.readouterr().out)
    assert main(["check", "--config", ALWAYS, "--q", other, "--objective", "reward", "--json"]) == 0
    by_cli_shuffled = json.loads(capsys.readouterr().out)
    by_python = tabturn.check(config, q=path, objective="reward").to_dict()
    for key in ("regret", "regret_float", "worlds", "agreement", "agreement_steps", "agreement_path", "deviations"):
        assert by_cli[key] == by_python[key] == by_cli_shuffled[key]
    # the same table as an array in tabturn's state order gives the same answer
    solution = solve_config(config)
    index = {(r["x"], r["y"], r["observed"] == "true"): r["index"] for r in tabturn.state_table(solution.mdp)}
    q = np.zeros((solution.mdp.n_states, len(config.actions)))
    for r in rows:
        q[index[(r[0], r[1], r[2] == "true")]] = r[3:]
    np.save(tmp_path / "q.npy", q)
    assert tabturn.check(solution, q=str(tmp_path / "q.npy"), objective="reward").to_dict() == by_python
    # and the greedy policy's regret is the one compare() finds for it
    greedy = q.argmax(axis=1)
    comp = compare(solution, greedy[None])
    assert {w: Fraction(v["regret"] or v["regret_if_started_there"]) for w, v in by_python["worlds"].items()} == {
        w: r[0] for w, r in comp.regret.items()
    }
    # always observed: no policy enters the unobserved world from the start, so it is named, not graded
    assert by_python["worlds"]["unobserved"]["class"] == "unreachable"
    assert by_python["worlds"]["unobserved"]["regret"] is None


@pytest.mark.parametrize(
    "mutate, field",
    [
        (lambda rows: [rows[0][:3] + ["jump"]] + rows[1:], "unknown action 'jump'"),
        (lambda rows: rows[1:], "missing state"),
        (lambda rows: [rows[0][:3] + ["1/2"]] + rows[1:], "sum to"),
        (lambda rows: [["99"] + rows[0][1:]] + rows[1:], "unknown state"),
    ],
)
def test_bad_policy_tables_fail_with_one_line(tmp_path, capsys, mutate, field):
    config = TurnConfig.load(ALWAYS)
    solution = solve_config(config)
    names = list(config.actions)
    if field == "sum to":  # probability columns, one row not normalised
        header = ["x", "y", "observed", *names]
        rows = [[*_label(lab), *[1 if a == 0 else 0 for a in range(len(names))]] for lab in solution.mdp.state_labels]
        rows[0] = rows[0][:3] + ["1/2"] + ["0"] * (len(names) - 1)
    else:
        header = ["x", "y", "observed", "action"]
        rows = mutate([[*_label(lab), names[0]] for lab in solution.mdp.state_labels])
    path = _write(tmp_path / "p.csv", header, rows)
    assert main(["check", "--config", ALWAYS, "--policy", path]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and field in err and "Traceback" not in err
    if field != "missing state":
        assert "row 2" in err  # the first data row of the file


def _label(label):
    x, y, observed = label
    return [int(x), int(y), str(bool(observed)).lower()]


def test_optimal_tie_sets_by_label_have_zero_regret_and_full_agreement(tmp_path):
    config = TurnConfig.load(ALWAYS)
    solution = solve_config(config)
    rows = [
        [t, *_label(lab), a]
        for t in range(config.horizon)
        for s, lab in enumerate(solution.mdp.state_labels)
        for a in solution.optimal_action_names(s, t)
    ]
    result = tabturn.check(config, policy=_write(tmp_path / "p.csv", ["t", "x", "y", "observed", "action"], rows))
    assert result.regret == 0 and result.agreement == result.agreement_steps == result.agreement_path == 1
    assert result.deviations == [] and result.worlds["observed"]["class"] == "optimal"
    assert result.worlds["unobserved"] == {"regret": None, "class": "unreachable", "regret_if_started_there": 0}
    frame = result.to_frame()
    assert len(frame) == config.horizon * solution.mdp.n_states and frame["in_optimal_set"].all()


def test_one_deviation_costs_exactly_its_reported_gap():
    # optimal everywhere except one non-optimal first move at the start: regret = that action's exact gap
    config = TurnConfig.load(ALWAYS)
    solution = solve_config(config)
    mdp = solution.mdp
    policy = np.array([[solution.optimal_actions(s, t)[0] for s in range(mdp.n_states)] for t in range(config.horizon)])
    start = mdp.start[0][0]
    wrong = next(a for a in range(mdp.n_actions) if a not in solution.optimal_actions(start, 0))
    policy[0, start] = wrong
    with pytest.raises(InputError, match="layout"):  # (H, S) or (seeds, S): never guessed
        tabturn.check(solution, policy=policy)
    result = tabturn.check(solution, policy=policy, layout="H,S")
    assert result.deviations[0]["t"] == 0 and result.deviations[0]["policy_actions"] == [mdp.action_names[wrong]]
    assert result.regret == Fraction(result.deviations[0]["gap"]) > 0
    assert result.regret == path_value(mdp, policy, start, config.horizon, 1) - solution.value(start)


@settings(max_examples=15, deadline=None)
@given(st.integers(0, 10**6), st.sampled_from(["always", "absent-supervisor", "switching"]))
def test_stochastic_policy_value_equals_brute_force_over_action_sequences(seed, regime):
    # a random stationary stochastic policy on a tiny finite-horizon config: exact expected loss by enumerating
    # every action sequence and successor, against check's mixed-chain evaluation
    extra = {"p": "1/3", "q": "1/4"} if regime == "switching" else {}
    config = TurnConfig(
        x_bounds=(0, 2), y_bounds=(0, 2), horizon=3, actions=("up", "right", "stay"), regime=regime, **extra
    )
    solution = solve_config(config)
    mdp = solution.mdp
    rng = random.Random(seed)
    probs = []
    for _ in range(mdp.n_states):
        cuts = sorted(Fraction(rng.randint(0, 6), 6) for _ in range(2))
        probs.append([cuts[0], cuts[1] - cuts[0], 1 - cuts[1]])

    def value(s, steps):
        if steps == 0:
            return mdp.final_cost(s)
        return sum(
            p_a * (mdp.cost(s, a) + sum(p * value(n, steps - 1) for n, p in mdp.next_states(s, a)))
            for a, p_a in enumerate(probs[s])
            if p_a
        )

    start = mdp.start[0][0]
    result = tabturn.check(solution, policy=_rows_of(mdp, probs))
    assert result.regret == value(start, 3) - solution.value(start)


def _rows_of(mdp, probs):
    return [
        {"x": x, "y": y, "observed": str(o).lower(), **{a: str(p) for a, p in zip(mdp.action_names, probs[s])}}
        for s, (x, y, o) in enumerate(mdp.state_labels)
    ]


def test_python_api_refuses_both_or_neither_and_bad_tie_break():
    config = TurnConfig.load(ALWAYS)
    with pytest.raises(InputError, match="exactly one"):
        tabturn.check(config)
    with pytest.raises(InputError, match="tie_break"):
        tabturn.check(config, q=np.zeros((128, 4)), objective="loss", tie_break="coin")
    with pytest.raises(InputError, match="objective: required with q: reward"):  # no silent default
        tabturn.check(config, q=np.zeros((128, 4)))


def test_states_command_lists_the_order_arrays_follow(capsys):
    assert main(["states", "--config", ALWAYS, "--csv"]) == 0
    lines = capsys.readouterr().out.splitlines()
    solution = solve_config(TurnConfig.load(ALWAYS))
    assert lines[0] == "index,x,y,observed" and len(lines) == solution.mdp.n_states + 1
    i, x, y, observed = lines[5].split(",")
    assert solution.mdp.state_labels[int(i)] == (int(x), int(y), observed == "true")


def test_solution_to_frame_has_exact_and_float_values_per_step():
    pd = pytest.importorskip("pandas")
    config = TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=3)
    solution = solve_config(config)
    frame = solution.to_frame()
    assert isinstance(frame, pd.DataFrame) and len(frame) == 3 * solution.mdp.n_states
    assert frame["value"].dtype == float
    later = solve_config(TurnConfig(x_bounds=(0, 2), y_bounds=(0, 2), horizon=2))  # 2 steps to go = step 1 of 3
    step1 = frame[frame.t == 1]
    assert list(step1["value_exact"]) == [str(v) for v in later.values.to_fractions()]


def test_readme_check_tutorial_runs_as_a_doctest(tmp_path, monkeypatch):
    import doctest

    text = (ROOT / "README.md").read_text()
    block = text.split("```pycon\n", 1)[1].split("```", 1)[0]
    monkeypatch.chdir(ROOT)
    parser = doctest.DocTestParser()
    test = parser.get_doctest(
        block.replace('"my_q.csv"', repr(str(tmp_path / "my_q.csv"))), {}, "README", "README.md", 0
    )
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 8
    assert main(["check", "--config", ALWAYS, "--q", str(tmp_path / "my_q.csv"), "--objective", "reward"]) == 0


@pytest.mark.parametrize("regime", ["always", "switching"])
def test_step_gap_at_step_zero_is_the_solvers_gap(regime):
    from tabturn.cli.render import step_gap

    extra = {"p": "1/3", "q": "1/4"} if regime == "switching" else {}
    solution = solve_config(TurnConfig(x_bounds=(0, 3), y_bounds=(0, 3), horizon=4, regime=regime, **extra))
    assert all(step_gap(solution, s, 0) == solution.gap(s) for s in range(solution.mdp.n_states))


def test_solve_json_step_and_states_options(capsys):
    import json

    assert main(["solve", "--config", ALWAYS, "--json", "--states", "start", "--step", "3"]) == 0
    doc = json.loads(capsys.readouterr().out)
    solution = solve_config(TurnConfig.load(ALWAYS))
    start = solution.mdp.start[0][0]
    assert doc["step"] == 3 and len(doc["states"]) == 1 and "optimal_trajectory" in doc and "attractor" not in doc
    entry = doc["states"][0]
    assert entry["optimal_actions"] == list(solution.optimal_action_names(start, 3))
    assert Fraction(entry["value"]) == solution.values_at(3)[start] and entry["value_float"] == float(
        Fraction(entry["value"])
    )
    assert doc["start"]["value_float"] == float(solution.start_value())
    assert main(["solve", "--config", ALWAYS, "--json", "--states", "none"]) == 0
    assert json.loads(capsys.readouterr().out)["states"] == []


def test_docs_json_names_every_top_level_key_of_every_json_output(tmp_path, capsys):
    import json

    text = (ROOT / "docs" / "json.md").read_text()
    q = _write(
        tmp_path / "q.csv", ["x", "y", "observed", "up", "down", "left", "right"], _q_rows(TurnConfig.load(ALWAYS))
    )
    commands = [
        ["solve", "--config", ALWAYS],
        ["check", "--config", ALWAYS, "--q", q, "--objective", "reward"],
        ["learn", "--config", ALWAYS, "--seeds", "2", "--episodes", "5", "--quiet"],
        [
            "attribute",
            "--config",
            str(ROOT / "examples" / "terminal.toml"),
            "--seeds",
            "2",
            "--episodes",
            "5",
            "--quiet",
        ],
        ["mesa", "--config", ALWAYS, "--episodes", "5"],
        ["symbolic", "--instances", "1"],
    ]
    for argv in commands:
        assert main(argv + ["--json"]) == 0
        document = json.loads(capsys.readouterr().out)
        missing = [k for k in document if k != "command" and f"`{k}`" not in text and f"`{k}." not in text]
        assert not missing, (argv[0], missing)


def test_check_by_state_label_on_an_exported_mdp_matches_the_config(tmp_path, capsys):
    # the same MDP as .npz (rewards = -losses, labels as text, actions a0, a1, ...) checked by the state column
    import io
    import json

    terminal = ALWAYS  # per-step losses: (P, R) arrays hold them (a final-step loss has no place in R)
    assert main(["export", "--config", terminal, "--npz", str(tmp_path / "t.npz")]) == 0
    capsys.readouterr()
    assert main(["states", "--mdp", str(tmp_path / "t.npz"), "--csv"]) == 0
    states = list(csv.DictReader(io.StringIO(capsys.readouterr().out)))
    config = TurnConfig.load(terminal)
    first = config.actions[0]  # the export keeps the action names
    policy = _write(tmp_path / "p.csv", ["state", "action"], [[r["state"], first] for r in states])
    assert main(["check", "--mdp", str(tmp_path / "t.npz"), "--horizon", "16", "--policy", policy, "--json"]) == 0
    by_mdp = json.loads(capsys.readouterr().out)
    labels = _write(
        tmp_path / "l.csv",
        ["x", "y", "observed", "action"],
        [[*_label(lab), first] for lab in solve_config(config).mdp.state_labels],
    )
    assert by_mdp["regret"] == tabturn.check(config, policy=labels).to_dict()["regret"] != "0"


@settings(max_examples=25, deadline=None)
@given(st.integers(0, 2**32 - 1), st.integers(1, 6), st.booleans())
def test_values_of_many_policies_equal_one_evaluation_each(seed, horizon, stochastic):
    # The stacked evaluation of a batch (with repeats) against mixed_policy_values, one policy at a time.
    from tabturn.exact.evaluate import deterministic_table, many_policy_values, mixed_policy_values
    from tabturn.interop.arrays import mdp_from_arrays

    rng = np.random.default_rng(seed)
    S, A = 4, 3
    P = rng.integers(0, 3, (A, S, S)).astype(float) if stochastic else np.eye(S)[rng.integers(0, S, (A, S))]
    P[P.sum(axis=2) == 0, 0] = 1
    P /= P.sum(axis=2, keepdims=True)
    mdp = mdp_from_arrays(P, rng.integers(-4, 5, (S, A)).astype(float))
    policies = rng.integers(0, A, (5, S))
    policies[3] = policies[0]
    N, den = many_policy_values(mdp, policies, horizon)
    for policy, row in zip(policies, N):
        assert [Fraction(int(n), den) for n in row] == mixed_policy_values(
            mdp, deterministic_table(policy[None], A), horizon, 1
        )
    step_indexed = rng.integers(0, A, (4, horizon, S))  # one table per step
    step_indexed[2] = step_indexed[1]
    N, den = many_policy_values(mdp, step_indexed, horizon)
    for policy, row in zip(step_indexed, N):
        assert [Fraction(int(n), den) for n in row] == mixed_policy_values(
            mdp, deterministic_table(policy, A), horizon, 1
        )
