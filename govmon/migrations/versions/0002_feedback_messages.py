"""我为政府网站找错 messages (govmon feedback import).

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | Sequence[str] | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "feedback_messages",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("received", sa.Date(), nullable=False),
        sa.Column("site", sa.Text(), nullable=False),
        sa.Column("content", sa.Text(), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("deadline", sa.Date(), nullable=False),
        sa.Column("handled", sa.Date(), nullable=True),
        sa.Column("source_file", sa.Text(), nullable=True),
        sa.Column("imported_at", TIMESTAMP, nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_feedback_messages")),
        sa.UniqueConstraint(
            "received", "site", "content_hash", name=op.f("uq_feedback_messages_received_site_content_hash")
        ),
    )
    op.create_index(op.f("ix_feedback_messages_received"), "feedback_messages", ["received"])


def downgrade() -> None:
    op.drop_index(op.f("ix_feedback_messages_received"), table_name="feedback_messages")
    op.drop_table("feedback_messages")
