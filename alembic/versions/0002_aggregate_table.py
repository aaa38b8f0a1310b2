"""Move aggregate scores to their own table; per-layer scores get a natural primary key.

Revision 0001 stored the layer-window aggregate as a ``bridge_scores`` row with ``layer`` NULL,
which needed a partial unique index to stay unique. Now:

- ``bridge_aggregates`` (run, src, trg, bridge) primary key, with ``layers_scored``. Existing
  aggregate rows are copied over; their ``layers_scored`` is the number of per-layer rows stored
  for the same key (0001 did not record it).
- ``bridge_scores`` loses its surrogate ``id``: (run, src, trg, bridge, layer) is the primary key,
  ``layer`` is NOT NULL and ``CHECK (layer >= 0)``.

Every row survives: downgrade puts the aggregates back as NULL-layer rows.

Revision ID: 0002
Revises: 0001
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_KEY = ["run_id", "src", "trg", "bridge"]


def upgrade() -> None:
    op.create_table(
        "bridge_aggregates",
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("src", sa.String(length=32), nullable=False),
        sa.Column("trg", sa.String(length=32), nullable=False),
        sa.Column("bridge", sa.String(length=32), nullable=False),
        sa.Column("score", sa.Double(), nullable=False),
        sa.Column("layers_scored", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "layers_scored >= 0", name=op.f("ck_bridge_aggregates_layers_scored_non_negative")
        ),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["probe_runs.id"],
            name=op.f("fk_bridge_aggregates_run_id_probe_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint(*_KEY, name=op.f("pk_bridge_aggregates")),
    )
    op.execute(
        "INSERT INTO bridge_aggregates (run_id, src, trg, bridge, score, layers_scored) "
        "SELECT a.run_id, a.src, a.trg, a.bridge, a.score, "
        "(SELECT count(*) FROM bridge_scores l WHERE l.run_id = a.run_id AND l.src = a.src "
        "AND l.trg = a.trg AND l.bridge = a.bridge AND l.layer IS NOT NULL) "
        "FROM bridge_scores a WHERE a.layer IS NULL"
    )
    op.execute("DELETE FROM bridge_scores WHERE layer IS NULL")
    op.drop_index("uq_bridge_scores_aggregate", table_name="bridge_scores")
    with op.batch_alter_table("bridge_scores") as batch:
        batch.drop_constraint(op.f("uq_bridge_scores_run_id_src_trg_bridge_layer"), type_="unique")
        batch.drop_column("id")
        batch.alter_column("layer", existing_type=sa.Integer(), nullable=False)
        batch.create_primary_key(op.f("pk_bridge_scores"), [*_KEY, "layer"])
        batch.create_check_constraint(op.f("ck_bridge_scores_layer_non_negative"), "layer >= 0")


def downgrade() -> None:
    # Rebuild the 0001 table beside the current one, copy every row, then swap.
    op.rename_table("bridge_scores", "bridge_scores_0002")
    if op.get_bind().dialect.name == "postgresql":
        # Index-backed constraint names are schema-wide in PostgreSQL: free them first.
        op.drop_constraint("pk_bridge_scores", "bridge_scores_0002", type_="primary")
    op.create_table(
        "bridge_scores",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("run_id", sa.Integer(), nullable=False),
        sa.Column("src", sa.String(length=32), nullable=False),
        sa.Column("trg", sa.String(length=32), nullable=False),
        sa.Column("bridge", sa.String(length=32), nullable=False),
        sa.Column("layer", sa.Integer(), nullable=True),
        sa.Column("score", sa.Double(), nullable=False),
        sa.ForeignKeyConstraint(
            ["run_id"],
            ["probe_runs.id"],
            name=op.f("fk_bridge_scores_run_id_probe_runs"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_bridge_scores")),
        sa.UniqueConstraint(
            *_KEY, "layer", name=op.f("uq_bridge_scores_run_id_src_trg_bridge_layer")
        ),
    )
    op.create_index(
        "uq_bridge_scores_aggregate",
        "bridge_scores",
        _KEY,
        unique=True,
        sqlite_where=sa.text("layer IS NULL"),
        postgresql_where=sa.text("layer IS NULL"),
    )
    op.execute(
        "INSERT INTO bridge_scores (run_id, src, trg, bridge, layer, score) "
        "SELECT run_id, src, trg, bridge, layer, score FROM bridge_scores_0002 "
        "ORDER BY run_id, src, trg, bridge, layer"
    )
    op.execute(
        "INSERT INTO bridge_scores (run_id, src, trg, bridge, layer, score) "
        "SELECT run_id, src, trg, bridge, NULL, score FROM bridge_aggregates"
    )
    op.drop_table("bridge_scores_0002")
    op.drop_table("bridge_aggregates")
