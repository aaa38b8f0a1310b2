"""Render checks and competence in the JSON table format (version 2): round trip and errors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from bridgex_chain.errors import SchemaError
from bridgex_chain.store.precomputed import read_table_evidence, read_table_file
from bridgex_chain.store.records import CompetenceRow, RenderCheckRow
from bridgex_chain.store.table import BridgeTable

_CHECKS = [
    RenderCheckRow("swh_Latn", "eng_Latn", 8, 0.5, 0.25, 0.75),
    RenderCheckRow("swh_Latn", "fra_Latn", 1, -0.125),
]
_COMPETENCE = [CompetenceRow("eng_Latn", 8, -1.5), CompetenceRow("swh_Latn", 8, -3.25)]


def _export_with_evidence(url: str, path: Path, make_sample_run: Any) -> None:
    with BridgeTable(url) as table:
        run, rows = make_sample_run()
        run_id = table.begin_run(run)
        table.store_render_checks(run_id, _CHECKS, _COMPETENCE)
        table.complete_run(run_id, rows)
        other, other_rows = make_sample_run(seed=1, started_at="2025-03-01T00:00:00+00:00")
        table.upsert_run(other, other_rows)  # no evidence
        assert table.export_json(path) == 2


def test_render_checks_round_trip(
    store_url: str, sqlite_url: str, tmp_path: Path, make_sample_run: Any
) -> None:
    path = tmp_path / "t.json"
    _export_with_evidence(store_url, path, make_sample_run)
    document = json.loads(path.read_text())
    first, second = document["runs"]
    assert first["render_checks"] == [
        {"src": "swh_Latn", "bridge": "eng_Latn", "pairs": 8, "gain": 0.5, "low": 0.25,
         "high": 0.75},
        {"src": "swh_Latn", "bridge": "fra_Latn", "pairs": 1, "gain": -0.125},
    ]  # fmt: skip
    assert [c["lang"] for c in first["competence"]] == ["eng_Latn", "swh_Latn"]
    assert "render_checks" not in second and "competence" not in second  # omitted when empty
    (_, (checks, competence)), (_, empty) = read_table_evidence(path)
    assert (checks, competence) == (_CHECKS, _COMPETENCE)
    assert empty == ([], [])

    with BridgeTable(sqlite_url) as target:
        first_id, second_id = target.import_json(path)
        assert target.render_checks(first_id) == _CHECKS
        assert target.competence(first_id) == _COMPETENCE
        assert target.render_checks(second_id) == []


@pytest.mark.parametrize(
    ("entry", "field", "message"),
    [
        ({"src": "sw", "bridge": "en", "pairs": 0, "gain": 0.1}, "render_checks",
         r"runs\.0\.render_checks\.0\.pairs: Input should be greater than 0"),
        ({"src": "sw", "bridge": "en", "pairs": 2, "gain": 0.1, "low": 0.0}, "render_checks",
         r"runs\.0\.render_checks\.0: .*'low' and 'high' come together"),
        ({"src": "sw", "bridge": "en", "pairs": 2, "gain": 0.1, "low": 0.5, "high": 0.0},
         "render_checks", r"runs\.0\.render_checks\.0: .*low 0\.5 is above high 0\.0"),
        ({"src": "xx-nowhere", "bridge": "en", "pairs": 2, "gain": 0.1}, "render_checks",
         r"runs\.0\.render_checks\.0\.src"),
        ({"lang": "sw", "texts": 0, "logprob_per_token": -1.0}, "competence",
         r"runs\.0\.competence\.0\.texts: Input should be greater than 0"),
        ({"lang": "sw", "texts": 3}, "competence",
         r"runs\.0\.competence\.0\.logprob_per_token: Field required"),
    ],
)  # fmt: skip
def test_invalid_entries_name_the_field(
    tmp_path: Path, make_sample_run: Any, entry: dict[str, Any], field: str, message: str
) -> None:
    path = tmp_path / "t.json"
    _export_with_evidence(f"sqlite:///{tmp_path / 's.db'}", path, make_sample_run)
    document = json.loads(path.read_text())
    document["runs"][0][field] = [entry]
    path.write_text(json.dumps(document))
    with pytest.raises(SchemaError, match=message):
        read_table_file(path)


def test_version_1_has_no_render_checks(tmp_path: Path, make_sample_run: Any) -> None:
    path = tmp_path / "t.json"
    _export_with_evidence(f"sqlite:///{tmp_path / 's.db'}", path, make_sample_run)
    document = json.loads(path.read_text())
    document["format_version"] = 1
    path.write_text(json.dumps(document))
    with pytest.raises(SchemaError, match=r"runs\.0 has render_checks or competence"):
        read_table_file(path)
