"""On-demand rescans: ``govmon rescan`` inserts a request, the running service claims it,
scans and writes the summary back; the requesting process waits for that row."""

from __future__ import annotations

import getpass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from govmon.db import write_lock
from govmon.models import ScanRequest, utcnow


def request_rescan(session: Session, target_id: str) -> int:
    request = ScanRequest(target_id=target_id, status="pending", requested_at=utcnow(), requested_by=getpass.getuser())
    session.add(request)
    session.flush()
    return request.id


def claim_requests(session: Session) -> list[tuple[int, str]]:
    """The pending requests, atomically marked running (never served twice)."""
    write_lock(session, "scan-requests")
    claimed = []
    for request in session.scalars(select(ScanRequest).where(ScanRequest.status == "pending").order_by(ScanRequest.id)):
        request.status, request.picked_at = "running", utcnow()
        claimed.append((request.id, request.target_id))
    return claimed


def scan_summary(result: Any, kind: str, **fields: Any) -> dict[str, Any]:
    """What a rescan request is answered with (``govmon rescan`` and the console print it), from a
    site scan's or an account read's result; ``fields``: the kind's own counts (pages and links,
    or coverage and posts), and any key to set otherwise."""
    return {
        "target_id": result.target_id, "name": result.name, "kind": kind, "scan_id": result.scan_id,
        "status": result.status, "reason": result.reason, "opened": result.opened, "resolved": result.resolved,
        "open_by_severity": dict(result.open_by_severity), "seconds": round(result.seconds, 2), **fields,
    }


def finish_request(session: Session, request_id: int, summary: dict[str, Any]) -> None:
    """Write the scan's summary back to the request (first in its transaction: it takes the
    requests' write lock, so SQLite never has to upgrade a read to a write under a writer)."""
    write_lock(session, "scan-requests")
    request = session.get(ScanRequest, request_id)
    if request is not None:
        request.status = "done" if summary.get("status") in ("complete", "incomplete") else "failed"
        request.finished_at, request.summary, request.scan_id = utcnow(), summary, summary.get("scan_id")


def request_state(session: Session, request_id: int) -> ScanRequest | None:
    return session.get(ScanRequest, request_id)
