"""Write side of the bridge table: profiles, runs and scores, on an open connection.

Every function here runs inside the caller's transaction (see
:func:`bridgex_chain.store.engine.write_connection`);
:class:`~bridgex_chain.store.table.BridgeTable` decides where transactions begin and end.
Values only ever reach SQL as bound parameters.

Example:
    >>> from bridgex_chain.store.runs import run_identity
    >>> from bridgex_chain.store.records import ModelProfile, RunRecord
    >>> run = RunRecord(ModelProfile("m", "r", "llama", 2, 8), "starter", "abc",
    ...                 ["swh_Latn"], ["eng_Latn"], {}, started_at="2025-01-01T00:00:00Z")
    >>> len(run_identity(run))
    64
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Iterable, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection, delete, func, select, update
from sqlalchemy.dialects import postgresql, sqlite

from bridgex_chain.errors import DatabaseError, SchemaError
from bridgex_chain.languages import normalize
from bridgex_chain.store.queries import run_scores
from bridgex_chain.store.records import (
    CompetenceRow,
    ModelProfile,
    RenderCheckRow,
    RunRecord,
    ScoreRow,
    parse_time,
)
from bridgex_chain.store.schema import (
    RUN_STATUSES,
    STATUS_COMPLETE,
    STATUS_RUNNING,
    AggregateScoreRow,
    CompetenceTableRow,
    LayerScoreRow,
    ModelProfileRow,
    ProbeRunRow,
    RenderCheckTableRow,
)

__all__ = [
    "canonical_json",
    "ensure_profile",
    "find_run",
    "import_run",
    "insert_run",
    "normalized_competence",
    "normalized_render_checks",
    "normalized_rows",
    "prepare_run",
    "replace_run",
    "require_status",
    "run_identity",
    "set_status",
    "store_run",
    "utc_now",
    "write_render_checks",
    "write_score_rows",
]

# Rows per INSERT statement (keeps SQLite under its bound-parameter limit).
_CHUNK = 500


def utc_now() -> datetime:
    """Return the current time, timezone-aware UTC (microsecond precision)."""
    return datetime.now(UTC)


def prepare_run(run: RunRecord) -> RunRecord:
    """Fill in missing times on ``run`` itself; return a copy with normalised language codes.

    A missing start time becomes now, and so does a missing end time of a finished run.

    Raises:
        UnknownLanguage: A language code cannot be normalised.
    """
    if not run.started_at:
        run.started_at = utc_now().isoformat()
    if run.status != STATUS_RUNNING and not run.finished_at:
        run.finished_at = utc_now().isoformat()
    return replace(
        run,
        languages=[normalize(code) for code in run.languages],
        bridges=[normalize(code) for code in run.bridges],
        params=dict(run.params),
    )


def normalized_rows(rows: Sequence[ScoreRow]) -> list[ScoreRow]:
    """Return the rows with normalised language codes (raises UnknownLanguage)."""
    return [
        replace(r, src=normalize(r.src), trg=normalize(r.trg), bridge=normalize(r.bridge))
        for r in rows
    ]


def canonical_json(value: Any, what: str) -> str:
    """Serialise ``value`` as canonical JSON (sorted keys), or raise :class:`SchemaError`."""
    try:
        return json.dumps(value, sort_keys=True, separators=(",", ":"), allow_nan=False)
    except (TypeError, ValueError) as err:
        raise SchemaError(f"{what} must be JSON-serialisable (no NaN/inf): {err}") from None


def run_identity(run: RunRecord) -> str:
    """Return the hash that makes two run records "the same run".

    The identity covers the model (key, revision), probe set name and hash, languages,
    candidate bridges, parameters and start time: re-importing an exported run, or storing the
    same record twice, finds the existing run instead of adding one. A new build of the same
    configuration starts at another time, so it is a new run (and, once complete, the newest).

    Raises:
        SchemaError: The start time is missing or the parameters are not JSON.
    """
    if not run.started_at:
        raise SchemaError("A run needs started_at (ISO-8601) before it can be stored.")
    payload = {
        "model": run.profile.model,
        "revision": run.profile.revision,
        "probe_set": run.probe_set,
        "probe_set_hash": run.probe_set_hash,
        "languages": list(run.languages),
        "bridges": list(run.bridges),
        "params": run.params,
        "started_at": parse_time(run.started_at).isoformat(),
    }
    return hashlib.sha256(canonical_json(payload, "Run parameters").encode()).hexdigest()


def _insert(conn: Connection, table: Any) -> Any:
    dialect = conn.dialect.name
    if dialect == "postgresql":
        return postgresql.insert(table)
    if dialect == "sqlite":
        return sqlite.insert(table)
    raise DatabaseError(f"Unsupported database backend {dialect!r}.")  # pragma: no cover


def ensure_profile(conn: Connection, profile: ModelProfile) -> int:
    """Return the id of the (model, revision) profile, inserting it when new.

    Raises:
        SchemaError: The stored profile disagrees on architecture or shape, or a value is not
            text the database can hold (a lone surrogate).
    """
    for value in (profile.model, profile.revision, profile.architecture):
        try:
            value.encode("utf-8")
        except UnicodeError:
            raise SchemaError(
                f"Model profile value {value.encode('utf-8', 'backslashreplace').decode()!r} is "
                "not valid text (a lone surrogate); give the model key as real text."
            ) from None
    stmt = _insert(conn, ModelProfileRow).values(
        model=profile.model,
        revision=profile.revision,
        architecture=profile.architecture,
        num_layers=profile.num_layers,
        intermediate_size=profile.intermediate_size,
    )
    conn.execute(stmt.on_conflict_do_nothing(index_elements=["model", "revision"]))
    row = conn.execute(
        select(
            ModelProfileRow.id,
            ModelProfileRow.architecture,
            ModelProfileRow.num_layers,
            ModelProfileRow.intermediate_size,
        ).where(
            ModelProfileRow.model == profile.model, ModelProfileRow.revision == profile.revision
        )
    ).one()
    stored = (row.architecture, row.num_layers, row.intermediate_size)
    given = (profile.architecture, profile.num_layers, profile.intermediate_size)
    if stored != given:
        raise SchemaError(
            f"Model {profile.model!r} revision {profile.revision!r} is stored as "
            f"(architecture, layers, intermediate size) = {stored}, but this run says {given}. "
            "Give the run the model's real revision or config hash."
        )
    return int(row.id)


def find_run(conn: Connection, identity: str) -> tuple[int, str] | None:
    """Return (id, status) of the run with this identity, or None."""
    row = conn.execute(
        select(ProbeRunRow.id, ProbeRunRow.status).where(ProbeRunRow.identity == identity)
    ).first()
    return None if row is None else (int(row.id), str(row.status))


def _run_values(run: RunRecord, identity: str, profile_id: int) -> dict[str, Any]:
    if run.status not in RUN_STATUSES:
        raise SchemaError(f"Run status must be one of {RUN_STATUSES}, not {run.status!r}.")
    canonical_json(run.params, "Run parameters")
    return {
        "profile_id": profile_id,
        "identity": identity,
        "probe_set": run.probe_set,
        "probe_set_hash": run.probe_set_hash,
        "languages": list(run.languages),
        "bridges": list(run.bridges),
        "params": run.params,
        "status": run.status,
        "error": run.error,
        "tool_version": run.tool_version,
        "started_at": parse_time(run.started_at),
        "finished_at": parse_time(run.finished_at) if run.finished_at else None,
    }


def insert_run(conn: Connection, run: RunRecord, identity: str, profile_id: int) -> int:
    """Insert a run row and return its id."""
    result = conn.execute(
        _insert(conn, ProbeRunRow)
        .values(**_run_values(run, identity, profile_id))
        .returning(ProbeRunRow.id)
    )
    return int(result.scalar_one())


def _claim_run(
    conn: Connection, run: RunRecord, identity: str, profile_id: int
) -> tuple[int, str | None]:
    """Insert the run unless its identity is stored: (id, None) when inserted, else (id, status).

    ``INSERT ... ON CONFLICT (identity) DO NOTHING``: on PostgreSQL a concurrent transaction
    inserting the same identity makes this one wait for it, then find its row, so two imports of
    one run key never both insert (SQLite serialises writers with ``BEGIN IMMEDIATE``).
    """
    inserted = conn.execute(
        _insert(conn, ProbeRunRow)
        .values(**_run_values(run, identity, profile_id))
        .on_conflict_do_nothing(index_elements=["identity"])
        .returning(ProbeRunRow.id)
    ).scalar()
    if inserted is not None:
        return int(inserted), None
    found = find_run(conn, identity)
    if found is None:  # pragma: no cover - the conflicting row is committed and visible
        raise DatabaseError(f"Run {identity[:12]} conflicted but cannot be found; retry.")
    return found


_Confidence = tuple[float | None, float | None, float | None, int | None]
_ScoreKey = set[tuple[str, str, str, int, float, int | None, _Confidence]]
_NO_CONFIDENCE: _Confidence = (None, None, None, None)


def _confidence(row: ScoreRow) -> _Confidence:
    def number(value: float | None) -> float | None:
        return None if value is None else float(value)

    return (number(row.low), number(row.high), number(row.win_rate), row.resamples)


def _score_key(rows: Iterable[ScoreRow]) -> _ScoreKey:
    keys: _ScoreKey = set()
    for r in rows:
        if r.layer is None:
            keys.add((r.src, r.trg, r.bridge, -1, float(r.score), r.layers_scored, _confidence(r)))
        else:
            keys.add((r.src, r.trg, r.bridge, int(r.layer), float(r.score), None, _NO_CONFIDENCE))
    return keys


def _stored_score_key(conn: Connection, run_id: int) -> _ScoreKey:
    return _score_key(run_scores(conn, run_id))


def import_run(
    conn: Connection,
    record: RunRecord,
    identity: str,
    rows: Sequence[ScoreRow],
    *,
    replace_existing: bool,
) -> tuple[int, str]:
    """Store an imported run: check and write under its run key, in the caller's transaction.

    Returns:
        The run id and what was done (see :class:`~bridgex_chain.store.records.ImportedRun`):
        ``"added"``, ``"unchanged"`` (stored with the same scores), ``"kept"`` (stored with
        different scores and ``replace_existing`` false) or ``"replaced"``.
    """
    profile_id = ensure_profile(conn, record.profile)
    run_id, status = _claim_run(conn, record, identity, profile_id)
    if status is None:
        write_score_rows(conn, run_id, rows)
        return run_id, "added"
    if status == STATUS_COMPLETE:
        if _stored_score_key(conn, run_id) == _score_key(rows):
            return run_id, "unchanged"
        if not replace_existing:
            return run_id, "kept"
    replace_run(conn, run_id, record, identity, profile_id)
    write_score_rows(conn, run_id, rows)
    return run_id, "replaced"


def replace_run(
    conn: Connection, run_id: int, run: RunRecord, identity: str, profile_id: int
) -> None:
    """Overwrite a run's metadata and delete its scores (the caller writes new ones)."""
    conn.execute(
        update(ProbeRunRow)
        .where(ProbeRunRow.id == run_id)
        .values(**_run_values(run, identity, profile_id))
    )
    conn.execute(delete(LayerScoreRow).where(LayerScoreRow.run_id == run_id))
    conn.execute(delete(AggregateScoreRow).where(AggregateScoreRow.run_id == run_id))
    conn.execute(delete(RenderCheckTableRow).where(RenderCheckTableRow.run_id == run_id))
    conn.execute(delete(CompetenceTableRow).where(CompetenceTableRow.run_id == run_id))


