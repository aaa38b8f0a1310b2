"""The bridge-table JSON format: export/import round trips, validation, shipped tables."""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from bridgex_chain.errors import SchemaError
from bridgex_chain.store.precomputed import (
    FORMAT_VERSION,
    READ_VERSIONS,
    read_table_file,
    shipped_dir,
    shipped_tables,
)
from bridgex_chain.store.records import RunRecord, ScoreRow, parse_time
from bridgex_chain.store.runs import normalized_rows
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
            r.identity, a.src, a.trg, a.bridge, a.score, a.layers_scored, a.score_low,
            a.score_high, a.win_rate, a.resamples,
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


def _with_figures(rows: list[ScoreRow]) -> list[ScoreRow]:
    """The rows with bootstrap figures on every other aggregate (an interval around the score,
    or, for every fourth, one that excludes it)."""
    result, aggregates = [], 0
    for row in rows:
        if row.layer is None:
            aggregates += 1
            if aggregates % 2:
                shift = row.score if aggregates % 4 == 1 else 0.0
                row = replace(
                    row,
                    low=row.score * 0.5 + shift,
                    high=row.score * 1.5 + shift,
                    win_rate=round(1 / aggregates, 6),
                    resamples=200,
                )
        result.append(row)
    return result


def _fill(table: BridgeTable, make_sample_run: Factory) -> None:
    for seed, model in enumerate(["demo/model", "demo/model", "other/model"]):
        run, rows = make_sample_run(
            model, seed=seed, started_at=f"2025-0{seed + 1}-01T00:00:00.{seed:06d}+00:00"
        )
        table.upsert_run(run, _with_figures(rows))


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
    assert first["format_version"] == FORMAT_VERSION == 2
    bridges = [b for run in first["runs"] for e in run["entries"] for b in e["bridges"]]
    with_figures = [b for b in bridges if "win_rate" in b]
    assert 0 < len(with_figures) < len(bridges)  # written when present, left out when not
    assert all({"low", "high", "resamples"} <= set(b) for b in with_figures)
    assert not any({"low", "high", "resamples"} & set(b) for b in bridges if "win_rate" not in b)


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


def _figures(document: dict[str, Any], drop: str = "", **changes: Any) -> None:
    """Give the first bridge of ``document`` bootstrap figures, then apply ``changes`` (to the
    document for ``format_version``, else to the bridge) and drop the field ``drop``."""
    bridge = document["runs"][0]["entries"][0]["bridges"][0]
    bridge.update(low=0.1, high=0.2, win_rate=0.5, resamples=10)
    if "format_version" in changes:
        document["format_version"] = changes.pop("format_version")
    bridge.update(changes)
    bridge.pop(drop, None)


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
        (lambda d: d.update(format_version=FORMAT_VERSION + 1),
         r"version 3; this bridgex-chain reads versions 1, 2\. Upgrade with `pip install -U"),
        (lambda d: d["runs"][0]["entries"][0]["bridges"][0].update(win_rate=1.5),
         r"runs\.0\.entries\.0\.bridges\.0\.win_rate\n?.*win_rate 1\.5 is not a share.*between 0 "
         r"and 1"),
        (lambda d: d["runs"][0]["entries"][0]["bridges"][0].update(resamples=0),
         r"runs\.0\.entries\.0\.bridges\.0\.resamples\n?.*greater than 0"),
        (lambda d: _figures(d, drop="resamples"),
         r"bridges\.0\n?.*low, high, win_rate and resamples come together; 'resamples' missing"),
        (lambda d: _figures(d, low=1.0, high=0.5),
         r"bridges\.0\n?.*interval low 1\.0 is above high 0\.5; give the 2\.5 % percentile"),
        (lambda d: _figures(d, score=None, layers_scored=None),
         r"bootstrap figures .* belong to an aggregate; give its 'score'"),
        (lambda d: _figures(d, format_version=1),
         r"(?s)runs\.0\.entries\.0\.bridges\.0 .* has bootstrap figures .* which format "
         r"version 1 does not have; set \"format_version\": 2, or remove them"),
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
        # Files of an older format version (the shipped gemma table is version 1) read as
        # aggregates without bootstrap figures, unless they have them.
        for shipped in listed:
            version = json.loads(shipped.path.read_text())["format_version"]
            assert version in READ_VERSIONS
            for _, rows in read_table_file(shipped.path):
                assert version >= 2 or not any(r.has_confidence for r in rows)
        model = table.models()[0]
        src, trg = table.pairs(model)[0]
        assert table.best(model, src, trg).bridge == table.ranking(model, src, trg)[0].bridge


