"""Programmatic migrations: fresh upgrade, upgrade from the previous revision, version checks,
and finding the migration scripts both in a source checkout and in an installed layout."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from alembic import command
from sqlalchemy import inspect, text

from bridgex_chain.errors import SchemaError
from bridgex_chain.store.engine import create_store_engine, write_connection
from bridgex_chain.store.migrate import (
    VERSION_TABLE,
    alembic_config,
    check_current,
    current_revision,
    head_revision,
    script_location,
    upgrade,
)
from bridgex_chain.store.table import BridgeTable

ROOT = Path(__file__).resolve().parents[3]


def test_fresh_database_upgrades_to_head(store_url: str) -> None:
    assert current_revision(store_url) is None
    assert head_revision() == "0003"
    assert upgrade(store_url) == "0003"
    assert current_revision(store_url) == "0003"
    assert check_current(store_url) == "0003"
    assert upgrade(store_url) == "0003"  # a second upgrade is a no-op


# Rows written at revision 0001, where the aggregate was a bridge_scores row with layer NULL.
_V1_ROWS = [
    "INSERT INTO model_profiles (id, model, revision, architecture, num_layers, "
    "intermediate_size) VALUES (1, 'demo/model', 'r1', 'llama', 4, 16)",
    "INSERT INTO probe_runs (id, profile_id, identity, probe_set, probe_set_hash, languages, "
    "bridges, params, status, error, tool_version, started_at, finished_at) VALUES (1, 1, "
    "'ident-1', 'starter', 'h1', '[\"swh_Latn\"]', '[\"eng_Latn\", \"fra_Latn\"]', "
    "'{\"window\": [1, 3]}', 'complete', NULL, '0.0.1', '2025-01-01 00:00:00', "
    "'2025-01-01 01:00:00')",
    "INSERT INTO probe_runs (id, profile_id, identity, probe_set, probe_set_hash, languages, "
    "bridges, params, status, error, tool_version, started_at, finished_at) VALUES (2, 1, "
    "'ident-2', 'starter', 'h1', '[]', '[]', '{}', 'failed', 'out of memory', '0.0.1', "
    "'2025-01-02 00:00:00', NULL)",
]
_V1_SCORES = [
    # (run, src, trg, bridge, layer, score)
    (1, "swh_Latn", "swh_Latn", "eng_Latn", 1, 0.25),
    (1, "swh_Latn", "swh_Latn", "eng_Latn", 2, 0.125),
    (1, "swh_Latn", "swh_Latn", "eng_Latn", 3, 0.5),
    (1, "swh_Latn", "swh_Latn", "fra_Latn", 1, 0.75),
    (1, "swh_Latn", "swh_Latn", "fra_Latn", 3, 0.0625),
    (1, "swh_Latn", "swh_Latn", "eng_Latn", None, 0.3),
    (1, "swh_Latn", "swh_Latn", "fra_Latn", None, 0.40625),
    (1, "swh_Latn", "eng_Latn", "fra_Latn", None, 0.1),
]


def _write_v1(url: str) -> None:
    assert upgrade(url, "0001") == "0001"
    engine = create_store_engine(url)
    with write_connection(engine) as conn:
        for statement in _V1_ROWS:
            conn.execute(text(statement))
        for run, src, trg, bridge, layer, score in _V1_SCORES:
            conn.execute(
                text(
                    "INSERT INTO bridge_scores (run_id, src, trg, bridge, layer, score) "
                    "VALUES (:r, :s, :t, :b, :l, :v)"
                ),
                {"r": run, "s": src, "t": trg, "b": bridge, "l": layer, "v": score},
            )
        # Revision 0001's partial unique index: a second aggregate row for a key is refused.
        with pytest.raises(Exception, match=r"(?i)unique"), conn.begin_nested():
            conn.execute(
                text(
                    "INSERT INTO bridge_scores (run_id, src, trg, bridge, layer, score) "
                    "VALUES (1, 'swh_Latn', 'swh_Latn', 'eng_Latn', NULL, 9.0)"
                )
            )
    engine.dispose()


def _dump(url: str, sql: str) -> list[tuple[object, ...]]:
    engine = create_store_engine(url)
    with engine.connect() as conn:
        rows = [tuple(r) for r in conn.execute(text(sql))]
    engine.dispose()
    return rows


def test_previous_revision_upgrades_with_rows_intact(store_url: str) -> None:
    _write_v1(store_url)
    profiles = _dump(store_url, "SELECT * FROM model_profiles ORDER BY id")
    runs_before = _dump(store_url, "SELECT * FROM probe_runs ORDER BY id")

    assert upgrade(store_url) == "0003"

    assert _dump(store_url, "SELECT * FROM model_profiles ORDER BY id") == profiles
    assert _dump(store_url, "SELECT * FROM probe_runs ORDER BY id") == runs_before
    layers = _dump(
        store_url,
        "SELECT run_id, src, trg, bridge, layer, score FROM bridge_scores "
        "ORDER BY run_id, src, trg, bridge, layer",
    )
    assert layers == sorted(r for r in _V1_SCORES if r[4] is not None)
    aggregates = _dump(
        store_url,
        "SELECT run_id, src, trg, bridge, score, layers_scored FROM bridge_aggregates "
        "ORDER BY run_id, src, trg, bridge",
    )
    assert aggregates == [
        (1, "swh_Latn", "eng_Latn", "fra_Latn", 0.1, 0),
        (1, "swh_Latn", "swh_Latn", "eng_Latn", 0.3, 3),
        (1, "swh_Latn", "swh_Latn", "fra_Latn", 0.40625, 2),
    ]
    # The migrated rows serve lookups (and the failed run stays invisible).
    with BridgeTable(store_url) as table:
        best = table.best("demo/model", "sw")
        assert (best.bridge, best.score, best.run_id) == ("fra_Latn", 0.40625, 1)
        assert best.margin == pytest.approx(0.10625)
        assert [r.layers_scored for r in table.ranking("demo/model", "sw")] == [2, 3]
        assert [r.status for r in table.runs()] == ["complete", "failed"]
        assert table.runs()[1].error == "out of memory"


def test_downgrade_restores_the_previous_layout(store_url: str) -> None:
    _write_v1(store_url)
    before = _dump(
        store_url,
        "SELECT run_id, src, trg, bridge, layer, score FROM bridge_scores "
        "ORDER BY run_id, src, trg, bridge, layer",
    )
    upgrade(store_url)
    engine = create_store_engine(store_url)
    with write_connection(engine) as conn:
        command.downgrade(alembic_config(conn), "0001")
    engine.dispose()
    assert current_revision(store_url) == "0001"
    after = _dump(
        store_url,
        "SELECT run_id, src, trg, bridge, layer, score FROM bridge_scores "
        "ORDER BY run_id, src, trg, bridge, layer",
    )
    key = lambda r: (r[0], r[1], r[2], r[3], -1 if r[4] is None else r[4])  # noqa: E731
    assert sorted(after, key=key) == sorted(before, key=key)
    assert upgrade(store_url) == "0003"


# Rows written at revision 0002: per-layer scores and aggregates in their own tables.
_V2_LAYERS = [r for r in _V1_SCORES if r[4] is not None]
_V2_AGGREGATES = [
    # (run, src, trg, bridge, score, layers_scored)
    (1, "swh_Latn", "eng_Latn", "fra_Latn", 0.1, 0),
    (1, "swh_Latn", "swh_Latn", "eng_Latn", 0.3, 3),
    (1, "swh_Latn", "swh_Latn", "fra_Latn", 0.40625, 2),
]
_LAYER_ROWS = (
    "SELECT run_id, src, trg, bridge, layer, score FROM bridge_scores "
    "ORDER BY run_id, src, trg, bridge, layer"
)
_AGGREGATE_ROWS = (
    "SELECT run_id, src, trg, bridge, score, layers_scored FROM bridge_aggregates "
    "ORDER BY run_id, src, trg, bridge"
)
_FIGURES = (
    "SELECT score_low, score_high, win_rate, resamples FROM bridge_aggregates "
    "ORDER BY run_id, src, trg, bridge"
)


def _write_v2(url: str) -> dict[str, list[tuple[object, ...]]]:
    """A database at revision 0002 with rows in every table; returns them (as dumped)."""
    assert upgrade(url, "0002") == "0002"
    engine = create_store_engine(url)
    with write_connection(engine) as conn:
        for statement in _V1_ROWS:
            conn.execute(text(statement))
        for run, src, trg, bridge, layer, score in _V2_LAYERS:
            conn.execute(
                text(
                    "INSERT INTO bridge_scores (run_id, src, trg, bridge, layer, score) "
                    "VALUES (:r, :s, :t, :b, :l, :v)"
                ),
                {"r": run, "s": src, "t": trg, "b": bridge, "l": layer, "v": score},
            )
        for run, src, trg, bridge, score, layers in _V2_AGGREGATES:
            conn.execute(
                text(
                    "INSERT INTO bridge_aggregates (run_id, src, trg, bridge, score, "
                    "layers_scored) VALUES (:r, :s, :t, :b, :v, :n)"
                ),
                {"r": run, "s": src, "t": trg, "b": bridge, "v": score, "n": layers},
            )
    engine.dispose()
    return _v2_rows(url)


def _v2_rows(url: str) -> dict[str, list[tuple[object, ...]]]:
    """Every row of the tables revision 0002 has, in 0002's columns."""
    return {
        "model_profiles": _dump(url, "SELECT * FROM model_profiles ORDER BY id"),
        "probe_runs": _dump(url, "SELECT * FROM probe_runs ORDER BY id"),
        "bridge_scores": _dump(url, _LAYER_ROWS),
        "bridge_aggregates": _dump(url, _AGGREGATE_ROWS),
    }


