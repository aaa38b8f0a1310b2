"""What a table build reports: progress events, per-entry results and the build result.

Example:
    >>> ProgressEvent("scores", 3, 12, "swh_Latn__swh_Latn").fraction
    0.25
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Literal

from bridgex_chain.probing.bridges import Ranking
from bridgex_chain.probing.confidence import BridgeConfidence
from bridgex_chain.probing.render_check import LanguageChecks
from bridgex_chain.store.records import RankedBridge, ScoreRow

__all__ = [
    "STAGES",
    "BuildResult",
    "BuildStatus",
    "EntryResult",
    "ProgressCallback",
    "ProgressEvent",
    "StageClock",
]

#: How a build ended: from scratch, reusing cached steps, or nothing to do.
BuildStatus = Literal["built", "resumed", "unchanged"]

#: Progress stages, in order (``understood`` only with ``filter_understood``, ``render`` only
#: with a parallel corpus).
STAGES: tuple[str, ...] = (
    "load",
    "neurons",
    "understood",
    "probes",
    "scores",
    "render",
    "write",
)


@dataclass(frozen=True)
class ProgressEvent:
    """One progress report: ``done`` of ``total`` units of a stage (see :data:`STAGES`).

    Units: ``load``/``write`` 0..1, ``neurons`` languages, ``understood``/``probes`` prompts,
    ``scores`` entries. ``detail`` names what is being worked on.

    Example:
        >>> ProgressEvent("probes", 32, 128).fraction
        0.25
    """

    stage: str
    done: int
    total: int
    detail: str = ""

    @property
    def fraction(self) -> float:
        """``done / total`` (1.0 for an empty stage)."""
        return self.done / self.total if self.total else 1.0


ProgressCallback = Callable[[ProgressEvent], None]


@dataclass(frozen=True)
class EntryResult:
    """The scores of one entry ``(src, trg)`` (``trg == src`` for single-language chat).

    Attributes:
        src: Source language.
        trg: Target language.
        prompts: Probe prompts the scores were computed over.
        per_layer: ``{bridge: {layer: score}}`` (layers without a score are absent).
        ranking: Bridges ranked by their aggregate over the layer window.
        confidence: Each candidate's bootstrap interval and win rate (empty: not computed).
    """

    src: str
    trg: str
    prompts: int
    per_layer: Mapping[str, Mapping[int, float]]
    ranking: Ranking
    confidence: Mapping[str, BridgeConfidence] = field(default_factory=dict)

    @property
    def best(self) -> RankedBridge | None:
        """The best bridge, or None when no bridge could be scored."""
        return self.ranking.best

    def rows(self) -> list[ScoreRow]:
        """Per-layer rows of every bridge, then its aggregate and its figures.

        The aggregate row carries the window's layer count and, when the bootstrap ran, the
        interval, win rate and resamples.
        """
        ranked = {r.bridge: r for r in self.ranking.ranked}
        rows: list[ScoreRow] = []
        for bridge, layers in self.per_layer.items():
            rows.extend(
                ScoreRow(self.src, self.trg, bridge, ell, s) for ell, s in sorted(layers.items())
            )
            if bridge in ranked:
                r = ranked[bridge]
                c = self.confidence.get(bridge)
                if c is not None and c.resamples and c.low is not None and c.high is not None:
                    row = ScoreRow(
                        self.src,
                        self.trg,
                        bridge,
                        None,
                        r.score,
                        r.layers_scored,
                        low=c.low,
                        high=c.high,
                        win_rate=c.win_rate,
                        resamples=c.resamples,
                    )
                else:
                    row = ScoreRow(self.src, self.trg, bridge, None, r.score, r.layers_scored)
                rows.append(row)
        return rows


@dataclass(frozen=True)
class BuildResult:
    """What a build produced and where it went.

    Attributes:
        run_id: The run's id in the database.
        run_key: The run key (hash of model revision, probe set, languages and parameters).
        status: ``"built"`` (from scratch), ``"resumed"`` (cached steps reused) or
            ``"unchanged"`` (an identical complete run was already stored; nothing ran).
        model: Model key.
        revision: Model revision.
        database_url: The bridge table's URL (password hidden).
        cache_path: The run's intermediates directory.
        window: Layer window ``(first, last)`` of the aggregates.
        entries: One result per entry, in build order.
        rows_written: Score rows stored (per-layer and aggregate).
        timings: Seconds per stage (and ``total``).
        export_path: Where the run was exported as JSON, if asked.
        checks: Per chat language, its competence and render checks (empty without a
            parallel corpus); an unchanged run reads them from the table.
    """

    run_id: int
    run_key: str
    status: BuildStatus
    model: str
    revision: str
    database_url: str
    cache_path: Path
    window: tuple[int, int]
    entries: tuple[EntryResult, ...]
    rows_written: int
    timings: Mapping[str, float] = field(default_factory=dict)
    export_path: Path | None = None
    checks: Mapping[str, LanguageChecks] = field(default_factory=dict)

    def rows(self) -> list[ScoreRow]:
        """Every score row of the run."""
        return [row for entry in self.entries for row in entry.rows()]


class StageClock:
    """Sends :class:`ProgressEvent` to a callback and adds up the seconds of each stage.

    Example:
        >>> clock = StageClock(None)
        >>> with clock.stage("probes"):
        ...     clock.emit("probes", 1, 2)
        >>> sorted(clock.total())
        ['probes', 'total']
    """

    def __init__(self, callback: ProgressCallback | None) -> None:
        self.callback = callback
        self.timings: dict[str, float] = {}
        self.started = time.perf_counter()

    def emit(self, stage: str, done: int, total: int, detail: str = "") -> None:
        """Report ``done`` of ``total`` units of ``stage``."""
        if self.callback is not None:
            self.callback(ProgressEvent(stage, done, total, detail))

    @contextmanager
    def stage(self, name: str) -> Iterator[None]:
        """Time the block as (part of) stage ``name``."""
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = self.timings.get(name, 0.0) + time.perf_counter() - start

    def total(self) -> dict[str, float]:
        """Seconds per stage, and ``total`` since the clock was made."""
        return {**self.timings, "total": time.perf_counter() - self.started}
