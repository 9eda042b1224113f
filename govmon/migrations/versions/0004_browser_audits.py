"""Pages measured in a real browser during a site scan (load time, rendering, phone, 适老化).

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0004"
down_revision: str | Sequence[str] | None = "0003"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "browser_audits",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("scan_id", BIGID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("page_type", sa.String(length=16), nullable=False),
        sa.Column("measured", sa.Boolean(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=True),
        sa.Column("load_ms", sa.Integer(), nullable=True),
        sa.Column("details", JSON, nullable=True),
        sa.Column("measured_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("page_type IN ('home', 'list', 'article')", name=op.f("ck_browser_audits_page_type")),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_browser_audits_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_browser_audits")),
    )
    op.create_index(op.f("ix_browser_audits_scan_id"), "browser_audits", ["scan_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_browser_audits_scan_id"), table_name="browser_audits")
    op.drop_table("browser_audits")