def store_run(
    conn: Connection,
    record: RunRecord,
    identity: str,
    rows: Sequence[ScoreRow],
    *,
    replace_existing: bool,
) -> int:
    """Store a prepared run and its normalised rows; return the run id.

    A run whose identity is new is inserted. A stored run is replaced (metadata and scores) when
    ``replace_existing``; otherwise a stored complete run is kept as it is (an import of a table
    already present changes nothing) and any other is replaced.
    """
    profile_id = ensure_profile(conn, record.profile)
    found = find_run(conn, identity)
    if found is None:
        run_id = insert_run(conn, record, identity, profile_id)
    else:
        run_id, status = found
        if status == STATUS_COMPLETE and not replace_existing:
            return run_id
        replace_run(conn, run_id, record, identity, profile_id)
    write_score_rows(conn, run_id, rows)
    return run_id


def set_status(
    conn: Connection,
    run_id: int,
    status: str,
    *,
    finished_at: datetime | None,
    error: str | None = None,
) -> None:
    """Set a run's status, end time and error message."""
    conn.execute(
        update(ProbeRunRow)
        .where(ProbeRunRow.id == run_id)
        .values(status=status, finished_at=finished_at, error=error)
    )


def require_status(conn: Connection, run_id: int, allowed: Sequence[str]) -> str:
    """Return the run's status, or raise :class:`DatabaseError` if absent or not ``allowed``."""
    status = conn.execute(select(ProbeRunRow.status).where(ProbeRunRow.id == run_id)).scalar()
    if status is None:
        raise DatabaseError(f"No probe run with id {run_id}; start one with begin_run().")
    if status not in allowed:
        raise DatabaseError(
            f"Probe run {run_id} is {status}, not {' or '.join(allowed)}: complete runs are "
            "immutable (start a new run, or replace it with upsert_run()), and a failed run "
            "must be resumed with begin_run() before writing."
        )
    return str(status)


