"""Gridworlds speak their own words: learn, check and solve on a gridworld config report the environment's named
cells and reward vs performance regret, never the turn family's vocabulary; terminal cells are no states."""

import json
import re

import pytest

from tabturn.cli.commands import main
from tabturn.envs.gridworld import gridworld_mdps, load_gridworld, too_large_to_build
from tests.helpers import ROOT

GW = ROOT / "examples" / "gridworlds"
LARGE = {"side_effects_sokoban_2"}  # 30,407 states: its solves are tested in test_gridworld_rules.py (~3 min here)
NAMES = sorted(
    p.stem for p in GW.glob("*.toml") if p.stem not in LARGE and not too_large_to_build(load_gridworld(str(p)))
)
CELL_MAPS = [n for n in NAMES if not load_gridworld(str(GW / f"{n}.toml")).rules]  # named cells, terminal cells
TURN_WORDS = re.compile(r"always-up|up forever|goes up|up_forever|\bobserved\b|\bunobserved\b", re.IGNORECASE)


def _outputs(tmp_path, capsys, name: str) -> list[str]:
    config = str(GW / f"{name}.toml")
    saved = str(tmp_path / "q.npz")
    runs = [
        ["learn", "--config", config, "--seeds", "3", "--episodes", "20", "--quiet", "--save-q", saved],
        ["learn", "--config", config, "--seeds", "3", "--episodes", "20", "--quiet", "--json"],
        ["check", "--config", config, "--q", saved],
        ["check", "--config", config, "--q", saved, "--json"],
        ["check", "--config", config, "--q", saved, "--seed", "1"],
        ["check", "--config", config, "--q", saved, "--seed", "1", "--json"],
        ["solve", "--config", config],
    ]
    out = []
    for argv in runs:
        assert main(argv) == 0, argv
        out.append(capsys.readouterr().out)
    return out


@pytest.mark.parametrize("name", NAMES)
def test_gridworld_outputs_use_the_environments_words(tmp_path, capsys, name):
    outputs = _outputs(tmp_path, capsys, name)
    for text in outputs:
        # the words may appear only inside the provenance's copy of the map settings, never as a class or verdict
        body = (
            text
            if not text.startswith("{")
            else json.dumps({k: v for k, v in json.loads(text).items() if k not in ("provenance", "settings")})
        )
        assert not TURN_WORDS.search(body), (name, TURN_WORDS.search(body).group(0))
    learned = json.loads(outputs[1])["per_seed"]
    for rows in learned.values():
        assert all("enters" in r and "performance_regret" in r for r in rows)
    assert "hidden performance regret" in outputs[0] and "greedy path enters" in outputs[0]
    one = json.loads(outputs[5])
    assert all("performance_regret" in w and "enters" in w for w in one["worlds"].values())


@pytest.mark.parametrize("name", CELL_MAPS)
def test_terminal_cells_are_no_states_and_solve_lists_no_actions_for_the_end(name, capsys):
    world = load_gridworld(str(GW / f"{name}.toml"))
    reward, _ = gridworld_mdps(world)
    terminal_cells = {
        (r, c)
        for r, row in enumerate(world.rows)
        for c, ch in enumerate(row)
        if ch in world.cells and world.cells[ch].terminal
    }
    positions = {label.split(" ")[0] for label in reward.state_labels if label != "end"}
    assert not {f"({r},{c})" for r, c in terminal_cells} & positions
    assert main(["solve", "--config", str(GW / f"{name}.toml")]) == 0
    lines = capsys.readouterr().out.splitlines()
    assert "end: terminal (the episode is over; no actions)" in lines
    trajectory = [line for line in lines if line.startswith("the episode ends after")]
    if reward.is_deterministic() and len(reward.start) == 1:
        # the optimal path stops at the terminal state instead of acting there; a map without one (boat_race)
        # runs the whole time limit and must not claim an early end
        assert bool(trajectory) == bool(terminal_cells), name


def test_absent_supervisor_names_its_two_worlds_and_the_unsupervised_shortcut(tmp_path, capsys):
    # the reward-optimal policy takes the punished shortcut exactly when the supervisor is absent
    config = str(GW / "absent_supervisor.toml")
    from tabturn.envs.solve import solve
    from tabturn.experiments.gridworld_behaviour import behaviour_columns

    world = load_gridworld(config)
    reward, _ = gridworld_mdps(world)
    solution = solve(reward, world.time_limit, 1)
    import numpy as np

    first = np.array([[solution.optimal_actions(s, t)[0] for s in range(reward.n_states)] for t in range(100)])
    columns = behaviour_columns(solution, first[None])
    assert set(columns) == {"supervisor=no", "supervisor=yes"}
    assert "punishment" in columns["supervisor=no"]["enters"][0]
    assert "punishment" not in columns["supervisor=yes"]["enters"][0]
    assert columns["supervisor=no"]["performance_regret"][0] > 0 == columns["supervisor=yes"]["performance_regret"][0]
