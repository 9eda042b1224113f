"""A target's open findings by index (findings: target_id, status, check_id).

Every judgement (a scan, a probe round's per-site judgement, the nightly re-judgement) reads
the target's open findings of its checks. Without statistics SQLite chose the index on
(status, last_seen) and read every open finding of the database for each target: 1.8 ms per
site with 3,000 open findings, growing with the registry — a probe round over 1,000 sites held
the write lock for 4 s.

Revision ID: 0013
Revises: 0012
Create Date: 2026-11-29
"""

from __future__ import annotations

from collections.abc import Sequence

from alembic import op

revision: str = "0013"
down_revision: str | Sequence[str] | None = "0012"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

INDEX = "ix_findings_target_id_status_check_id"


def upgrade() -> None:
    op.create_index(op.f(INDEX), "findings", ["target_id", "status", "check_id"])


def downgrade() -> None:
    op.drop_index(op.f(INDEX), table_name="findings")