def _check_row(row: ScoreRow) -> None:
    try:
        finite = math.isfinite(float(row.score))
    except (TypeError, ValueError):
        finite = False
    if not finite:
        raise SchemaError(f"Score {row.score!r} for {row} is not a finite number.")
    if row.layer is not None and row.layer < 0:
        raise SchemaError(f"Layer {row.layer} for {row} is negative.")
    if row.layers_scored is not None and row.layers_scored < 0:
        raise SchemaError(f"layers_scored {row.layers_scored} for {row} is negative.")
    if row.has_confidence:
        _check_confidence(row)


def _finite(value: object) -> bool:
    try:
        return math.isfinite(float(value))  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return False


def _count(value: object) -> bool:
    """A whole number of at least 1 (``True`` is no count)."""
    return isinstance(value, int) and not isinstance(value, bool) and value >= 1


def _check_order(subject: str, low: float | None, high: float | None, advice: str) -> None:
    """Raise unless the interval's ends (both given, finite) are in order."""
    if low is not None and high is not None and float(low) > float(high):
        raise SchemaError(
            f"{subject} has the interval [{low!r}, {high!r}], whose low end is above its high "
            f"end; {advice}."
        )


def _check_confidence(row: ScoreRow) -> None:
    """The bootstrap figures of an aggregate row: all four, ``low <= high``, a win rate in [0, 1].

    The interval need not contain the score: a percentile interval over resamples may exclude it.
    """
    key = f"{row.src}->{row.trg}, bridge {row.bridge}"
    if row.layer is not None:
        raise SchemaError(
            f"The per-layer row of {key} at layer {row.layer} carries bootstrap figures (low, "
            "high, win_rate, resamples); only aggregate rows (layer None) have them. Give them "
            "on the aggregate row."
        )
    figures: dict[str, object] = {
        "low": row.low,
        "high": row.high,
        "win_rate": row.win_rate,
        "resamples": row.resamples,
    }
    missing = [name for name, value in figures.items() if value is None]
    if missing:
        raise SchemaError(
            f"The aggregate of {key} gives only some of its bootstrap figures (missing: "
            f"{', '.join(missing)}); give low, high, win_rate and resamples together, or none."
        )
    bad = [f"{name}={value!r}" for name, value in figures.items() if not _finite(value)]
    if bad:
        raise SchemaError(
            f"The aggregate of {key} has bootstrap figures that are not finite numbers: "
            f"{', '.join(bad)}."
        )
    _check_order(
        f"The aggregate of {key}",
        row.low,
        row.high,
        "give the 2.5 % percentile as low and the 97.5 % one as high",
    )
    if row.win_rate is not None and not 0.0 <= float(row.win_rate) <= 1.0:
        raise SchemaError(
            f"The aggregate of {key} has win_rate {row.win_rate!r}; a win rate is a share of "
            "resamples, between 0 and 1 (give 0.87, not 87)."
        )
    resamples = row.resamples
    if not _count(resamples):
        raise SchemaError(
            f"The aggregate of {key} has resamples {resamples!r}; give the number of bootstrap "
            "resamples the figures come from, a whole number of at least 1 (a candidate never "
            "scored in any resample has no figures: leave all four None)."
        )


