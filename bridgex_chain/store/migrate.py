"""Bring a bridge-table database to the schema this package expects (alembic, no alembic.ini).

The migration scripts ship inside the wheel as ``bridgex_chain._migrations`` (the source
tree's ``alembic/`` in a checkout). Revisions are recorded in ``bridgex_alembic_version`` so the
bridge table can live in a PostgreSQL database shared with other alembic-managed applications.

Example:
    >>> from bridgex_chain.store.migrate import head_revision, upgrade, current_revision
    >>> from bridgex_chain.store.engine import create_store_engine
    >>> engine = create_store_engine("sqlite://")
    >>> upgrade(engine) == head_revision() == current_revision(engine)
    True
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, inspect, text

from bridgex_chain.errors import SchemaError
from bridgex_chain.paths import default_database_url
from bridgex_chain.store.engine import (
    create_store_engine,
    database_errors,
    describe_url,
    write_connection,
)
from bridgex_chain.store.locate import package_data_dir

__all__ = [
    "VERSION_TABLE",
    "alembic_config",
    "check_current",
    "current_revision",
    "head_revision",
    "known_revision",
    "script_location",
    "upgrade",
]

#: Name of alembic's version table for the bridge table.
VERSION_TABLE = "bridgex_alembic_version"

# Arbitrary constant: PostgreSQL advisory lock that serialises concurrent upgrades.
_PG_LOCK_KEY = 0x62726964676578


def script_location() -> Path:
    """Return the directory holding ``env.py`` and ``versions/``.

    Raises:
        SchemaError: The migrations are missing from the installation.

    Example:
        >>> (script_location() / "versions").is_dir()
        True
    """
    try:
        return package_data_dir("_migrations", "alembic", "env.py")
    except FileNotFoundError as err:
        raise SchemaError(str(err)) from None


def alembic_config(connection: Connection | None = None) -> Config:
    """Return an in-memory alembic :class:`~alembic.config.Config` for our migrations.

    Args:
        connection: Connection the migration environment should use.

    Example:
        >>> alembic_config().get_main_option("script_location") is not None
        True
    """
    cfg = Config()
    cfg.set_main_option("script_location", str(script_location()).replace("%", "%%"))
    if connection is not None:
        cfg.attributes["connection"] = connection
    return cfg


@lru_cache(maxsize=4)
def _script_directory(location: str) -> ScriptDirectory:
    cfg = Config()
    cfg.set_main_option("script_location", location.replace("%", "%%"))
    return ScriptDirectory.from_config(cfg)


def _scripts() -> ScriptDirectory:
    return _script_directory(str(script_location()))


def head_revision() -> str:
    """Return the newest revision this version of bridgex-chain knows.

    Example:
        >>> head_revision()
        '0003'
    """
    head = _scripts().get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise SchemaError("bridgex-chain ships no migrations; reinstall bridgex-chain.")
    return head


@contextmanager
def _engine_for(url_or_engine: str | Engine | None) -> Iterator[Engine]:
    if isinstance(url_or_engine, Engine):
        with database_errors(url_or_engine.url, "open"):
            yield url_or_engine
        return
    engine = create_store_engine(url_or_engine or default_database_url())
    try:
        with database_errors(engine.url, "open"):
            yield engine
    finally:
        engine.dispose()


def _read_revision(conn: Connection) -> str | None:
    context = MigrationContext.configure(conn, opts={"version_table": VERSION_TABLE})
    return context.get_current_revision()


def current_revision(url_or_engine: str | Engine | None = None) -> str | None:
    """Return the revision the database is at (None for an empty database).

    Args:
        url_or_engine: Database URL or engine (default: :func:`default_database_url`).

    Example:
        >>> current_revision("sqlite://") is None
        True
    """
    with _engine_for(url_or_engine) as engine, engine.connect() as conn:
        return _read_revision(conn)


def known_revision(revision: str) -> bool:
    """Whether this bridgex-chain knows ``revision`` (False: a newer version wrote it).

    Example:
        >>> known_revision("0001"), known_revision("0099")
        (True, False)
    """
    return revision in {script.revision for script in _scripts().walk_revisions()}


def _check_known(revision: str | None, conn: Connection) -> None:
    where = describe_url(conn.engine.url)
    if revision is None:
        if inspect(conn).has_table("probe_runs"):
            raise SchemaError(
                f"The database {where} has bridge-table tables but no schema version "
                f"({VERSION_TABLE}). It was not created by bridgex-chain's migrations; "
                "use a new database (set BRIDGEX_DATABASE_URL) or export and re-import the table."
            )
        return
    if not known_revision(revision):
        raise SchemaError(
            f"The database {where} is at schema revision {revision!r}, which this bridgex-chain "
            f"(newest revision {head_revision()!r}) does not know: it was written by a newer "
            "bridgex-chain. Upgrade with `pip install -U bridgex-chain`, or use another database "
            "(BRIDGEX_DATABASE_URL)."
        )


def check_current(url_or_engine: str | Engine | None = None) -> str:
    """Verify the database is at the head revision without changing it.

    Returns:
        The head revision.

    Raises:
        SchemaError: The database is older (run ``bridgex-chain db upgrade``), empty, or newer
            than this package.

    Example:
        >>> check_current("sqlite://")
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.SchemaError: The database sqlite:// is at schema revision None, not ...
    """
    with _engine_for(url_or_engine) as engine, engine.connect() as conn:
        revision = _read_revision(conn)
        _check_known(revision, conn)
        head = head_revision()
        if revision != head:
            raise SchemaError(
                f"The database {describe_url(engine.url)} is at schema revision {revision!r}, "
                f"not {head!r}. Run `bridgex-chain db upgrade` (or open the table with "
                "migrate=True)."
            )
        return head


def upgrade(url_or_engine: str | Engine | None = None, revision: str = "head") -> str | None:
    """Upgrade the database to ``revision`` (default: head) in one transaction.

    Safe to call concurrently: SQLite serialises on its write lock, PostgreSQL on an advisory
    lock, and a process that finds the work done does nothing.

    Args:
        url_or_engine: Database URL or engine (default: :func:`default_database_url`).
        revision: Target revision.

    Returns:
        The revision the database is at afterwards.

    Raises:
        SchemaError: The database is at a revision newer than this package knows.

    Example:
        >>> upgrade("sqlite://")
        '0003'
    """
    target = head_revision() if revision == "head" else revision
    with _engine_for(url_or_engine) as engine:
        with engine.connect() as conn:  # cheap read first: nothing to lock when up to date
            current = _read_revision(conn)
            _check_known(current, conn)
        if current == target:
            return current
        with write_connection(engine) as conn:
            if conn.dialect.name == "postgresql":
                conn.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _PG_LOCK_KEY})
            current = _read_revision(conn)  # another process may have upgraded meanwhile
            _check_known(current, conn)
            if current != target:
                command.upgrade(alembic_config(conn), target)
        with engine.connect() as conn:
            return _read_revision(conn)
