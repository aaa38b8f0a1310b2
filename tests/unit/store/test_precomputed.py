"""The bridge-table JSON format: export/import round trips, validation, shipped tables."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridgex_chain.errors import SchemaError
from bridgex_chain.store.precomputed import (
    FORMAT_VERSION,
    read_table_file,
    shipped_dir,
    shipped_tables,
)
from bridgex_chain.store.records import RunRecord, ScoreRow, parse_time
from bridgex_chain.store.schema import (
    AggregateScoreRow,
    LayerScoreRow,
    ModelProfileRow,
    ProbeRunRow,
)
from bridgex_chain.store.table import BridgeTable

Factory = Callable[..., tuple[RunRecord, list[ScoreRow]]]


def _all_rows(table: BridgeTable) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table, typed, with surrogate ids replaced by natural keys."""
    p, r = ModelProfileRow, ProbeRunRow
    s, a = LayerScoreRow, AggregateScoreRow
    queries = {
        "model_profiles": select(
            p.model, p.revision, p.architecture, p.num_layers, p.intermediate_size
        ),
        "probe_runs": select(
            p.model, p.revision, r.identity, r.probe_set, r.probe_set_hash, r.languages,
            r.bridges, r.params, r.status, r.error, r.tool_version, r.started_at, r.finished_at,
        ).join(p, r.profile_id == p.id),
        "bridge_scores": select(r.identity, s.src, s.trg, s.bridge, s.layer, s.score).join(
            r, s.run_id == r.id
        ),
        "bridge_aggregates": select(
            r.identity, a.src, a.trg, a.bridge, a.score, a.layers_scored
        ).join(r, a.run_id == r.id),
    }  # fmt: skip

    def plain(value: Any) -> Any:
        if isinstance(value, datetime):  # SQLite gives naive UTC, PostgreSQL aware times
            return parse_time(value).isoformat()
        if isinstance(value, list | dict):
            return json.dumps(value, sort_keys=True)
        return value

    result = {}
    with table.engine.connect() as conn:
        for name, query in queries.items():
            rows = [tuple(plain(v) for v in row) for row in conn.execute(query)]
            result[name] = sorted(rows, key=repr)
    return result


def _fill(table: BridgeTable, make_sample_run: Factory) -> None:
    for seed, model in enumerate(["demo/model", "demo/model", "other/model"]):
        run, rows = make_sample_run(
            model, seed=seed, started_at=f"2025-0{seed + 1}-01T00:00:00.{seed:06d}+00:00"
        )
        table.upsert_run(run, rows)


def test_export_import_round_trips_exactly(
    store_url: str, sqlite_url: str, tmp_path: Path, make_sample_run: Factory
) -> None:
    with BridgeTable(store_url) as source:
        _fill(source, make_sample_run)
        failed, failed_rows = make_sample_run(seed=9, started_at="2025-09-09T00:00:00Z")
        failed_id = source.begin_run(failed)
        source.write_scores(failed_id, failed_rows[:5], final=False)
        source.fail_run(failed_id, "boom")
        path = tmp_path / "table.json"
        assert source.export_json(path) == 3  # complete runs only
        source_rows = _all_rows(source)
        source_runs = [r for r in source.runs() if r.status == "complete"]
    # Import into another database (and across backends when store_url is PostgreSQL).
    with BridgeTable(sqlite_url) as target:
        ids = target.import_json(path)
        assert len(ids) == 3
        target_rows = _all_rows(target)
        assert target.import_json(path) == ids  # idempotent
        assert _all_rows(target) == target_rows
        complete = {k: [r for r in v if "failed" not in r] for k, v in source_rows.items()}
        failed_identity = next(r[2] for r in source_rows["probe_runs"] if r[8] == "failed")
        for key in ("bridge_scores", "bridge_aggregates"):
            complete[key] = [r for r in complete[key] if r[0] != failed_identity]
        assert target_rows == complete
        assert [(r.profile, r.params, r.started_at, r.finished_at) for r in target.runs()] == [
            (r.profile, r.params, r.started_at, r.finished_at) for r in source_runs
        ]
        # A second export of the imported table is the same document (but for exported_at).
        again = tmp_path / "again.json"
        target.export_json(again)
    first, second = json.loads(path.read_text()), json.loads(again.read_text())
    assert first.pop("exported_at") and second.pop("exported_at")
    assert first == second