def _chunks(items: list[dict[str, Any]]) -> Iterable[list[dict[str, Any]]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]


def write_score_rows(conn: Connection, run_id: int, rows: Sequence[ScoreRow]) -> int:
    """Insert or overwrite score rows of a run (a later row for the same key wins).

    Aggregate rows (``layer is None``) without ``layers_scored`` get the number of per-layer rows
    stored for the same (src, trg, bridge) of the run (after this write). Their bootstrap figures
    (``low``, ``high``, ``win_rate``, ``resamples``) are stored as given, NULL when absent; a
    later aggregate row for the same key replaces them too.

    Raises:
        SchemaError: A score is not finite, a layer or layer count is negative, or the bootstrap
            figures are incomplete, on a per-layer row, or out of range (``low > high``, a win
            rate outside [0, 1], fewer than 1 resample).

    Returns:
        The number of distinct rows written.
    """
    layers: dict[tuple[str, str, str, int], float] = {}
    aggregates: dict[tuple[str, str, str], ScoreRow] = {}
    for row in rows:
        _check_row(row)
        if row.layer is None:
            aggregates[(row.src, row.trg, row.bridge)] = row
        else:
            layers[(row.src, row.trg, row.bridge, int(row.layer))] = float(row.score)
    layer_values = [
        {"run_id": run_id, "src": s, "trg": t, "bridge": b, "layer": ell, "score": v}
        for (s, t, b, ell), v in layers.items()
    ]
    _upsert(conn, LayerScoreRow, layer_values, ["run_id", "src", "trg", "bridge", "layer"])
    counts: dict[tuple[str, str, str], int] = {}
    if any(r.layers_scored is None for r in aggregates.values()):
        counted = conn.execute(
            select(LayerScoreRow.src, LayerScoreRow.trg, LayerScoreRow.bridge, func.count())
            .where(LayerScoreRow.run_id == run_id)
            .group_by(LayerScoreRow.src, LayerScoreRow.trg, LayerScoreRow.bridge)
        )
        counts = {(s, t, b): int(n) for s, t, b, n in counted}
    aggregate_values = [
        {
            "run_id": run_id,
            "src": key[0],
            "trg": key[1],
            "bridge": key[2],
            "score": float(r.score),
            "layers_scored": r.layers_scored if r.layers_scored is not None else counts.get(key, 0),
            "score_low": None if r.low is None else float(r.low),
            "score_high": None if r.high is None else float(r.high),
            "win_rate": None if r.win_rate is None else float(r.win_rate),
            "resamples": r.resamples,
        }
        for key, r in aggregates.items()
    ]
    _upsert(conn, AggregateScoreRow, aggregate_values, ["run_id", "src", "trg", "bridge"])
    return len(layer_values) + len(aggregate_values)


