"""The ``table`` commands (the ``db`` commands are in test_commands_db.py)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path

from typer.testing import CliRunner, Result

from bridgex_chain.cli.main import app
from bridgex_chain.errors import NoBridgeFound, SchemaError
from bridgex_chain.store.records import RunRecord, ScoreRow, format_score
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
    assert format_score(expected[0].score) in out.output
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
