"""Database faults: corrupt, read-only, locked, newer schema. Rows already stored never change.

Every test snapshots the whole table before the fault and compares after it (see conftest.py).
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from bridgex_chain.errors import (
    DatabaseCorrupt,
    DatabaseError,
    DatabaseLocked,
    DatabaseReadOnly,
    NoBridgeFound,
    SchemaError,
)
from bridgex_chain.store import engine as engine_module
from bridgex_chain.store.migrate import VERSION_TABLE, current_revision, head_revision
from bridgex_chain.store.precomputed import write_table_file
from bridgex_chain.store.table import BridgeTable

Snapshot = Callable[[str], dict[str, list[tuple[Any, ...]]]]


def _lookups(table: BridgeTable) -> list[tuple[str, str, float, int]]:
    answers = []
    for model in ("demo/model", "other/model"):
        for src in ("swh_Latn", "yor_Latn", "hau_Latn"):
            for trg in (None, "eng_Latn"):
                best = table.best(model, src, trg)
                answers.append((best.bridge, best.trg, best.score, best.run_id))
    return answers


def _new_run(make_sample_run: Any, model: str = "new/model") -> tuple[Any, list[Any]]:
    return make_sample_run(
        model, seed=9, started_at="2025-02-01T00:00:00+00:00", finished_at="2025-02-01T01:00:00Z"
    )


def _writes(table: BridgeTable, make_sample_run: Any, tmp_path: Path) -> list[Callable[[], Any]]:
    """Every way of writing to the table, each on rows not yet stored."""
    run, rows = _new_run(make_sample_run)
    export, export_rows = _new_run(make_sample_run, "imported/model")
    path = tmp_path / "import.json"
    write_table_file(path, [(export, export_rows)], tool_version="0.1.0")
    started, _ = _new_run(make_sample_run, "begun/model")
    started.status, started.finished_at = "running", None
    return [
        lambda: table.upsert_run(run, rows),
        lambda: table.import_json(path),
        lambda: table.begin_run(started),
    ]


# ------------------------------------------------------------------------------ corrupt files
def test_garbage_file_is_database_corrupt_and_left_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bridges.db"
    garbage = b"this is not a database\n" * 500
    path.write_bytes(garbage)
    url = f"sqlite:///{path}"
    with pytest.raises(DatabaseCorrupt, match=r"not a database.*Move it aside"):
        BridgeTable(url)
    with pytest.raises(DatabaseCorrupt):
        current_revision(url)
    assert path.read_bytes() == garbage
    # the CLI shows the message and exits 2, no traceback
    cli = subprocess.run(
        [sys.executable, "-m", "bridgex_chain.cli.main", "db", "upgrade", "--database-url", url],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert cli.returncode == 2, cli.stderr
    assert "Move it aside" in " ".join(cli.stderr.split()) and "Traceback" not in cli.stderr
    assert path.read_bytes() == garbage


def test_damaged_pages_are_database_corrupt_and_left_untouched(seeded_sqlite_url: str) -> None:
    path = Path(str(make_url(seeded_sqlite_url).database))
    data = bytearray(path.read_bytes())
    assert len(data) > 8192
    data[4096:] = b"\xab" * (len(data) - 4096)  # keep the header page, smash every other page
    path.write_bytes(bytes(data))
    with pytest.raises(DatabaseCorrupt, match=r"malformed"), BridgeTable(seeded_sqlite_url) as t:
        t.best("demo/model", "swh_Latn")
    assert path.read_bytes() == bytes(data)


# ------------------------------------------------------------------------------ read-only
def _read_only(url: str) -> str:
    """Make the database read-only for new connections; return the URL to open it with."""
    parsed = make_url(url)
    if parsed.get_backend_name() == "sqlite":
        return f"sqlite:///file:{parsed.database}?mode=ro&uri=true"
    import psycopg

    with psycopg.connect(
        host=parsed.query["host"], port=int(str(parsed.query["port"])), user="postgres",
        dbname="postgres", autocommit=True,
    ) as conn:  # fmt: skip
        conn.execute(f'ALTER DATABASE "{parsed.database}" SET default_transaction_read_only = on')
    return url


def test_read_only_database_answers_lookups_and_refuses_writes(
    seeded_url: str, snapshot: Snapshot, make_sample_run: Any, tmp_path: Path
) -> None:
    with BridgeTable(seeded_url) as table:
        expected = _lookups(table)
    before = snapshot(seeded_url)
    url = _read_only(seeded_url)
    with BridgeTable(url) as table:
        assert _lookups(table) == expected
        for write in _writes(table, make_sample_run, tmp_path):
            with pytest.raises(DatabaseReadOnly, match=r"read-only: lookups work"):
                write()
        assert _lookups(table) == expected  # a failed write leaves the reader working
    assert snapshot(seeded_url) == before


# ------------------------------------------------------------------------------ locked
class _LockHolder:
    """Another connection holding the write lock (SQLite) or a table lock (PostgreSQL)."""

    def __init__(self, url: str) -> None:
        parsed = make_url(url)
        self.sqlite = parsed.get_backend_name() == "sqlite"
        if self.sqlite:
            self.conn: Any = sqlite3.connect(str(parsed.database), isolation_level=None)
            self.conn.execute("BEGIN IMMEDIATE")
            self.conn.execute(
                "INSERT INTO model_profiles (model, revision, architecture, num_layers, "
                "intermediate_size) VALUES ('held/model', 'r', 'llama', 1, 1)"
            )
        else:
            import psycopg

            self.conn = psycopg.connect(
                host=parsed.query["host"], port=int(str(parsed.query["port"])),
                user="postgres", dbname=parsed.database,
            )  # fmt: skip
            self.conn.execute("LOCK TABLE probe_runs IN EXCLUSIVE MODE")  # readers still pass

    def release(self) -> None:
        self.conn.rollback()
        self.conn.close()


def test_locked_database_times_out_as_database_locked_and_changes_nothing(
    seeded_url: str,
    snapshot: Snapshot,
    make_sample_run: Any,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 300)
    with BridgeTable(seeded_url) as table:
        expected = _lookups(table)
    before = snapshot(seeded_url)
    parsed = make_url(seeded_url)
    url = seeded_url
    if parsed.get_backend_name() == "postgresql":  # PostgreSQL waits forever unless told not to
        url = parsed.update_query_dict({"options": "-c lock_timeout=300"}).render_as_string(
            hide_password=False
        )
    holder = _LockHolder(seeded_url)
    try:
        with BridgeTable(url) as table:
            assert _lookups(table) == expected  # readers are not blocked by the writer
            for write in _writes(table, make_sample_run, tmp_path):
                started = time.monotonic()
                with pytest.raises(DatabaseLocked, match=r"Wait for it to finish and retry"):
                    write()
                assert time.monotonic() - started < 20
    finally:
        holder.release()
    assert snapshot(seeded_url) == before
    with BridgeTable(url) as table:  # once the lock is gone, the same write goes through
        run, rows = _new_run(make_sample_run)
        table.upsert_run(run, rows)
        assert table.best("new/model", "swh_Latn").run_id == run.run_id
        assert _lookups(table) == expected


# ------------------------------------------------------------------------------ newer schema
def test_newer_schema_is_refused_and_left_untouched(seeded_url: str, snapshot: Snapshot) -> None:
    engine = create_engine(seeded_url)
    with engine.begin() as conn:
        conn.execute(text(f"UPDATE {VERSION_TABLE} SET version_num = '9999_from_the_future'"))
    engine.dispose()
    before = snapshot(seeded_url)
    for migrate in (True, False):
        with pytest.raises(SchemaError, match=r"newer bridgex-chain.*pip install -U"):
            BridgeTable(seeded_url, migrate=migrate)
    assert snapshot(seeded_url) == before
    assert head_revision() != "9999_from_the_future"


# ------------------------------------------------------------------------------ unreachable
def test_missing_sqlite_directory_is_created_but_a_file_in_the_way_is_an_error(
    tmp_path: Path,
) -> None:
    blocker = tmp_path / "not-a-dir"
    blocker.write_text("x")
    with pytest.raises(DatabaseError, match=r"BRIDGEX_DATABASE_URL"):
        BridgeTable(f"sqlite:///{blocker}/bridges.db")
    assert blocker.read_text() == "x"
    with BridgeTable(f"sqlite:///{tmp_path}/new/dir/bridges.db") as table:
        assert table.models() == []
        with pytest.raises(NoBridgeFound):
            table.best("demo/model", "sw")


# ------------------------------------------------------------------------------ read-only, chain
_CHAIN_SCRIPT = """
import json, logging, sys
logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
from langchain_core.language_models import FakeListLLM
from bridgex_chain.chain import BridgeXChain
from bridgex_chain.store.table import BridgeTable
url = sys.argv[1]
out = {}
with BridgeTable(url) as table:
    out["best"] = table.best("demo/model", "swh_Latn").bridge
