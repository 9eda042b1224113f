"""The monitoring service (govmon run): its lease row and on-demand rescan requests.

Revision ID: 0006
Revises: 0005
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
# Chained after main's current head (0005); the lead re-chains at merge.
down_revision: str | Sequence[str] | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
SCAN_REQUEST_STATUSES = ("pending", "running", "done", "failed")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "service_leases",
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("owner", sa.Text(), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("heartbeat_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("name", name=op.f("pk_service_leases")),
    )
    op.create_table(
        "scan_requests",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("requested_at", TIMESTAMP, nullable=False),
        sa.Column("requested_by", sa.Text(), nullable=True),
        sa.Column("picked_at", TIMESTAMP, nullable=True),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("scan_id", BIGID, nullable=True),
        sa.Column("summary", sa.JSON(none_as_null=True), nullable=True),
        sa.CheckConstraint(_in("status", SCAN_REQUEST_STATUSES), name=op.f("ck_scan_requests_status")),
        sa.ForeignKeyConstraint(["target_id"], ["targets.id"], name=op.f("fk_scan_requests_target_id_targets"),
                                ondelete="CASCADE"),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], name=op.f("fk_scan_requests_scan_id_scans"),
                                ondelete="SET NULL"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scan_requests")),
    )
    op.create_index(op.f("ix_scan_requests_status_requested_at"), "scan_requests", ["status", "requested_at"])


def downgrade() -> None:
    op.drop_index(op.f("ix_scan_requests_status_requested_at"), table_name="scan_requests")
    op.drop_table("scan_requests")
    op.drop_table("service_leases")
