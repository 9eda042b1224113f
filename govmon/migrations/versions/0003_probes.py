"""Availability probes of the sites' home pages (govmon probe).

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0003"
down_revision: str | Sequence[str] | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
ERROR_KINDS = ("dns", "connect", "timeout", "tls", "http_status", "too_many_redirects", "other")


def upgrade() -> None:
    op.create_table(
        "probes",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("round_id", sa.String(length=32), nullable=False),
        sa.Column("probed_at", TIMESTAMP, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("ok", sa.Boolean(), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("elapsed_ms", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=True),
        sa.Column("error_kind", sa.String(length=32), nullable=True),
        sa.Column("detail", sa.Text(), nullable=True),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("local_outage", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            f"error_kind IN ({', '.join(repr(k) for k in ERROR_KINDS)})", name=op.f("ck_probes_error_kind")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_probes_target_id_targets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_probes")),
    )
    op.create_index(op.f("ix_probes_target_id_probed_at"), "probes", ["target_id", "probed_at"])
    op.create_index(op.f("ix_probes_round_id"), "probes", ["round_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_probes_round_id"), table_name="probes")
    op.drop_index(op.f("ix_probes_target_id_probed_at"), table_name="probes")
    op.drop_table("probes")