def test_format_version_1_files_still_import(store_url: str, tmp_path: Path) -> None:
    # Written by hand as bridgex-chain 0.1 wrote it: no bootstrap figures, version 1.
    old = {
        "format": "bridgex-chain/bridge-table",
        "format_version": 1,
        "tool_version": "0.1.0",
        "exported_at": "2025-11-25T15:20:00.123456+00:00",
        "runs": [
            {
                "model": {"key": "old/model", "revision": "r1", "architecture": "llama",
                          "num_layers": 4, "intermediate_size": 16},
                "probe_set": {"name": "cldr-starter", "hash": "sha256:0"},
                "languages": ["swh_Latn", "eng_Latn", "fra_Latn"],
                "bridges": ["eng_Latn", "fra_Latn"],
                "params": {"layer_window": [1, 2]},
                "provenance": {"tool_version": "0.1.0", "started_at": "2025-11-25T14:00:00Z",
                               "finished_at": "2025-11-25T14:20:00Z"},
                "entries": [
                    {"src": "sw", "trg": "sw", "bridges": [
                        {"bridge": "fr", "score": 0.375, "layers_scored": 2,
                         "per_layer": {"0": 0.9, "1": 0.25, "2": 0.5}},
                        {"bridge": "en", "score": 0.125, "layers_scored": 2},
                    ]},
                ],
            }
        ],
    }  # fmt: skip
    path = tmp_path / "old.json"
    path.write_text(json.dumps(old))
    (record, rows), = read_table_file(path)  # fmt: skip
    assert record.profile.model == "old/model" and not any(r.has_confidence for r in rows)
    with BridgeTable(store_url) as table:
        assert [d.action for d in table.import_file(path)] == ["added"]
        assert [d.action for d in table.import_file(path)] == ["unchanged"]
        best = table.best("old/model", "sw")
        assert (best.bridge, best.score, best.low, best.high, best.win_rate) == (
            "fra_Latn", 0.375, None, None, None
        )  # fmt: skip
        assert [r.resamples for r in table.ranking("old/model", "sw")] == [None, None]
        # Re-exported, it is a version-2 file without figures that reads back the same.
        table.export_json(tmp_path / "new.json", "old/model")
    new = json.loads((tmp_path / "new.json").read_text())
    assert new["format_version"] == 2
    assert new["runs"][0]["entries"] == [
        {"src": "swh_Latn", "trg": "swh_Latn", "bridges": [
            {"bridge": "eng_Latn", "per_layer": {}, "score": 0.125, "layers_scored": 2},
            {"bridge": "fra_Latn", "per_layer": {"0": 0.9, "1": 0.25, "2": 0.5},
             "score": 0.375, "layers_scored": 2},
        ]}
    ]  # fmt: skip
    ((again, again_rows),) = read_table_file(tmp_path / "new.json")
    assert again.profile == record.profile and again.started_at == record.started_at
    assert sorted(again_rows, key=repr) == sorted(rows, key=repr)


def test_new_figures_over_a_stored_run_without_them_are_different_scores(
    sqlite_url: str, tmp_path: Path, make_sample_run: Factory
) -> None:
    run, rows = make_sample_run()
    with BridgeTable(sqlite_url) as table:
        table.upsert_run(run, rows)
        table.export_json(tmp_path / "plain.json")
    with BridgeTable(f"sqlite:///{tmp_path / 'other.db'}") as other:
        other.upsert_run(run, _with_figures(rows))
        other.export_json(tmp_path / "figures.json")
    with BridgeTable(sqlite_url) as table:
        assert [d.action for d in table.import_file(tmp_path / "figures.json")] == ["kept"]
        assert not any(r.has_confidence for r in table.scores(1))
        assert [d.action for d in table.import_file(tmp_path / "figures.json", replace=True)] == [
            "replaced"
        ]
        stored = table.scores(1)
    assert stored == sorted(
        normalized_rows(_with_figures(rows)),
        key=lambda r: (r.layer is None, r.src, r.trg, r.bridge, r.layer or 0),
    )


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