def _upsert(conn: Connection, table: Any, values: list[dict[str, Any]], key: list[str]) -> None:
    for chunk in _chunks(values):
        stmt = _insert(conn, table).values(chunk)
        updates = {c: stmt.excluded[c] for c in chunk[0] if c not in key}
        conn.execute(stmt.on_conflict_do_update(index_elements=key, set_=updates))


def normalized_render_checks(checks: Sequence[RenderCheckRow]) -> list[RenderCheckRow]:
    """Check render checks and normalise their language codes.

    Raises:
        SchemaError: A pair count below 1, a number that is not finite, only one end of the
            interval, ``low > high``, or a (src, bridge) given twice.
        UnknownLanguage: A language code cannot be normalised.

    Example:
        >>> normalized_render_checks([RenderCheckRow("sw", "en", 8, 0.4, 0.3, 0.5)])[0].src
        'swh_Latn'
    """
    clean: list[RenderCheckRow] = []
    seen: set[tuple[str, str]] = set()
    for check in checks:
        row = replace(check, src=normalize(check.src), bridge=normalize(check.bridge))
        key = f"render check {row.src} -> {row.bridge}"
        if not _count(row.pairs):
            raise SchemaError(
                f"The {key} has pairs {row.pairs!r}; give the number of parallel pairs the gain "
                "is averaged over, a whole number of at least 1."
            )
        if not _finite(row.gain):
            raise SchemaError(f"The {key} has gain {row.gain!r}, which is not a finite number.")
        if (row.low is None) != (row.high is None):
            raise SchemaError(
                f"The {key} gives only one end of its interval (low={row.low!r}, "
                f"high={row.high!r}); give both, or neither (one pair has no interval)."
            )
        if row.low is not None and row.high is not None:
            if not (_finite(row.low) and _finite(row.high)):
                raise SchemaError(
                    f"The {key} has the interval [{row.low!r}, {row.high!r}], which is not "
                    "finite; give finite numbers, or neither end."
                )
            _check_order(f"The {key}", row.low, row.high, "give the lower end as low")
        if (row.src, row.bridge) in seen:
            raise SchemaError(f"The {key} is given twice; give each (src, bridge) once.")
        seen.add((row.src, row.bridge))
        clean.append(row)
    return clean


