"""The committed report tables are exactly what the analysis code produces."""

import importlib.util
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def _load():
    spec = importlib.util.spec_from_file_location("exact_optimum", ROOT / "analysis" / "exact_optimum.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_committed_exact_optimum_tables_are_reproduced():
    module = _load()
    csv_text, md_text, rows = module.tables()
    assert (ROOT / "reports" / "exact_optimum.csv").read_text() == csv_text
    assert (ROOT / "reports" / "exact_optimum.md").read_text() == md_text + "\n"
    assert (ROOT / "reports" / "README.md").read_text() == module.index_text(rows)


def test_main_writes_into_a_fresh_directory(tmp_path):
    module = _load()
    module.main(tmp_path)
    assert {p.name for p in tmp_path.iterdir()} == {"exact_optimum.csv", "exact_optimum.md", "README.md",
                                                    "provenance.json"}
    assert (tmp_path / "exact_optimum.csv").read_text() == (ROOT / "reports" / "exact_optimum.csv").read_text()


def test_readme_python_example_prints_what_it_says(capsys):
    text = (ROOT / "README.md").read_text()
    code = text.split("```python\n", 1)[1].split("```", 1)[0]
    exec(compile(code, "README.md", "exec"), {})
    first = capsys.readouterr().out.splitlines()[0]
    promised = code.splitlines()[3].split("#")[1].split("(")[0].split()
    assert first.split() == promised
