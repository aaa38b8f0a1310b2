"""docs/reliability.md and tests/reliability agree: every cited test exists, every test is cited."""

from __future__ import annotations

import ast
import re
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOC = HERE.parents[1] / "docs" / "reliability.md"
CITATION = re.compile(r"`(test_rel_\w+\.py)::(test_\w+)`")


def _defined() -> set[tuple[str, str]]:
    found = set()
    for path in sorted(HERE.glob("test_rel_*.py")):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        found |= {
            (path.name, node.name)
            for node in tree.body
            if isinstance(node, ast.FunctionDef) and node.name.startswith("test_")
        }
    return found


def test_every_cited_test_exists_and_every_test_is_cited() -> None:
    cited = set(CITATION.findall(DOC.read_text(encoding="utf-8")))
    defined = _defined()
    assert len(cited) > 30
    assert not cited - defined, f"cited but not defined: {sorted(cited - defined)}"
    uncited = {t for t in defined - cited if t[0] != "test_rel_matrix.py"}
    assert not uncited, f"tests not in docs/reliability.md: {sorted(uncited)}"


def test_pending_rows_are_exactly_the_strict_xfails() -> None:
    text = DOC.read_text(encoding="utf-8")
    pending = {
        test
        for line in text.splitlines()
        if line.startswith("|") and "**pending**" in line.lower()
        for test in CITATION.findall(line)
    }
    xfails = set()
    for path in sorted(HERE.glob("test_rel_*.py")):
        for node in ast.parse(path.read_text(encoding="utf-8")).body:
            if isinstance(node, ast.FunctionDef) and any(
                "xfail" in ast.unparse(d) and "strict=True" in ast.unparse(d)
                for d in node.decorator_list
            ):
                xfails.add((path.name, node.name))
    assert pending == xfails
