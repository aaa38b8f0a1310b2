"""Imported bridge-table JSON is validated (pydantic) before anything is written.

Every malformed file raises SchemaError naming what is wrong, on SQLite and PostgreSQL, and the
table keeps exactly the rows it had (whole-table snapshot before and after).
"""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import SchemaError
from bridgex_chain.store.precomputed import FORMAT_VERSION, write_table_file
from bridgex_chain.store.table import BridgeTable

Snapshot = Callable[[str], dict[str, list[tuple[Any, ...]]]]


@pytest.fixture
def good_document(tmp_path: Path, make_sample_run: Any) -> dict[str, Any]:
    """A valid two-run bridge-table document of models the seeded table does not hold."""
    path = tmp_path / "good.json"
    runs = [
        make_sample_run("import/a", seed=5, started_at="2025-03-01T00:00:00+00:00",
                        finished_at="2025-03-01T01:00:00+00:00"),
        make_sample_run("import/b", seed=6, started_at="2025-03-02T00:00:00+00:00",
                        finished_at="2025-03-02T01:00:00+00:00"),
    ]  # fmt: skip
    write_table_file(path, runs, tool_version="0.1.0")
    document: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return document


def _broken(document: dict[str, Any], how: str) -> Any:
    """Return a copy of ``document`` broken in one way (the second run, so run 1 is valid)."""
    doc = copy.deepcopy(document)
    run = doc["runs"][1]
    bridge = run["entries"][0]["bridges"][0]
    if how == "list-at-top":
        return [doc]
    if how == "wrong-format-id":
        doc["format"] = "someone-else/table"
    elif how == "newer-format-version":
        doc["format_version"] = FORMAT_VERSION + 1
    elif how == "missing-field":
        del run["model"]["num_layers"]
    elif how == "extra-field":
        run["model"]["trust_me"] = True
    elif how == "score-not-a-number":
        bridge["score"] = "high"
    elif how == "nan-score":
        bridge["score"] = float("nan")  # json.dumps writes NaN, json.loads reads it back
    elif how == "negative-layer":
        bridge["per_layer"] = {"-1": 0.5}
    elif how == "unknown-language":
        run["entries"][0]["src"] = "xx-not-a-language"
    elif how == "repeated-bridge":
        run["entries"][0]["bridges"].append(copy.deepcopy(bridge))
    elif how == "repeated-entry":
        run["entries"].append(copy.deepcopy(run["entries"][0]))
    elif how == "naive-time":
        run["provenance"]["finished_at"] = "2025-03-02T01:00:00"
    elif how == "sql-in-model-key":
        run["model"]["num_layers"] = "4; DROP TABLE bridge_scores; --"
    else:  # pragma: no cover
        raise AssertionError(how)
    return doc


CASES = {
    "list-at-top": "not a bridgex-chain bridge table",
    "wrong-format-id": "not a bridgex-chain bridge table",
    "newer-format-version": f"format version {FORMAT_VERSION + 1}.*pip install -U",
    "missing-field": r"runs\.1\.model\.num_layers",
    "extra-field": r"runs\.1\.model\.trust_me",
    "score-not-a-number": r"runs\.1\.entries\.0\.bridges\.0\.score",
    "nan-score": r"runs\.1\.entries\.0\.bridges\.0\.score.*finite",
    "negative-layer": r"per_layer",
    "unknown-language": r"runs\.1\.entries\.0\.src",
    "repeated-bridge": "bridges repeat",
    "repeated-entry": "entries repeat",
    "naive-time": r"finished_at",
    "sql-in-model-key": r"num_layers",
}


@pytest.mark.parametrize("how", sorted(CASES))
def test_wrong_schema_json_is_schema_error_and_table_unchanged(
    how: str, seeded_url: str, good_document: dict[str, Any], tmp_path: Path, snapshot: Snapshot
) -> None:
    path = tmp_path / f"{how}.json"
    path.write_text(json.dumps(_broken(good_document, how)), encoding="utf-8")
    before = snapshot(seeded_url)
    with BridgeTable(seeded_url) as table, pytest.raises(SchemaError, match=CASES[how]):
        table.import_json(path)
    assert snapshot(seeded_url) == before


@pytest.mark.parametrize(
    ("content", "match"),
    [
        (b"", "is not JSON"),
        (b'{"format": "bridgex-chain/bridge-table", "runs": [', "is not JSON"),
        ('{"format": "caf\u00e9"}'.encode("latin-1"), "Cannot read"),
    ],
    ids=["empty", "truncated", "latin-1"],
)
def test_unreadable_json_is_schema_error_and_table_unchanged(
    content: bytes, match: str, seeded_url: str, tmp_path: Path, snapshot: Snapshot
) -> None:
    path = tmp_path / "bad.json"
    path.write_bytes(content)
    before = snapshot(seeded_url)
    with BridgeTable(seeded_url) as table, pytest.raises(SchemaError, match=match):
        table.import_json(path)
    assert snapshot(seeded_url) == before


def test_one_bad_shipped_file_imports_nothing(
    seeded_url: str, good_document: dict[str, Any], tmp_path: Path, snapshot: Snapshot
) -> None:
    shipped = tmp_path / "shipped"
    shipped.mkdir()
    (shipped / "a-good.json").write_text(json.dumps(good_document), encoding="utf-8")
    (shipped / "b-bad.json").write_text(
        json.dumps(_broken(good_document, "missing-field")), encoding="utf-8"
    )
    before = snapshot(seeded_url)
    with BridgeTable(seeded_url) as table, pytest.raises(SchemaError, match=r"b-bad.json"):
        table.import_shipped(directory=shipped)
    assert snapshot(seeded_url) == before


def test_valid_import_adds_rows_and_keeps_every_existing_row(
    seeded_url: str, good_document: dict[str, Any], tmp_path: Path, snapshot: Snapshot
) -> None:
    path = tmp_path / "good.json"
    path.write_text(json.dumps(good_document), encoding="utf-8")
    before = snapshot(seeded_url)
    with BridgeTable(seeded_url) as table:
        ids = table.import_json(path)
        assert len(ids) == 2
        assert table.models() == ["demo/model", "import/a", "import/b", "other/model"]
        again = table.import_json(path)  # idempotent
        assert again == ids
    after = snapshot(seeded_url)
    for name, rows in before.items():
        assert set(rows) <= set(after[name]), f"{name} lost rows"
    assert len(after["probe_runs"]) == len(before["probe_runs"]) + 2
