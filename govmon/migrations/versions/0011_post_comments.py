"""Account posts: whether the platform showed the post open to comments (account.no_interaction).

``comments_open`` is nullable: None when the platform's answer did not say (most platforms do not).

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-30
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0011"
down_revision: str | Sequence[str] | None = "0010"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None


def upgrade() -> None:
    op.add_column("account_posts", sa.Column("comments_open", sa.Boolean(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("account_posts") as batch:
        batch.drop_column("comments_open")