def test_shipped_render_checks_and_competence_are_imported_and_served_from_memory(
    tmp_path: Path,
) -> None:
    from bridgex_chain.store.records import (
        CompetenceRow,
        ModelProfile,
        RenderCheckRow,
        RunRecord,
        ScoreRow,
    )

    shipped = tmp_path / "shipped"
    checks = [RenderCheckRow("swh_Latn", "eng_Latn", 8, 0.5, 0.25, 0.75)]
    competence = [CompetenceRow("swh_Latn", 8, -4.5)]
    with BridgeTable(f"sqlite:///{tmp_path / 'build.db'}") as build:
        run = RunRecord(
            ModelProfile("demo/model", "r1", "llama", 4, 16), "unit", "h1",
            ["swh_Latn", "eng_Latn"], ["eng_Latn"], {"window": [1, 3]},
        )  # fmt: skip
        run_id = build.begin_run(run)
        build.store_render_checks(run_id, checks, competence)
        build.complete_run(run_id, [ScoreRow("swh_Latn", "swh_Latn", "eng_Latn", None, 0.5, 3)])
        build.export_json(shipped / "demo-model.json", parents=True)
    with BridgeTable(f"sqlite:///{tmp_path / 'user.db'}") as table:
        (stored,) = table.import_shipped(directory=shipped)
        assert table.render_checks(stored) == checks  # the import keeps them
        assert table.competence(stored) == competence
    # served from memory (nothing written): the same figures under the negative id
    with BridgeTable(f"sqlite:///{tmp_path / 'empty.db'}") as table:
        table._runs._serve_from_memory(table._runs._shipped(None, shipped))
        row = table.best("demo/model", "swh_Latn")
        assert row.run_id < 0
        assert table.render_checks(row.run_id) == checks
        assert table.competence(row.run_id) == competence
        table.export_json(tmp_path / "again.json")  # and a re-export keeps them
    with BridgeTable(f"sqlite:///{tmp_path / 'again.db'}") as again:
        (rid,) = again.import_json(tmp_path / "again.json")
        assert again.render_checks(rid) == checks


@pytest.mark.parametrize(
    ("rule", "fr", "en", "valid"),
    [
        ("own", (0.375, 2), (0.2, 1), True),  # each over its own window layers
        ("shared", (0.25, 1), (0.2, 1), True),  # both over layer 1, the one they share
        ("shared", (0.375, 2), (0.2, 1), False),  # an own-rule aggregate is not shared's
        ("zero", (0.25, 3), (0.2 / 3, 3), True),  # every window layer, missing ones 0
        ("zero", (0.375, 2), (0.2, 1), False),
    ],
)
def test_aggregates_are_checked_under_the_runs_aggregation_rule(
    tmp_path: Path, rule: str, fr: tuple[float, int], en: tuple[float, int], valid: bool
) -> None:
    doc = {
        "format": "bridgex-chain/bridge-table",
        "format_version": 2,
        "tool_version": "0.1.0",
        "exported_at": "2025-11-25T15:20:00+00:00",
        "runs": [
            {
                "model": {"key": "m", "revision": "r1", "architecture": "llama",
                          "num_layers": 4, "intermediate_size": 16},
                "probe_set": {"name": "p", "hash": "h"},
                "languages": ["swh_Latn", "eng_Latn", "fra_Latn"],
                "bridges": ["eng_Latn", "fra_Latn"],
                "params": {"layer_window": [0, 2], "aggregation": rule},
                "provenance": {"tool_version": "0.1.0", "started_at": "2025-11-25T14:00:00Z",
                               "finished_at": "2025-11-25T14:20:00Z"},
                "entries": [
                    {"src": "sw", "trg": "sw", "bridges": [
                        {"bridge": "fr", "score": fr[0], "layers_scored": fr[1],
                         "per_layer": {"1": 0.25, "2": 0.5}},
                        {"bridge": "en", "score": en[0], "layers_scored": en[1],
                         "per_layer": {"1": 0.2, "3": 0.9}},
                    ]},
                ],
            }
        ],
    }  # fmt: skip
    path = tmp_path / "t.json"
    path.write_text(json.dumps(doc))
    if valid:
        ((_, rows),) = read_table_file(path)
        assert {r.bridge: r.layers_scored for r in rows if r.layer is None} == {
            "fra_Latn": fr[1], "eng_Latn": en[1]
        }  # fmt: skip
    else:
        with pytest.raises(SchemaError, match=f"aggregation '{rule}'"):
            read_table_file(path)
