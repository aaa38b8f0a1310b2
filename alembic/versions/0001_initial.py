"""Initial bridge-table schema: model profiles, probe runs and bridge scores.

This is the data model of ARCHITECTURE.md as first written: the aggregate score over the layer
window is a ``bridge_scores`` row whose ``layer`` is NULL. Because SQL treats NULLs as distinct,
the unique key (run, src, trg, bridge, layer) alone would allow duplicate aggregate rows; a partial
unique index over ``layer IS NULL`` closes that hole. Revision 0002 moves aggregates to a table
of their own.

Revision ID: 0001
Revises:
Create Date: 2025-11-25
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.create_table(
        "model_profiles",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("model", sa.String(length=512), nullable=False),
        sa.Column("revision", sa.String(length=255), nullable=False),
        sa.Column("architecture", sa.String(length=128), nullable=False),
        sa.Column("num_layers", sa.Integer(), nullable=False),
        sa.Column("intermediate_size", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "intermediate_size > 0", name=op.f("ck_model_profiles_intermediate_size_positive")
        ),
        sa.CheckConstraint("num_layers > 0", name=op.f("ck_model_profiles_num_layers_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_model_profiles")),
        sa.UniqueConstraint("model", "revision", name=op.f("uq_model_profiles_model_revision")),
    )
    op.create_table(
        "probe_runs",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("profile_id", sa.Integer(), nullable=False),
        sa.Column("identity", sa.String(length=64), nullable=False),
        sa.Column("probe_set", sa.String(length=255), nullable=False),
        sa.Column("probe_set_hash", sa.String(length=128), nullable=False),
        sa.Column("languages", sa.JSON(), nullable=False),
        sa.Column("bridges", sa.JSON(), nullable=False),
        sa.Column("params", sa.JSON(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("tool_version", sa.String(length=64), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('running', 'complete', 'failed')", name=op.f("ck_probe_runs_status")
        ),
        sa.ForeignKeyConstraint(
            ["profile_id"],
            ["model_profiles.id"],
            name=op.f("fk_probe_runs_profile_id_model_profiles"),
            ondelete="RESTRICT",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probe_runs")),
        sa.UniqueConstraint("identity", name=op.f("uq_probe_runs_identity")),
    )
    op.create_index(
        "ix_probe_runs_profile_id_status", "probe_runs", ["profile_id", "status"], unique=False
    )
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
            "run_id",
            "src",
            "trg",
            "bridge",
            "layer",
            name=op.f("uq_bridge_scores_run_id_src_trg_bridge_layer"),
        ),
    )
    # NULL layer = the aggregate row; NULLs never collide in a unique key, hence this index.
    op.create_index(
        "uq_bridge_scores_aggregate",
        "bridge_scores",
        ["run_id", "src", "trg", "bridge"],
        unique=True,
        sqlite_where=sa.text("layer IS NULL"),
        postgresql_where=sa.text("layer IS NULL"),
    )


def downgrade() -> None:
    op.drop_index("uq_bridge_scores_aggregate", table_name="bridge_scores")
    op.drop_table("bridge_scores")
    op.drop_index("ix_probe_runs_profile_id_status", table_name="probe_runs")
    op.drop_table("probe_runs")
    op.drop_table("model_profiles")
