"""TableRuns: the run records of :class:`~bridgex_chain.store.table.BridgeTable`.

A mixin of ``BridgeTable`` (use the methods through a table): recording a probe run and its
scores (begin, write, complete or fail, or all at once with ``upsert_run``), listing runs, and
moving complete runs in and out as bridge-table JSON files
(:mod:`bridgex_chain.store.precomputed`), the tables shipped with the package among them. Each
write is one transaction; the SQL is in :mod:`bridgex_chain.store.runs`.

Example:
    >>> from bridgex_chain.store.table import BridgeTable
    >>> with BridgeTable("sqlite://") as table:
    ...     table.runs(), table.import_shipped(model="nobody/none")
    ([], [])
"""

from __future__ import annotations

import os
import threading
from collections.abc import Sequence
from contextlib import AbstractContextManager
from dataclasses import replace
from typing import TYPE_CHECKING

from sqlalchemy import Connection

from bridgex_chain.store import precomputed, queries, runs
from bridgex_chain.store.records import RunRecord, ScoreRow
from bridgex_chain.store.schema import STATUS_COMPLETE, STATUS_FAILED, STATUS_RUNNING

__all__ = ["TableRuns"]


class TableRuns:
    """Run-record methods, mixed into :class:`~bridgex_chain.store.table.BridgeTable`.

    Example:
        >>> from bridgex_chain.store.table import BridgeTable
        >>> issubclass(BridgeTable, TableRuns)
        True
    """

    if TYPE_CHECKING:  # provided by BridgeTable: its lock and transactions
        _lock: threading.RLock
        _shipped_done: bool

        def _read(self) -> AbstractContextManager[Connection]: ...

        def _write(self) -> AbstractContextManager[Connection]: ...

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
            >>> from bridgex_chain.store.table import BridgeTable
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