def test_export_one_model(store_url: str, tmp_path: Path, make_sample_run: Factory) -> None:
    with BridgeTable(store_url) as table:
        _fill(table, make_sample_run)
        assert table.export_json(tmp_path / "other.json", "other/model") == 1
    (record, rows), = read_table_file(tmp_path / "other.json")  # fmt: skip
    assert record.profile.model == "other/model" and record.status == "complete"
    assert any(r.layer is None for r in rows) and any(r.layer == 0 for r in rows)


def _valid_document(tmp_path: Path, make_sample_run: Factory) -> dict[str, Any]:
    with BridgeTable(f"sqlite:///{tmp_path / 'v.db'}") as table:
        table.upsert_run(*make_sample_run())
        table.export_json(tmp_path / "valid.json")
    return json.loads((tmp_path / "valid.json").read_text())  # type: ignore[no-any-return]


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda d: d["runs"][0]["entries"][0]["bridges"][1].update(score="high"),
         r"runs\.0\.entries\.0\.bridges\.1\.score"),
        (lambda d: d["runs"][0]["model"].update(num_layers=0), r"runs\.0\.model\.num_layers"),
        (lambda d: d["runs"][0]["entries"][1].update(src="xx-not-a-language"),
         r"runs\.0\.entries\.1\.src.*Unknown language"),
        (lambda d: d["runs"][0].pop("provenance"), r"runs\.0\.provenance"),
        (lambda d: d["runs"][0]["provenance"].update(started_at="2025-01-01T00:00:00"),
         r"runs\.0\.provenance\.started_at"),
        (lambda d: d["runs"][0].update(surprise=1), r"runs\.0\.surprise.*Extra inputs"),
        (lambda d: d["runs"][0]["entries"][0]["bridges"][0]["per_layer"].update({"-1": 0.1}),
         r"per_layer"),
        (lambda d: d["runs"][0]["entries"][0]["bridges"].append(
            d["runs"][0]["entries"][0]["bridges"][0]), "bridges repeat"),
        (lambda d: d["runs"][0]["entries"].append(d["runs"][0]["entries"][0]),
         r"entries repeat"),
        (lambda d: d.update(format_version=FORMAT_VERSION + 1), "pip install -U bridgex-chain"),
        (lambda d: d.update(format="something-else"), "not a bridgex-chain bridge table"),
    ],
)  # fmt: skip
def test_invalid_files_are_refused_before_any_write(
    tmp_path: Path, make_sample_run: Factory, mutate: Callable[[dict[str, Any]], Any], message: str
) -> None:
    document = _valid_document(tmp_path, make_sample_run)
    mutate(document)
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    with BridgeTable(f"sqlite:///{tmp_path / 'target.db'}") as table:
        with pytest.raises(SchemaError, match=message):
            table.import_json(bad)
        assert table.runs() == []


def test_non_finite_numbers_and_broken_files(tmp_path: Path, make_sample_run: Factory) -> None:
    document = _valid_document(tmp_path, make_sample_run)
    raw = json.dumps(document).replace('"score": ', '"score": NaN, "x": ', 1)
    (tmp_path / "nan.json").write_text(raw)
    with pytest.raises(SchemaError, match="finite"):
        read_table_file(tmp_path / "nan.json")
    (tmp_path / "trunc.json").write_text(json.dumps(document)[:100])
    with pytest.raises(SchemaError, match="not JSON"):
        read_table_file(tmp_path / "trunc.json")
    with pytest.raises(SchemaError, match="Cannot read"):
        read_table_file(tmp_path / "missing.json")


