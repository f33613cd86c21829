"""The architecture as a test: every tabturn module lives in one layer subpackage, and no module imports (at top
level, inside a function, or through importlib with a literal name) a module of a higher layer. CONTRIBUTING.md
shows the same layers; tabturn/__init__.py lists them."""

import ast
import importlib
import sys
import warnings
from pathlib import Path

import pytest

from tabturn import _compat
from tests.helpers import ROOT

PACKAGE = ROOT / "tabturn"
LAYERS = ["core", "exact", "envs", "learners", "experiments", "symbolic", "interop", "runs", "cli"]  # lowest first
RANK = {name: rank for rank, name in enumerate(LAYERS)}
SURFACE = {"__init__.py", "__main__.py", "_compat.py"}  # the package root: the public surface, above every layer
MODULES = sorted(p.relative_to(PACKAGE) for p in PACKAGE.rglob("*.py") if "__pycache__" not in p.parts)


def layer_of(dotted: str) -> str | None:
    """The layer a dotted tabturn module name belongs to (None: the package root itself)."""
    parts = dotted.split(".")
    return parts[1] if len(parts) > 1 and parts[1] in RANK else None


def imported_layers(path: Path) -> list[tuple[str, str, int]]:
    """(imported tabturn module, its layer, line) of every import in the file, wherever it stands."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        targets: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            if node.module == "tabturn":
                targets = [f"tabturn.{a.name}" for a in node.names]  # from tabturn import core / __version__
            elif node.module.startswith("tabturn."):
                targets = [node.module]
        elif isinstance(node, ast.Import):
            targets = [a.name for a in node.names if a.name.startswith("tabturn.")]
        elif (
            isinstance(node, ast.Call)
            and getattr(node.func, "attr", getattr(node.func, "id", None)) == "import_module"
            and node.args
            and isinstance(node.args[0], ast.Constant)
            and str(node.args[0].value).startswith("tabturn.")
        ):
            targets = [node.args[0].value]
        for target in targets:
            if target.startswith("tabturn._compat") or target == "tabturn.__version__":
                continue  # the package root's version string and the alias table import nothing of tabturn
            layer = layer_of(target)
            out.append((target, layer if layer else "<root>", node.lineno))
    return out


def test_every_module_lives_in_a_layer():
    loose = [str(m) for m in MODULES if len(m.parts) == 1 and m.name not in SURFACE]
    unknown = sorted({m.parts[0] for m in MODULES if len(m.parts) > 1} - set(RANK))
    assert not loose and not unknown, f"modules outside the layers: {loose}; unknown subpackages: {unknown}"


@pytest.mark.parametrize("layer", LAYERS)
def test_every_layer_says_what_it_holds_and_may_import(layer):
    doc = ast.get_docstring(ast.parse((PACKAGE / layer / "__init__.py").read_text()))
    assert doc and doc.startswith(f"{layer}:") and "import" in doc


@pytest.mark.parametrize("module", [m for m in MODULES if len(m.parts) > 1], ids=str)
def test_no_module_imports_a_higher_layer(module):
    own = module.parts[0]
    upward = [
        f"{module} ({own}) imports {target} ({layer}) at line {line}"
        for target, layer, line in imported_layers(PACKAGE / module)
        if layer == "<root>" or RANK[layer] > RANK[own]
    ]
    assert not upward, "; ".join(upward)


def test_the_check_sees_an_upward_import(tmp_path):
    # The checker itself: a core-layer file importing the turn family is caught, at top level, inside a function,
    # through `from tabturn import`, and through importlib.
    bad = tmp_path / "mdp.py"
    bad.write_text(
        "from tabturn.envs.turn.config import TurnConfig\n"
        "def f():\n    from tabturn.envs.turn.model import turn_mdp\n    return turn_mdp\n"
        "from tabturn import envs\n"
        "import importlib\nimportlib.import_module('tabturn.envs.gridworld')\n"
    )
    found = [(layer, RANK[layer] > RANK["core"]) for _, layer, _ in imported_layers(bad)]
    assert found == [("envs", True)] * 4


def test_the_core_imports_no_environment_family():
    hits = [
        (str(m), target)
        for m in MODULES
        if m.parts[0] == "core"
        for target, layer, _ in imported_layers(PACKAGE / m)
        if layer != "core"
    ]
    assert hits == []


@pytest.mark.parametrize("old", sorted(_compat.OLD_PATHS))
def test_an_old_module_path_is_the_new_module_with_a_warning(old):
    new = importlib.import_module(_compat.OLD_PATHS[old])
    sys.modules.pop(old, None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        aliased = importlib.import_module(old)
    assert aliased is new
    assert [str(w.message) for w in caught if w.category is DeprecationWarning] == [
        f"{old} is deprecated; import {_compat.OLD_PATHS[old]}"
    ]


def test_the_old_symbolic_and_cli_modules_names_are_served_by_their_packages():
    import tabturn.cli
    import tabturn.cli.commands
    import tabturn.symbolic
    import tabturn.symbolic.claims

    assert tabturn.symbolic.claims_document is tabturn.symbolic.claims.claims_document
    assert tabturn.cli.entry is tabturn.cli.commands.entry
    with pytest.raises(AttributeError, match="no_such_name"):
        _ = tabturn.symbolic.no_such_name


def test_the_public_surface_resolves_to_the_modules_it_names():
    import tabturn

    for name in tabturn.__all__:
        assert getattr(tabturn, name) is getattr(importlib.import_module(tabturn._EXPORTS[name]), name), name
