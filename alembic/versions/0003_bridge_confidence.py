"""Bootstrap figures on aggregate scores; render checks and language competence of a run.

The probing layer now resamples an entry's probe prompts (a seeded bootstrap) and records, per
candidate bridge, the 2.5 % and 97.5 % percentiles of its aggregate score over the resamples and
its win rate (the share of resamples in which it ranked first). ``bridge_aggregates`` gets four
nullable columns for them:

- ``score_low``, ``score_high`` (double): the percentile interval, ``score_low <= score_high``
  (it may exclude ``score``: a percentile interval need not contain the point estimate);
- ``win_rate`` (double): in [0, 1];
- ``resamples`` (integer): at least 1;

all NULL (rows of runs without a bootstrap, every row before this revision) or all set.

Two new tables hold the build's render stage (what ``probing/render_check.py`` measures):

- ``render_checks`` — per (run, src, bridge): ``pairs`` (integer, at least 1) parallel pairs,
  ``gain`` (double: the per-token log-likelihood gain of the gold bridge sentence given the
  source) and its 95 % interval ``gain_low`` / ``gain_high`` (NULL with one pair; both or
  neither, ``gain_low <= gain_high``);
- ``language_competence`` — per (run, lang): ``texts`` (integer, at least 1) and
  ``logprob_per_token`` (double).

Both cascade with their run. Every row survives both ways: upgrade leaves the new columns NULL
and the new tables empty, downgrade drops them.

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-03
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_TABLE = "bridge_aggregates"

#: (constraint name, condition); the names follow the schema's naming convention.
_CHECKS = [
    ("ck_bridge_aggregates_win_rate_range", "win_rate >= 0 AND win_rate <= 1"),
    ("ck_bridge_aggregates_resamples_positive", "resamples >= 1"),
    ("ck_bridge_aggregates_interval_ordered", "score_low <= score_high"),
    (
        "ck_bridge_aggregates_confidence_together",
        "(score_low IS NULL AND score_high IS NULL AND win_rate IS NULL AND resamples IS NULL) OR "
        "(score_low IS NOT NULL AND score_high IS NOT NULL AND win_rate IS NOT NULL "
        "AND resamples IS NOT NULL)",
    ),
]


def _run_fk(table: str) -> sa.ForeignKeyConstraint:
    return sa.ForeignKeyConstraint(
        ["run_id"],
        ["probe_runs.id"],
        name=op.f(f"fk_{table}_run_id_probe_runs"),
        ondelete="CASCADE",
    )


def upgrade() -> None:
    op.create_table(
        "render_checks",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("src", sa.String(length=32), nullable=False),
        sa.Column("bridge", sa.String(length=32), nullable=False),
        sa.Column("pairs", sa.Integer(), nullable=False),
        sa.Column("gain", sa.Double(), nullable=False),
        sa.Column("gain_low", sa.Double(), nullable=True),
        sa.Column("gain_high", sa.Double(), nullable=True),
        sa.CheckConstraint("pairs >= 1", name=op.f("ck_render_checks_pairs_positive")),
        sa.CheckConstraint("gain_low <= gain_high", name=op.f("ck_render_checks_interval_ordered")),
        sa.CheckConstraint(
            "(gain_low IS NULL AND gain_high IS NULL) OR "
            "(gain_low IS NOT NULL AND gain_high IS NOT NULL)",
            name=op.f("ck_render_checks_interval_together"),
        ),
        _run_fk("render_checks"),
        sa.PrimaryKeyConstraint("run_id", "src", "bridge", name=op.f("pk_render_checks")),
    )
    op.create_table(
        "language_competence",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("lang", sa.String(length=32), nullable=False),
        sa.Column("texts", sa.Integer(), nullable=False),
        sa.Column("logprob_per_token", sa.Double(), nullable=False),
        sa.CheckConstraint("texts >= 1", name=op.f("ck_language_competence_texts_positive")),
        _run_fk("language_competence"),
        sa.PrimaryKeyConstraint("run_id", "lang", name=op.f("pk_language_competence")),
    )
    with op.batch_alter_table(_TABLE) as batch:
        batch.add_column(sa.Column("score_low", sa.Double(), nullable=True))
        batch.add_column(sa.Column("score_high", sa.Double(), nullable=True))
        batch.add_column(sa.Column("win_rate", sa.Double(), nullable=True))
        batch.add_column(sa.Column("resamples", sa.Integer(), nullable=True))
        for name, condition in _CHECKS:
            batch.create_check_constraint(op.f(name), condition)


def downgrade() -> None:
    with op.batch_alter_table(_TABLE) as batch:
        for name, _ in reversed(_CHECKS):
            batch.drop_constraint(op.f(name), type_="check")
        batch.drop_column("resamples")
        batch.drop_column("win_rate")
        batch.drop_column("score_high")
        batch.drop_column("score_low")
    op.drop_table("language_competence")
    op.drop_table("render_checks")
