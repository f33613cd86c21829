"""The committed reports are what the analysis code produces (full tables where cheap, else reduced checks)."""

import importlib

import pytest

from tests.helpers import ROOT

REPORTS = ROOT / "reports"


def _module(name):
    return importlib.import_module(f"analysis.{name}")


def test_committed_exact_optimum_tables_are_reproduced():
    csv_text, md_text, _ = _module("exact_optimum").tables()
    assert (REPORTS / "exact_optimum.csv").read_text() == csv_text
    assert (REPORTS / "exact_optimum.md").read_text() == md_text + "\n"


def test_index_is_reproduced_from_the_committed_tables(tmp_path):
    for name in (
        "exact_optimum.csv",
        "learned_agents.csv",
        "attribution.csv",
        "attribution_verdicts.csv",
        "variant_robustness.csv",
        "mesa.csv",
        "symbolic.csv",
        "switching_thresholds.csv",
        "convergence_summary.csv",
        "phenomenon.csv",
        "phenomenon_regions.csv",
        "gridworlds.csv",
        "gridworlds_extra.csv",
        "gridworld_learners.csv",
        "tomato_watering.csv",
        "supervised_until.csv",
        "supervised_until_learners.csv",
        "minigrid.csv",
        "minigrid_learners.csv",
    ):
        (tmp_path / name).write_text((REPORTS / name).read_text())
    _module("index").main(tmp_path)
    assert (tmp_path / "README.md").read_text() == (REPORTS / "README.md").read_text()


@pytest.mark.parametrize(
    "example, learner",
    [("always", "q"), ("train_observed_deploy_unobserved", "double-q"), ("switching", "expected-sarsa")],
)
def test_committed_per_seed_rows_are_reproduced_for_a_subset_of_seeds(example, learner):
    la = _module("learned_agents")
    common = _module("common")
    committed = [
        r
        for r in common.read_csv(REPORTS / "learned_agents_seeds.csv")
        if r["example"] == example and r["learner"] == learner
    ]
    assert len(committed) == 2 * la.SEEDS
    seeds = range(0, la.SEEDS, 97)  # every 97th seed, computed alone: per-seed results do not depend on the batch
    _, rows = la.study(ROOT / "examples" / f"{example}.toml", learner, seeds)
    expected = {(r["seed"], r["world"]): r for r in committed}
    for row in rows:
        assert {k: str(v) for k, v in row.items()} == expected[(str(row["seed"]), row["world"])]


def test_committed_attribution_of_the_terminal_example_is_reproduced():
    # the cheapest example (converges at 64 episodes) in full: every row and verdict, bit for bit
    module, common = _module("attribution"), _module("common")
    rows, verdicts = module.tables(configs=("terminal",))
    committed_rows = [r for r in common.read_csv(REPORTS / "attribution.csv") if r["example"] == "terminal"]
    committed = [v for v in common.read_csv(REPORTS / "attribution_verdicts.csv") if v["example"] == "terminal"]
    assert [{k: str(r[k]) for k in module.COLUMNS} for r in rows] == committed_rows
    assert [{k: str(v[k]) for k in module.VERDICT_COLUMNS} for v in verdicts] == committed


