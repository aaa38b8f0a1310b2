"""tools/starter_coverage.py: the CLDR starter coverage table, and the copy in docs/method.md."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from bridgex_chain.probing.starter_quality import QualityFloor, starter_quality

ROOT = Path(__file__).resolve().parents[3]


@pytest.fixture(scope="module")
def tool() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "starter_coverage", ROOT / "tools/starter_coverage.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_table_has_a_row_per_detector_language(
    tool: ModuleType, capsys: pytest.CaptureFixture[str]
):
    tool.main([])
    out = capsys.readouterr().out
    summary, _, table = out.partition("\n\n")
    assert summary.startswith(f"{sum(q.passed for q in starter_quality().values())} of 205 ")
    assert "no CLDR locale" in summary and "thin CLDR data" in summary
    rows = table.strip().splitlines()
    assert rows[0].startswith("| code | name | locale | terms |") and len(rows) == 2 + 205
    assert "| `swh_Latn` | Swahili | `sw` |" in table and table.count("| passed |") > 100
    assert "| `ace_Latn` | Acehnese | — | — | — | — | CLDR has no locale for ace_Latn |" in table


def test_other_floor_from_the_command_line(tool: ModuleType, capsys: pytest.CaptureFixture[str]):
    tool.main(["--min-terms", "1000"])
    out = capsys.readouterr().out
    assert out.startswith("0 of 205 ") and "(floor 1000)" in out


def test_docs_hold_the_tools_output(tool: ModuleType):
    floor = QualityFloor()
    quality = starter_quality(floor=floor)
    docs = (ROOT / "docs/method.md").read_text("utf-8")
    assert "## Probe sets beyond the study languages" in docs
    # regenerate with: .venv/bin/python tools/starter_coverage.py (after a babel upgrade)
    assert tool.summary(quality, floor) in docs
    assert tool.table(quality) in docs
