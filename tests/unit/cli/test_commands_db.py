"""The ``db`` commands: ``db upgrade`` and ``db current`` (typer CliRunner)."""

from __future__ import annotations

from pathlib import Path

import pytest
import sqlalchemy as sa
from typer.testing import CliRunner, Result

from bridgex_chain.cli.main import app
from bridgex_chain.errors import DatabaseCorrupt, DatabaseError, SchemaError
from bridgex_chain.store.migrate import VERSION_TABLE, current_revision, head_revision, upgrade


def _cli(*args: str) -> Result:
    return CliRunner().invoke(app, list(args), env={"COLUMNS": "200"})


@pytest.fixture
def no_env_database(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    """No BRIDGEX_DATABASE_URL; the default database lives in a tmp data dir (returned)."""
    monkeypatch.delenv("BRIDGEX_DATABASE_URL", raising=False)
    monkeypatch.setenv("BRIDGEX_DATA_DIR", str(tmp_path / "data"))
    return tmp_path / "data" / "bridges.db"


def _set_revision(url: str, revision: str) -> None:
    engine = sa.create_engine(url)
    try:
        with engine.begin() as conn:
            conn.execute(sa.text(f"UPDATE {VERSION_TABLE} SET version_num = :v"), {"v": revision})
    finally:
        engine.dispose()


def test_db_upgrade_and_current(store_url: str) -> None:
    out = _cli("db", "current", "--database-url", store_url)
    if store_url.startswith("sqlite"):  # no file yet: said so, nothing created
        assert isinstance(out.exception, DatabaseError)
        assert "does not exist (nothing was created)" in str(out.exception)
    else:
        assert out.exit_code == 0, out.output
        assert "(none)" in out.output and "empty" in out.output
    out = _cli("db", "upgrade", "--database-url", store_url)
    assert out.exit_code == 0, out.output
    assert "from revision (empty) to 0003" in out.output
    assert "up to date" in _cli("db", "upgrade", "--database-url", store_url).output
    out = _cli("db", "current", "--database-url", store_url)
    assert "revision: 0003" in out.output and "up to date" in out.output


def test_db_upgrade_uses_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("BRIDGEX_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    assert _cli("db", "upgrade").exit_code == 0
    assert (tmp_path / "env.db").is_file()


def test_the_option_wins_over_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("BRIDGEX_DATABASE_URL", f"sqlite:///{tmp_path / 'env.db'}")
    out = _cli("db", "upgrade", "--database-url", f"sqlite:///{tmp_path / 'option.db'}")
    assert out.exit_code == 0, out.output
    assert (tmp_path / "option.db").is_file()
    assert not (tmp_path / "env.db").exists()


def test_without_url_or_environment_the_default_sqlite_file_is_used(
    no_env_database: Path,
) -> None:
    out = _cli("db", "upgrade")
    assert out.exit_code == 0, out.output
    assert no_env_database.is_file()
    assert current_revision(f"sqlite:///{no_env_database}") == head_revision()
    out = _cli("db", "current")
    assert out.exit_code == 0, out.output
    assert f"database: sqlite:///{no_env_database}" in out.output


def test_db_current_reports_a_database_behind_and_upgrade_brings_it_up(sqlite_url: str) -> None:
    assert upgrade(sqlite_url, revision="0001") == "0001"
    out = _cli("db", "current", "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    assert f"revision: 0001  (newest known: {head_revision()})" in out.output
    assert "behind: run `bridgex-chain db upgrade`" in out.output
    out = _cli("db", "upgrade", "--database-url", sqlite_url)
    assert out.exit_code == 0, out.output
    assert f"from revision 0001 to {head_revision()}" in out.output
    assert current_revision(sqlite_url) == head_revision()


def test_db_current_does_not_change_the_database(sqlite_url: str) -> None:
    path = Path(sa.engine.make_url(sqlite_url).database or "")
    out = _cli("db", "current", "--database-url", sqlite_url)
    assert isinstance(out.exception, DatabaseError)
    assert not path.exists()
    sqlite_file = sa.create_engine(sqlite_url)
    with sqlite_file.connect() as conn:  # an empty SQLite file
        conn.exec_driver_sql("SELECT 1")
    sqlite_file.dispose()
    assert _cli("db", "current", "--database-url", sqlite_url).exit_code == 0
    assert current_revision(sqlite_url) is None


def test_db_upgrade_refuses_a_database_from_a_newer_version(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    _set_revision(sqlite_url, "0099")
    out = _cli("db", "upgrade", "--database-url", sqlite_url)
    assert isinstance(out.exception, SchemaError)
    assert "newer bridgex-chain" in str(out.exception)
    assert current_revision(sqlite_url) == "0099"


def test_db_current_does_not_advise_an_upgrade_that_cannot_work(sqlite_url: str) -> None:
    upgrade(sqlite_url)
    _set_revision(sqlite_url, "0099")
    out = _cli("db", "current", "--database-url", sqlite_url)
    assert "revision: 0099" in out.output
    assert "db upgrade" not in out.output
    assert "newer bridgex-chain" in out.output


@pytest.mark.parametrize("command", ["upgrade", "current"])
def test_a_file_that_is_not_a_database_raises_database_corrupt(
    tmp_path: Path, command: str
) -> None:
    path = tmp_path / "garbage.db"
    path.write_bytes(b"this is not a SQLite file " * 100)
    out = _cli("db", command, "--database-url", f"sqlite:///{path}")
    assert isinstance(out.exception, DatabaseCorrupt)
    assert "not a SQLite database" in str(out.exception)
    assert path.read_bytes() == b"this is not a SQLite file " * 100, "nothing was changed"


def test_an_unsupported_url_raises_database_error() -> None:
    out = _cli("db", "current", "--database-url", "mysql://me@db/bridges")
    assert isinstance(out.exception, DatabaseError)
    assert "SQLite and PostgreSQL" in str(out.exception)


def test_db_without_a_subcommand_lists_its_commands() -> None:
    out = _cli("db")
    assert out.exit_code == 2  # click's no_args_is_help exits like a usage error
    assert "Usage: bridgex-chain db" in out.output
    assert "upgrade" in out.output and "current" in out.output
    assert "--database-url" in _cli("db", "upgrade", "--help").output
