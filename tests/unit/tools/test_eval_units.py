"""tools/eval_units.py: a run's per-item records saved for git and restored into a cache."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.eval.cache import UnitFile


@pytest.fixture(scope="module")
def tool(load_tool: Callable[[str], Any]) -> Any:
    return load_tool("eval_units")


def test_save_then_restore_into_a_fresh_checkout(
    tool: Any, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "results"
    unit = UnitFile(out / "cache" / "units" / "classify" / "direct.jsonl", {"arm": "direct"})
    unit.append({"id": "7", "correct": True, "rendering": "model text"})
    assert tool.main(["save", str(out)]) == 0
    assert "saved 1 unit files" in capsys.readouterr().out
    fresh = tmp_path / "fresh"
    (fresh / "units").parent.mkdir(parents=True)
    (out / "units").rename(fresh / "units")  # what a clone holds: the units, no cache
    assert tool.main(["restore", str(fresh)]) == 0
    assert "restored records into 1 unit files" in capsys.readouterr().out
    restored = UnitFile(fresh / "cache" / "units" / "classify" / "direct.jsonl", {"arm": "direct"})
    assert restored.records == {"7": {"id": "7", "correct": True}}


def test_a_wrong_call_prints_the_usage(tool: Any, capsys: pytest.CaptureFixture[str]) -> None:
    assert tool.main(["push", "x"]) == 2
    assert "usage: eval_units.py save|restore OUT" in capsys.readouterr().err
