"""TableRuns: the run records of a bridge table (the write side of ``BridgeTable``).

:class:`~bridgex_chain.store.table.BridgeTable` owns one and forwards its run methods to it:
recording a probe run and its scores (begin, write, complete or fail, or all at once with
``upsert_run``), listing runs, and moving complete runs in and out as bridge-table JSON files
(:mod:`bridgex_chain.store.precomputed`), the tables shipped with the package among them. Each
write is one transaction; the SQL is in :mod:`bridgex_chain.store.runs`.

Shipped tables that cannot be imported (a read-only database), or that a reader chose not to
import (``ensure_shipped(write=False)``), are served from memory: their runs get negative ids
and take part in lookups, listings and exports like stored runs (:attr:`TableRuns.in_memory`).

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

import logging
import os
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy import Connection, Engine

from bridgex_chain._version import __version__
from bridgex_chain.errors import DatabaseReadOnly
from bridgex_chain.store import precomputed, queries, runs
from bridgex_chain.store.engine import describe_url, guarded_read, guarded_write
from bridgex_chain.store.records import (
    CompetenceRow,
    ImportedRun,
    RenderCheckRow,
    RunRecord,
    ScoreRow,
    parse_time,
)
from bridgex_chain.store.schema import STATUS_COMPLETE, STATUS_FAILED, STATUS_RUNNING

__all__ = ["TableRuns"]

_log = logging.getLogger("bridgex_chain.store")

#: Databases already warned about (shipped tables served from memory): once per process.
_warned_read_only: set[str] = set()

StoredRun = tuple[RunRecord, list[ScoreRow]]


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
        self._memory: list[StoredRun] = []
        self._memory_identity: dict[int, str] = {}
        self._memory_evidence: dict[int, precomputed.Evidence] = {}

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with guarded_write(self._engine) as conn:
                yield conn
        finally:
            self._on_write()

    # ------------------------------------------------------------------ reads
    @property
    def in_memory(self) -> list[StoredRun]:
        """Shipped runs served from memory (negative ids): not in the database."""
        return list(self._memory)

    def memory_runs(self, conn: Connection, model: str | None = None) -> list[StoredRun]:
        """The in-memory runs (of ``model``) that the database does not hold by now."""
        memory = [
            (r, rows) for r, rows in self._memory if model is None or r.profile.model == model
        ]
        if not memory:
            return []
        stored = queries.stored_identities(
            conn, (self._memory_identity[r.run_id or 0] for r, _ in memory)
        )
        return [
            (r, rows) for r, rows in memory if self._memory_identity[r.run_id or 0] not in stored
        ]

    def runs(self, model: str | None = None) -> list[RunRecord]:
        """Return every run (any status), oldest first, optionally of one model."""
        with guarded_read(self._engine) as conn:
            stored = queries.run_records(conn, model)
            memory = [replace(r) for r, _ in self.memory_runs(conn, model)]
        if not memory:
            return stored
        return sorted([*stored, *memory], key=lambda r: (parse_time(r.started_at), r.run_id or 0))

    def scores(self, run_id: int) -> list[ScoreRow]:
        """Return every score row of a run (per-layer rows, then aggregates)."""
        if run_id < 0:
            return next((list(rows) for r, rows in self._memory if r.run_id == run_id), [])
        with guarded_read(self._engine) as conn:
            return queries.run_scores(conn, run_id)

    def render_checks(self, run_id: int) -> list[RenderCheckRow]:
        """Return a run's render checks, sorted by source language, then bridge."""
        if run_id < 0:
            return list(self._memory_evidence.get(run_id, ([], []))[0])
        with guarded_read(self._engine) as conn:
            return queries.run_render_checks(conn, run_id)

    def competence(self, run_id: int) -> list[CompetenceRow]:
        """Return a run's language competence rows, sorted by language."""
        if run_id < 0:
            return list(self._memory_evidence.get(run_id, ([], []))[1])
        with guarded_read(self._engine) as conn:
            return queries.run_competence(conn, run_id)

    # ------------------------------------------------------------------ writes
    def store_render_checks(
        self,
        run_id: int,
        checks: Sequence[RenderCheckRow],
        competence: Sequence[CompetenceRow] = (),
    ) -> None:
        """Replace a running run's render checks and competence rows (one transaction)."""
        clean_checks = runs.normalized_render_checks(checks)
        clean_competence = runs.normalized_competence(competence)
        with self._write() as conn:
            runs.require_status(conn, run_id, (STATUS_RUNNING,))
            runs.write_render_checks(conn, run_id, clean_checks, clean_competence)

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
    def export_json(
        self, path: str | os.PathLike[str], model: str | None = None, *, parents: bool = False
    ) -> int:
        """Write every complete run (of ``model``) to a bridge-table JSON file; return the count."""
        with guarded_read(self._engine) as conn:
            complete = queries.run_records(conn, model, status=STATUS_COMPLETE)
            stored = [(r, queries.run_scores(conn, r.run_id or 0)) for r in complete]
            stored += self.memory_runs(conn, model)
            stored.sort(key=lambda item: (parse_time(item[0].started_at), item[0].run_id or 0))
            evidence: list[precomputed.Evidence] = [
                (queries.run_render_checks(conn, rid), queries.run_competence(conn, rid))
                if (rid := r.run_id or 0) > 0
                else self._memory_evidence.get(rid, ([], []))
                for r, _ in stored
            ]
        precomputed.write_table_file(
            path, stored, tool_version=__version__, parents=parents, evidence=evidence
        )
        return len(stored)

    def import_json(self, path: str | os.PathLike[str], *, replace: bool = False) -> list[int]:
        """Validate a bridge-table JSON file, then import it in one transaction."""
        return [done.run_id for done in self.import_file(path, replace=replace)]

    def import_file(
        self, path: str | os.PathLike[str], *, replace: bool = False
    ) -> list[ImportedRun]:
        """Like :meth:`import_json`, saying what was done with each run."""
        read = precomputed.read_table_evidence(path)
        return self._import(
            [run for run, _ in read], replace=replace, evidence=[e for _, e in read]
        )

    def _import(
        self,
        stored: Sequence[StoredRun],
        model: str | None = None,
        *,
        replace: bool = False,
        evidence: Sequence[precomputed.Evidence] | None = None,
    ) -> list[ImportedRun]:
        given = evidence if evidence is not None else [([], [])] * len(stored)
        prepared = [
            (
                record,
                runs.run_identity(record),
                rows,
                (runs.normalized_render_checks(ev[0]), runs.normalized_competence(ev[1])),
            )
            for (record, rows), ev in zip(stored, given, strict=True)
            if model is None or record.profile.model == model
        ]
        if not prepared:
            return []
        done: list[ImportedRun] = []
        with self._write() as conn:
            for record, identity, rows, (checks, competence) in prepared:
                run_id, action = runs.import_run(
                    conn, record, identity, runs.normalized_rows(rows), replace_existing=replace
                )
                if action in ("added", "replaced"):
                    runs.write_render_checks(conn, run_id, checks, competence)
                done.append(ImportedRun(run_id, record.profile.model, record.started_at, action))
        return done

    def _shipped(
        self, model: str | None, directory: str | os.PathLike[str] | None
    ) -> list[tuple[StoredRun, precomputed.Evidence]]:
        """The shipped runs (of ``model``), each with its render checks and competence."""
        stored: list[tuple[StoredRun, precomputed.Evidence]] = []
        for table in precomputed.shipped_tables(directory):
            if model is None or model in table.models:
                stored.extend(
                    item
                    for item in precomputed.read_table_evidence(table.path)
                    if model is None or item[0][0].profile.model == model
                )
        return stored

    def import_shipped(
        self, model: str | None = None, *, directory: str | os.PathLike[str] | None = None
    ) -> list[int]:
        """Import the shipped bridge tables (of ``model``), idempotently; return the run ids.

        Runs already stored are not written again: when every shipped run is stored, nothing
        is written (so a read-only database that holds them is fine).
        """
        shipped = self._shipped(model, directory)
        if not shipped:
            return []
        stored = [run for run, _ in shipped]
        identities = [runs.run_identity(record) for record, _ in stored]
        with guarded_read(self._engine) as conn:
            present = queries.stored_identities(conn, identities)
        if len(present) == len(set(identities)):
            with guarded_read(self._engine) as conn:
                return [
                    found[0]
                    for found in (runs.find_run(conn, identity) for identity in identities)
                    if found is not None
                ]
        evidence = [found for _, found in shipped]
        return [done.run_id for done in self._import(stored, evidence=evidence)]

    def ensure_shipped(self, *, write: bool = True) -> list[int]:
        """Make the shipped tables visible once per object (later calls return ``[]``).

        With ``write``, they are imported (runs already stored are not rewritten); a read-only
        database serves them from memory instead, logged once per database as a WARNING. Without
        ``write``, runs the database lacks are served from memory and nothing is written.
        """
        with self._lock:
            if self._shipped_done:
                return []
            ids: list[int] = []
            if write:
                try:
                    ids = self.import_shipped()
                except DatabaseReadOnly as err:
                    self._serve_from_memory(self._shipped(None, None))
                    where = describe_url(self._engine.url)
                    if where not in _warned_read_only:
                        _warned_read_only.add(where)
                        _log.warning(
                            "The bridge table at %s is read-only, so the shipped bridge tables "
                            "are served from memory instead of being imported (%s). Lookups "
                            "work; give a writable database to store them.",
                            where,
                            type(err).__name__,
                        )
            else:
                self._serve_from_memory(self._shipped(None, None))
                with guarded_read(self._engine) as conn:
                    found = (runs.find_run(conn, i) for i in self._memory_identity.values())
                    ids = [hit[0] for hit in found if hit is not None]
            self._shipped_done = True
            self._on_write()
            return ids

    def _serve_from_memory(self, stored: Sequence[tuple[StoredRun, precomputed.Evidence]]) -> None:
        memory: list[StoredRun] = []
        identities: dict[int, str] = {}
        evidence: dict[int, precomputed.Evidence] = {}
        for number, ((record, rows), (checks, competence)) in enumerate(stored, start=1):
            kept = replace(runs.prepare_run(record), run_id=-number)
            memory.append((kept, runs.normalized_rows(rows)))
            identities[-number] = runs.run_identity(kept)
            evidence[-number] = (
                runs.normalized_render_checks(checks),
                runs.normalized_competence(competence),
            )
        self._memory, self._memory_identity = memory, identities
        self._memory_evidence = evidence
