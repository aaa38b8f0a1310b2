"""The ``table`` commands (the ``db`` commands are in test_commands_db.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner, Result

from bridgex_chain.cli.main import app
from bridgex_chain.errors import NoBridgeFound, SchemaError
from bridgex_chain.store.records import CompetenceRow, RenderCheckRow, RunRecord, ScoreRow
from bridgex_chain.store.table import BridgeTable

Factory = Callable[..., tuple[RunRecord, list[ScoreRow]]]


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


def _cells(line: str) -> list[str]:
    """The cells of a table row (columns are separated by at least two spaces)."""
    return re.split(r"\s{2,}", line.strip())


def test_table_import_list_show_export(
    store_url: str, tmp_path: Path, make_sample_run: Factory
) -> None:
    source = tmp_path / "source.json"
    run, rows = make_sample_run("google/gemma-3-270m")
    with BridgeTable(f"sqlite:///{tmp_path / 'build.db'}") as build:
        build.upsert_run(run, rows)
        build.export_json(source)
        expected = build.ranking("google/gemma-3-270m", "yor_Latn")

    out = _cli("table", "import", str(source), "--database-url", store_url)
    assert out.exit_code == 0, out.output
    assert "1 run(s) in the file, 1 added" in out.output

    out = _cli("table", "list", "--database-url", store_url)
    assert out.exit_code == 0, out.output
    assert "google/gemma-3-270m" in out.output and "complete" in out.output

    # --model takes an alias: "gemma" is converted to the stored key. (Yoruba: an entry the
    # shipped gemma table, which read commands also see, does not have.)
    out = _cli("table", "show", "--model", "gemma", "--src", "yo", "--database-url", store_url)
    assert out.exit_code == 0, out.output
    lines = [_cells(line) for line in out.output.splitlines() if re.match(r"\s*\d+\s+\w", line)]
    assert [cells[1].split()[0] for cells in lines] == [r.bridge for r in expected]
    assert [cells[2] for cells in lines] == [f"{r.score:.4f}" for r in expected]
    assert {cells[3] for cells in lines} == {cells[4] for cells in lines} == {"—"}  # no bootstrap
    assert "Yoruba" in out.output and "margin" in out.output

    out = _cli("table", "show", "--model", "google/gemma-3-270m", "--database-url", store_url)
    assert out.exit_code == 0, out.output
    sources = [_cells(line)[0] for line in out.output.splitlines() if "_Latn (" in line]
    assert sources.count("swh_Latn (Swahili)") == 2  # rows (sw, sw) and (sw, en)
    assert sources.count("hau_Latn (Hausa)") == 2

    exported = tmp_path / "exported.json"
    out = _cli("table", "export", str(exported), "--model", "gemma", "--database-url", store_url)
    assert out.exit_code == 0, out.output
    first, second = json.loads(source.read_text()), json.loads(exported.read_text())
    # The shipped gemma run is exported too (read commands see the shipped tables).
    assert first["runs"][0] in second["runs"]
    assert len(second["runs"]) == 2


def _small_table(url: str, make_sample_run: Factory) -> None:
    """demo/model: sw->sw with HSIC-sized scores and bootstrap figures (the interval of fr
    excludes its score; es has none), yo->yo from an older build without any figures."""
    run, _ = make_sample_run("demo/model")
    rows = [
        ScoreRow("sw", "sw", "fr", None, 4.0498e-08, 6, 4.1234e-08, 6.0e-08, 0.875, 200),
        ScoreRow("sw", "sw", "en", None, 3.0e-08, 6, 1.0e-08, 4.4567e-08, 0.125, 200),
        ScoreRow("sw", "sw", "es", None, 1.0e-08, 6),
        ScoreRow("yo", "yo", "fr", None, 0.25, 3),
        ScoreRow("yo", "yo", "en", None, 0.125, 3),
    ]
    with BridgeTable(url) as table:
        table.upsert_run(run, rows)


def test_table_show_renders_small_scores_intervals_and_win_rates(
    sqlite_url: str, make_sample_run: Factory
) -> None:
    _small_table(sqlite_url, make_sample_run)
    url = ("--database-url", sqlite_url)
    out = _cli("table", "show", "--model", "demo/model", "--src", "sw", *url)
    assert out.exit_code == 0, out.output
    header = next(_cells(line) for line in out.output.splitlines() if "rank" in line)
    assert header == [
        "rank", "bridge", "score", "95% interval", "win rate", "gap to next"
    ]  # fmt: skip
    rows = [_cells(line) for line in out.output.splitlines() if re.match(r"\s*\d+\s+\w", line)]
    assert rows == [
        ["1", "fra_Latn (French)", "4.05e-08", "[4.12e-08, 6.00e-08]", "87.5%", "1.05e-08"],
        ["2", "eng_Latn (English)", "3.00e-08", "[1.00e-08, 4.46e-08]", "12.5%", "2.00e-08"],
        ["3", "spa_Latn (Spanish)", "1.00e-08", "—", "—", "—"],
    ]
    # the same layer count for every candidate: said once, under the table
    assert "every candidate's score averages 6 window layers" in out.output
    assert "runner-up: 1.05e-08" in out.output
    assert "95% interval: 2.5–97.5 %" in out.output  # the caption explains the figures

    # Every entry: the best bridge's figures, and dashes for the entry built without them.
    out = _cli("table", "show", "--model", "demo/model", *url)
    assert out.exit_code == 0, out.output
    rows = [_cells(line) for line in out.output.splitlines() if "_Latn (" in line]
    assert rows == [
        ["swh_Latn (Swahili)", "swh_Latn (Swahili)", "fra_Latn (French)", "4.05e-08",
         "[4.12e-08, 6.00e-08]", "87.5%", "1.05e-08", "1"],
        ["yor_Latn (Yoruba)", "yor_Latn (Yoruba)", "fra_Latn (French)", "0.2500", "—", "—",
         "0.1250", "1"],
    ]  # fmt: skip


def test_errors_surface_as_bridgex_errors(sqlite_url: str, tmp_path: Path) -> None:
    out = _cli(
        "table", "show", "--model", "demo/model", "--src", "sw", "--database-url", sqlite_url
    )
    assert isinstance(out.exception, NoBridgeFound)
    bad = tmp_path / "bad.json"
    bad.write_text("{}")
    out = _cli("table", "import", str(bad), "--database-url", sqlite_url)
    assert isinstance(out.exception, SchemaError)
    out = _cli(
        "table", "show", "--model", "demo/model", "--trg", "en", "--database-url", sqlite_url
    )
    assert out.exit_code == 2 and "--trg needs --src" in out.output


def test_table_show_renders_render_gains_and_competence(
    sqlite_url: str, make_sample_run: Factory
) -> None:
    run, _ = make_sample_run("demo/model")
    with BridgeTable(sqlite_url) as table:
        run_id = table.begin_run(run)
        table.store_render_checks(
            run_id,
            [
                RenderCheckRow("sw", "en", 8, 0.5, 0.25, 0.75),
                RenderCheckRow("sw", "fr", 1, -0.125),
                RenderCheckRow("yo", "es", 8, 0.375, 0.25, 0.5),  # another language: not shown
            ],
            [CompetenceRow("sw", 8, -3.25), CompetenceRow("yo", 8, -4.5)],
        )
        table.complete_run(
            run_id,
            [
                ScoreRow("sw", "sw", "fr", None, 0.5, 3),
                ScoreRow("sw", "sw", "en", None, 0.25, 3),
                ScoreRow("sw", "sw", "es", None, 0.125, 3),
            ],
        )
    out = _cli(
        "table", "show", "--model", "demo/model", "--src", "sw", "--database-url", sqlite_url
    )
    assert out.exit_code == 0, out.output
    header = next(_cells(line) for line in out.output.splitlines() if "rank" in line)
    assert header[-1] == "render gain"
    rows = [_cells(line) for line in out.output.splitlines() if re.match(r"\s*\d+\s+\w", line)]
    assert [(r[1], r[-1]) for r in rows] == [
        ("fra_Latn (French)", "-0.12 (n=1)"),
        ("eng_Latn (English)", "+0.50 [+0.25, +0.75]"),
        ("spa_Latn (Spanish)", "—"),
    ]
    assert "competence in swh_Latn (Swahili): -3.2500 log-prob per token over 8 texts" in (
        " ".join(out.output.split())
    )


def test_table_show_coverage_lists_every_detector_language(sqlite_url: str) -> None:
    """The shipped Gemma table: its entries, the borrowed routes and the uncovered languages."""
    out = _cli("table", "show", "--model", "gemma", "--coverage", "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    lines = [
        line for line in out.output.splitlines() if re.match(r"\s*[a-z]{3}_[A-Z][a-z]{3} ", line)
    ]
    rows = {cells[0].split()[0]: cells for cells in map(_cells, lines)}
    assert rows["swh_Latn"][1:3] == ["entry", "cldr-starter-v1"]
    assert rows["ltz_Latn"][1:3] == ["borrowed", "deu_Latn"]  # Luxembourgish: via German
    assert rows["ace_Latn"][1:] == ["none", "not in any build of this model"]
    summary = re.search(r"(\d+) languages: (\d+) with an entry, (\d+) borrowing", out.output)
    assert summary is not None and summary.group(1) == "205", out.output
    assert int(summary.group(2)) >= 15

    listed = _cli("table", "list", "--database-url", sqlite_url)
    assert listed.exit_code == 0, listed.output
    chats = re.search(
        r"chat entries \(a language's own route\): google/gemma-3-270m (\d+)", listed.output
    )
    own = [c for c in rows.values() if c[1] == "entry" and "looked up as" not in c[-1]]
    assert chats is not None and int(chats.group(1)) == len(own), listed.output

    bad = _cli("table", "show", "--model", "gemma", "--coverage", "--src", "sw")
    assert bad.exit_code != 0 and "--coverage lists every language" in bad.output
