"""tools/results_table.py: the README table printed from results.json."""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest


@pytest.fixture(scope="module")
def tool(load_tool: Callable[[str], Any]) -> Any:
    return load_tool("results_table")


def iv(score: float, **extra: Any) -> dict[str, Any]:
    return {"score": score, "low": score - 5, "high": score + 5, "n": 102, **extra}


def test_cells_carry_interval_bridge_test_and_partial_coverage(tool: Any, tmp_path: Path) -> None:
    test = {"diff": -14.7, "p_value": 0.008, "significant": True}
    swh = {
        "task": "classify", "src": "swh_Latn", "trg": "swh_Latn", "n": 102,
        "direct": iv(57.8), "unavailable": {},
        "renderings": {"self": {"conditions": {
            "table": iv(54.9, bridge="spa_Latn", vs_direct=test)}}},
    }  # fmt: skip
    amh = {
        "task": "classify", "src": "amh_Ethi", "trg": "amh_Ethi", "n": 102,
        "direct": iv(52.9), "unavailable": {"table": "no table entry"},
        "renderings": {"self": {"conditions": {"table": iv(52.9, bridge=None)}}},
    }  # fmt: skip
    pooled = {
        "task": "classify", "src": "pooled", "trg": "pooled", "n": 204, "entries": 2,
        "direct": iv(55.0),
        "renderings": {"self": {"conditions": {
            "table": iv(54.9, entries=1, direct_same_entries=57.8)}}},
    }  # fmt: skip
    path = tmp_path / "results.json"
    path.write_text(json.dumps({"entries": [swh, amh], "pooled": [pooled]}), encoding="utf-8")
    assert tool.main(path) == 0
    assert "54.9 [49.9, 59.9] (spa); Δ -14.7, p=0.008" in tool.cell(
        swh["renderings"]["self"]["conditions"]["table"], swh, "table"
    )
    assert "(no table entry: direct)" in tool.cell(iv(52.9), amh, "table")
    assert tool.cell(None, swh, "english") == "not yet run"
    assert "1 of 2 languages so far, direct on them 57.8" in tool.cell(
        pooled["renderings"]["self"]["conditions"]["table"], pooled, "table"
    )


def test_findings_state_pooled_differences_and_significant_languages(tool: Any) -> None:
    loss = {"diff": -14.7, "p_value": 0.0081, "significant": True}
    flat = {"diff": 1.0, "p_value": 1.0, "significant": False}
    ind = {
        "task": "classify", "src": "ind_Latn", "trg": "ind_Latn", "n": 102,
        "direct": iv(69.6), "unavailable": {},
        "renderings": {"self": {"conditions": {
            "table": iv(54.9, bridge="spa_Latn", vs_direct=loss),
            "english": iv(70.6, bridge="eng_Latn", vs_direct=flat)}}},
    }  # fmt: skip
    pooled = {
        "task": "classify", "src": "pooled", "trg": "pooled", "n": 102, "entries": 1,
        "direct": iv(69.6),
        "renderings": {"self": {"conditions": {
            "table": iv(54.9, entries=1, vs_direct=loss, direct_same_entries=69.6)}}},
    }  # fmt: skip
    results = {"entries": [ind], "pooled": [pooled], "compute_seconds": 600, "complete": True}
    lines = tool.findings(results)
    assert lines[0] == (
        "- Pooled over 1 languages (102 items), the table's policy: 54.9 [49.9, 59.9] against "
        "direct 69.6; Δ -14.7, p=0.0081, significant."
    )
    assert "- Significant against direct, the table's policy: ind_Latn via spa Δ -14.7" in lines[1]
    assert lines[2] == "- English: no language differs from direct significantly."
    assert lines[-1] == "- Run complete; chain time 10 min over every invocation."
    assert not any("detected" in line for line in lines)  # a condition the run lacks is silent


def test_a_run_with_the_evidence_policy_has_its_column_and_its_checks(tool: Any) -> None:
    flat = {"diff": 0.0, "p_value": 1.0, "significant": False, "n": 102}
    ind = {
        "task": "classify", "src": "ind_Latn", "trg": "ind_Latn", "n": 102,
        "direct": iv(69.6), "unavailable": {}, "candidates": ["eng_Latn"],
        "renderings": {"self": {
            "conditions": {"evidence": iv(69.6, bridge=None, bridged=0, vs_direct=flat)},
            "bridges": {"eng_Latn": iv(60.0, vs_direct={**flat, "diff": -9.6})}}},
    }  # fmt: skip
    pooled = {
        "task": "classify", "src": "pooled", "trg": "pooled", "n": 102, "entries": 1,
        "direct": iv(69.6),
        "renderings": {"self": {"conditions": {"evidence": iv(
            69.6, entries=1, vs_direct=flat, vs_english={**flat, "diff": 9.6})}}},
    }  # fmt: skip
    results = {"entries": [ind], "pooled": [pooled], "config": {"conditions": ["evidence"]}}
    assert tool.CONDITIONS[0] == "evidence"
    lines = tool.findings(results)
    assert lines[0].startswith("- Pooled over 1 languages (102 items), the evidence policy:")
    checks = [line for line in lines if line.startswith("- Check,")]
    assert len(checks) == 5 and all("**holds**" in line for line in checks)
    assert (
        "- Check, pooled, evidence scores at least the English bridge: **holds** — Δ +9.6"
        in (checks[1])
    )
