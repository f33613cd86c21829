"""The architecture as a test: every tabturn module belongs to one layer, and no module imports (at top level or
inside a function) a module of a higher layer. CONTRIBUTING.md shows the same layers."""

import ast
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tabturn"
LAYERS = {  # lowest first; a module may import its own layer and the layers before it
    "core": ["errors", "limits", "validation", "rational", "mdp", "bellman", "detmath", "progress"],
    "exact": ["solution", "finite", "discounted", "evaluate", "graph"],
    "envs": ["config", "turn", "gridworld", "solve"],
    "learners": ["counter_rng", "learn", "learn_numba"],
    "experiments": ["compare", "study", "attribute", "mesa", "policy_check"],
    "symbolic": ["reduced", "symbolic", "symbolic_regimes"],
    "interop": ["arrays", "export", "gym_env", "gym_import"],
    "runs": ["io", "sweep"],
    "cli": ["render", "cli", "__main__", "__init__"],
}
RANK = {module: rank for rank, modules in enumerate(LAYERS.values()) for module in modules}
NAMES = list(LAYERS)


def imported_modules(path: Path) -> list[tuple[str, int]]:
    """(tabturn module, line) of every import in the file, wherever it stands."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "tabturn":
            parts = node.module.split(".")
            names = [a.name for a in node.names] if len(parts) == 1 else [parts[1]]
            out += [(name, node.lineno) for name in names if name in RANK]
        elif isinstance(node, ast.Import):
            out += [
                (a.name.split(".")[1], node.lineno)
                for a in node.names
                if a.name.startswith("tabturn.") and a.name.split(".")[1] in RANK
            ]
    return out


def test_every_module_has_a_layer():
    modules = {p.stem for p in PACKAGE.glob("*.py")}
    assert modules == set(RANK), f"unclassified: {sorted(modules - set(RANK))}; gone: {sorted(set(RANK) - modules)}"


@pytest.mark.parametrize("module", sorted(RANK))
def test_no_module_imports_a_higher_layer(module):
    upward = [
        f"{module} ({NAMES[RANK[module]]}) imports {target} ({NAMES[RANK[target]]}) at line {line}"
        for target, line in imported_modules(PACKAGE / f"{module}.py")
        if RANK[target] > RANK[module]
    ]
    assert not upward, "; ".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    # The checker itself: a core-layer file importing the turn family is caught, even inside a function.
    bad = tmp_path / "mdp.py"
    bad.write_text("def f():\n    from tabturn.turn import turn_mdp\n    return turn_mdp\n")
    assert [(t, RANK[t] > RANK["mdp"]) for t, _ in imported_modules(bad)] == [("turn", True)]
