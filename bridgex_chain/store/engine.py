"""SQLAlchemy engines for the bridge table: SQLite (WAL) or PostgreSQL (psycopg 3).

SQLite connections get ``PRAGMA foreign_keys=ON``, a busy timeout and the WAL journal, so
readers never block the writer. A SQLite file this process cannot write is opened read-only
(``mode=ro``), without journal-mode changes; a WAL-mode file with no ``-wal`` file beside it is
opened ``immutable``, so a reader never creates ``-wal``/``-shm`` files it could not use.
pysqlite's own transaction handling is switched off and
transactions are begun explicitly: ``BEGIN`` for readers, ``BEGIN IMMEDIATE`` for writers (open
them with :func:`write_connection`), so two writers queue on the busy timeout instead of failing
with "database is locked" when one upgrades a read lock.

Example:
    >>> from bridgex_chain.store.engine import create_store_engine
    >>> engine = create_store_engine("sqlite://")
    >>> engine.dialect.name
    'sqlite'
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import quote

from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.exc import ArgumentError, DBAPIError

from bridgex_chain.errors import (
    DatabaseCorrupt,
    DatabaseError,
    DatabaseLocked,
    DatabaseReadOnly,
    MissingDependency,
)
from bridgex_chain.store.text import printable

__all__ = [
    "SUPPORTED_BACKENDS",
    "create_store_engine",
    "database_errors",
    "describe_url",
    "guarded_read",
    "guarded_write",
    "normalize_url",
    "sqlite_file",
    "write_connection",
]

#: Database backends the store supports (SQLAlchemy dialect names).
SUPPORTED_BACKENDS = ("sqlite", "postgresql")

#: Milliseconds a SQLite connection waits for a lock before giving up.
SQLITE_BUSY_TIMEOUT_MS = 30_000

_WRITE_OPTION = "bridgex_write"
_READ_ONLY_INFO = "bridgex_read_only"


def normalize_url(url: str | URL) -> URL:
    """Parse a database URL and pick psycopg 3 for a bare ``postgresql://`` URL.

    Args:
        url: A SQLAlchemy URL such as ``sqlite:///bridges.db`` or
            ``postgresql+psycopg://user@host/db``.

    Returns:
        The parsed URL.

    Raises:
        DatabaseError: The URL cannot be parsed or names an unsupported backend.

    Example:
        >>> normalize_url("postgresql://u@h/db").drivername
        'postgresql+psycopg'
    """
    try:
        parsed = make_url(url)
    except ArgumentError as err:
        raise DatabaseError(
            f"Cannot parse the database URL {url!r}: {err}. Use a SQLAlchemy URL such as "
            "'sqlite:////path/to/bridges.db' or 'postgresql+psycopg://user@host/dbname'."
        ) from None
    backend = parsed.get_backend_name()
    if backend not in SUPPORTED_BACKENDS:
        raise DatabaseError(
            f"The bridge table supports SQLite and PostgreSQL, not {backend!r} "
            f"({describe_url(parsed)}). Use a 'sqlite:///' or 'postgresql+psycopg://' URL."
        )
    if parsed.drivername == "postgresql":
        parsed = parsed.set(drivername="postgresql+psycopg")
    return parsed


def describe_url(url: str | URL) -> str:
    """Render a URL for messages, with any password masked.

    Example:
        >>> describe_url("postgresql+psycopg://me:secret@db/bridges")
        'postgresql+psycopg://me:***@db/bridges'
    """
    try:
        parsed = make_url(url)
        if parsed.database:
            parsed = parsed.set(database=printable(parsed.database))
        return printable(parsed.render_as_string(hide_password=True))
    except (ArgumentError, ValueError):
        return "<unparseable database URL>"


def sqlite_file(url: str | URL) -> Path | None:
    """The file of a SQLite URL naming a plain path (None for memory, ``file:`` URIs, servers).

    Raises:
        DatabaseError: The URL cannot be parsed or names an unsupported backend.

    Example:
        >>> sqlite_file("sqlite:////tmp/bridges.db"), sqlite_file("sqlite://")
        (PosixPath('/tmp/bridges.db'), None)
    """
    parsed = normalize_url(url)
    database = parsed.database or ""
    if parsed.get_backend_name() != "sqlite" or database in {"", ":memory:"}:
        return None
    if database.startswith("file:"):
        return None
    return Path(database).expanduser()


def _read_only_target(filename: str) -> str | None:
    """The ``file:`` URI to open ``filename`` read-only with, or None when it is writable."""
    path = Path(filename)
    try:
        if not path.is_file() or os.access(path, os.W_OK):
            return None
        with path.open("rb") as handle:
            header = handle.read(20)
    except (OSError, ValueError):
        return None
    wal_mode = len(header) == 20 and header[18] == 2  # file format versions: 2 = WAL
    wal_present = Path(f"{filename}-wal").exists()
    options = "mode=ro&immutable=1" if wal_mode and not wal_present else "mode=ro"
    return f"file:{quote(os.fsencode(path.resolve()))}?{options}"


def create_store_engine(url: str | URL, **engine_kwargs: Any) -> Engine:
    """Create an engine configured for the bridge table.

    The parent directory of a SQLite file is created when missing.

    Args:
        url: Database URL (see :func:`normalize_url`).
        **engine_kwargs: Extra arguments for :func:`sqlalchemy.create_engine`.

    Returns:
        The engine.

    Raises:
        DatabaseError: Unsupported backend or unusable SQLite location.
        MissingDependency: A PostgreSQL URL without psycopg installed.

    Example:
        >>> create_store_engine("sqlite://").url.get_backend_name()
        'sqlite'
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "postgresql":
        if (
            parsed.drivername == "postgresql+psycopg"
            and importlib.util.find_spec("psycopg") is None
        ):
            raise MissingDependency("psycopg", "postgres", "A PostgreSQL bridge table")
        engine_kwargs.setdefault("pool_pre_ping", True)
        return create_engine(parsed, **engine_kwargs)
    database = parsed.database or ""
    if database and database != ":memory:" and not database.startswith("file:"):
        _check_sqlite_path(database)
        try:
            Path(database).expanduser().parent.mkdir(parents=True, exist_ok=True)
        except OSError as err:
            raise DatabaseError(
                f"Cannot create the directory for the SQLite bridge table {database!r}: {err}. "
                "Set BRIDGEX_DATABASE_URL or pass a database URL in a writable place."
            ) from None
    engine = create_engine(parsed, **engine_kwargs)
    _configure_sqlite(engine)
    return engine


