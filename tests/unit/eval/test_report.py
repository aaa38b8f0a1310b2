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
    assert (
        "| entry | n | direct | english | table | detected | evidence | random "
        "| oracle (best bridge) "
        "| table rank | Spearman(HSIC, score) [95%] |"
    ) in report
    swh = (
        "| swh_Latn | 4 | 50.0 [40.0, 60.0] "
        "| 60.0 [50.0, 70.0] (eng); Δ +10.0, p=0.50, not significant "
        "| 75.0 [65.0, 85.0] (fra); Δ +25.0, p=0.010 "
        "| 75.0 [65.0, 85.0]; Δ +25.0, p=0.010 "
        "| — | — | 75.0 [65.0, 85.0] (fra) | 1/2 | — |"
    )
    assert swh in report
    yor = "| yor_Latn | 4 | 50.0 [40.0, 60.0] | 55.0 [45.0, 65.0] (eng); Δ +5.0, p=0.50, not "
    assert yor + "significant | pending | — | — | — | 55.0 [45.0, 65.0] (eng) | — | — |" in report
    assert "| all 2 pooled | 8 |" in report and "| 1.0 (mean) | — |" in report
    # the summary: pooled scores, sole best bridges, and why an entry has no table condition
    assert "- **classify** (accuracy, 8 items over 2 entries): direct 50.0 [40.0, 60.0]." in report
    assert "english 57.5 [47.5, 67.5]; Δ +7.5, p=0.40, not significant" in report
    assert "oracle 65.0 [55.0, 75.0]; Δ +15.0, p=0.030" in report
    assert "sole best bridge fra ×1, eng ×1" in report
    assert "No `table` condition for yor_Latn" in report


def test_report_shows_the_spearman_interval_of_an_entry(
    make_results: Callable[[], dict[str, Any]],
) -> None:
    results = make_results()
    rend = results["entries"][0]["renderings"]["self"]
    rend["spearman"] = 0.5
    rend["spearman_interval"] = {"rho": 0.5, "low": -0.25, "high": 1.0, "n": 3, "items": 4}
    results["pooled"][0]["renderings"]["self"]["mean_spearman"] = 0.5
    report = markdown_report(results)
    self_section = report.split("### self rendering")[1].split("### oracle rendering")[0]
    assert "| 1/2 | +0.50 [-0.25, +1.00] |" in self_section
    assert "| 1.0 (mean) | +0.50 (mean) |" in self_section
    assert "mean Spearman(HSIC, score) +0.50" in report


def test_report_tables_of_candidates_and_of_what_the_chain_did(
    make_results: Callable[[], dict[str, Any]],
) -> None:
    report = markdown_report(make_results())
    assert "| entry | rendering | eng | fra |" in report
    assert "| swh_Latn | self | 60.0 (2) | 75.0 (1) |" in report
    assert "| yor_Latn | self | 55.0 | 40.0 |" in report  # no HSIC ranks without a table entry
    assert "Contextual calibration" not in report  # the chain calibrates; eval has no table
    head = (
        "| entry | policy | bridge | items bridged | fallbacks (direct) | evidence rule | errors |"
    )
    assert head in report
    assert "| swh_Latn | table | fra | 4/4 | — | — | 0 |" in report
    assert "| swh_Latn | detected | — | 3/4 | unknown_language ×1 | — | 0 |" in report
    assert "| yor_Latn | table |" not in report  # no table policy ran for it


def test_report_says_whether_the_run_is_complete(
    make_results: Callable[[], dict[str, Any]],
) -> None:
    assert "Run complete" not in markdown_report(make_results())  # no timing recorded
    done = {**make_results(), "complete": True, "compute_seconds": 180}
    assert "Run complete; chain time 3 min summed over every invocation" in markdown_report(done)
    partial = {**make_results(), "complete": False, "compute_seconds": 30}
    assert "Run IN PROGRESS (partial: some arms lack items)" in markdown_report(partial)


def test_report_checks_the_evidence_policy_only_when_the_run_has_it(
    make_results: Callable[[], dict[str, Any]],
) -> None:
    assert "Does the evidence policy keep its promise?" not in markdown_report(make_results())
    results = make_results()
    results["config"] = {**results["config"], "conditions": ["direct", "evidence"]}
    report = markdown_report(results)
    section = report.split("## Does the evidence policy keep its promise?")[1].split("\n## ")[0]
    assert "**classify**" in section
    # the fixture has no evidence arm and 4 items a language: every check is "not measured"
    assert section.count("**not measured**") == 5
    assert "- pooled, evidence scores at least direct: **not measured** — no pooled" in section


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