_RENDER_TABLES = {"render_checks", "language_competence"}


def _table_names(url: str) -> list[str]:
    engine = create_store_engine(url)
    try:
        return list(inspect(engine).get_table_names())
    finally:
        engine.dispose()


def _aggregate_columns(url: str) -> list[str]:
    engine = create_store_engine(url)
    try:
        return [c["name"] for c in inspect(engine).get_columns("bridge_aggregates")]
    finally:
        engine.dispose()


def test_revision_0002_upgrades_with_rows_intact_and_no_figures(store_url: str) -> None:
    before = _write_v2(store_url)
    assert before["bridge_scores"] == sorted(_V2_LAYERS)
    assert before["bridge_aggregates"] == _V2_AGGREGATES

    assert upgrade(store_url) == "0003"

    assert _v2_rows(store_url) == before
    assert _dump(store_url, _FIGURES) == [(None, None, None, None)] * len(_V2_AGGREGATES)
    assert set(_table_names(store_url)) >= _RENDER_TABLES
    assert _dump(store_url, "SELECT * FROM render_checks") == []
    assert _dump(store_url, "SELECT * FROM language_competence") == []
    with BridgeTable(store_url) as table:  # old rows read as "no bootstrap"
        best = table.best("demo/model", "sw")
        assert (best.bridge, best.score, best.low, best.high, best.win_rate) == (
            "fra_Latn", 0.40625, None, None, None
        )  # fmt: skip
        assert [(r.bridge, r.low, r.resamples) for r in table.ranking("demo/model", "sw")] == [
            ("fra_Latn", None, None),
            ("eng_Latn", None, None),
        ]
        assert {r.has_confidence for r in table.scores(1)} == {False}


