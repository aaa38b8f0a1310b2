"""The markdown report of an evaluation run, and report.md with its plots on disk."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

from bridgex_chain.eval.report import markdown_report, write_report


def test_report_has_the_header_the_command_and_a_section_per_rendering(
    make_results: Callable[[], dict[str, Any]],
) -> None:
    report = markdown_report(make_results())
    lines = report.splitlines()
    assert lines[0] == "# bridgex-chain eval — demo/model"
    assert "Tasks classify; limit 4 per entry; seed 0;" in report
    assert "candidate bridges eng, fra." in report
    assert "```\nbridgex-chain eval classify --model demo/model\n```" in report
    assert report.count("## classify (accuracy, %, 95% bootstrap interval)") == 1
    assert "### self rendering" in report and "### oracle rendering" in report
    assert "## Plots" not in report


def test_report_rows_show_every_condition_rank_and_pending_entries(
    make_results: Callable[[], dict[str, Any]],
) -> None:
    report = markdown_report(make_results())
    swh = "| swh_Latn | 4 | 50.0 [40.0, 60.0] | 60.0 [50.0, 70.0] (eng) | 75.0 [65.0, 85.0] (fra) "
    assert swh + "| — | 75.0 [65.0, 85.0] (fra) | 1/2 | — |" in report
    assert "| yor_Latn | 4 | 50.0 [40.0, 60.0] | 55.0 [45.0, 65.0] (eng) | pending |" in report
    assert "| all 2 pooled | 8 |" in report and "| 1.5 (mean) | — |" in report
    # the summary: pooled scores, sole best bridges, and why an entry has no table condition
    assert "- **classify** (accuracy, 8 items over 2 entries): direct 50.0 [40.0, 60.0]." in report
    assert "sole best bridge fra ×1, eng ×1" in report
    assert "No `table` condition for yor_Latn" in report


def test_report_tables_of_candidates_and_calibration(
    make_results: Callable[[], dict[str, Any]],
) -> None:
    report = markdown_report(make_results())
    assert "| entry | rendering | eng | fra |" in report
    assert "| swh_Latn | self | 60.0 (2) | 75.0 (1) |" in report
    assert "| yor_Latn | self | 55.0 | 40.0 |" in report  # no HSIC ranks without a table entry
    assert "Contextual calibration (accuracy calibrated / uncalibrated):" in report
    assert "| swh_Latn | 50.0 / 45.0 | 67.5 / 65.0 | 67.5 / 65.0 |" in report


def test_report_links_the_plots_it_is_given(make_results: Callable[[], dict[str, Any]]) -> None:
    report = markdown_report(make_results(), ["plots/a.png", "plots/b.png"])
    assert report.endswith("## Plots\n\n![plots/a.png](plots/a.png)\n![plots/b.png](plots/b.png)\n")


def test_write_report_without_plots_writes_only_the_markdown(
    tmp_path: Path, make_results: Callable[[], dict[str, Any]]
) -> None:
    path = write_report(make_results(), tmp_path, plots=False)
    assert path == tmp_path / "report.md"
    assert path.read_text(encoding="utf-8") == markdown_report(make_results())
    assert not (tmp_path / "plots").exists()


def test_write_report_draws_and_links_the_plots(
    tmp_path: Path, make_results: Callable[[], dict[str, Any]]
) -> None:
    path = write_report(make_results(), tmp_path)
    report = path.read_text(encoding="utf-8")
    drawn = sorted(p.relative_to(tmp_path).as_posix() for p in (tmp_path / "plots").glob("*.png"))
    assert "plots/heatmap-classify-swh_Latn.png" in drawn
    for name in drawn:
        assert f"![{name}]({name})" in report
