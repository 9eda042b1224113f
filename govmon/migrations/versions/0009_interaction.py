"""Site facts: TLS, IPv6 and search observations of a site scan (site.https, site.ipv6, site.search).

Interaction messages need no table: a message page's dates are kept in its page's ``facts``.

Revision ID: 0009
Revises: 0006
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0009"
down_revision: str | Sequence[str] | None = "0007"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True)


def upgrade() -> None:
    op.create_table(
        "site_facts",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("scan_id", BIGID, nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("data", JSON, nullable=False),
        sa.Column("observed_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint("kind IN ('tls', 'ipv6', 'search')", name=op.f("ck_site_facts_kind")),
        sa.ForeignKeyConstraint(["scan_id"], ["scans.id"], name=op.f("fk_site_facts_scan_id_scans"), ondelete="CASCADE"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_site_facts")),
    )
    op.create_index(op.f("ix_site_facts_scan_id"), "site_facts", ["scan_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_site_facts_scan_id"), table_name="site_facts")
    op.drop_table("site_facts")