def test_downgrade_to_0002_keeps_every_row(store_url: str) -> None:
    before = _write_v2(store_url)
    upgrade(store_url)
    engine = create_store_engine(store_url)
    with write_connection(engine) as conn:  # a row written at 0003, with figures
        conn.execute(
            text(
                "UPDATE bridge_aggregates SET score_low = 0.25, score_high = 0.5, "
                "win_rate = 0.75, resamples = 200 WHERE bridge = 'fra_Latn' AND trg = 'swh_Latn'"
            )
        )
        conn.execute(
            text(
                "INSERT INTO render_checks (run_id, src, bridge, pairs, gain, gain_low, "
                "gain_high) VALUES (1, 'swh_Latn', 'fra_Latn', 8, 0.5, 0.25, 0.75)"
            )
        )
        conn.execute(
            text(
                "INSERT INTO language_competence (run_id, lang, texts, logprob_per_token) "
                "VALUES (1, 'swh_Latn', 8, -2.5)"
            )
        )
    with write_connection(engine) as conn:
        command.downgrade(alembic_config(conn), "0002")
    engine.dispose()

    assert current_revision(store_url) == "0002"
    assert not _RENDER_TABLES & set(_table_names(store_url))
    assert _v2_rows(store_url) == before
    assert _aggregate_columns(store_url) == [
        "run_id", "src", "trg", "bridge", "score", "layers_scored"
    ]  # fmt: skip
    # Revision 0002's own CHECK survives the table rebuild (SQLite) of both migrations.
    engine = create_store_engine(store_url)
    with pytest.raises(Exception, match=r"(?i)check"), write_connection(engine) as conn:
        conn.execute(
            text(
                "INSERT INTO bridge_aggregates (run_id, src, trg, bridge, score, layers_scored) "
                "VALUES (1, 'yor_Latn', 'yor_Latn', 'eng_Latn', 0.1, -1)"
            )
        )
    engine.dispose()
    assert upgrade(store_url) == "0003"
    assert _v2_rows(store_url) == before
    assert _dump(store_url, _FIGURES) == [(None, None, None, None)] * len(_V2_AGGREGATES)
    assert _dump(store_url, "SELECT * FROM render_checks") == []


def _stamp(url: str, revision: str) -> None:
    engine = create_store_engine(url)
    with write_connection(engine) as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = :v"), {"v": revision})
    engine.dispose()


def test_newer_database_is_refused_with_upgrade_advice(store_url: str) -> None:
    upgrade(store_url)
    _stamp(store_url, "0099")
    for attempt in (upgrade, check_current, BridgeTable):
        with pytest.raises(SchemaError, match=r"newer bridgex-chain.*pip install -U bridgex-chain"):
            attempt(store_url)


