"""Bootstrap figures on aggregate scores: interval, win rate and resample count.

The probing layer now resamples an entry's probe prompts (a seeded bootstrap) and records, per
candidate bridge, the 2.5 % and 97.5 % percentiles of its aggregate score over the resamples and
its win rate (the share of resamples in which it ranked first). ``bridge_aggregates`` gets four
nullable columns for them:

- ``score_low``, ``score_high`` (double): the percentile interval, ``score_low <= score_high``
  (it may exclude ``score``: a percentile interval need not contain the point estimate);
- ``win_rate`` (double): in [0, 1];
- ``resamples`` (integer): at least 1;

all NULL (rows of runs without a bootstrap, every row before this revision) or all set.

Every row survives both ways: upgrade leaves the new columns NULL, downgrade drops them.

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


def upgrade() -> None:
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
