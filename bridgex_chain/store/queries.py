"""Read side of the bridge table: runs, scores and ranked lookup entries.

Only ``complete`` runs are visible to lookups. When several complete runs of a model score the
same (src, trg), the newest wins: the one that finished last (then the higher run id). Times are
the runs' own, so importing an old shipped table never overrides a newer local build.

Example:
    >>> from bridgex_chain.store.queries import rank
    >>> [(r.bridge, r.rank) for r in rank([("fra_Latn", 0.5, 3), ("eng_Latn", 0.5, 3),
    ...                                    ("spa_Latn", 0.1, 3)])]
    [('eng_Latn', 1), ('fra_Latn', 1), ('spa_Latn', 3)]
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, select

from bridgex_chain.store.records import (
    Bridge,
    CompetenceRow,
    ModelProfile,
    RankedBridge,
    RenderCheckRow,
    RunRecord,
    ScoreRow,
    parse_time,
)
from bridgex_chain.store.schema import (
    STATUS_COMPLETE,
    AggregateScoreRow,
    CompetenceTableRow,
    LayerScoreRow,
    ModelProfileRow,
    ProbeRunRow,
    RenderCheckTableRow,
)

__all__ = [
    "TIE_REL_TOL",
    "Entry",
    "complete_models",
    "missing_message",
    "model_entries",
    "no_model_message",
    "provenance",
    "rank",
    "run_competence",
    "run_records",
    "run_render_checks",
    "run_scores",
    "stored_identities",
]

#: Two aggregate scores tie when ``math.isclose(a, b, rel_tol=TIE_REL_TOL)`` (as in probing).
TIE_REL_TOL = 1e-9


@dataclass(frozen=True, slots=True)
class Entry:
    """What a lookup returns for one (model, src, trg): the best bridge and the full ranking."""

    best: Bridge
    ranking: tuple[RankedBridge, ...]


#: The columns of an aggregate row, in :func:`_aggregate_row`'s order.
_AGGREGATE_COLUMNS = (
    AggregateScoreRow.src,
    AggregateScoreRow.trg,
    AggregateScoreRow.bridge,
    AggregateScoreRow.score,
    AggregateScoreRow.layers_scored,
    AggregateScoreRow.score_low,
    AggregateScoreRow.score_high,
    AggregateScoreRow.win_rate,
    AggregateScoreRow.resamples,
)


def _aggregate_row(values: Sequence[Any]) -> ScoreRow:
    """A stored aggregate (the values of :data:`_AGGREGATE_COLUMNS`) as a score row."""
    src, trg, bridge, score, layers, low, high, win_rate, resamples = values
    return ScoreRow(src, trg, bridge, None, score, layers, low, high, win_rate, resamples)


def _iso(value: datetime | None) -> str | None:
    return None if value is None else parse_time(value).isoformat()


def rank(scores: Iterable[tuple[str, float, int] | RankedBridge]) -> tuple[RankedBridge, ...]:
    """Rank candidates best first; ties share a rank (1, 1, 3).

    Args:
        scores: (bridge, score, layers_scored) triples, or :class:`RankedBridge` records whose
            ``rank`` is ignored (their bootstrap figures are kept).

    Ties (within :data:`TIE_REL_TOL` of the tie group's leader) are ordered by bridge code.
    """
    candidates = [
        item if isinstance(item, RankedBridge) else RankedBridge(item[0], item[1], 0, item[2])
        for item in scores
    ]
    ordered = sorted(candidates, key=lambda item: (-item.score, item.bridge))
    ranked: list[RankedBridge] = []
    leader, leader_rank = math.nan, 0
    for position, candidate in enumerate(ordered, start=1):
        if not ranked or not math.isclose(leader, candidate.score, rel_tol=TIE_REL_TOL):
            leader, leader_rank = candidate.score, position
        ranked.append(replace(candidate, rank=leader_rank))
    return tuple(ranked)


def _candidate(row: ScoreRow) -> RankedBridge:
    """An aggregate row as an unranked candidate (``rank`` 0), bootstrap figures included."""
    return RankedBridge(
        bridge=row.bridge,
        score=row.score,
        rank=0,
        layers_scored=row.layers_scored or 0,
        low=row.low,
        high=row.high,
        win_rate=row.win_rate,
        resamples=row.resamples,
    )


def _run_query() -> Any:
    return select(
        ProbeRunRow.id,
        ProbeRunRow.probe_set,
        ProbeRunRow.probe_set_hash,
        ProbeRunRow.languages,
        ProbeRunRow.bridges,
        ProbeRunRow.params,
        ProbeRunRow.status,
        ProbeRunRow.error,
        ProbeRunRow.tool_version,
        ProbeRunRow.started_at,
        ProbeRunRow.finished_at,
        ModelProfileRow.model,
        ModelProfileRow.revision,
        ModelProfileRow.architecture,
        ModelProfileRow.num_layers,
        ModelProfileRow.intermediate_size,
    ).join(ModelProfileRow, ProbeRunRow.profile_id == ModelProfileRow.id)


def _to_record(row: Any) -> RunRecord:
    return RunRecord(
        profile=ModelProfile(
            model=row.model,
            revision=row.revision,
            architecture=row.architecture,
            num_layers=row.num_layers,
            intermediate_size=row.intermediate_size,
        ),
        probe_set=row.probe_set,
        probe_set_hash=row.probe_set_hash,
        languages=list(row.languages),
        bridges=list(row.bridges),
        params=dict(row.params),
        status=row.status,
        tool_version=row.tool_version,
        started_at=_iso(row.started_at) or "",
        finished_at=_iso(row.finished_at),
        run_id=row.id,
        error=row.error,
    )


def _storable(text: str) -> bool:
    """Whether ``text`` can be a stored value (UTF-8: lone surrogates cannot)."""
    try:
        text.encode("utf-8")
    except UnicodeError:
        return False
    return True


def run_records(
    conn: Connection,
    model: str | None = None,
    *,
    status: str | None = None,
    run_ids: Iterable[int] | None = None,
) -> list[RunRecord]:
    """Return runs (oldest first), optionally of one model, one status or given ids."""
    if model is not None and not _storable(model):
        return []  # no stored key holds a lone surrogate
    query = _run_query()
    if model is not None:
        query = query.where(ModelProfileRow.model == model)
    if status is not None:
        query = query.where(ProbeRunRow.status == status)
    if run_ids is not None:
        query = query.where(ProbeRunRow.id.in_(list(run_ids)))
    query = query.order_by(ProbeRunRow.started_at, ProbeRunRow.id)
    return [_to_record(row) for row in conn.execute(query)]


def complete_models(conn: Connection) -> list[str]:
    """Return the models with at least one complete run, sorted."""
    query = (
        select(ModelProfileRow.model)
        .join(ProbeRunRow, ProbeRunRow.profile_id == ModelProfileRow.id)
        .where(ProbeRunRow.status == STATUS_COMPLETE)
        .distinct()
        .order_by(ModelProfileRow.model)
    )
    return list(conn.execute(query).scalars())


def provenance(run: RunRecord) -> dict[str, Any]:
    """Return the provenance dictionary attached to a :class:`Bridge`."""
    return {
        "run_id": run.run_id,
        "revision": run.profile.revision,
        "architecture": run.profile.architecture,
        "num_layers": run.profile.num_layers,
        "probe_set": run.probe_set,
        "probe_set_hash": run.probe_set_hash,
        "params": run.params,
        "tool_version": run.tool_version,
        "started_at": run.started_at,
        "finished_at": run.finished_at,
    }


def stored_identities(conn: Connection, identities: Iterable[str]) -> set[str]:
    """Return which of these run identities (any status) the database holds."""
    wanted = list(identities)
    if not wanted:
        return set()
    query = select(ProbeRunRow.identity).where(ProbeRunRow.identity.in_(wanted))
    return set(conn.execute(query).scalars())


def model_entries(
    conn: Connection,
    model: str,
    extra: Sequence[tuple[RunRecord, Sequence[ScoreRow]]] = (),
) -> dict[tuple[str, str], Entry]:
    """Return the lookup entries of a model, keyed (src, trg), from its newest complete runs.

    Args:
        conn: An open connection.
        model: The model key.
        extra: Complete runs held outside the database (the shipped tables of a read-only
            database), each with a ``run_id`` of its own (negative) and its score rows; they
            compete with the stored runs by the same newest-wins rule.
    """
    runs = {r.run_id: r for r in run_records(conn, model, status=STATUS_COMPLETE)}
    by_pair: dict[tuple[str, str], dict[int, list[RankedBridge]]] = {}
    if runs:
        a = AggregateScoreRow
        rows = conn.execute(
            select(a.run_id, *_AGGREGATE_COLUMNS).where(a.run_id.in_(list(runs)))
        ).all()
        for run_id, *values in rows:
            row = _aggregate_row(values)
            by_pair.setdefault((row.src, row.trg), {}).setdefault(run_id, []).append(
                _candidate(row)
            )
    for record, score_rows in extra:
        if record.profile.model != model or record.run_id is None:
            continue
        runs[record.run_id] = record
        for row in score_rows:
            if row.layer is None:
                by_pair.setdefault((row.src, row.trg), {}).setdefault(record.run_id, []).append(
                    _candidate(row)
                )
    if not runs:
        return {}

    def newness(run_id: int) -> tuple[datetime, int]:
        run = runs[run_id]
        return (parse_time(run.finished_at or run.started_at), run_id)

    entries: dict[tuple[str, str], Entry] = {}
    for (src, trg), per_run in by_pair.items():
        run_id = max(per_run, key=newness)
        ranking = rank(per_run[run_id])
        top = ranking[0]
        margin = top.score - ranking[1].score if len(ranking) > 1 else None
        best = Bridge(
            model=model,
            src=src,
            trg=trg,
            bridge=top.bridge,
            score=top.score,
            margin=margin,
            run_id=run_id,
            provenance=provenance(runs[run_id]),
            low=top.low,
            high=top.high,
            win_rate=top.win_rate,
            resamples=top.resamples,
        )
        entries[(src, trg)] = Entry(best=best, ranking=ranking)
    return entries


def run_scores(conn: Connection, run_id: int) -> list[ScoreRow]:
    """Return every score row of a run: per-layer rows, then aggregates, in key order."""
    layer_rows = conn.execute(
        select(
            LayerScoreRow.src,
            LayerScoreRow.trg,
            LayerScoreRow.bridge,
            LayerScoreRow.layer,
            LayerScoreRow.score,
        )
        .where(LayerScoreRow.run_id == run_id)
        .order_by(LayerScoreRow.src, LayerScoreRow.trg, LayerScoreRow.bridge, LayerScoreRow.layer)
    ).all()
    aggregate_rows = conn.execute(
        select(*_AGGREGATE_COLUMNS)
        .where(AggregateScoreRow.run_id == run_id)
        .order_by(AggregateScoreRow.src, AggregateScoreRow.trg, AggregateScoreRow.bridge)
    ).all()
    result = [ScoreRow(s, t, b, ell, v) for s, t, b, ell, v in layer_rows]
    result.extend(_aggregate_row(values) for values in aggregate_rows)
    return result


def run_render_checks(conn: Connection, run_id: int) -> list[RenderCheckRow]:
    """Return a run's render checks, sorted by source language, then bridge."""
    rows = conn.execute(
        select(
            RenderCheckTableRow.src,
            RenderCheckTableRow.bridge,
            RenderCheckTableRow.pairs,
            RenderCheckTableRow.gain,
            RenderCheckTableRow.gain_low,
            RenderCheckTableRow.gain_high,
        )
        .where(RenderCheckTableRow.run_id == run_id)
        .order_by(RenderCheckTableRow.src, RenderCheckTableRow.bridge)
    ).all()
    return [
        RenderCheckRow(
            str(src),
            str(bridge),
            int(pairs),
            float(gain),
            None if low is None else float(low),
            None if high is None else float(high),
        )
        for src, bridge, pairs, gain, low, high in rows
    ]


def run_competence(conn: Connection, run_id: int) -> list[CompetenceRow]:
    """Return a run's language competence rows, sorted by language."""
    rows = conn.execute(
        select(
            CompetenceTableRow.lang, CompetenceTableRow.texts, CompetenceTableRow.logprob_per_token
        )
        .where(CompetenceTableRow.run_id == run_id)
        .order_by(CompetenceTableRow.lang)
    ).all()
    return [CompetenceRow(str(lang), int(n), float(lp)) for lang, n, lp in rows]


def no_model_message(where: str, model: str, models: Sequence[str]) -> str:
    """Explain that a model has no complete run at all: which models there are, what to run.

    Example:
        >>> no_model_message("sqlite://", "x/y", ["google/gemma-3-270m"])[:52]
        "No complete probe run of model 'x/y' in the bridge t"
    """
    msg = f"No complete probe run of model {model!r} in the bridge table at {where}. "
    if models:
        msg += f"Models it has: {', '.join(models)}. "
    else:
        msg += "It holds no complete probe run at all. "
    return msg + (
        f"Build one with: bridgex-chain build-table --model {model}, or import an export with "
        "`bridgex-chain table import FILE`."
    )


def missing_message(
    where: str,
    model: str,
    src: str,
    trg: str,
    pairs: Sequence[tuple[str, str]],
    models: Sequence[str],
) -> str:
    """Explain a failed lookup: what the table has for the model (or which models) and what to run.

    Args:
        where: The database, for the message.
        model: The model looked up.
        src: Source language.
        trg: Target language.
        pairs: The model's (src, trg) entries.
        models: The models the table has (used when ``pairs`` is empty).
    """
    what = f"from {src}" + ("" if trg == src else f" to {trg}")
    msg = f"No bridge for model {model!r} {what} in the bridge table at {where}. "
    if pairs:
        shown = ", ".join(s if s == t else f"{s}->{t}" for s, t in pairs[:20])
        more = f" (and {len(pairs) - 20} more)" if len(pairs) > 20 else ""
        msg += f"For this model it has: {shown}{more}. "
    elif models:
        msg += f"It has no complete run for this model; models it has: {', '.join(models)}. "
    else:
        msg += "It holds no complete probe run at all. "
    langs = src if trg == src else f"{src} and {trg}"
    return msg + f"Build one with: bridgex-chain build-table --model {model} (languages {langs})."