def test_old_database_without_migrate_asks_for_db_upgrade(store_url: str, tmp_path: Path) -> None:
    upgrade(store_url, "0001")
    with pytest.raises(SchemaError, match="bridgex-chain db upgrade"):
        BridgeTable(store_url, migrate=False)
    with pytest.raises(SchemaError, match="bridgex-chain db upgrade"):  # an empty database
        BridgeTable(f"sqlite:///{tmp_path / 'empty.db'}", migrate=False)
    with BridgeTable(store_url) as table:  # migrate=True upgrades
        assert table.models() == []
    assert current_revision(store_url) == "0003"


def test_unversioned_tables_are_refused(sqlite_url: str) -> None:
    from bridgex_chain.store.schema import Base

    engine = create_store_engine(sqlite_url)
    Base.metadata.create_all(engine)
    with pytest.raises(SchemaError, match="no schema version"):
        upgrade(engine)
    engine.dispose()


def test_default_url_comes_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("BRIDGEX_DATABASE_URL", raising=False)
    monkeypatch.setenv("BRIDGEX_DATA_DIR", str(tmp_path / "data"))
    assert upgrade() == "0003"
    assert (tmp_path / "data" / "bridges.db").is_file()
    other = tmp_path / "other.db"
    monkeypatch.setenv("BRIDGEX_DATABASE_URL", f"sqlite:///{other}")
    assert current_revision() is None
    with BridgeTable() as table:
        assert str(other) in table.url
    assert current_revision() == "0003"
    explicit = tmp_path / "explicit.db"
    with BridgeTable(f"sqlite:///{explicit}"):  # an argument beats the environment
        pass
    assert explicit.is_file()


def test_source_checkout_finds_the_alembic_directory() -> None:
    # This test environment is an editable install: the finder does not expose the
    # bridgex_chain._migrations namespace, so the source tree's alembic/ is used.
    location = script_location()
    assert (location / "env.py").is_file()
    assert sorted(p.name for p in (location / "versions").glob("0*.py")) == [
        "0001_initial.py",
        "0002_aggregate_table.py",
        "0003_bridge_confidence.py",
    ]
    assert not (ROOT / "alembic" / "__init__.py").exists()  # it would shadow the alembic library


def _installed_copy(target: Path) -> Path:
    """Lay the package out as the wheel does (see pyproject's package-dir mapping)."""
    ignore = shutil.ignore_patterns("__pycache__")
    site = target / "site"
    shutil.copytree(ROOT / "bridgex_chain", site / "bridgex_chain", ignore=ignore)
    shutil.copytree(ROOT / "cli", site / "bridgex_chain" / "cli", ignore=ignore)
    shutil.copytree(ROOT / "alembic", site / "bridgex_chain" / "_migrations", ignore=ignore)
    shutil.copytree(ROOT / "precomputed", site / "bridgex_chain" / "_precomputed", ignore=ignore)
    return site


def test_installed_layout_migrates_and_lists_shipped_tables(
    tmp_path: Path, make_sample_run: object
) -> None:
    site = _installed_copy(tmp_path)
    # A shipped table inside the installed package.
    with BridgeTable(f"sqlite:///{tmp_path / 'src.db'}") as table:
        table.upsert_run(*make_sample_run())  # type: ignore[operator]
        table.export_json(site / "bridgex_chain" / "_precomputed" / "demo.json")
    script = (
        "import json, bridgex_chain\n"
        "from bridgex_chain.store.migrate import script_location, upgrade\n"
        "from bridgex_chain.store.precomputed import shipped_tables\n"
        "from bridgex_chain.store.table import BridgeTable\n"
        f"t = BridgeTable('sqlite:///{tmp_path / 'dst.db'}')\n"
        "ids = t.ensure_shipped()\n"
        "print(json.dumps({'pkg': bridgex_chain.__file__, 'scripts': str(script_location()),\n"
        "  'shipped': [str(s.path) for s in shipped_tables()], 'ids': ids,\n"
        "  'best': t.best('demo/model', 'swh_Latn').bridge}))\n"
    )
    env = {**os.environ, "PYTHONPATH": str(site), "HF_HUB_OFFLINE": "1"}
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert out.returncode == 0, out.stderr
    result = json.loads(out.stdout)
    assert result["pkg"].startswith(str(site))
    assert result["scripts"] == str(site / "bridgex_chain" / "_migrations")
    shipped_dir = site / "bridgex_chain" / "_precomputed"
    expected = sorted(str(p) for p in shipped_dir.glob("*.json"))
    assert str(shipped_dir / "demo.json") in expected
    assert sorted(result["shipped"]) == expected  # ours plus the tables the project ships
    assert len(result["ids"]) == len(expected)
    with BridgeTable(f"sqlite:///{tmp_path / 'src.db'}") as table:
        assert result["best"] == table.best("demo/model", "swh_Latn").bridge
