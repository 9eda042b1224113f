"""New-media account reads and the posts they saw (govmon.account_scan).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0007"
down_revision: str | Sequence[str] | None = "0006"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "account_reads",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("scan_id", BIGID, nullable=False),
        sa.Column("platform", sa.String(length=16), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("coverage", sa.String(length=16), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("login_expired", sa.Boolean(), nullable=False),
        sa.Column("requests", sa.Integer(), nullable=False),
        sa.Column("evidence", JSON, nullable=True),
        sa.Column("read_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            "coverage IN ('complete', 'partial', 'blocked', 'failed')", name=op.f("ck_account_reads_coverage")
        ),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], name=op.f("fk_account_reads_scan_id_scans"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_reads")),
        sa.UniqueConstraint("scan_id", name=op.f("uq_account_reads_scan_id")),
    )
    op.create_table(
        "account_posts",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("scan_id", BIGID, nullable=False),
        sa.Column("post_id", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("published_at", TIMESTAMP, nullable=False),
        sa.Column("pinned", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], name=op.f("fk_account_posts_scan_id_scans"),
                                ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_account_posts")),
    )
    op.create_index(op.f("ix_account_posts_scan_id"), "account_posts", ["scan_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_account_posts_scan_id"), table_name="account_posts")
    op.drop_table("account_posts")
    op.drop_table("account_reads")
