"""Politeness across processes: a site's probe in flight (probe_leases) and each platform's
pace shared by the cluster's workers (platform_paces).

Revision ID: 0012
Revises: 0011
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0012"
# Chained after 0011 (post comments).
down_revision: str | Sequence[str] | None = "0011"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "probe_leases",
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.ForeignKeyConstraint(["target_id"], ["targets.id"], name=op.f("fk_probe_leases_target_id_targets"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("target_id", name=op.f("pk_probe_leases")),
    )
    op.create_table(
        "platform_paces",
        sa.Column("platform", sa.String(length=32), nullable=False),
        sa.Column("next_start", TIMESTAMP, nullable=False),
        sa.Column("last_start", TIMESTAMP, nullable=True),
        sa.Column("last_block", TIMESTAMP, nullable=True),
        sa.Column("blocks", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("platform", name=op.f("pk_platform_paces")),
    )


def downgrade() -> None:
    op.drop_table("platform_paces")
    op.drop_table("probe_leases")
