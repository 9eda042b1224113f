"""The initial schema: registry, observations, findings.

Revision ID: 0001
Revises:
Create Date: 2026-11-28

Written out in full (not imported from govmon.models) so that this migration stays
what it was when later migrations change the models.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | Sequence[str] | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# 64-bit keys on PostgreSQL; SQLite autoincrements only INTEGER PRIMARY KEY.
BIGID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
# Aware timestamps (govmon.models.UTCDateTime stores UTC through this type).
TIMESTAMP = sa.DateTime(timezone=True)
JSON = sa.JSON(none_as_null=True)


def _in(column: str, *values: str) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


def upgrade() -> None:
    op.create_table(
        "targets",
        sa.Column("id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("organizer", sa.Text(), nullable=True),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("platform", sa.String(length=32), nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(_in("kind", "site", "account"), name=op.f("ck_targets_kind")),
        sa.CheckConstraint(
            _in("category", "county_portal", "department_site", "department_channel"),
            name=op.f("ck_targets_category"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_targets")),
    )

    op.create_table(
        "columns",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("source", sa.String(length=16), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("created_at", TIMESTAMP, nullable=False),
        sa.Column("updated_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(
            _in("kind", "news", "notice", "policy", "personnel", "planning", "interaction", "other"),
            name=op.f("ck_columns_kind"),
        ),
        sa.CheckConstraint(_in("source", "config", "discovered"), name=op.f("ck_columns_source")),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_columns_target_id_targets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_columns")),
        sa.UniqueConstraint("target_id", "url", name=op.f("uq_columns_target_id_url")),
    )

    op.create_table(
        "scans",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("started_at", TIMESTAMP, nullable=False),
        sa.Column("finished_at", TIMESTAMP, nullable=True),
        sa.Column("as_of", TIMESTAMP, nullable=False),
        sa.Column("lease_owner", sa.Text(), nullable=True),
        sa.Column("lease_expires_at", TIMESTAMP, nullable=True),
        sa.Column("stats", JSON, nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.CheckConstraint(_in("kind", "site", "account", "probe", "browser"), name=op.f("ck_scans_kind")),
        sa.CheckConstraint(
            _in("status", "running", "complete", "incomplete", "failed"), name=op.f("ck_scans_status")
        ),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_scans_target_id_targets"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scans")),
    )
    op.create_index(op.f("ix_scans_target_id_started_at"), "scans", ["target_id", "started_at"])
    op.create_index(op.f("ix_scans_status_lease_expires_at"), "scans", ["status", "lease_expires_at"])

    op.create_table(
        "pages",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("scan_id", BIGID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("final_url", sa.Text(), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("content_type", sa.Text(), nullable=True),
        sa.Column("encoding", sa.String(length=32), nullable=True),
        sa.Column("fetched_at", TIMESTAMP, nullable=False),
        sa.Column("elapsed_ms", sa.Integer(), nullable=True),
        sa.Column("bytes", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("publish_date", sa.Date(), nullable=True),
        sa.Column("publish_date_raw", sa.Text(), nullable=True),
        sa.Column("written_date", sa.Date(), nullable=True),
        sa.Column("written_date_precision", sa.String(length=8), nullable=True),
        sa.Column("written_date_raw", sa.Text(), nullable=True),
        sa.Column("source", sa.Text(), nullable=True),
        sa.Column("issuer", sa.Text(), nullable=True),
        sa.Column("index_no", sa.Text(), nullable=True),
        sa.Column("doc_no", sa.Text(), nullable=True),
        sa.Column("page_type", sa.String(length=16), nullable=False),
        sa.Column("column_id", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("facts", JSON, nullable=True),
        sa.CheckConstraint(_in("page_type", "home", "list", "article", "other"), name=op.f("ck_pages_page_type")),
        sa.CheckConstraint(
            _in("written_date_precision", "day", "month"), name=op.f("ck_pages_written_date_precision")
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_pages_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["column_id"], ["columns.id"], name=op.f("fk_pages_column_id_columns"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_pages")),
    )
    op.create_index(op.f("ix_pages_scan_id_url"), "pages", ["scan_id", "url"])

    op.create_table(
        "list_items",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("page_id", BIGID, nullable=False),
        sa.Column("column_id", sa.Integer(), nullable=True),
        sa.Column("title", sa.Text(), nullable=True),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("date", sa.Date(), nullable=True),
        sa.Column("position", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["page_id"], ["pages.id"], name=op.f("fk_list_items_page_id_pages"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["column_id"], ["columns.id"], name=op.f("fk_list_items_column_id_columns"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_list_items")),
    )
    op.create_index(op.f("ix_list_items_page_id"), "list_items", ["page_id"])

    op.create_table(
        "links",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("scan_id", BIGID, nullable=False),
        sa.Column("source_page_id", BIGID, nullable=True),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("text", sa.Text(), nullable=True),
        sa.Column("visible", sa.Boolean(), nullable=False),
        sa.Column("on_home", sa.Boolean(), nullable=False),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_links_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["source_page_id"], ["pages.id"], name=op.f("fk_links_source_page_id_pages"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_links")),
    )
    op.create_index(op.f("ix_links_scan_id_url"), "links", ["scan_id", "url"])
    op.create_index(op.f("ix_links_source_page_id"), "links", ["source_page_id"])

    op.create_table(
        "link_checks",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("scan_id", BIGID, nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("method", sa.String(length=8), nullable=True),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("outcome", sa.String(length=16), nullable=False),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("redirects", JSON, nullable=True),
        sa.Column("elapsed_ms", sa.Integer(), nullable=True),
        sa.Column("checked_at", TIMESTAMP, nullable=False),
        sa.CheckConstraint(_in("method", "HEAD", "GET"), name=op.f("ck_link_checks_method")),
        sa.CheckConstraint(
            _in("outcome", "ok", "broken", "inconclusive", "skipped"), name=op.f("ck_link_checks_outcome")
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_link_checks_scan_id_scans"), ondelete="CASCADE"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_link_checks")),
        sa.UniqueConstraint("scan_id", "url", name=op.f("uq_link_checks_scan_id_url")),
    )

    op.create_table(
        "findings",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("target_id", sa.String(length=128), nullable=False),
        sa.Column("check_id", sa.String(length=64), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("severity", sa.String(length=16), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=True),
        sa.Column("evidence", JSON, nullable=False),
        sa.Column("evidence_hash", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("first_seen", TIMESTAMP, nullable=False),
        sa.Column("last_seen", TIMESTAMP, nullable=False),
        sa.Column("resolved_at", TIMESTAMP, nullable=True),
        sa.Column("dismissed_at", TIMESTAMP, nullable=True),
        sa.Column("dismissed_reason", sa.Text(), nullable=True),
        sa.Column("dismissed_by", sa.Text(), nullable=True),
        sa.Column("first_scan_id", BIGID, nullable=True),
        sa.Column("last_scan_id", BIGID, nullable=True),
        sa.CheckConstraint(_in("severity", "veto", "deduct", "notice"), name=op.f("ck_findings_severity")),
        sa.CheckConstraint(_in("status", "open", "resolved", "dismissed"), name=op.f("ck_findings_status")),
        sa.ForeignKeyConstraint(
            ["target_id"], ["targets.id"], name=op.f("fk_findings_target_id_targets"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["first_scan_id"], ["scans.id"], name=op.f("fk_findings_first_scan_id_scans"), ondelete="SET NULL"
        ),
        sa.ForeignKeyConstraint(
            ["last_scan_id"], ["scans.id"], name=op.f("fk_findings_last_scan_id_scans"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_findings")),
        sa.UniqueConstraint(
            "target_id", "check_id", "subject", name=op.f("uq_findings_target_id_check_id_subject")
        ),
    )
    op.create_index(op.f("ix_findings_status_last_seen"), "findings", ["status", "last_seen"])
    op.create_index(op.f("ix_findings_last_seen"), "findings", ["last_seen"])
    op.create_index(op.f("ix_findings_first_scan_id"), "findings", ["first_scan_id"])
    op.create_index(op.f("ix_findings_last_scan_id"), "findings", ["last_scan_id"])

    op.create_table(
        "finding_events",
        sa.Column("id", BIGID, nullable=False),
        sa.Column("finding_id", BIGID, nullable=False),
        sa.Column("at", TIMESTAMP, nullable=False),
        sa.Column("event", sa.String(length=16), nullable=False),
        sa.Column("scan_id", BIGID, nullable=True),
        sa.Column("actor", sa.Text(), nullable=True),
        sa.Column("note", sa.Text(), nullable=True),
        sa.CheckConstraint(
            _in("event", "opened", "seen", "resolved", "dismissed", "reopened"),
            name=op.f("ck_finding_events_event"),
        ),
        sa.ForeignKeyConstraint(
            ["finding_id"], ["findings.id"], name=op.f("fk_finding_events_finding_id_findings"), ondelete="CASCADE"
        ),
        sa.ForeignKeyConstraint(
            ["scan_id"], ["scans.id"], name=op.f("fk_finding_events_scan_id_scans"), ondelete="SET NULL"
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_finding_events")),
    )
    op.create_index(op.f("ix_finding_events_finding_id_at"), "finding_events", ["finding_id", "at"])
    op.create_index(op.f("ix_finding_events_scan_id"), "finding_events", ["scan_id"])


def downgrade() -> None:
    for table in (
        "finding_events",
        "findings",
        "link_checks",
        "links",
        "list_items",
        "pages",
        "scans",
        "columns",
        "targets",
    ):
        op.drop_table(table)  # indexes go with their table
