"""BridgeTable: the SQL bridge table that probing writes and the chain reads.

Lookups (:meth:`BridgeTable.best`, :meth:`BridgeTable.ranking`) answer from an in-process cache
after the first read of a model: every (src, trg) entry of the model is loaded at once. Writes
through the same object invalidate the cache; for other writers call :meth:`BridgeTable.refresh`
or pass ``cache_ttl``. Only ``complete`` runs are visible, and the newest complete run scoring a
(src, trg) wins (see :mod:`bridgex_chain.store.queries`).

Model strings are stored and looked up exactly as given (pass
:func:`bridgex_chain.models.model_key`); languages are normalised with
:func:`bridgex_chain.languages.normalize`. Recording runs and the JSON import and export are
done by the table's :class:`~bridgex_chain.store.table_runs.TableRuns`, which the run methods
below forward to.

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
from collections.abc import Sequence

from sqlalchemy import Engine

from bridgex_chain.errors import NoBridgeFound, UnknownLanguage
from bridgex_chain.languages import normalize
from bridgex_chain.paths import default_database_url
from bridgex_chain.store import queries
from bridgex_chain.store.engine import (
    create_store_engine,
    database_errors,
    describe_url,
    guarded_read,
)
from bridgex_chain.store.migrate import check_current, upgrade
from bridgex_chain.store.records import (
    Bridge,
    CompetenceRow,
    ImportedRun,
    RankedBridge,
    RenderCheckRow,
    RunRecord,
    ScoreRow,
)
from bridgex_chain.store.table_runs import TableRuns
from bridgex_chain.store.text import printable

__all__ = ["BridgeTable"]


def _language(code: str) -> str:
    """:func:`normalize`, with text no language code can be (lone surrogates) unknown too."""
    try:
        return normalize(code)
    except UnicodeError:
        raise UnknownLanguage(printable(code)) from None


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
        self._runs = TableRuns(self._engine, self._lock, on_write=self.refresh)
        try:
            with database_errors(self._engine.url, "open"):
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
        return self._entry(model, src, trg).best

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
        return list(self._entry(model, src, trg).ranking)

    def models(self) -> list[str]:
        """Return the models that have at least one complete run, sorted."""
        with self._lock:
            if self._models is None:
                with guarded_read(self._engine) as conn:
                    found = set(queries.complete_models(conn))
                    found.update(r.profile.model for r, _ in self._runs.memory_runs(conn))
                self._models = sorted(found)
                self._start_clock()
            return list(self._models)

    def pairs(self, model: str) -> list[tuple[str, str]]:
        """Return the (src, trg) entries a model has, sorted."""
        with self._lock:
            return list(self._load_model(model))

    def languages(self, model: str) -> list[str]:
        """Return the source languages a model has entries for, sorted."""
        return sorted({src for src, _ in self.pairs(model)})

    def _entry(self, model: str, src: str, trg: str | None) -> queries.Entry:
        """The read path of :meth:`best` and :meth:`ranking`: the cache, else the database."""
        self._expire()
        s = _language(src)
        key = (model, s, s if trg is None else _language(trg))
        entry = self._entries.get(key)
        return entry if entry is not None else self._load(key)

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
            with guarded_read(self._engine) as conn:
                memory = self._runs.memory_runs(conn, model) if self._runs.in_memory else []
                entries = queries.model_entries(conn, model, memory)
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

    # ------------------------------------------------------------------ runs (see TableRuns)
    def runs(self, model: str | None = None) -> list[RunRecord]:
        """Return every run (any status), oldest first, optionally of one model.

        Example:
            >>> BridgeTable("sqlite://").runs("demo/model")
            []
        """
        return self._runs.runs(model)

    def scores(self, run_id: int) -> list[ScoreRow]:
        """Return every score row of a run (per-layer rows, then aggregates).

        Example:
            >>> BridgeTable("sqlite://").scores(1)
            []
        """
        return self._runs.scores(run_id)

    def render_checks(self, run_id: int) -> list[RenderCheckRow]:
        """Return a run's render checks (render gain per (src, bridge)), sorted by language.

        Example:
            >>> BridgeTable("sqlite://").render_checks(1)
            []
        """
        return self._runs.render_checks(run_id)

    def competence(self, run_id: int) -> list[CompetenceRow]:
        """Return a run's language competence rows, sorted by language.

        Example:
            >>> BridgeTable("sqlite://").competence(1)
            []
        """
        return self._runs.competence(run_id)

    def store_render_checks(
        self,
        run_id: int,
        checks: Sequence[RenderCheckRow],
        competence: Sequence[CompetenceRow] = (),
    ) -> None:
        """Replace a running run's render checks and language competence, in one transaction.

        Write them before :meth:`complete_run` (complete runs are immutable). Language codes are
        normalised like every other code of the table.

        Raises:
            DatabaseError: The run does not exist or is not running.
            SchemaError: A count below 1, a number that is not finite, only one end of an
                interval, ``low > high``, or a key given twice.
            UnknownLanguage: A language code cannot be normalised.

        Example:
            >>> from bridgex_chain.store.records import (CompetenceRow, ModelProfile,
            ...                                          RenderCheckRow, RunRecord)
            >>> table = BridgeTable("sqlite://")
            >>> run_id = table.begin_run(RunRecord(ModelProfile("m/x", "r", "llama", 2, 8),
            ...                                    "starter", "h", ["swh_Latn"], ["eng_Latn"], {}))
            >>> table.store_render_checks(run_id, [RenderCheckRow("sw", "en", 8, 0.4, 0.3, 0.5)],
            ...                           [CompetenceRow("sw", 8, -2.5)])
            >>> table.render_checks(run_id)[0].bridge, table.competence(run_id)[0].lang
            ('eng_Latn', 'swh_Latn')
        """
        self._runs.store_render_checks(run_id, checks, competence)

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
        return self._runs.begin_run(run)

    def write_scores(self, run_id: int, rows: Sequence[ScoreRow], *, final: bool) -> None:
        """Write (insert or overwrite) score rows of a running run; ``final`` completes it.

        Rows and the status change commit in one transaction, so readers never see a complete
        run with missing rows.

        Raises:
            DatabaseError: The run does not exist or is not running.
            SchemaError: A score is not finite, or a layer count is negative.

        Example:
            >>> BridgeTable("sqlite://").write_scores(7, [], final=False)
            Traceback (most recent call last):
            ...
            bridgex_chain.errors.DatabaseError: No probe run with id 7; start one with begin_run().
        """
        self._runs.write_scores(run_id, rows, final=final)

    def complete_run(self, run_id: int, rows: Sequence[ScoreRow] = ()) -> None:
        """Write the last rows and mark the run complete, in one transaction.

        Example:
            >>> BridgeTable("sqlite://").complete_run(7)
            Traceback (most recent call last):
            ...
            bridgex_chain.errors.DatabaseError: No probe run with id 7; start one with begin_run().
        """
        self._runs.write_scores(run_id, rows, final=True)

    def fail_run(self, run_id: int, error: str) -> None:
        """Mark a running run failed with the reason (its partial scores stay for resumption).

        Example:
            >>> from bridgex_chain.store.records import ModelProfile, RunRecord
            >>> table = BridgeTable("sqlite://")
            >>> run_id = table.begin_run(RunRecord(ModelProfile("m/x", "r", "llama", 2, 8),
            ...                                    "starter", "h", ["swh_Latn"], ["eng_Latn"], {}))
            >>> table.fail_run(run_id, "out of memory")
            >>> [(r.status, r.error) for r in table.runs()]
            [('failed', 'out of memory')]
        """
        self._runs.fail_run(run_id, error)

    def upsert_run(self, run: RunRecord, scores: Sequence[ScoreRow]) -> int:
        """Store a profile, a run (status as given) and its scores in one transaction.

        Idempotent: storing a run with the same identity again replaces its metadata and scores
        instead of adding a run. Missing start/finish times are filled in on ``run``.

        Returns:
            The run id (also set on ``run.run_id``).

        Example:
            >>> from bridgex_chain.store.records import ModelProfile, RunRecord
            >>> table = BridgeTable("sqlite://")
            >>> run = RunRecord(ModelProfile("m/x", "r", "llama", 2, 8), "starter", "h",
            ...                 ["swh_Latn"], ["eng_Latn"], {}, status="complete")
            >>> table.upsert_run(run, []) == table.upsert_run(run, [])
            True
        """
        return self._runs.upsert_run(run, scores)

    def export_json(
        self, path: str | os.PathLike[str], model: str | None = None, *, parents: bool = False
    ) -> int:
        """Write every complete run (of ``model``) to a bridge-table JSON file.

        Shipped runs served from memory (see :meth:`ensure_shipped`) are written too.

        Args:
            path: The file to write (atomically: a temporary file, then a rename).
            model: Only this model's runs (a model with none writes an empty table).
            parents: Create missing parent directories (default: refuse, with InvalidOption).

        Returns:
            The number of runs written.

        Raises:
            InvalidOption: ``path`` is a directory, its directory is missing (without
                ``parents``), or it cannot be written (the message says why).

        Example:
            >>> import tempfile
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     BridgeTable("sqlite://").export_json(f"{tmp}/empty.json")
            0
        """
        return self._runs.export_json(path, model, parents=parents)

    def import_json(self, path: str | os.PathLike[str], *, replace: bool = False) -> list[int]:
        """Import a bridge-table JSON file in one transaction; runs already stored are kept.

        The whole file is validated before anything is written (aggregate scores included:
        one that is not the mean of its per-layer scores in the run's layer window is refused).
        A run already stored keeps its scores unless ``replace``; :meth:`import_file` says
        which runs were added, kept or replaced.

        Returns:
            The ids of the file's runs, in file order.

        Raises:
            SchemaError: The file is invalid (the message names the field path).

        Example:
            >>> BridgeTable("sqlite://").import_json("/nonexistent.json")
            Traceback (most recent call last):
            ...
            bridgex_chain.errors.SchemaError: Cannot read bridge table /nonexistent.json: ...
        """
        return self._runs.import_json(path, replace=replace)

    def import_file(
        self, path: str | os.PathLike[str], *, replace: bool = False
    ) -> list[ImportedRun]:
        """Import a bridge-table JSON file and say what was done with each of its runs.

        One transaction: for each run, its key (:func:`~bridgex_chain.store.runs.run_identity`)
        is checked and written under the write lock, so concurrent imports of one run key have a
        defined outcome: the first to commit adds it, the others find it (``"unchanged"``, or
        ``"kept"`` when their scores differ, or ``"replaced"`` with ``replace``).

        Raises:
            SchemaError: The file is invalid (the message names the field path).

        Example:
            >>> import tempfile
            >>> from bridgex_chain.store.records import ModelProfile, RunRecord, ScoreRow
            >>> table = BridgeTable("sqlite://")
            >>> run = RunRecord(ModelProfile("m/x", "r", "llama", 2, 8), "starter", "h",
            ...                 ["swh_Latn"], ["eng_Latn"], {}, status="complete")
            >>> _ = table.upsert_run(run, [ScoreRow("sw", "sw", "en", None, 0.5, 0)])
            >>> with tempfile.TemporaryDirectory() as tmp:
            ...     _ = table.export_json(f"{tmp}/t.json")
            ...     [done.action for done in table.import_file(f"{tmp}/t.json")]
            ['unchanged']
        """
        return self._runs.import_file(path, replace=replace)

    def import_shipped(
        self, model: str | None = None, *, directory: str | os.PathLike[str] | None = None
    ) -> list[int]:
        """Import the bridge tables shipped with the package (idempotent).

        Args:
            model: Only this model's runs.
            directory: Read tables from here instead of ``bridgex_chain._precomputed``.

        Returns:
            The ids of the imported (or already present) runs.

        Example:
            >>> BridgeTable("sqlite://").import_shipped(model="nobody/none")
            []
        """
        return self._runs.import_shipped(model, directory=directory)

    def ensure_shipped(self, *, write: bool = True) -> list[int]:
        """Make the shipped tables visible, once per object (later calls return ``[]``).

        Args:
            write: Import them (runs already stored are not rewritten). On a read-only database
                the import is skipped and they are served from memory (logged once as a
                WARNING, logger ``bridgex_chain.store``). With False nothing is written: runs
                the database lacks are served from memory (read commands use this).

        Returns:
            The ids of the shipped runs stored in the database. Runs served from memory have
            negative ids (in :meth:`runs`, ``Bridge.run_id`` and provenance).

        Example:
            >>> table = BridgeTable("sqlite://")
            >>> _ = table.ensure_shipped()
            >>> table.ensure_shipped()
            []
        """
        return self._runs.ensure_shipped(write=write)
