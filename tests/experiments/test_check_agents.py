"""`check` on any agent with no silent wrong answer: saved-q files seed by seed (learn's own classes), arrays whose
shape fits two readings refused, Q-values never read without an objective, and agents as Python callables."""

import json
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
from tabturn.experiments.compare import compare
from tabturn.experiments.policy_check import CheckBatch, CheckResult, evaluate
from tests.helpers import ROOT

ALWAYS = str(ROOT / "examples" / "always.toml")
DEPLOY = str(ROOT / "examples" / "train_observed_deploy_unobserved.toml")


def _learn(tmp_path, capsys, config, seeds, *extra):
    saved = tmp_path / f"q{seeds}.npz"
    argv = ["learn", "--config", config, "--seeds", str(seeds), "--json", "--quiet", "--save-q", str(saved), *extra]
    assert main(argv) == 0
    return saved, json.loads(capsys.readouterr().out)["per_seed"]


@pytest.mark.parametrize(
    "seeds, extra",
    [
        (1, ["--episodes", "40"]),
        (3, ["--episodes", "40", "--time-indexed"]),
        (16, ["--episodes", "1"]),  # 16 seeds = the horizon: the shape a bare array could not tell apart
        (16, ["--episodes", "200", "--time-indexed", "--tie-break", "random"]),
    ],
)
def test_save_q_then_check_gives_learns_per_seed_rows_for_every_seed_and_for_one(tmp_path, capsys, seeds, extra):
    saved, by_learn = _learn(tmp_path, capsys, ALWAYS, seeds, *extra)
    assert main(["check", "--config", ALWAYS, "--q", str(saved), "--json"]) == 0  # no --objective: the file has it
    document = json.loads(capsys.readouterr().out)
    assert document["per_seed"] == by_learn and document["seeds"] == list(range(seeds))
    assert "objective loss (recorded in the file)" in document["note"]
    for seed in {0, seeds - 1}:
        assert main(["check", "--config", ALWAYS, "--q", str(saved), "--seed", str(seed), "--json"]) == 0
        one = json.loads(capsys.readouterr().out)
        for world, rows in by_learn.items():
            assert one["worlds"][world]["class"] == rows[seed]["class"]
            assert one["worlds"][world]["regret"] == rows[seed]["regret"]
        assert one["seed"] == seed and one["agreement"] == by_learn["observed"][seed]["agreement"]
    if extra == ["--episodes", "1"]:  # one episode: greedy paths run through rows training never touched
        assert any(r["class"] == "untrained-path" for r in by_learn["observed"])