def normalized_competence(rows: Sequence[CompetenceRow]) -> list[CompetenceRow]:
    """Check competence rows and normalise their language codes.

    Raises:
        SchemaError: A text count below 1, a figure that is not finite, or a language twice.
        UnknownLanguage: A language code cannot be normalised.

    Example:
        >>> normalized_competence([CompetenceRow("sw", 16, -2.5)])[0].lang
        'swh_Latn'
    """
    clean: list[CompetenceRow] = []
    seen: set[str] = set()
    for given in rows:
        row = replace(given, lang=normalize(given.lang))
        if not _count(row.texts):
            raise SchemaError(
                f"The competence of {row.lang} has texts {row.texts!r}; give the number of texts "
                "it is averaged over, a whole number of at least 1."
            )
        if not _finite(row.logprob_per_token):
            raise SchemaError(
                f"The competence of {row.lang} has logprob_per_token {row.logprob_per_token!r}, "
                "which is not a finite number."
            )
        if row.lang in seen:
            raise SchemaError(f"The competence of {row.lang} is given twice; give it once.")
        seen.add(row.lang)
        clean.append(row)
    return clean


def write_render_checks(
    conn: Connection,
    run_id: int,
    checks: Sequence[RenderCheckRow],
    competence: Sequence[CompetenceRow],
) -> None:
    """Replace a run's render checks and competence rows with these (already normalised) ones."""
    conn.execute(delete(RenderCheckTableRow).where(RenderCheckTableRow.run_id == run_id))
    conn.execute(delete(CompetenceTableRow).where(CompetenceTableRow.run_id == run_id))
    check_values = [
        {
            "run_id": run_id,
            "src": c.src,
            "bridge": c.bridge,
            "pairs": int(c.pairs),
            "gain": float(c.gain),
            "gain_low": None if c.low is None else float(c.low),
            "gain_high": None if c.high is None else float(c.high),
        }
        for c in checks
    ]
    competence_values = [
        {
            "run_id": run_id,
            "lang": c.lang,
            "texts": int(c.texts),
            "logprob_per_token": float(c.logprob_per_token),
        }
        for c in competence
    ]
    for table, values in (
        (RenderCheckTableRow, check_values),
        (CompetenceTableRow, competence_values),
    ):
        for chunk in _chunks(values):
            conn.execute(_insert(conn, table).values(chunk))
