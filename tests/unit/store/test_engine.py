"""Engines, URLs, write transactions and how driver errors become DatabaseError subclasses."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import inspect, text
from sqlalchemy.exc import OperationalError

from bridgex_chain.errors import (
    DatabaseCorrupt,
    DatabaseError,
    DatabaseLocked,
    DatabaseReadOnly,
    MissingDependency,
)
from bridgex_chain.store import engine as engine_module
from bridgex_chain.store.engine import (
    create_store_engine,
    database_errors,
    describe_url,
    guarded_read,
    guarded_write,
    normalize_url,
    write_connection,
)
from bridgex_chain.store.table import BridgeTable


def test_sqlite_connection_settings(tmp_path: object) -> None:
    eng = create_store_engine(f"sqlite:///{tmp_path}/nested/dir/b.db")
    with eng.connect() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
    eng.dispose()


def test_sqlite_write_transaction_rolls_back_ddl_and_dml() -> None:
    eng = create_store_engine("sqlite://")
    with pytest.raises(RuntimeError), write_connection(eng) as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (1)"))
        raise RuntimeError("boom")
    assert not inspect(eng).has_table("t")


def test_urls() -> None:
    assert normalize_url("postgresql://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("postgresql+psycopg://u@h/db").drivername == "postgresql+psycopg"
    assert normalize_url("sqlite:///x.db").drivername == "sqlite"
    with pytest.raises(DatabaseError, match="SQLite and PostgreSQL"):
        normalize_url("mysql://u@h/db")
    with pytest.raises(DatabaseError, match="Cannot parse"):
        normalize_url("not a url")
    assert describe_url("postgresql+psycopg://me:secret@db/x") == "postgresql+psycopg://me:***@db/x"


def test_missing_psycopg_is_a_clear_error(monkeypatch: pytest.MonkeyPatch) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "psycopg" else real(name, *a)
    )
    with pytest.raises(MissingDependency, match=r"bridgex-chain\[postgres\]"):
        create_store_engine("postgresql://u@h/db")


def test_describe_url_never_fails() -> None:
    assert describe_url("sqlite:///x.db") == "sqlite:///x.db"
    assert describe_url("::not a url::") == "<unparseable database URL>"


def test_write_connection_commits_on_success(tmp_path: Path) -> None:
    eng = create_store_engine(f"sqlite:///{tmp_path / 'c.db'}")
    with write_connection(eng) as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.execute(text("INSERT INTO t VALUES (7)"))
    with guarded_read(eng) as conn:
        assert conn.execute(text("SELECT x FROM t")).scalar() == 7
    eng.dispose()


def test_unusable_sqlite_directory_says_where_to_point_instead(tmp_path: Path) -> None:
    blocker = tmp_path / "a-file"
    blocker.write_text("")
    with pytest.raises(DatabaseError, match="BRIDGEX_DATABASE_URL"):
        create_store_engine(f"sqlite:///{blocker / 'sub' / 'b.db'}")


def test_a_file_that_is_not_a_database_is_corrupt(tmp_path: Path) -> None:
    bad = tmp_path / "bad.db"
    bad.write_bytes(b"not a database " * 300)
    eng = create_store_engine(f"sqlite:///{bad}")
    with (
        pytest.raises(DatabaseCorrupt, match=r"Cannot read .*Move it aside") as err,
        guarded_read(eng) as conn,
    ):
        conn.execute(text("SELECT 1"))
    assert isinstance(err.value, DatabaseError)
    eng.dispose()


def test_writing_a_read_only_database_is_read_only(tmp_path: Path) -> None:
    path = tmp_path / "ro.db"
    BridgeTable(f"sqlite:///{path}").close()
    eng = create_store_engine(f"sqlite:///file:{path}?mode=ro&uri=true")
    with guarded_read(eng) as conn:  # reads still work
        assert conn.execute(text("SELECT count(*) FROM probe_runs")).scalar() == 0
    with (
        pytest.raises(DatabaseReadOnly, match=r"Cannot write .*writable copy"),
        guarded_write(eng) as conn,
    ):
        conn.execute(text("DELETE FROM probe_runs"))
    eng.dispose()


def test_a_writer_waiting_past_the_busy_timeout_is_locked(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_module, "SQLITE_BUSY_TIMEOUT_MS", 50)
    url = f"sqlite:///{tmp_path / 'busy.db'}"
    holder, waiter = create_store_engine(url), create_store_engine(url)
    with write_connection(holder) as conn:  # BEGIN IMMEDIATE: holds the write lock
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        with (
            pytest.raises(DatabaseLocked, match="Wait for it to finish and retry"),
            guarded_write(waiter) as other,
        ):
            other.execute(text("SELECT 1"))
    with guarded_write(waiter) as other:  # free again once the holder committed
        other.execute(text("INSERT INTO t VALUES (1)"))
    holder.dispose()
    waiter.dispose()


class _PgError(Exception):
    def __init__(self, sqlstate: str) -> None:
        super().__init__(f"server said {sqlstate}")
        self.sqlstate = sqlstate


@pytest.mark.parametrize(
    ("sqlstate", "kind"),
    [("55P03", DatabaseLocked), ("40P01", DatabaseLocked), ("25006", DatabaseReadOnly),
     ("42501", DatabaseReadOnly), ("08006", DatabaseError)],
)  # fmt: skip
def test_postgres_sqlstates_are_classified_and_the_password_masked(
    sqlstate: str, kind: type[DatabaseError]
) -> None:
    url = "postgresql+psycopg://me:secret@db/bridges"
    with pytest.raises(kind) as err, database_errors(url, "write"):
        raise OperationalError("UPDATE probe_runs", {}, _PgError(sqlstate))
    assert type(err.value) is kind
    assert "me:***@db/bridges" in str(err.value) and "secret" not in str(err.value)
    assert f"server said {sqlstate}" in str(err.value)


def test_other_exceptions_pass_through_database_errors() -> None:
    with pytest.raises(KeyError), database_errors("sqlite://", "read"):
        raise KeyError("not a driver error")
