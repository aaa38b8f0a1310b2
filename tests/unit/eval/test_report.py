"""The markdown report of an evaluation run, and report.md with its plots on disk."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from bridgex_chain.eval.report import markdown_report, write_report


def _iv(score: float, **extra: Any) -> dict[str, Any]:
    return {"score": score, "low": score - 10.0, "high": score + 10.0, "n": 4, **extra}


def _entry(src: str, fra: float, eng: float, *, pending: bool = False) -> dict[str, Any]:
    bridges = {"eng_Latn": _iv(eng, uncalibrated=eng - 5), "fra_Latn": _iv(fra, uncalibrated=fra)}
    best = "fra_Latn" if fra >= eng else "eng_Latn"
    conditions = {"english": {"bridge": "eng_Latn", **bridges["eng_Latn"]}}
    if not pending:
        conditions["table"] = {"bridge": "fra_Latn", **bridges["fra_Latn"]}
    rendering = {
        "conditions": conditions,
        "bridges": bridges,
        "oracle_bridge": best,
        "oracle_bridges": [best],
        "table_rank": 1 if best == "fra_Latn" else 2,
        "spearman": None,
    }
    return {
        "task": "classify",
        "metric": "accuracy",
        "src": src,
        "trg": src,
        "n": 4,
        "candidates": ["eng_Latn", "fra_Latn"],
        "direct": _iv(50.0, uncalibrated=45.0),
        "table": {
            "best": None if pending else "fra_Latn",
            "hsic": {} if pending else {"eng_Latn": 0.2, "fra_Latn": 0.4},
            "layers": {} if pending else {
                "eng_Latn": {"0": 0.1, "1": 0.3},
                "fra_Latn": {"0": 0.2, "1": 0.6},
            },
            "run_id": None if pending else 1,
            "pending": "no bridge-table entry" if pending else None,
        },
        "unavailable": {"table": "pending: no bridge-table entry"} if pending else {},
        "renderings": {"self": rendering, "oracle": rendering},
    }  # fmt: skip


def _results() -> dict[str, Any]:
    entries = [_entry("swh_Latn", 75.0, 60.0), _entry("yor_Latn", 40.0, 55.0, pending=True)]
    pooled_rendering = {
        "conditions": {
            "english": _iv(57.5, entries=2, bridge=None),
            "oracle": _iv(65.0, entries=2, bridge=None),
        },
        "mean_table_rank": 1.5,
        "mean_spearman": None,
    }
    pooled = {
        "task": "classify",
        "metric": "accuracy",
        "src": "pooled",
        "trg": "pooled",
        "n": 8,
        "entries": 2,
        "direct": _iv(50.0, entries=2, uncalibrated=45.0),
        "renderings": {"self": pooled_rendering, "oracle": pooled_rendering},
    }
    return {
        "model": "demo/model",
        "command": "bridgex-chain eval classify --model demo/model",
        "config": {
            "tasks": ["classify"],
            "limit": 4,
            "seed": 0,
            "conditions": ["direct", "english", "table", "all"],
            "renderings": ["self", "oracle"],
            "bridges": ["eng_Latn", "fra_Latn"],
        },
        "entries": entries,
        "pooled": [pooled],
    }


def test_report_has_the_header_the_command_and_a_section_per_rendering() -> None:
    report = markdown_report(_results())
    lines = report.splitlines()
    assert lines[0] == "# bridgex-chain eval — demo/model"
    assert "Tasks classify; limit 4 per entry; seed 0;" in report
    assert "candidate bridges eng, fra." in report
    assert "```\nbridgex-chain eval classify --model demo/model\n```" in report
    assert report.count("## classify (accuracy, %, 95% bootstrap interval)") == 1
    assert "### self rendering" in report and "### oracle rendering" in report
    assert "## Plots" not in report


def test_report_rows_show_every_condition_rank_and_pending_entries() -> None:
    report = markdown_report(_results())
    swh = "| swh_Latn | 4 | 50.0 [40.0, 60.0] | 60.0 [50.0, 70.0] (eng) | 75.0 [65.0, 85.0] (fra) "
    assert swh + "| — | 75.0 [65.0, 85.0] (fra) | 1/2 | — |" in report
    assert "| yor_Latn | 4 | 50.0 [40.0, 60.0] | 55.0 [45.0, 65.0] (eng) | pending |" in report
    assert "| all 2 pooled | 8 |" in report and "| 1.5 (mean) | — |" in report
    # the summary: pooled scores, sole best bridges, and why an entry has no table condition
    assert "- **classify** (accuracy, 8 items over 2 entries): direct 50.0 [40.0, 60.0]." in report
    assert "sole best bridge fra ×1, eng ×1" in report
    assert "No `table` condition for yor_Latn" in report


def test_report_tables_of_candidates_and_calibration() -> None:
    report = markdown_report(_results())
    assert "| entry | rendering | eng | fra |" in report
    assert "| swh_Latn | self | 60.0 (2) | 75.0 (1) |" in report
    assert "| yor_Latn | self | 55.0 | 40.0 |" in report  # no HSIC ranks without a table entry
    assert "Contextual calibration (accuracy calibrated / uncalibrated):" in report
    assert "| swh_Latn | 50.0 / 45.0 | 67.5 / 65.0 | 67.5 / 65.0 |" in report


def test_report_links_the_plots_it_is_given() -> None:
    report = markdown_report(_results(), ["plots/a.png", "plots/b.png"])
    assert report.endswith("## Plots\n\n![plots/a.png](plots/a.png)\n![plots/b.png](plots/b.png)\n")


def test_write_report_without_plots_writes_only_the_markdown(tmp_path: Path) -> None:
    path = write_report(_results(), tmp_path, plots=False)
    assert path == tmp_path / "report.md"
    assert path.read_text(encoding="utf-8") == markdown_report(_results())
    assert not (tmp_path / "plots").exists()


def test_write_report_draws_and_links_the_plots(tmp_path: Path) -> None:
    path = write_report(_results(), tmp_path)
    report = path.read_text(encoding="utf-8")
    drawn = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "plots").glob("*.png"))
    assert "plots/heatmap-classify-swh_Latn.png" in drawn
    for name in drawn:
        assert f"![{name}]({name})" in report