def test_saved_file_describes_itself_and_is_refused_for_another_mdp(tmp_path, capsys):
    saved, _ = _learn(tmp_path, capsys, ALWAYS, 2, "--episodes", "5", "--time-indexed")
    data = np.load(saved, allow_pickle=False)
    mdp = tabturn.turn_mdp(TurnConfig.load(ALWAYS))
    assert str(data["kind"]) == "step-indexed" and str(data["objective"]) == "loss"
    assert list(data["seeds"]) == [0, 1] and tuple(data["actions"]) == mdp.action_names
    assert json.loads(str(data["labels"]))[mdp.start[0][0]] == [0, 0, True]
    assert data["q"].shape == (2, 16, mdp.n_states, 4) and data["visits"].shape == data["q"].shape
    assert int(data["visits"].sum()) == 2 * 5 * 16  # one update per step of every episode of both seeds
    other = str(ROOT / "examples" / "terminal.toml")
    assert main(["check", "--config", other, "--q", str(saved)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "saved for actions" in err
    assert main(["check", "--config", ALWAYS, "--q", str(saved), "--objective", "reward"]) == 2
    assert "records 'loss'" in capsys.readouterr().err
    assert main(["check", "--config", ALWAYS, "--q", str(saved), "--seed", "7"]) == 2
    assert "--seed: 7 is not in the file" in capsys.readouterr().err


def test_a_q_table_without_objective_is_refused_in_one_line(tmp_path, capsys):
    np.save(tmp_path / "q.npy", np.zeros((128, 4)))
    assert main(["check", "--config", ALWAYS, "--q", str(tmp_path / "q.npy")]) == 2
    err = capsys.readouterr().err
    assert err == (
        "tabturn: error: --objective: is required with --q: reward (Q-values to maximise, greedy = max) or loss "
        "(greedy = min)\n"
    )


def test_a_reward_table_is_not_inverted(tmp_path):
    # the trap: a reward-maximising table read as losses gave regret 194 instead of 35. Here: the exact
    # optimal policy written as rewards (1 on optimal actions) is optimal as reward and far from it as loss.
    solution = solve_config(TurnConfig.load(ALWAYS))
    mdp = solution.mdp
    q = np.zeros((mdp.n_states, mdp.n_actions))
    for s in range(mdp.n_states):
        q[s, solution.optimal_actions(s, 0)[0]] = 1.0
    as_reward = tabturn.check(solution, q=q, objective="reward")
    as_loss = tabturn.check(solution, q=q, objective="loss")
    stationary = tabturn.check(solution, policy=q.argmax(axis=1))
    assert as_reward.regret == stationary.regret < as_loss.regret


def test_a_bare_array_whose_seeds_equal_the_horizon_is_refused_and_read_with_a_layout(tmp_path, capsys):
    saved, by_learn = _learn(tmp_path, capsys, ALWAYS, 16, "--episodes", "30")
    q = np.load(saved)["q"]
    np.save(tmp_path / "bare.npy", q)
    argv = ["check", "--config", ALWAYS, "--q", str(tmp_path / "bare.npy"), "--objective", "loss"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "--layout H,S,A or --layout seeds,S,A" in err
    assert main(argv + ["--layout", "seeds,S,A", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)["per_seed"]
    solution = solve_config(TurnConfig.load(ALWAYS))
    greedy = compare(solution, q.argmin(axis=2))  # the same greedy (first-index ties) through compare
    assert [r["regret"] for r in rows["observed"]] == [str(r) for r in greedy.regret["observed"]]
    assert [r["regret"] for r in rows["observed"]] == [r["regret"] for r in by_learn["observed"]]
    # without visit counts the never-entered world is named, not graded
    assert {r["class"] for r in rows["unobserved"]} == {"unreachable"}
    assert all(r["regret"] is None for r in rows["unobserved"])
    assert main(argv + ["--layout", "H,S,A"]) == 0  # the other reading, on request: one step-indexed table
    assert "exact regret from the start" in capsys.readouterr().out
    # three seeds cannot be steps of a 16-step horizon: only one reading fits, no layout needed
    np.save(tmp_path / "three.npy", q[:3])
    assert isinstance(tabturn.check(ALWAYS, q=str(tmp_path / "three.npy"), objective="loss"), CheckBatch)


def test_a_world_visited_in_training_but_unreachable_in_deployment_is_graded_as_learn_grades_it(tmp_path, capsys):
    # train observed, deploy unobserved: the observed world is unreachable from the deployment start, yet training
    # visited it; with the file's visit counts check gives learn's classes, without them it names it unreachable
    saved, by_learn = _learn(tmp_path, capsys, DEPLOY, 4, "--episodes", "50")
    with_visits = tabturn.check(DEPLOY, q=str(saved))
    assert with_visits.per_seed == by_learn
    assert "unreachable" not in {r["class"] for rows in by_learn.values() for r in rows}
    bare = tabturn.check(DEPLOY, q=np.load(saved)["q"], objective="loss", layout="seeds,S,A")
    assert {r["class"] for r in bare.per_seed["observed"]} == {"unreachable"}


# ---------------------------------------------------------------- callables


def _random_policy(mdp, horizon, rng, timed, mixed):
    """A random policy as a (T, S, A) table of Fractions and as the function of (label[, t]) that plays it."""
    T, S, A = (horizon if timed else 1), mdp.n_states, mdp.n_actions
    table = np.empty((T, S, A), dtype=object)
    answers = {}
    for t in range(T):
        for s in range(S):
            if mixed and rng.random() < 0.5:
                weights = rng.integers(0, 4, A)
                weights[rng.integers(A)] += 1
                p = [Fraction(int(w), int(weights.sum())) for w in weights]
                answers[t, mdp.state_labels[s]] = p
            else:
                a = int(rng.integers(A))
                p = [Fraction(int(b == a)) for b in range(A)]
                answers[t, mdp.state_labels[s]] = mdp.action_names[a] if rng.random() < 0.5 else a
            table[t, s] = p
    if timed:
        return table, lambda label, t: answers[t, label]
    return table, lambda label: answers[0, label]


@settings(max_examples=20, deadline=None)
@given(st.integers(0, 2**32 - 1), st.booleans(), st.booleans(), st.sampled_from(["always", "switching"]))
def test_a_callable_policy_equals_the_table_it_plays(seed, timed, mixed, regime):
    extra = {"p": "1/3", "q": "1/4"} if regime == "switching" else {}
    config = TurnConfig(
        x_bounds=(0, 2), y_bounds=(0, 3), horizon=4, actions=("up", "right", "stay"), regime=regime, **extra
    )
    solution = solve_config(config)
    table, fn = _random_policy(solution.mdp, config.horizon, np.random.default_rng(seed), timed, mixed)
    by_fn = tabturn.check(solution, policy=fn)
    by_table = evaluate(solution, table)
    assert by_fn.to_dict() == by_table.to_dict() and by_fn.rows == by_table.rows


def test_batch_callable_a_tiny_network_and_the_gym_adapter_agree(tmp_path):
    solution = solve_config(TurnConfig.load(ALWAYS))
    mdp = solution.mdp
    rng = np.random.default_rng(3)
    w1, w2 = rng.normal(size=(3, 8)), rng.normal(size=(8, 4))

    def network(features):  # (n, 3) x, y, observed -> (n,) action index
        return (np.tanh(features @ w1) @ w2).argmax(axis=1)

    batched = tabturn.check(solution, policy=network, batch=True)
    one_by_one = tabturn.check(solution, policy=lambda label: int(network(np.array([label], dtype=float))[0]))
    assert batched.to_dict() == one_by_one.to_dict()
    from tabturn.interop.gym_env import TurnEnv

    env = TurnEnv(ALWAYS)
    labels = np.array([list(lab) for lab in mdp.state_labels], dtype=float)

    def predict(observation):  # an SB3-style agent: observation index in, (action, state) out
        return network(labels[[observation]])[0], None

    assert tabturn.check(solution, policy=tabturn.predict_policy(predict, env)).to_dict() == batched.to_dict()


def test_policy_fn_on_the_command_line_and_its_errors(tmp_path, capsys):
    code = tmp_path / "agent.py"
    code.write_text(
        "def act(label, t):\n"
        "    x, y, observed = label\n"
        "    return 'up' if t % 2 else {'right', 'up'}\n"
        "def broken(label):\n"
        "    raise ValueError('no weights loaded')\n"
    )
    assert main(["check", "--config", ALWAYS, "--policy-fn", f"{code}:act", "--json"]) == 0
    by_cli = json.loads(capsys.readouterr().out)

    def act(label, t):
        return "up" if t % 2 else {"right", "up"}

    assert by_cli["regret"] == tabturn.check(ALWAYS, policy=act).to_dict()["regret"]
    for spec, message in [
        (f"{code}:broken", "the policy function raised ValueError: no weights loaded (at state (0, 0, "),
        (f"{code}:missing", "has no function 'missing'"),
        (f"{tmp_path}/none.py:act", "file not found"),
        ("agent", "must be FILE.py:FUNCTION"),
    ]:
        assert main(["check", "--config", ALWAYS, "--policy-fn", spec]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and message in err and err.startswith("tabturn: error: --policy-fn: "), err


@pytest.mark.parametrize(
    "answer, message",
    [
        ("jump", "unknown action 'jump'"),
        (7, "the function returned 7"),
        ([0.5, 0.25], "needs 4 entries"),
        ([0.5, 0.25, 0.25, 0.25], "sum to"),
        (set(), "empty set"),
        (None, "the function returned None"),
        ((1, None, 0, 0), "must be numbers"),
    ],
)
def test_a_callables_bad_answer_is_refused_naming_the_state(answer, message):
    with pytest.raises(InputError, match="policy") as raised:
        tabturn.check(ALWAYS, policy=lambda label: answer)
    assert message in str(raised.value) and "state (" in str(raised.value)
    assert isinstance(tabturn.check(ALWAYS, policy=lambda label: "up"), CheckResult)


# ---------------------------------------------------------------- found by an independent review


def test_a_step_indexed_file_for_another_horizon_is_refused_in_one_line(tmp_path, capsys):
    saved, _ = _learn(tmp_path, capsys, ALWAYS, 2, "--episodes", "5", "--time-indexed")
    shorter = tmp_path / "always10.toml"
    shorter.write_text((ROOT / "examples" / "always.toml").read_text().replace("horizon = 16", "horizon = 10"))
    assert main(["check", "--config", str(shorter), "--q", str(saved)]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and "step-indexed tables for horizon 16" in err


@pytest.mark.parametrize("layout", ["seeds,S,A", "seeds,H,S,A"])
def test_one_seed_of_a_seeds_array_is_the_row_the_batch_checks_even_with_random_ties(layout):
    solution = solve_config(TurnConfig.load(ALWAYS))
    shape = (4, 128, 4) if layout == "seeds,S,A" else (4, 16, 128, 4)
    q = np.zeros(shape)  # every action tied: the random tie-break decides everything
    batch = tabturn.check(solution, q=q, objective="loss", tie_break="random", layout=layout)
    for seed in range(4):
        one = tabturn.check(solution, q=q, objective="loss", tie_break="random", layout=layout, seed=seed)
        assert one.agreement == batch.per_seed["observed"][seed]["agreement"]
        assert str(one.regret) == batch.per_seed["observed"][seed]["regret"]


def test_gridworld_agreement_of_one_seed_equals_its_batch_row(tmp_path, capsys):
    config = str(ROOT / "examples" / "gridworlds" / "whisky_gold.toml")
    saved, rows = _learn(tmp_path, capsys, config, 3, "--episodes", "100")
    for seed in range(3):
        assert main(["check", "--config", config, "--q", str(saved), "--seed", str(seed), "--json"]) == 0
        one = json.loads(capsys.readouterr().out)
        assert one["agreement"] == rows["start"][seed]["agreement"]
        by_python = tabturn.check(config, q=str(saved), seed=seed)  # the map path works in Python too
        assert by_python.agreement == one["agreement"] and "enters" in by_python.worlds["start"]


def test_an_optional_second_parameter_is_not_the_step():
    calls = []

    def predict(features, batch_size=None):  # a Keras/sklearn-style predict
        calls.append(batch_size)
        return np.zeros(len(features), dtype=int)

    tabturn.check(ALWAYS, policy=predict, batch=True)
    assert calls == [None]  # called once, stationary, batch_size untouched


def test_supervised_until_agents_are_checked_by_what_they_observe():
    # the agent sees (x, y, observed), never the clock; a policy keyed by that applies to every clock layer
    config = TurnConfig(
        x_bounds=(0, 2), y_bounds=(0, 3), horizon=5, b=2, regime="supervised-until", switch_steps=((2, 1),)
    )
    seen = []

    def agent(label):
        seen.append(label)
        return "up" if not label[2] else "right"  # right while watched, up once not

    result = tabturn.check(config, policy=agent)
    assert seen and all(len(label) == 3 for label in seen)
    # by hand: right, right (watched: offsets -1, -2 charged), then up x3: losses 1, 4, then -2*1 -2*2 -2*3
    value = Fraction(1 + 4 - 2 - 4 - 6)
    assert result.regret == value - solve_config(config).start_value() > 0
    rows = [{"x": x, "y": y, "observed": o, "action": "up" if o == "false" else "right"}
            for x in range(3) for y in range(4) for o in ("true", "false")]  # fmt: skip
    assert tabturn.check(config, policy=rows).regret == result.regret