def _check_sqlite_path(database: str) -> None:
    """Refuse a SQLite path no file can have (a NUL byte, a surrogate that is not a byte)."""
    problem = "a NUL character" if "\x00" in database else None
    if problem is None:
        try:
            os.fsencode(database)
        except UnicodeError:
            problem = "characters that cannot be encoded as a file name"
    if problem is not None:
        raise DatabaseError(
            f"The SQLite path '{printable(database)}' contains {problem}. Set "
            "BRIDGEX_DATABASE_URL or pass a database URL naming a real file."
        )


def _connect_name(filename: str) -> str | bytes:
    """The name to open: bytes when the path holds undecodable bytes (surrogate escapes)."""
    try:
        filename.encode("utf-8")
    except UnicodeError:
        return os.fsencode(filename)
    return filename


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "do_connect")
    def _on_do_connect(
        _dialect: Any, record: Any, cargs: list[Any], cparams: dict[str, Any]
    ) -> None:
        info: dict[str, Any] = record.info if record is not None else {}
        filename = str(cargs[0]) if cargs else ""
        if cparams.get("uri"):
            info[_READ_ONLY_INFO] = "mode=ro" in filename or "immutable=1" in filename
            return
        target = None if filename in {"", ":memory:"} else _read_only_target(filename)
        info[_READ_ONLY_INFO] = target is not None
        if target is not None:
            cargs[0], cparams["uri"] = target, True
        elif cargs:
            cargs[0] = _connect_name(filename)

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, record: Any) -> None:
        # Let SQLAlchemy, not pysqlite, decide where transactions begin (see module docstring).
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute("PRAGMA foreign_keys=ON")
            cursor.execute(f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS:d}")
            if record is None or not record.info.get(_READ_ONLY_INFO, False):
                cursor.execute("PRAGMA journal_mode=WAL")
                cursor.execute("PRAGMA synchronous=NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        immediate = connection.get_execution_options().get(_WRITE_OPTION, False)
        connection.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


@contextmanager
def write_connection(engine: Engine) -> Iterator[Connection]:
    """Open a connection in a write transaction, committed on success, rolled back on error.

    On SQLite the transaction takes the write lock up front (``BEGIN IMMEDIATE``), so concurrent
    writers wait for each other (up to the busy timeout) instead of failing half-way.

    Example:
        >>> from sqlalchemy import text
        >>> engine = create_store_engine("sqlite://")
        >>> with write_connection(engine) as conn:
        ...     _ = conn.execute(text("CREATE TABLE t (x INTEGER)"))
    """
    with engine.connect() as conn:
        conn = conn.execution_options(**{_WRITE_OPTION: True})
        with conn.begin():
            yield conn


#: SQLite result codes (``sqlite3.Error.sqlite_errorname`` prefixes) and PostgreSQL SQLSTATEs
#: that have their own :class:`DatabaseError` subclass.
_SQLITE_KINDS = {
    "SQLITE_CORRUPT": "corrupt",
    "SQLITE_NOTADB": "corrupt",
    "SQLITE_READONLY": "readonly",
    "SQLITE_BUSY": "locked",
    "SQLITE_LOCKED": "locked",
}
_POSTGRES_KINDS = {
    "25006": "readonly",  # read_only_sql_transaction
    "42501": "readonly",  # insufficient_privilege
    "55P03": "locked",  # lock_not_available (lock_timeout)
    "40P01": "locked",  # deadlock_detected
}


def _kind(orig: object) -> str | None:
    name = str(getattr(orig, "sqlite_errorname", "") or "")
    for prefix, kind in _SQLITE_KINDS.items():
        if name.startswith(prefix):
            return kind
    return _POSTGRES_KINDS.get(str(getattr(orig, "sqlstate", "") or ""))


def _classified(url: str | URL, action: str, err: DBAPIError) -> DatabaseError:
    where, why = describe_url(url), err.orig or err
    kind = _kind(err.orig)
    if kind == "corrupt":
        return DatabaseCorrupt(
            f"Cannot {action} the bridge table at {where}: {why}. The file is damaged or is not "
            "a SQLite database; nothing was changed. Move it aside, point BRIDGEX_DATABASE_URL "
            "at a new file, then re-import an export (`bridgex-chain table import FILE`) or "
            "re-run `bridgex-chain build-table`."
        )
    if kind == "readonly":
        return DatabaseReadOnly(
            f"Cannot {action} the bridge table at {where}: {why}. The database is read-only: "
            "lookups work, but build-table, table import and db upgrade need write access. Use "
            "a writable copy (BRIDGEX_DATABASE_URL) or fix its permissions."
        )
    if kind == "locked":
        return DatabaseLocked(
            f"Cannot {action} the bridge table at {where}: {why}. Another connection held the "
            "write lock for longer than the lock timeout (a running build-table or import?). "
            "Wait for it to finish and retry; nothing was changed."
        )
    return DatabaseError(
        f"Cannot {action} the bridge table at {where}: {why}. Check the database URL "
        "(BRIDGEX_DATABASE_URL) and that the server is reachable."
    )


@contextmanager
def database_errors(url: str | URL, action: str) -> Iterator[None]:
    """Turn driver errors into :class:`DatabaseError` with a message that says what to do.

    A damaged file raises :class:`~bridgex_chain.errors.DatabaseCorrupt`, a write to a read-only
    database :class:`~bridgex_chain.errors.DatabaseReadOnly` and a lock wait that timed out
    :class:`~bridgex_chain.errors.DatabaseLocked` (all subclasses of :class:`DatabaseError`).

    Example:
        >>> with database_errors("sqlite://", "read"):
        ...     pass
    """
    try:
        yield
    except DBAPIError as err:
        raise _classified(url, action, err) from err


@contextmanager
def guarded_read(engine: Engine) -> Iterator[Connection]:
    """Open a connection for reads whose driver errors raise :class:`DatabaseError`.

    The errors are classified as in :func:`database_errors`.

    Example:
        >>> from sqlalchemy import text
        >>> with guarded_read(create_store_engine("sqlite://")) as conn:
        ...     conn.execute(text("SELECT 1")).scalar()
        1
    """
    with database_errors(engine.url, "read"), engine.connect() as conn:
        yield conn


@contextmanager
def guarded_write(engine: Engine) -> Iterator[Connection]:
    """Like :func:`write_connection`, but driver errors raise :class:`DatabaseError`.

    Example:
        >>> from sqlalchemy import text
        >>> engine = create_store_engine("sqlite://")
        >>> with guarded_write(engine) as conn:
        ...     conn.execute(text("SELEC 1"))
        Traceback (most recent call last):
        ...
        bridgex_chain.errors.DatabaseError: Cannot write the bridge table at sqlite://: ...
    """
    with database_errors(engine.url, "write"), write_connection(engine) as conn:
        yield conn
