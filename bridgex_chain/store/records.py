"""Plain records exchanged between the probing engine (writer), the store and the chain (reader).

They carry no SQLAlchemy state, so they are cheap to cache and safe to share between threads.

Example:
    >>> from bridgex_chain.store.records import Bridge
    >>> b = Bridge(model="google/gemma-3-270m", src="swh_Latn", trg="swh_Latn",
    ...            bridge="fra_Latn", score=0.41, margin=0.02, run_id=1)
    >>> b.bridge
    'fra_Latn'
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from bridgex_chain.errors import SchemaError

__all__ = [
    "IMPORT_ACTIONS",
    "Bridge",
    "CompetenceRow",
    "ImportedRun",
    "ModelProfile",
    "RankedBridge",
    "RenderCheckRow",
    "RunRecord",
    "ScoreRow",
    "format_score",
]

#: What an import did with one run of a file (:attr:`ImportedRun.action`).
IMPORT_ACTIONS = ("added", "unchanged", "kept", "replaced")


def format_score(value: float | None, digits: int = 3) -> str:
    """A bridge score (HSIC aggregates are often ~1e-8) written so a person can read it.

    Scores in [0.001, 1000) keep ``digits`` decimals; smaller or larger ones are written in
    scientific notation with ``digits`` significant decimals; ``None`` (no score) and NaN are
    ``"n/a"``. Never prints a non-zero score as ``0.000``.

    Example:
        >>> format_score(0.4123), format_score(3.2e-08), format_score(0.0), format_score(None)
        ('0.412', '3.200e-08', '0', 'n/a')
    """
    if value is None or value != value:  # None or NaN
        return "n/a"
    if value == 0:
        return "0"
    if 1e-3 <= abs(value) < 1e3:
        return f"{value:.{digits}f}"
    return f"{value:.{digits}e}"


@dataclass(frozen=True, slots=True)
class Bridge:
    """The best bridge language for one (model, source, target) entry.

    Attributes:
        model: Canonical model key (see :func:`bridgex_chain.models.model_key`).
        src: FLORES-200 code of the user's (query) language.
        trg: FLORES-200 code of the answer language (``src`` for single-language chat).
        bridge: FLORES-200 code of the chosen bridge language.
        score: Aggregate HSIC score of the bridge over the layer window.
        margin: Score minus the runner-up's score (``None`` when only one candidate).
        run_id: Id of the probe run that produced the score.
        provenance: Run metadata (probe set, parameters, model revision, tool version).
        low: 2.5 % percentile of the bridge's score over bootstrap resamples of the probe
            prompts (None: the run recorded no bootstrap).
        high: 97.5 % percentile (None as ``low``). The interval may exclude ``score``.
        win_rate: Share of the resamples in which the bridge ranked first, in [0, 1].
        resamples: Resamples the figures come from.
    """

    model: str
    src: str
    trg: str
    bridge: str
    score: float
    margin: float | None
    run_id: int
    provenance: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)
    low: float | None = None
    high: float | None = None
    win_rate: float | None = None
    resamples: int | None = None


@dataclass(frozen=True, slots=True)
class RankedBridge:
    """One candidate bridge in a ranking, best first (``rank`` starts at 1; ties share a rank).

    Attributes:
        bridge: FLORES-200 code of the candidate.
        score: Its aggregate score over the layer window.
        rank: Its rank (ties share one: 1, 1, 3).
        layers_scored: How many layers of the window had a score.
        low: 2.5 % percentile of the score over bootstrap resamples of the probe prompts
            (None: the run recorded no bootstrap).
        high: 97.5 % percentile (None as ``low``).
        win_rate: Share of the resamples in which the candidate ranked first, in [0, 1].
        resamples: Resamples the figures come from.

    Example:
        >>> r = RankedBridge("fra_Latn", 4.1e-08, 1, 6, 3.2e-08, 5.0e-08, 0.87, 200)
        >>> r.win_rate, RankedBridge("eng_Latn", 0.3, 2, 6).low
        (0.87, None)
    """

    bridge: str
    score: float
    rank: int
    layers_scored: int
    low: float | None = None
    high: float | None = None
    win_rate: float | None = None
    resamples: int | None = None


@dataclass(frozen=True, slots=True)
class ScoreRow:
    """One bridge score: per layer, or the aggregate over the layer window when ``layer`` is None.

    Attributes:
        src: FLORES-200 code of the source language.
        trg: FLORES-200 code of the target language (``src`` for the single-language entry).
        bridge: FLORES-200 code of the candidate bridge.
        layer: Layer index (0-based), or None for the aggregate over the layer window.
        score: The HSIC-based score.
        layers_scored: Aggregate rows only: how many layers of the window had a score. When
            None, the store counts the run's per-layer rows stored for the same key.
        low: Aggregate rows only: 2.5 % percentile of the aggregate over bootstrap resamples of
            the probe prompts. ``low``, ``high``, ``win_rate`` and ``resamples`` come together
            (all four or none); ``low <= high``, but the interval may exclude ``score``.
        high: Aggregate rows only: the 97.5 % percentile.
        win_rate: Aggregate rows only: share of the resamples in which the bridge ranked first,
            in [0, 1].
        resamples: Aggregate rows only: how many resamples the figures come from (at least 1).

    Example:
        >>> row = ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", None, 4.1e-08, 6,
        ...                low=3.2e-08, high=5.0e-08, win_rate=0.87, resamples=200)
        >>> row.has_confidence, ScoreRow("swh_Latn", "swh_Latn", "fra_Latn", 3, 0.1).has_confidence
        (True, False)
    """

    src: str
    trg: str
    bridge: str
    layer: int | None
    score: float
    layers_scored: int | None = None
    low: float | None = None
    high: float | None = None
    win_rate: float | None = None
    resamples: int | None = None

    @property
    def has_confidence(self) -> bool:
        """True when any bootstrap figure (low, high, win_rate, resamples) is set."""
        return any(v is not None for v in (self.low, self.high, self.win_rate, self.resamples))


@dataclass(frozen=True, slots=True)
class RenderCheckRow:
    """The render gain of one (source language, bridge) pair of a run.

    The render gain is the per-token log-likelihood gain of the gold bridge sentence given the
    source sentence (teacher-forced, against without it), averaged over parallel pairs.

    Attributes:
        src: FLORES-200 code of the source (user's) language.
        bridge: FLORES-200 code of the bridge language rendered into.
        pairs: How many parallel sentence pairs the gain is averaged over (at least 1).
        gain: The mean render gain (nats per token).
        low: Lower end of its 95 % interval (None with one pair: no interval).
        high: Upper end (None as ``low``); ``low <= high``, both or neither.

    Example:
        >>> RenderCheckRow("swh_Latn", "eng_Latn", 32, 0.41, 0.30, 0.52).high
        0.52
        >>> RenderCheckRow("swh_Latn", "eng_Latn", 1, 0.41).low is None
        True
    """

    src: str
    bridge: str
    pairs: int
    gain: float
    low: float | None = None
    high: float | None = None


@dataclass(frozen=True, slots=True)
class CompetenceRow:
    """How well the model reads one language of a run: mean log-probability per token.

    Attributes:
        lang: FLORES-200 code of the language.
        texts: How many texts the figure is averaged over (at least 1).
        logprob_per_token: Mean log-probability per token of those texts (nats, <= 0 usually).

    Example:
        >>> CompetenceRow("swh_Latn", 32, -2.7).logprob_per_token
        -2.7
    """

    lang: str
    texts: int
    logprob_per_token: float


@dataclass(frozen=True, slots=True)
class ModelProfile:
    """What identifies a probed model: its key, revision or config hash, and shape."""

    model: str
    revision: str
    architecture: str
    num_layers: int
    intermediate_size: int


@dataclass(slots=True)
class RunRecord:
    """A probe run: the unit of resumption and provenance.

    Attributes:
        profile: The model probed.
        probe_set: Name of the probe set (e.g. ``"cldr-starter"`` or a MUSE directory name).
        probe_set_hash: Content hash of the probe set.
        languages: Every language involved (FLORES-200 codes).
        bridges: Candidate bridges scored.
        params: Run parameters (top rate, layer window, batch size, ...), JSON-serialisable.
        status: ``"running"``, ``"complete"`` or ``"failed"``.
        tool_version: bridgex-chain version that produced the run.
        started_at: ISO-8601 UTC start time.
        finished_at: ISO-8601 UTC end time, when finished.
        run_id: Database id once stored.
        error: Why the run failed (``status == "failed"``).
    """

    profile: ModelProfile
    probe_set: str
    probe_set_hash: str
    languages: list[str]
    bridges: list[str]
    params: dict[str, Any]
    status: str = "running"
    tool_version: str = ""
    started_at: str = ""
    finished_at: str | None = None
    run_id: int | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class ImportedRun:
    """What importing a bridge-table file did with one of its runs.

    Attributes:
        run_id: Database id of the run (new or already stored).
        model: The run's model key.
        started_at: The run's start time (with the model, what names it in messages).
        action: ``"added"`` (new run), ``"unchanged"`` (already stored with the same scores),
            ``"kept"`` (already stored with *different* scores, which were kept: import with
            ``replace=True`` to overwrite them) or ``"replaced"`` (the stored run was
            overwritten).

    Example:
        >>> ImportedRun(3, "google/gemma-3-270m", "2025-01-01T00:00:00+00:00", "kept").action
        'kept'
    """

    run_id: int
    model: str
    started_at: str
    action: str


def parse_time(value: str | datetime) -> datetime:
    """Parse an ISO-8601 time (naive means UTC) into an aware UTC datetime.

    Raises:
        SchemaError: Not an ISO-8601 time.

    Example:
        >>> parse_time("2025-01-01T02:00:00+02:00").isoformat()
        '2025-01-01T00:00:00+00:00'
    """
    if isinstance(value, str):
        try:
            value = datetime.fromisoformat(value)
        except ValueError:
            raise SchemaError(f"{value!r} is not an ISO-8601 time.") from None
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)
