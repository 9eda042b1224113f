"""Console users, their sessions and API tokens, the audit log (govmon serve).

Also indexes for the console's overview: finding_events.at (changes since yesterday, weekly
trends) and covering indexes for the quarter's pass rates (govmon.rollup.pass_rates).

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | Sequence[str] | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
TIMESTAMP = sa.DateTime(timezone=True)
ROLES = ("admin", "operator", "viewer")
TOKEN_KINDS = ("session", "api")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "users",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=16), nullable=False),
        sa.Column("password_hash", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("last_login_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(_in("role", ROLES), name=op.f("ck_users_role")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_users")),
        sa.UniqueConstraint("name", name=op.f("uq_users_name")),
    )
    op.create_table(
        "api_tokens",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=True),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("expires_at", TIMESTAMP, nullable=True),
        sa.Column("last_used_at", TIMESTAMP, nullable=True),
        sa.Column("revoked_at", TIMESTAMP, nullable=True),
        sa.CheckConstraint(_in("kind", TOKEN_KINDS), name=op.f("ck_api_tokens_kind")),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_api_tokens_user_id_users"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_api_tokens_token_hash")),
    )
    op.create_index(op.f("ix_api_tokens_user_id"), "api_tokens", ["user_id"])
    op.create_table(
        "audit_log",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=True),
        sa.Column("username", sa.Text(), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("object_type", sa.String(length=32), nullable=True),
        sa.Column("object_id", sa.Text(), nullable=True),
        sa.Column("detail", sa.JSON(none_as_null=True), nullable=True),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_audit_log_user_id_users"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit_log")),
    )
    op.create_index(op.f("ix_audit_log_at"), "audit_log", ["at"])
    op.create_index(op.f("ix_finding_events_at_event"), "finding_events", ["at", "event"])
    op.create_index(op.f("ix_finding_events_event_finding_id"), "finding_events", ["event", "finding_id"])
    op.create_index(op.f("ix_findings_status_severity_target_id"), "findings", ["status", "severity", "target_id"])
    op.create_index(op.f("ix_scans_status_as_of_kind_target_id"), "scans", ["status", "as_of", "kind", "target_id"])
    op.create_index(
        op.f("ix_findings_severity_first_seen_resolved_at_status_check_id_target_id"),
        "findings", ["severity", "first_seen", "resolved_at", "status", "check_id", "target_id"],
    )
    op.create_index(op.f("ix_targets_active_kind_category"), "targets", ["active", "kind", "category"])


def downgrade() -> None:
    op.drop_index(op.f("ix_targets_active_kind_category"), table_name="targets")
    op.drop_index(op.f("ix_findings_severity_first_seen_resolved_at_status_check_id_target_id"), table_name="findings")
    op.drop_index(op.f("ix_scans_status_as_of_kind_target_id"), table_name="scans")
    op.drop_index(op.f("ix_findings_status_severity_target_id"), table_name="findings")
    op.drop_index(op.f("ix_finding_events_event_finding_id"), table_name="finding_events")
    op.drop_index(op.f("ix_finding_events_at_event"), table_name="finding_events")
    op.drop_index(op.f("ix_audit_log_at"), table_name="audit_log")
    op.drop_table("audit_log")
    op.drop_index(op.f("ix_api_tokens_user_id"), table_name="api_tokens")
    op.drop_table("api_tokens")
    op.drop_table("users")