def test_shipped_tables_are_listed_and_imported_idempotently(
    store_url: str, tmp_path: Path, make_sample_run: Factory
) -> None:
    shipped = tmp_path / "shipped"
    with BridgeTable(f"sqlite:///{tmp_path / 'build.db'}") as build:
        _fill(build, make_sample_run)
        build.export_json(shipped / "demo-model.json", "demo/model", parents=True)
        build.export_json(shipped / "other-model.json", "other/model")
    (shipped / "notes.txt").write_text("not a table")
    tables = shipped_tables(shipped)
    assert [(t.path.name, t.models, t.run_count) for t in tables] == [
        ("demo-model.json", ("demo/model",), 2),
        ("other-model.json", ("other/model",), 1),
    ]
    with BridgeTable(store_url) as table:
        ids = table.import_shipped("other/model", directory=shipped)
        assert len(ids) == 1 and table.models() == ["other/model"]
        all_ids = table.import_shipped(directory=shipped)
        assert len(all_ids) == 3 and ids[0] in all_ids
        assert table.import_shipped(directory=shipped) == all_ids
        assert len(table.runs()) == 3
        assert table.best("demo/model", "swh_Latn").bridge


def test_package_shipped_tables_and_ensure_shipped(sqlite_url: str) -> None:
    # precomputed/ of this checkout (bridgex_chain._precomputed); every file in it must validate.
    root = shipped_dir()
    assert root is not None and (root / "README.md").is_file()
    listed = shipped_tables()
    assert [t.path for t in listed] == sorted(root.glob("*.json"))
    with BridgeTable(sqlite_url) as table:
        first = table.ensure_shipped()
        assert len(first) == sum(t.run_count for t in listed)
        assert table.ensure_shipped() == []  # once per object
        assert sorted(table.models()) == sorted({m for t in listed for m in t.models})


def test_invalid_shipped_file_is_reported(tmp_path: Path) -> None:
    (tmp_path / "broken.json").write_text('{"format": "bridgex-chain/bridge-table"}')
    with pytest.raises(SchemaError, match=r"(?s)broken\.json.*format_version"):
        shipped_tables(tmp_path)


@pytest.mark.parametrize(
    ("mutate", "message"),
    [
        (lambda b: b.update(score=None, layers_scored=None, per_layer={}),
         r"bridges\.0\n?.*has no scores: give it an aggregate 'score'.*or remove it"),
        (lambda b: b.update(layers_scored=None),
         r"bridges\.0\n?.*'score' and 'layers_scored' come together; give both or neither"),
    ],
)  # fmt: skip
def test_a_bridge_without_consistent_scores_names_the_field_and_the_fix(
    tmp_path: Path, make_sample_run: Factory, mutate: Callable[[dict[str, Any]], Any], message: str
) -> None:
    document = _valid_document(tmp_path, make_sample_run)
    mutate(document["runs"][0]["entries"][0]["bridges"][0])
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    with pytest.raises(SchemaError, match=message) as err:
        read_table_file(bad)
    assert type(err.value) is SchemaError  # the importer's error, with the path, not the field's
    assert "runs.0.entries.0.bridges.0" in str(err.value)


def test_repeated_bridges_and_entries_are_named_once(
    tmp_path: Path, make_sample_run: Factory
) -> None:
    from pydantic import ValidationError

    from bridgex_chain.store.precomputed import EntryJSON

    bridge = {"bridge": "fr", "score": 0.5, "layers_scored": 1}
    with pytest.raises(ValidationError, match=r"bridges repeat in entry swh_Latn->swh_Latn: "
                       r"fra_Latn; list each bridge once"):  # fmt: skip
        EntryJSON.model_validate({"src": "sw", "trg": "sw", "bridges": [bridge, bridge, bridge]})
    document = _valid_document(tmp_path, make_sample_run)
    entries = document["runs"][0]["entries"]
    entries += [entries[0], entries[0]]
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps(document))
    first = f"{entries[0]['src']}->{entries[0]['trg']}"
    with pytest.raises(SchemaError, match=rf"entries repeat: {first}; give each \(src, trg\)"):
        read_table_file(bad)