for _ in range(2):  # two chains: the read-only warning is logged once
    chain = BridgeXChain(llm=FakeListLLM(responses=["ok"] * 4), model="google/gemma-3-270m",
                         database_url=url, route_policy="table")
    meta = chain.invoke({"query": "Habari yako leo?", "lang": "sw"}).response_metadata["bridgex"]
    out["bridge"], out["run_id"] = meta["bridge"], meta["run_id"]
print(json.dumps(out))
"""


def _without_write_permission(args: list[str]) -> list[str] | None:
    """``args`` run so that file permissions apply (root: without CAP_DAC_OVERRIDE), or None."""
    if os.geteuid() != 0:
        return args
    setpriv = shutil.which("setpriv")
    if setpriv is None:
        return None
    caps = "-dac_override,-dac_read_search,-fowner"
    wrapped = [setpriv, f"--bounding-set={caps}", f"--inh-caps={caps}", *args]
    probe = subprocess.run([*wrapped[: -len(args)], "true"], capture_output=True, check=False)
    return wrapped if probe.returncode == 0 else None


def _shipped_best(src: str) -> str:
    with BridgeTable("sqlite://") as memory:
        memory.import_shipped()
        return memory.best("google/gemma-3-270m", src).bridge


def test_read_only_sqlite_file_serves_the_chain_and_the_shipped_tables_without_wal_files(
    seeded_sqlite_url: str, snapshot: Snapshot, tmp_path: Path
) -> None:
    path = Path(str(make_url(seeded_sqlite_url).database))
    with BridgeTable(seeded_sqlite_url) as table:
        stored_best = table.best("demo/model", "swh_Latn").bridge
    for leftover in path.parent.glob(f"{path.name}-*"):
        leftover.unlink()
    before = snapshot(seeded_sqlite_url)
    path.chmod(0o444)
    try:
        python = _without_write_permission([sys.executable, "-c", _CHAIN_SCRIPT])
        if python is None:
            pytest.skip("running as root without setpriv: file permissions do not apply")
        run = subprocess.run(
            [*python, seeded_sqlite_url],
            capture_output=True, text=True, timeout=300, check=False,
            env={**os.environ, "HF_HUB_OFFLINE": "1"},
        )  # fmt: skip
        assert run.returncode == 0, run.stderr
        answer = json.loads(run.stdout.strip().splitlines()[-1])
        assert answer["best"] == stored_best  # the stored lookups answer as before
        assert answer["bridge"] == _shipped_best("swh_Latn")  # the shipped table, from memory
        assert answer["run_id"] < 0
        assert run.stderr.count("served from memory") == 1, run.stderr
        cli = _without_write_permission(
            [sys.executable, "-m", "bridgex_chain.cli.main", "table", "show", "--model",
             "gemma", "--src", "sw", "--database-url", seeded_sqlite_url]
        )  # fmt: skip
        assert cli is not None
        shown = subprocess.run(cli, capture_output=True, text=True, timeout=120, check=False)
        assert shown.returncode == 0, shown.stderr
        assert _shipped_best("swh_Latn") in shown.stdout
        # opening a file it cannot write created no -wal/-shm files beside it
        assert sorted(p.name for p in path.parent.iterdir() if p.name.startswith(path.name)) == [
            path.name
        ]
    finally:
        path.chmod(0o644)
    assert snapshot(seeded_sqlite_url) == before


def test_read_only_database_serves_the_shipped_tables_from_memory(
    seeded_url: str, snapshot: Snapshot, caplog: pytest.LogCaptureFixture
) -> None:
    from langchain_core.language_models import FakeListLLM

    from bridgex_chain.chain import BridgeXChain
    from bridgex_chain.store import table_runs

    table_runs._warned_read_only.clear()
    before = snapshot(seeded_url)
    url = _read_only(seeded_url)
    with caplog.at_level("WARNING", logger="bridgex_chain.store"):
        for _ in range(2):
            chain = BridgeXChain(
                llm=FakeListLLM(responses=["ok"] * 4), model="google/gemma-3-270m",
                database_url=url, route_policy="table",
            )  # fmt: skip
            result = chain.invoke({"query": "Habari yako leo?", "lang": "sw"})
            meta = result.response_metadata["bridgex"]
            assert meta["bridge"] == _shipped_best("swh_Latn") and meta["fallback"] is None
    assert [r.getMessage().count("served from memory") for r in caplog.records] == [1]
    with BridgeTable(url) as table:
        table.ensure_shipped()
        assert "google/gemma-3-270m" in table.models()
        assert table.best("demo/model", "swh_Latn").run_id > 0  # stored runs as before
        assert [r.run_id for r in table.runs("google/gemma-3-270m")] == [-1]
    assert snapshot(seeded_url) == before
