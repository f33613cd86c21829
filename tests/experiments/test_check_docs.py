"""docs/check.md's examples run as doctests (the numbers in the page are the ones check computes)."""

import doctest

from tests.helpers import ROOT


def test_docs_check_examples_run(monkeypatch):
    monkeypatch.chdir(ROOT)
    text = (ROOT / "docs" / "check.md").read_text()
    blocks = [part.split("```", 1)[0] for part in text.split("```pycon\n")[1:]]
    parser = doctest.DocTestParser()
    test = parser.get_doctest("\n".join(blocks), {}, "docs/check.md", "docs/check.md", 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.failures == 0 and runner.tries >= 12
