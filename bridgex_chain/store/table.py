"""BridgeTable: the SQL bridge table that probing writes and the chain reads.

Lookups (:meth:`BridgeTable.best`, :meth:`BridgeTable.ranking`) answer from an in-process cache
after the first read of a model: every (src, trg) entry of the model is loaded at once. Writes
through the same object invalidate the cache; for other writers call :meth:`BridgeTable.refresh`
or pass ``cache_ttl``. Only ``complete`` runs are visible, and the newest complete run scoring a
(src, trg) wins (see :mod:`bridgex_chain.store.queries`).

Model strings are stored and looked up exactly as given (pass
:func:`bridgex_chain.models.model_key`); languages are normalised with
:func:`bridgex_chain.languages.normalize`.

Example:
    >>> from bridgex_chain.store.table import BridgeTable
    >>> from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
    >>> table = BridgeTable("sqlite://")
    >>> run = RunRecord(ModelProfile("demo/model", "r1", "llama", 4, 16), "starter", "h1",
    ...                 ["swh_Latn", "eng_Latn", "fra_Latn"], ["eng_Latn", "fra_Latn"], {},
    ...                 status="complete")
    >>> _ = table.upsert_run(run, [ScoreRow("sw", "sw", "fr", None, 0.4),
    ...                            ScoreRow("sw", "sw", "en", None, 0.3)])
    >>> table.best("demo/model", "sw").bridge
    'fra_Latn'
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Iterator, Sequence
from contextlib import AbstractContextManager, contextmanager
from dataclasses import replace

from sqlalchemy import Connection, Engine

from bridgex_chain.errors import NoBridgeFound
from bridgex_chain.languages import normalize
from bridgex_chain.paths import default_database_url
from bridgex_chain.store import precomputed, queries, runs
from bridgex_chain.store.engine import (
    create_store_engine,
    database_errors,
    describe_url,
    write_connection,
)
from bridgex_chain.store.migrate import check_current, upgrade
from bridgex_chain.store.records import Bridge, RankedBridge, RunRecord, ScoreRow
from bridgex_chain.store.schema import STATUS_COMPLETE, STATUS_FAILED, STATUS_RUNNING

__all__ = ["BridgeTable"]


class BridgeTable:
    """The bridge table in a SQLite or PostgreSQL database.

    Args:
        url: Database URL or engine; default ``BRIDGEX_DATABASE_URL`` or the SQLite file under
            the user data dir (:func:`bridgex_chain.paths.default_database_url`).
        migrate: Upgrade the schema to this package's head on open. With False, a database at
            another revision raises :class:`~bridgex_chain.errors.SchemaError`.
        cache_ttl: Seconds after which cached lookups are re-read (None: until :meth:`refresh`
            or a write through this object).

    Example:
        >>> with BridgeTable("sqlite://") as table:
        ...     table.models()
        []
    """

    def __init__(
        self,
        url: str | Engine | None = None,
        *,
        migrate: bool = True,
        cache_ttl: float | None = None,
    ) -> None:
        if isinstance(url, Engine):
            self._engine, self._owns_engine = url, False
        else:
            self._engine, self._owns_engine = (
                create_store_engine(url or default_database_url()),
                True,
            )
        self.url = describe_url(self._engine.url)
        self._ttl = cache_ttl
        self._lock = threading.RLock()
        self._entries: dict[tuple[str, str, str], queries.Entry] = {}
        self._pairs: dict[str, tuple[tuple[str, str], ...]] = {}
        self._models: list[str] | None = None
        self._deadline: float | None = None
        self._shipped_done = False
        try:
            with self._db_errors("open"):
                if migrate:
                    upgrade(self._engine)
                else:
                    check_current(self._engine)
        except BaseException:
            self.close()
            raise

    # ------------------------------------------------------------------ plumbing
    def close(self) -> None:
        """Release the database connections (an engine passed in is left to its owner)."""
        if self._owns_engine:
            self._engine.dispose()

    def __enter__(self) -> BridgeTable:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"BridgeTable({self.url!r})"

    @property
    def engine(self) -> Engine:
        """The SQLAlchemy engine."""
        return self._engine

    def _db_errors(self, action: str) -> AbstractContextManager[None]:
        return database_errors(self._engine.url, action)

    @contextmanager
    def _read(self) -> Iterator[Connection]:
        with self._db_errors("read"), self._engine.connect() as conn:
            yield conn

    @contextmanager
    def _write(self) -> Iterator[Connection]:
        try:
            with self._db_errors("write"), write_connection(self._engine) as conn:
                yield conn
        finally:
            self.refresh()

    # ------------------------------------------------------------------ lookups
    def refresh(self) -> None:
        """Drop every cached lookup; the next one re-reads the database."""
        with self._lock:
            self._entries = {}
            self._pairs = {}
            self._models = None
            self._deadline = None

    def best(self, model: str, src: str, trg: str | None = None) -> Bridge:
        """Return the best bridge for (model, src, trg).

        Args:
            model: Canonical model key, exactly as stored.
            src: The user's language (any code :func:`~bridgex_chain.languages.normalize` reads).
            trg: The answer language; None means the single-language (chat) entry ``trg = src``.

        Raises:
            NoBridgeFound: No complete run scored this entry (the message lists what exists).
            UnknownLanguage: A language code cannot be normalised.

        Example:
            >>> BridgeTable("sqlite://").best("demo/model", "sw")
            Traceback (most recent call last):
            ...
            bridgex_chain.errors.NoBridgeFound: No bridge for model 'demo/model' ...
        """
        self._expire()
        s = normalize(src)
        key = (model, s, s if trg is None else normalize(trg))
        entry = self._entries.get(key)
        if entry is None:
            entry = self._load(key)
        return entry.best

    def ranking(self, model: str, src: str, trg: str | None = None) -> list[RankedBridge]:
        """Return every scored candidate bridge, best first (ties share a rank).

        Raises:
            NoBridgeFound: As :meth:`best`.

        Example:
            >>> BridgeTable("sqlite://").ranking("demo/model", "sw")
            Traceback (most recent call last):
            ...
            bridgex_chain.errors.NoBridgeFound: No bridge for model 'demo/model' ...
        """
        self._expire()
        s = normalize(src)
        key = (model, s, s if trg is None else normalize(trg))
        entry = self._entries.get(key)
        if entry is None:
            entry = self._load(key)
        return list(entry.ranking)

    def models(self) -> list[str]:
        """Return the models that have at least one complete run, sorted."""
        with self._lock:
            if self._models is None:
                with self._read() as conn:
                    self._models = queries.complete_models(conn)
                self._start_clock()
            return list(self._models)

    def pairs(self, model: str) -> list[tuple[str, str]]:
        """Return the (src, trg) entries a model has, sorted."""
        with self._lock:
            return list(self._load_model(model))

    def languages(self, model: str) -> list[str]:
        """Return the source languages a model has entries for, sorted."""
        return sorted({src for src, _ in self.pairs(model)})

    def _expire(self) -> None:
        # One read of the deadline: another thread's refresh() may reset it to None meanwhile.
        deadline = self._deadline
        if deadline is not None and time.monotonic() >= deadline:
            self.refresh()

    def _start_clock(self) -> None:
        if self._ttl is not None and self._deadline is None:
            self._deadline = time.monotonic() + self._ttl

    def _load_model(self, model: str) -> tuple[tuple[str, str], ...]:
        pairs = self._pairs.get(model)
        if pairs is None:
            with self._read() as conn:
                entries = queries.model_entries(conn, model)
            for (src, trg), entry in entries.items():
                self._entries[(model, src, trg)] = entry
            pairs = tuple(sorted(entries))
            self._pairs[model] = pairs
            self._start_clock()
        return pairs

    def _load(self, key: tuple[str, str, str]) -> queries.Entry:
        model, src, trg = key
        with self._lock:
            self._load_model(model)
            entry = self._entries.get(key)
            if entry is not None:
                return entry
            pairs = self._pairs.get(model, ())
            known = [] if pairs else self.models()
            raise NoBridgeFound(queries.missing_message(self.url, model, src, trg, pairs, known))

    # ------------------------------------------------------------------ runs
    def runs(self, model: str | None = None) -> list[RunRecord]:
        """Return every run (any status), oldest first, optionally of one model."""
        with self._read() as conn:
            return queries.run_records(conn, model)

    def scores(self, run_id: int) -> list[ScoreRow]:
        """Return every score row of a run (per-layer rows, then aggregates)."""
        with self._read() as conn:
            return queries.run_scores(conn, run_id)

    def begin_run(self, run: RunRecord) -> int:
        """Record a run as ``running`` and return its id (also set on ``run.run_id``).

        Starting a run whose identity (:func:`~bridgex_chain.store.runs.run_identity`) is already
        stored resumes it: a failed or running run goes back to running with its scores kept; a
        complete run is left as it is and ``run.status`` says ``"complete"``.

        Example:
            >>> from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
            >>> table = BridgeTable("sqlite://")
            >>> run = RunRecord(ModelProfile("m/x", "r", "llama", 2, 8), "starter", "h",
            ...                 ["swh_Latn"], ["eng_Latn", "fra_Latn"], {})
            >>> run_id = table.begin_run(run)
            >>> table.write_scores(run_id, [ScoreRow("sw", "sw", "fr", 0, 0.5)], final=False)
            >>> table.complete_run(run_id, [ScoreRow("sw", "sw", "fr", None, 0.5),
            ...                             ScoreRow("sw", "sw", "en", None, 0.25)])
            >>> [(r.bridge, r.rank, r.layers_scored) for r in table.ranking("m/x", "sw")]
            [('fra_Latn', 1, 1), ('eng_Latn', 2, 0)]
        """
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
        """Write (insert or overwrite) score rows of a running run; ``final`` completes it.

        Rows and the status change commit in one transaction, so readers never see a complete
        run with missing rows.
        """
        clean = runs.normalized_rows(rows)
        with self._write() as conn:
            runs.require_status(conn, run_id, (STATUS_RUNNING,))
            runs.write_score_rows(conn, run_id, clean)
            if final:
                runs.set_status(conn, run_id, STATUS_COMPLETE, finished_at=runs.utc_now())

    def complete_run(self, run_id: int, rows: Sequence[ScoreRow] = ()) -> None:
        """Write the last rows and mark the run complete, in one transaction."""
        self.write_scores(run_id, rows, final=True)

    def fail_run(self, run_id: int, error: str) -> None:
        """Mark a running run failed with the reason (its partial scores stay for resumption)."""
        with self._write() as conn:
            runs.require_status(conn, run_id, (STATUS_RUNNING, STATUS_FAILED))
            runs.set_status(conn, run_id, STATUS_FAILED, finished_at=runs.utc_now(), error=error)

    def upsert_run(self, run: RunRecord, scores: Sequence[ScoreRow]) -> int:
        """Store a profile, a run (status as given) and its scores in one transaction.

        Idempotent: storing a run with the same identity again replaces its metadata and scores
        instead of adding a run. Missing start/finish times are filled in on ``run``.

        Returns:
            The run id (also set on ``run.run_id``).
        """
        record = runs.prepare_run(run)
        identity = runs.run_identity(record)
        rows = runs.normalized_rows(scores)
        with self._write() as conn:
            run_id = self._store(conn, record, identity, rows, replace_existing=True)
        run.run_id = run_id
        return run_id

    @staticmethod
    def _store(
        conn: Connection,
        record: RunRecord,
        identity: str,
        rows: Sequence[ScoreRow],
        *,
        replace_existing: bool,
    ) -> int:
        profile_id = runs.ensure_profile(conn, record.profile)
        found = runs.find_run(conn, identity)
        if found is None:
            run_id = runs.insert_run(conn, record, identity, profile_id)
        else:
            run_id, status = found
            if status == STATUS_COMPLETE and not replace_existing:
                return run_id
            runs.replace_run(conn, run_id, record, identity, profile_id)
        runs.write_score_rows(conn, run_id, rows)
        return run_id

    # ------------------------------------------------------------------ JSON
    def export_json(self, path: str | os.PathLike[str], model: str | None = None) -> int:
        """Write every complete run (of ``model``) to a bridge-table JSON file.

        Returns:
            The number of runs written.
        """
        from bridgex_chain import __version__

        with self._read() as conn:
            complete = queries.run_records(conn, model, status=STATUS_COMPLETE)
            stored = [(r, queries.run_scores(conn, r.run_id or 0)) for r in complete]
        precomputed.write_table_file(path, stored, tool_version=__version__)
        return len(stored)

    def import_json(self, path: str | os.PathLike[str]) -> list[int]:
        """Import a bridge-table JSON file in one transaction; runs already stored are kept.

        The whole file is validated before anything is written.

        Returns:
            The ids of the file's runs, in file order.

        Raises:
            SchemaError: The file is invalid (the message names the field path).
        """
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
                self._store(conn, record, identity, rows, replace_existing=False)
                for record, identity, rows in prepared
            ]

    def import_shipped(
        self, model: str | None = None, *, directory: str | os.PathLike[str] | None = None
    ) -> list[int]:
        """Import the bridge tables shipped with the package (idempotent).

        Args:
            model: Only this model's runs.
            directory: Read tables from here instead of ``bridgex_chain._precomputed``.

        Returns:
            The ids of the imported (or already present) runs.
        """
        ids: list[int] = []
        for table in precomputed.shipped_tables(directory):
            if model is None or model in table.models:
                ids.extend(self._import(precomputed.read_table_file(table.path), model))
        return ids

    def ensure_shipped(self) -> list[int]:
        """Import the shipped tables once per object (later calls return ``[]`` at no cost)."""
        with self._lock:
            if self._shipped_done:
                return []
            ids = self.import_shipped()
            self._shipped_done = True
            return ids