def test_exact_optimum_main_writes_tables_and_figure(tmp_path):
    pytest.importorskip("matplotlib")
    _module("exact_optimum").main(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"exact_optimum.csv", "exact_optimum.md", "policy_maps.png"}
    assert (tmp_path / "exact_optimum.csv").read_text() == (REPORTS / "exact_optimum.csv").read_text()
    assert (tmp_path / "policy_maps.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert (tmp_path / "exact_optimum.csv").stat().st_mode & 0o044  # readable by others, not mkstemp's 0600


def test_readme_python_example_prints_what_it_says(capsys):
    text = (ROOT / "README.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
    first = capsys.readouterr().out.splitlines()[0]
    first_print = next(line for line in code.splitlines() if line.startswith("print("))
    promised = first_print.split("#")[1].split("(")[0].split()
    assert first.split() == promised


def test_variant_rows_reproduce_their_exact_columns():
    vr = _module("variant_robustness")
    committed = _module("common").read_csv(REPORTS / "variant_robustness.csv")
    finite = [o for o in vr.OBJECTIVES if o[1] is not None]
    supervised = len(vr.DISTANCES) * len(vr.ACTION_SETS) * len(finite)
    assert len(committed) == len(vr.DISTANCES) * len(vr.ACTION_SETS) * len(vr.OBJECTIVES) * len(vr.REGIMES) + supervised
    assert sum(r["regime"].startswith("supervised-until") for r in committed) == supervised
    from tabturn.envs.solve import solve_config
    from tabturn.envs.turn.config import TurnConfig

    for r in [r for r in committed if not r["regime"].startswith("supervised-until")][::17]:
        regime = dict(vr.REGIMES)[r["regime"]]
        cfg = TurnConfig(
            **vr.GRID,
            actions=tuple(r["actions"].split()),
            distance=r["distance"],
            timing=r["timing"],
            horizon=None if r["horizon"] == "none" else int(r["horizon"]),
            discount=r["discount"],
            regime=r["regime"],
            **regime,
        )
        exact = vr.exact_columns(solve_config(cfg))
        assert {k: r[k] for k in exact} == exact
    for r in [r for r in committed if r["regime"].startswith("supervised-until")][::5]:
        # the exact first actions at the start, from an independent solve of the row's config
        cfg = TurnConfig(
            **vr.GRID, actions=tuple(r["actions"].split()), distance=r["distance"], timing=r["timing"],
            horizon=int(r["horizon"]), discount=r["discount"], **vr.SUPERVISED[1], regime="supervised-until",
        )  # fmt: skip
        sol = solve_config(cfg)
        assert r["exact_first_observed"] == " ".join(sol.optimal_action_names(sol.mdp.start[0][0]))


def test_committed_mesa_rows_are_reproduced():
    module = _module("mesa")
    committed = _module("common").read_csv(REPORTS / "mesa.csv")
    import itertools

    combos = [
        (module.ACTION_ORDERS[0], *c)
        for c in itertools.product(module.REGIMES, module.DISTANCES, module.MODELS, module.COVERAGES)
    ]
    assert len(committed) == len(combos) + len(module.REGIMES) * len(module.MODELS)
    for i in range(0, len(combos), 11):
        assert module.row(*combos[i]) == committed[i]


def test_committed_gridworld_tables_are_reproduced():
    rows, extra = _module("gridworlds").tables()
    common = _module("common")
    assert rows == common.read_csv(REPORTS / "gridworlds.csv")
    assert extra == common.read_csv(REPORTS / "gridworlds_extra.csv")


@pytest.mark.slow
def test_committed_tomato_watering_row_is_reproduced():  # about 100 s of exact multi-precision induction
    module, common = _module("gridworlds"), _module("common")
    assert [module.summary_row("tomato_watering")] == common.read_csv(REPORTS / "tomato_watering.csv")


def test_committed_gridworld_learner_rows_are_reproduced_for_a_cheap_map():
    module, common = _module("gridworlds"), _module("common")
    committed = [
        r
        for r in common.read_csv(REPORTS / "gridworld_learners.csv")
        if r["environment"] == "island_navigation" and r["learner"] == "q"
    ]
    assert [{k: str(v) for k, v in r.items()} for r in module.learner_rows("island_navigation")] == committed


def test_committed_convergence_rows_are_reproduced_for_a_cheap_row():
    conv = _module("convergence")
    common = _module("common")
    committed = [
        r
        for r in common.read_csv(REPORTS / "convergence.csv")
        if (r["example"], r["learner"], r["table"]) == ("terminal", "q", "step-indexed")
    ]
    rows = conv.run_row(ROOT / "examples" / "terminal.toml", "q", "step-indexed")
    assert [{k: str(v) for k, v in r.items()} for r in rows] == committed
    summary = {
        (r["example"], r["learner"], r["table"]): r for r in common.read_csv(REPORTS / "convergence_summary.csv")
    }
    assert summary[("terminal", "q", "step-indexed")]["converged_episodes"] == committed[-1]["episodes"]
