"""The bridge-table schema: SQLAlchemy 2 typed ORM classes (the alembic migrations mirror them).

Six tables:

- ``model_profiles`` — one row per (model key, revision): architecture and shape.
- ``probe_runs`` — one row per probe run (the unit of provenance and resumption): probe set and
  its content hash, languages, candidate bridges, parameters (JSON), status, timings, tool
  version, and ``identity``, a hash of what makes two runs "the same run" (see
  :func:`bridgex_chain.store.runs.run_identity`) that makes imports idempotent.
- ``bridge_scores`` — per-layer scores, keyed (run, src, trg, bridge, layer).
- ``bridge_aggregates`` — the score over the layer window, keyed (run, src, trg, bridge), with the
  number of layers that contributed and, when the run recorded a bootstrap over its probe
  prompts, ``score_low`` / ``score_high`` (the 2.5 % and 97.5 % percentiles of the score over the
  resamples), ``win_rate`` (the share of resamples in which the bridge ranked first) and
  ``resamples`` (how many). The four are NULL together (rows of older runs) or set together,
  with ``score_low <= score_high``, ``0 <= win_rate <= 1`` and ``resamples >= 1``; the interval
  may exclude ``score`` (revision 0003).
- ``render_checks`` — the build's render stage, keyed (run, src, bridge): ``pairs`` parallel
  pairs (>= 1), ``gain`` (per-token log-likelihood gain of the gold bridge sentence given the
  source) and its 95 % interval ``gain_low`` / ``gain_high`` (NULL together with one pair,
  ``gain_low <= gain_high``) (revision 0003).
- ``language_competence`` — keyed (run, lang): ``texts`` (>= 1) and ``logprob_per_token``, the
  model's mean log-probability per token of texts in the language (revision 0003).

Why aggregates have their own table: the original data model stored the aggregate as a
``bridge_scores`` row with ``layer IS NULL``. SQL treats NULLs as distinct, so a unique key
containing ``layer`` never stops two aggregate rows for the same key (revision 0001 needed an
extra partial unique index for that). A separate table gives the aggregate a real primary key,
lets ``layer`` be ``NOT NULL`` with a ``CHECK (layer >= 0)``, carries ``layers_scored`` (which only
makes sense for the aggregate), and is the small table request-time lookups read. Revision 0002
moved existing aggregate rows over.

Example:
    >>> from bridgex_chain.store.schema import Base
    >>> sorted(Base.metadata.tables)
    ['bridge_aggregates', 'bridge_scores', 'language_competence', 'model_profiles', 'probe_runs',
     'render_checks']
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    CheckConstraint,
    DateTime,
    Double,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship

__all__ = [
    "RUN_STATUSES",
    "STATUS_COMPLETE",
    "STATUS_FAILED",
    "STATUS_RUNNING",
    "AggregateScoreRow",
    "Base",
    "CompetenceTableRow",
    "LayerScoreRow",
    "ModelProfileRow",
    "ProbeRunRow",
    "RenderCheckTableRow",
]

STATUS_RUNNING = "running"
STATUS_COMPLETE = "complete"
STATUS_FAILED = "failed"
#: Every value ``probe_runs.status`` may hold.
RUN_STATUSES = (STATUS_RUNNING, STATUS_COMPLETE, STATUS_FAILED)

#: Constraint and index names are deterministic, so migrations can name what they alter.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}

#: CHECK of ``bridge_aggregates``: the bootstrap figures are all NULL or all set (revision 0003
#: spells the same text).
_CONFIDENCE_TOGETHER = (
    "(score_low IS NULL AND score_high IS NULL AND win_rate IS NULL AND resamples IS NULL) OR "
    "(score_low IS NOT NULL AND score_high IS NOT NULL AND win_rate IS NOT NULL "
    "AND resamples IS NOT NULL)"
)

_MODEL_LEN = 512
_LANG_LEN = 32


class Base(DeclarativeBase):
    """Declarative base of the bridge-table schema (carries the naming convention)."""

    metadata = MetaData(naming_convention=NAMING_CONVENTION)


class ModelProfileRow(Base):
    """A probed model: canonical key, revision or config hash, architecture and shape."""

    __tablename__ = "model_profiles"
    __table_args__ = (
        UniqueConstraint("model", "revision"),
        CheckConstraint("num_layers > 0", name="num_layers_positive"),
        CheckConstraint("intermediate_size > 0", name="intermediate_size_positive"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    model: Mapped[str] = mapped_column(String(_MODEL_LEN))
    revision: Mapped[str] = mapped_column(String(255))
    architecture: Mapped[str] = mapped_column(String(128))
    num_layers: Mapped[int] = mapped_column(Integer)
    intermediate_size: Mapped[int] = mapped_column(Integer)

    runs: Mapped[list[ProbeRunRow]] = relationship(back_populates="profile")


class ProbeRunRow(Base):
    """One probe run of one model: provenance, parameters and status."""

    __tablename__ = "probe_runs"
    __table_args__ = (
        CheckConstraint(
            "status IN ('running', 'complete', 'failed')",
            name="status",
        ),
        Index("ix_probe_runs_profile_id_status", "profile_id", "status"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    profile_id: Mapped[int] = mapped_column(ForeignKey("model_profiles.id", ondelete="RESTRICT"))
    identity: Mapped[str] = mapped_column(String(64), unique=True)
    probe_set: Mapped[str] = mapped_column(String(255))
    probe_set_hash: Mapped[str] = mapped_column(String(128))
    languages: Mapped[list[str]] = mapped_column(JSON)
    bridges: Mapped[list[str]] = mapped_column(JSON)
    params: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    tool_version: Mapped[str] = mapped_column(String(64))
    started_at: Mapped[datetime] = mapped_column(DateTime(timezone=True))
    finished_at: Mapped[datetime | None] = mapped_column(DateTime(timezone=True))

    profile: Mapped[ModelProfileRow] = relationship(back_populates="runs")


class LayerScoreRow(Base):
    """The score of one candidate bridge at one layer for one (src, trg) entry of a run."""

    __tablename__ = "bridge_scores"
    __table_args__ = (CheckConstraint("layer >= 0", name="layer_non_negative"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("probe_runs.id", ondelete="CASCADE"), primary_key=True
    )
    src: Mapped[str] = mapped_column(String(_LANG_LEN), primary_key=True)
    trg: Mapped[str] = mapped_column(String(_LANG_LEN), primary_key=True)
    bridge: Mapped[str] = mapped_column(String(_LANG_LEN), primary_key=True)
    layer: Mapped[int] = mapped_column(Integer, primary_key=True, autoincrement=False)
    score: Mapped[float] = mapped_column(Double)


class AggregateScoreRow(Base):
    """The score of one candidate bridge over the layer window for one (src, trg) of a run."""

    __tablename__ = "bridge_aggregates"
    __table_args__ = (
        CheckConstraint("layers_scored >= 0", name="layers_scored_non_negative"),
        CheckConstraint("win_rate >= 0 AND win_rate <= 1", name="win_rate_range"),
        CheckConstraint("resamples >= 1", name="resamples_positive"),
        CheckConstraint("score_low <= score_high", name="interval_ordered"),
        CheckConstraint(_CONFIDENCE_TOGETHER, name="confidence_together"),
    )

    run_id: Mapped[int] = mapped_column(
        ForeignKey("probe_runs.id", ondelete="CASCADE"), primary_key=True
    )
    src: Mapped[str] = mapped_column(String(_LANG_LEN), primary_key=True)
    trg: Mapped[str] = mapped_column(String(_LANG_LEN), primary_key=True)
    bridge: Mapped[str] = mapped_column(String(_LANG_LEN), primary_key=True)
    score: Mapped[float] = mapped_column(Double)
    layers_scored: Mapped[int] = mapped_column(Integer)
    score_low: Mapped[float | None] = mapped_column(Double)
    score_high: Mapped[float | None] = mapped_column(Double)
    win_rate: Mapped[float | None] = mapped_column(Double)
    resamples: Mapped[int | None] = mapped_column(Integer)


class RenderCheckTableRow(Base):
    """The render gain of one (src, bridge) pair of a run, with its 95 % interval."""

    __tablename__ = "render_checks"
    __table_args__ = (
        CheckConstraint("pairs >= 1", name="pairs_positive"),
        CheckConstraint("gain_low <= gain_high", name="interval_ordered"),
        CheckConstraint(
            "(gain_low IS NULL AND gain_high IS NULL) OR "
            "(gain_low IS NOT NULL AND gain_high IS NOT NULL)",
            name="interval_together",
        ),
    )

    run_id: Mapped[int] = mapped_column(
        ForeignKey("probe_runs.id", ondelete="CASCADE"), primary_key=True
    )
    src: Mapped[str] = mapped_column(String(_LANG_LEN), primary_key=True)
    bridge: Mapped[str] = mapped_column(String(_LANG_LEN), primary_key=True)
    pairs: Mapped[int] = mapped_column(Integer)
    gain: Mapped[float] = mapped_column(Double)
    gain_low: Mapped[float | None] = mapped_column(Double)
    gain_high: Mapped[float | None] = mapped_column(Double)


class CompetenceTableRow(Base):
    """The model's competence in one language of a run: mean log-probability per token."""

    __tablename__ = "language_competence"
    __table_args__ = (CheckConstraint("texts >= 1", name="texts_positive"),)

    run_id: Mapped[int] = mapped_column(
        ForeignKey("probe_runs.id", ondelete="CASCADE"), primary_key=True
    )
    lang: Mapped[str] = mapped_column(String(_LANG_LEN), primary_key=True)
    texts: Mapped[int] = mapped_column(Integer)
    logprob_per_token: Mapped[float] = mapped_column(Double)
