"""TableRuns: the run records of a bridge table (the write side of ``BridgeTable``).

:class:`~bridgex_chain.store.table.BridgeTable` owns one and forwards its run methods to it:
recording a probe run and its scores (begin, write, complete or fail, or all at once with
``upsert_run``), listing runs, and moving complete runs in and out as bridge-table JSON files
(:mod:`bridgex_chain.store.precomputed`), the tables shipped with the package among them. Each
write is one transaction; the SQL is in :mod:`bridgex_chain.store.runs`.

It is given everything it uses: the engine, the lock that guards the table's cache, and what to
call after each write (the table drops its cached lookups).

Example:
    >>> import threading
    >>> from bridgex_chain.store.engine import create_store_engine
    >>> from bridgex_chain.store.migrate import upgrade
    >>> engine = create_store_engine("sqlite://")
    >>> _ = upgrade(engine)
    >>> writes = []
    >>> log = TableRuns(engine, threading.RLock(), on_write=lambda: writes.append(1))
    >>> log.runs(), log.import_shipped(model="nobody/none"), writes
    ([], [], [])
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy import Connection, Engine

from bridgex_chain._version import __version__
from bridgex_chain.store import precomputed, queries, runs
from bridgex_chain.store.engine import guarded_read, guarded_write
from bridgex_chain.store.records import RunRecord, ScoreRow
from bridgex_chain.store.schema import STATUS_COMPLETE, STATUS_FAILED, STATUS_RUNNING

__all__ = ["TableRuns"]


def _nothing() -> None:
    return None


class TableRuns:
    """Records probe runs and moves them in and out as JSON, on one engine.

    The methods are documented where users call them, on
    :class:`~bridgex_chain.store.table.BridgeTable`.

    Args:
        engine: The database (already at the schema head).
        lock: Held while the shipped tables are imported once (:meth:`ensure_shipped`); pass the
            lock of the owner's cache so lookups wait for the import.
        on_write: Called after every write transaction, committed or not.

    Example:
        >>> import threading
        >>> from bridgex_chain.store.table import BridgeTable
        >>> table = BridgeTable("sqlite://")
        >>> TableRuns(table.engine, threading.RLock()).runs("demo/model")
        []
    """

    def __init__(
        self,
        engine: Engine,
        lock: threading.RLock,
        *,
        on_write: Callable[[], None] = _nothing,
    ) -> None:
        self._engine = engine
        self._lock = lock
        self._on_write = on_write
        self._shipped_done = False

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with guarded_write(self._engine) as conn:
                yield conn
        finally:
            self._on_write()

    # ------------------------------------------------------------------ reads
    def runs(self, model: str | None = None) -> list[RunRecord]:
        """Return every run (any status), oldest first, optionally of one model."""
        with guarded_read(self._engine) as conn:
            return queries.run_records(conn, model)

    def scores(self, run_id: int) -> list[ScoreRow]:
        """Return every score row of a run (per-layer rows, then aggregates)."""
        with guarded_read(self._engine) as conn:
            return queries.run_scores(conn, run_id)

    # ------------------------------------------------------------------ writes
    def begin_run(self, run: RunRecord) -> int:
        """Record a run as running (or resume the stored run of the same identity)."""
        run.status = STATUS_RUNNING
        record = replace(runs.prepare_run(run), finished_at=None, error=None)
        identity = runs.run_identity(record)
        with self._write() as conn:
            profile_id = runs.ensure_profile(conn, record.profile)
            found = runs.find_run(conn, identity)
            if found is None:
                run_id, status = runs.insert_run(conn, record, identity, profile_id), STATUS_RUNNING
            else:
                run_id, status = found
                if status != STATUS_COMPLETE:
                    runs.set_status(conn, run_id, STATUS_RUNNING, finished_at=None)
                    status = STATUS_RUNNING
        run.run_id, run.status = run_id, status
        return run_id

    def write_scores(self, run_id: int, rows: Sequence[ScoreRow], *, final: bool) -> None:
        """Write score rows of a running run, and complete it when ``final`` (one transaction)."""
        clean = runs.normalized_rows(rows)
        with self._write() as conn:
            runs.require_status(conn, run_id, (STATUS_RUNNING,))
            runs.write_score_rows(conn, run_id, clean)
            if final:
                runs.set_status(conn, run_id, STATUS_COMPLETE, finished_at=runs.utc_now())

    def fail_run(self, run_id: int, error: str) -> None:
        """Mark a running (or failed) run failed with the reason."""
        with self._write() as conn:
            runs.require_status(conn, run_id, (STATUS_RUNNING, STATUS_FAILED))
            runs.set_status(conn, run_id, STATUS_FAILED, finished_at=runs.utc_now(), error=error)

    def upsert_run(self, run: RunRecord, scores: Sequence[ScoreRow]) -> int:
        """Store a profile, a run and its scores in one transaction; return the run id."""
        record = runs.prepare_run(run)
        identity = runs.run_identity(record)
        rows = runs.normalized_rows(scores)
        with self._write() as conn:
            run_id = runs.store_run(conn, record, identity, rows, replace_existing=True)
        run.run_id = run_id
        return run_id

    # ------------------------------------------------------------------ JSON
    def export_json(self, path: str | os.PathLike[str], model: str | None = None) -> int:
        """Write every complete run (of ``model``) to a bridge-table JSON file; return the count."""
        with guarded_read(self._engine) as conn:
            complete = queries.run_records(conn, model, status=STATUS_COMPLETE)
            stored = [(r, queries.run_scores(conn, r.run_id or 0)) for r in complete]
        precomputed.write_table_file(path, stored, tool_version=__version__)
        return len(stored)

    def import_json(self, path: str | os.PathLike[str]) -> list[int]:
        """Validate a bridge-table JSON file, then import it in one transaction."""
        return self._import(precomputed.read_table_file(path))

    def _import(
        self, stored: Sequence[tuple[RunRecord, list[ScoreRow]]], model: str | None = None
    ) -> list[int]:
        prepared = [
            (record, runs.run_identity(record), rows)
            for record, rows in stored
            if model is None or record.profile.model == model
        ]
        if not prepared:
            return []
        with self._write() as conn:
            return [
                runs.store_run(conn, record, identity, rows, replace_existing=False)
                for record, identity, rows in prepared
            ]

    def import_shipped(
        self, model: str | None = None, *, directory: str | os.PathLike[str] | None = None
    ) -> list[int]:
        """Import the shipped bridge tables (of ``model``), idempotently; return the run ids."""
        ids: list[int] = []
        for table in precomputed.shipped_tables(directory):
            if model is None or model in table.models:
                ids.extend(self._import(precomputed.read_table_file(table.path), model))
        return ids

    def ensure_shipped(self) -> list[int]:
        """Import the shipped tables once per object (later calls return ``[]``)."""
        with self._lock:
            if self._shipped_done:
                return []
            ids = self.import_shipped()
            self._shipped_done = True
            return ids
