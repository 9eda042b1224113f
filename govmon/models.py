"""The store: SQLAlchemy 2 typed models of targets, scans, observations and findings.

Gatherers write observations (scans, pages, list items, links, link checks); checks read
them and produce findings, whose lifecycle lives in :mod:`govmon.findings`. The schema is
created and changed only by the Alembic migrations in ``govmon/migrations`` (see
:func:`govmon.db.migrate`); a test keeps these models and the migrations identical.

Every datetime is timezone-aware: :class:`UTCDateTime` stores UTC, returns aware UTC
datetimes on SQLite as well as PostgreSQL, and refuses naive ones. Times are shown in
the configured zone only at the edges (:meth:`Finding.to_json`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, tzinfo
from datetime import date as Day  # ListItem has a column named 'date'
from typing import Any

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    CheckConstraint,
    Date,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    TypeDecorator,
    UniqueConstraint,
    select,
)
from sqlalchemy.orm import (
    DeclarativeBase,
    Mapped,
    Session,
    WriteOnlyMapped,
    mapped_column,
    relationship,
)

from govmon.db import write_lock

__all__ = [
    "ApiToken",
    "Alert",
    "AlertDelivery",
    "AuditEntry",
    "Base",
    "BrowserAudit",
    "ColumnSpec",
    "Finding",
    "FindingEvent",
    "Link",
    "LinkCheck",
    "ListItem",
    "NaiveDatetimeError",
    "Page",
    "Probe",
    "Scan",
    "SiteColumn",
    "SyncResult",
    "Target",
    "TargetSpec",
    "UTCDateTime",
    "User",
    "format_time",
    "sync_targets",
    "utcnow",
]

# -- allowed values (kept in CHECK constraints; the migrations spell out the same lists) --

TARGET_KINDS = ("site", "account")
SITE_CATEGORIES = ("county_portal", "department_site", "department_channel")
COLUMN_KINDS = ("news", "notice", "policy", "personnel", "planning", "interaction", "other")
COLUMN_SOURCES = ("config", "discovered")
SCAN_KINDS = ("site", "account", "probe", "browser")
SCAN_STATUSES = ("running", "complete", "incomplete", "failed")
PAGE_TYPES = ("home", "list", "article", "other")
DATE_PRECISIONS = ("day", "month")
LINK_CHECK_METHODS = ("HEAD", "GET")
LINK_CHECK_OUTCOMES = ("ok", "broken", "inconclusive", "skipped")
SEVERITIES = ("veto", "deduct", "notice")
FINDING_STATUSES = ("open", "resolved", "dismissed")
FINDING_EVENTS = ("opened", "seen", "resolved", "dismissed", "reopened")


def _in(column: str, values: Sequence[str]) -> str:
    return f"{column} IN ({', '.join(repr(v) for v in values)})"


class NaiveDatetimeError(ValueError):
    """A datetime without a time zone was about to be stored."""


def utcnow() -> datetime:
    """Now, as an aware UTC datetime (the default for every timestamp column)."""
    return datetime.now(UTC)


class UTCDateTime(TypeDecorator[datetime]):
    """An aware datetime stored as UTC.

    PostgreSQL keeps it in ``timestamp with time zone``; SQLite, which has no zone, keeps
    the UTC wall time, so ordering and comparison work the same on both. Values come back
    aware (UTC) on both. Naive datetimes are refused with :class:`NaiveDatetimeError`:
    a guessed zone is how an 08:00 report turns into a 16:00 one.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if not isinstance(value, datetime):
            raise TypeError(f"expected a datetime, got {type(value).__name__}: {value!r}")
        if value.tzinfo is None or value.tzinfo.utcoffset(value) is None:
            raise NaiveDatetimeError(f"refusing to store a naive datetime {value.isoformat()}; give it a time zone")
        value = value.astimezone(UTC)
        if dialect.name == "sqlite":
            return value.replace(tzinfo=None)
        return value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


# Autoincrementing 64-bit keys for the large tables; SQLite only autoincrements INTEGER.
BigIntKey = BigInteger().with_variant(Integer(), "sqlite")

NAMING_CONVENTION = {
    "ix": "ix_%(table_name)s_%(column_0_N_name)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map = {
        datetime: UTCDateTime(),
        date: Date(),
        dict[str, Any]: JSON(none_as_null=True),
        list[Any]: JSON(none_as_null=True),
    }


# --------------------------------------------------------------------------- registry


class Target(Base):
    """A registered site or account; synced from config.yaml, never deleted."""

    __tablename__ = "targets"
    __table_args__ = (
        CheckConstraint(_in("kind", TARGET_KINDS), name="kind"),
        CheckConstraint(_in("category", SITE_CATEGORIES), name="category"),
        Index(None, "active", "kind", "category"),  # counts per category (0005)
    )

    id: Mapped[str] = mapped_column(String(128), primary_key=True)
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str] = mapped_column(Text)
    organizer: Mapped[str | None] = mapped_column(Text)
    category: Mapped[str | None] = mapped_column(String(32))
    platform: Mapped[str | None] = mapped_column(String(32))
    url: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    columns: Mapped[list[SiteColumn]] = relationship(
        back_populates="target", order_by="SiteColumn.id", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Target {self.id} {self.kind} {self.name!r}{'' if self.active else ' inactive'}>"


class SiteColumn(Base):
    """A column (栏目) of a site: from the config, or discovered on the home page."""

    __tablename__ = "columns"
    __table_args__ = (
        UniqueConstraint("target_id", "url"),
        CheckConstraint(_in("kind", COLUMN_KINDS), name="kind"),
        CheckConstraint(_in("source", COLUMN_SOURCES), name="source"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    name: Mapped[str] = mapped_column(Text)
    url: Mapped[str] = mapped_column(Text)
    kind: Mapped[str] = mapped_column(String(16), default="other")
    source: Mapped[str] = mapped_column(String(16), default="config")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(default=utcnow)

    target: Mapped[Target] = relationship(back_populates="columns")

    def __repr__(self) -> str:
        return f"<SiteColumn {self.id} {self.target_id} {self.name!r} {self.kind}>"


# --------------------------------------------------------------------------- observations


class Scan(Base):
    """One gathering run over one target; ``as_of`` is the monitoring time point (监测时间点).

    ``lease_owner``/``lease_expires_at`` let a worker claim the scan; a scan whose lease
    has expired while still ``running`` was abandoned and may be taken over.
    """

    __tablename__ = "scans"
    __table_args__ = (
        CheckConstraint(_in("kind", SCAN_KINDS), name="kind"),
        CheckConstraint(_in("status", SCAN_STATUSES), name="status"),
        Index(None, "target_id", "started_at"),
        Index(None, "status", "lease_expires_at"),
        Index(None, "status", "as_of", "kind", "target_id"),  # targets checked in a period (0005)
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="running")
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    as_of: Mapped[datetime]
    lease_owner: Mapped[str | None] = mapped_column(Text)
    lease_expires_at: Mapped[datetime | None]
    stats: Mapped[dict[str, Any] | None]
    error: Mapped[str | None] = mapped_column(Text)

    target: Mapped[Target] = relationship()
    pages: WriteOnlyMapped[Page] = relationship(back_populates="scan", passive_deletes=True)
    links: WriteOnlyMapped[Link] = relationship(passive_deletes=True)
    link_checks: WriteOnlyMapped[LinkCheck] = relationship(passive_deletes=True)

    def __repr__(self) -> str:
        return f"<Scan {self.id} {self.target_id} {self.kind} {self.status}>"


class Page(Base):
    """A fetched page (or a failed fetch: ``error`` says DNS, timeout, refused…) and its facts.

    Dates: ``publish_date`` (发布日期) and ``written_date`` (成文日期) as read, ``*_raw``
    the text they were read from. A written date given to the month only (（2023年5月）)
    is stored as the month's first day with ``written_date_precision = 'month'``.
    ``facts`` holds the rest of what extraction found.
    """

    __tablename__ = "pages"
    __table_args__ = (
        CheckConstraint(_in("page_type", PAGE_TYPES), name="page_type"),
        CheckConstraint(_in("written_date_precision", DATE_PRECISIONS), name="written_date_precision"),
        Index(None, "scan_id", "url"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    status_code: Mapped[int | None]
    content_type: Mapped[str | None] = mapped_column(Text)
    encoding: Mapped[str | None] = mapped_column(String(32))
    fetched_at: Mapped[datetime] = mapped_column(default=utcnow)
    elapsed_ms: Mapped[int | None]
    bytes: Mapped[int | None]
    title: Mapped[str | None] = mapped_column(Text)
    publish_date: Mapped[date | None]
    publish_date_raw: Mapped[str | None] = mapped_column(Text)
    written_date: Mapped[date | None]
    written_date_precision: Mapped[str | None] = mapped_column(String(8))
    written_date_raw: Mapped[str | None] = mapped_column(Text)
    source: Mapped[str | None] = mapped_column(Text)
    issuer: Mapped[str | None] = mapped_column(Text)
    index_no: Mapped[str | None] = mapped_column(Text)
    doc_no: Mapped[str | None] = mapped_column(Text)
    page_type: Mapped[str] = mapped_column(String(16), default="other")
    column_id: Mapped[int | None] = mapped_column(ForeignKey("columns.id", ondelete="SET NULL"))
    error: Mapped[str | None] = mapped_column(Text)
    facts: Mapped[dict[str, Any] | None]

    scan: Mapped[Scan] = relationship(back_populates="pages")
    column: Mapped[SiteColumn | None] = relationship()
    list_items: Mapped[list[ListItem]] = relationship(
        back_populates="page", order_by="ListItem.position", cascade="all, delete-orphan", passive_deletes=True
    )

    def __repr__(self) -> str:
        return f"<Page {self.id} scan={self.scan_id} {self.page_type} {self.url}>"


class ListItem(Base):
    """An entry of a column's list as the list page shows it (title, link, date)."""

    __tablename__ = "list_items"
    __table_args__ = (Index(None, "page_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    page_id: Mapped[int] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    column_id: Mapped[int | None] = mapped_column(ForeignKey("columns.id", ondelete="SET NULL"))
    title: Mapped[str | None] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    date: Mapped[Day | None]
    position: Mapped[int] = mapped_column(Integer, default=0)

    page: Mapped[Page] = relationship(back_populates="list_items")

    def __repr__(self) -> str:
        return f"<ListItem {self.id} page={self.page_id} #{self.position} {self.date} {self.title!r}>"


class Link(Base):
    """A link seen on a page; ``visible`` False when readers cannot see it (暗链)."""

    __tablename__ = "links"
    __table_args__ = (Index(None, "scan_id", "url"), Index(None, "source_page_id"))

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    source_page_id: Mapped[int | None] = mapped_column(ForeignKey("pages.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    text: Mapped[str | None] = mapped_column(Text)
    visible: Mapped[bool] = mapped_column(Boolean, default=True)
    on_home: Mapped[bool] = mapped_column(Boolean, default=False)

    source_page: Mapped[Page | None] = relationship()

    def __repr__(self) -> str:
        return f"<Link {self.id} scan={self.scan_id} {self.url}>"


class LinkCheck(Base):
    """The verdict on one URL in one scan (checked once however many pages link to it).

    URLs are indexed: gatherers should skip URLs longer than a few thousand characters
    (PostgreSQL refuses index entries over ~2.7 kB).
    """

    __tablename__ = "link_checks"
    __table_args__ = (
        UniqueConstraint("scan_id", "url"),
        CheckConstraint(_in("method", LINK_CHECK_METHODS), name="method"),
        CheckConstraint(_in("outcome", LINK_CHECK_OUTCOMES), name="outcome"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    method: Mapped[str | None] = mapped_column(String(8))
    status_code: Mapped[int | None]
    outcome: Mapped[str] = mapped_column(String(16))
    error: Mapped[str | None] = mapped_column(Text)
    redirects: Mapped[list[Any] | None]
    elapsed_ms: Mapped[int | None]
    checked_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<LinkCheck {self.id} scan={self.scan_id} {self.outcome} {self.status_code} {self.url}>"


# --------------------------------------------------------------------------- findings


def format_time(value: datetime | None, tz: tzinfo) -> str | None:
    """An aware datetime as ISO 8601 in ``tz`` to the second: 2023-05-12T09:30:00+08:00."""
    if value is None:
        return None
    if value.tzinfo is None:
        raise NaiveDatetimeError(f"cannot place a naive datetime {value.isoformat()} in a time zone")
    return value.astimezone(tz).isoformat(timespec="seconds")


class Finding(Base):
    """A problem found on a target, keyed by (target, check, subject); see govmon.findings.

    ``subject`` says what the finding is about within the target (a page URL, a column
    name, a link URL); the same key seen by a later scan is the same finding.
    ``evidence_hash`` fingerprints the evidence so a dismissed finding whose evidence
    changes is raised again.
    """

    __tablename__ = "findings"
    __table_args__ = (
        UniqueConstraint("target_id", "check_id", "subject"),
        CheckConstraint(_in("severity", SEVERITIES), name="severity"),
        CheckConstraint(_in("status", FINDING_STATUSES), name="status"),
        Index(None, "status", "last_seen"),
        Index(None, "last_seen"),
        Index(None, "first_scan_id"),
        Index(None, "last_scan_id"),
        # the pass rates of a period (rollup.pass_rates), covering (0005)
        Index(None, "severity", "first_seen", "resolved_at", "status", "check_id", "target_id"),
        Index(None, "status", "severity", "target_id"),  # open findings by severity and target (0005)
        Index(None, "target_id", "status", "check_id"),  # a target's open findings of its checks (0013)
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    check_id: Mapped[str] = mapped_column(String(64))
    subject: Mapped[str] = mapped_column(Text)
    severity: Mapped[str] = mapped_column(String(16))
    message: Mapped[str] = mapped_column(Text)
    url: Mapped[str | None] = mapped_column(Text)
    evidence: Mapped[dict[str, Any]] = mapped_column(default=dict)
    evidence_hash: Mapped[str] = mapped_column(String(64))
    status: Mapped[str] = mapped_column(String(16), default="open")
    first_seen: Mapped[datetime]
    last_seen: Mapped[datetime]
    resolved_at: Mapped[datetime | None]
    dismissed_at: Mapped[datetime | None]
    dismissed_reason: Mapped[str | None] = mapped_column(Text)
    dismissed_by: Mapped[str | None] = mapped_column(Text)
    first_scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id", ondelete="SET NULL"))
    last_scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id", ondelete="SET NULL"))

    target: Mapped[Target] = relationship()
    events: Mapped[list[FindingEvent]] = relationship(
        back_populates="finding",
        order_by="FindingEvent.id",
        cascade="all, delete-orphan",
        passive_deletes=True,
    )

    def to_json(self, target: Target | None, tz: tzinfo) -> dict[str, Any]:
        """The finding as INTERFACE.md's Finding JSON, times in ``tz`` (the configured zone).

        ``target`` is this finding's target (pass it when already loaded, e.g. when
        exporting many findings; None loads it).
        """
        target = target if target is not None else self.target
        if target.id != self.target_id:
            raise ValueError(f"finding {self.id} belongs to {self.target_id}, not {target.id}")
        return {
            "target": target.name,
            "target_id": target.id,
            "kind": target.kind,
            "organizer": target.organizer,
            "category": target.category,
            "check": self.check_id,
            "severity": self.severity,
            "message": self.message,
            "url": self.url,
            "evidence": dict(self.evidence or {}),
            "first_seen": format_time(self.first_seen, tz),
            "last_seen": format_time(self.last_seen, tz),
            "status": self.status,
        }

    def __repr__(self) -> str:
        return f"<Finding {self.id} {self.target_id} {self.check_id} {self.status} {self.subject!r}>"


class FindingEvent(Base):
    """One step in a finding's history: opened, seen (changed), resolved, dismissed, reopened."""

    __tablename__ = "finding_events"
    __table_args__ = (
        CheckConstraint(_in("event", FINDING_EVENTS), name="event"),
        Index(None, "finding_id", "at"),
        Index(None, "scan_id"),
        Index(None, "at", "event"),  # the console's "changes since yesterday" and weekly trends (0005)
        Index(None, "event", "finding_id"),  # reopened findings (rollup), (0005)
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    finding_id: Mapped[int] = mapped_column(ForeignKey("findings.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(default=utcnow)
    event: Mapped[str] = mapped_column(String(16))
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id", ondelete="SET NULL"))
    actor: Mapped[str | None] = mapped_column(Text)
    note: Mapped[str | None] = mapped_column(Text)

    finding: Mapped[Finding] = relationship(back_populates="events")

    def __repr__(self) -> str:
        return f"<FindingEvent {self.id} finding={self.finding_id} {self.event} {self.at.isoformat()}>"


# --------------------------------------------------------------------------- registry sync


@dataclass(frozen=True)
class ColumnSpec:
    """A column as the config registers it."""

    name: str
    url: str
    kind: str = "other"


@dataclass(frozen=True)
class TargetSpec:
    """A target as the config registers it (what :func:`sync_targets` writes)."""

    id: str
    kind: str
    name: str
    organizer: str | None
    category: str | None
    platform: str | None
    url: str
    columns: tuple[ColumnSpec, ...] = ()


@dataclass
class SyncResult:
    """What :func:`sync_targets` changed, by target id."""

    added: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    reactivated: list[str] = field(default_factory=list)
    deactivated: list[str] = field(default_factory=list)


def _assign(obj: object, values: dict[str, Any]) -> bool:
    """Set the attributes that differ; True when any did."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


def sync_targets(session: Session, targets: Iterable[TargetSpec], *, now: datetime | None = None) -> SyncResult:
    """Make the ``targets`` and config ``columns`` tables match the registry.

    New targets are added; changed ones updated; targets no longer registered are marked
    inactive (never deleted: their scans and findings are history) and come back active
    when registered again. Config columns are upserted by (target, url) and those no longer
    in the config marked inactive; discovered columns are left alone (a config column that
    was first discovered becomes a config column).

    Runs in the caller's transaction (flushes, does not commit). Serialised against
    other writers with :func:`govmon.db.write_lock`.
    """
    now = now or utcnow()
    if now.tzinfo is None:
        raise NaiveDatetimeError("sync_targets needs an aware 'now'")
    specs: dict[str, TargetSpec] = {}
    for spec in targets:
        if spec.id in specs:
            raise ValueError(f"登记表中有重复的 id：{spec.id}")
        if spec.kind not in TARGET_KINDS:
            raise ValueError(f"{spec.id}：kind 必须是 site 或 account，而不是 {spec.kind!r}")
        urls = [c.url for c in spec.columns]
        if len(urls) != len(set(urls)):
            raise ValueError(f"{spec.id}：栏目网址重复")
        specs[spec.id] = spec

    write_lock(session, "sync_targets")
    result = SyncResult()
    existing = {t.id: t for t in session.scalars(select(Target))}
    columns_by_target: dict[str, dict[str, SiteColumn]] = {}
    for column in session.scalars(select(SiteColumn)):
        columns_by_target.setdefault(column.target_id, {})[column.url] = column
    for target_id, spec in specs.items():
        values = {
            "kind": spec.kind,
            "name": spec.name,
            "organizer": spec.organizer,
            "category": spec.category,
            "platform": spec.platform,
            "url": spec.url,
        }
        target = existing.get(target_id)
        if target is None:
            target = Target(id=target_id, active=True, created_at=now, updated_at=now, **values)
            session.add(target)
            result.added.append(target_id)
            _sync_columns(session, target_id, {}, spec.columns, now)
            continue
        changed = _assign(target, values)
        if _sync_columns(session, target_id, columns_by_target.get(target_id, {}), spec.columns, now):
            changed = True
        if not target.active:
            target.active = True
            result.reactivated.append(target_id)
            changed = True
        elif changed:
            result.updated.append(target_id)
        if changed:
            target.updated_at = now

    for target_id, target in existing.items():
        if target_id not in specs and target.active:
            target.active = False
            target.updated_at = now
            result.deactivated.append(target_id)
    session.flush()
    return result


def _sync_columns(
    session: Session, target_id: str, by_url: dict[str, SiteColumn], specs: tuple[ColumnSpec, ...], now: datetime
) -> bool:
    wanted = {c.url for c in specs}
    changed = False
    for spec in specs:
        if spec.kind not in COLUMN_KINDS:
            raise ValueError(f"{target_id}：栏目 {spec.name} 的 kind 不正确：{spec.kind!r}")
        column = by_url.get(spec.url)
        if column is None:
            session.add(
                SiteColumn(
                    target_id=target_id, name=spec.name, url=spec.url, kind=spec.kind, source="config",
                    active=True, created_at=now, updated_at=now,
                )
            )
            changed = True
        elif _assign(column, {"name": spec.name, "kind": spec.kind, "source": "config", "active": True}):
            column.updated_at = now
            changed = True
    for url, column in by_url.items():
        if url not in wanted and column.source == "config" and column.active:
            column.active = False
            column.updated_at = now
            changed = True
    return changed


# --------------------------------------------------------------------------- 我为政府网站找错


class FeedbackMessage(Base):
    """A 我为政府网站找错 message as imported from the platform's export (govmon.feedback).

    Keyed by (received, site, content_hash): importing the same export twice, or a later
    export that repeats older rows, updates ``deadline``/``handled`` instead of adding rows.
    """

    __tablename__ = "feedback_messages"
    __table_args__ = (
        UniqueConstraint("received", "site", "content_hash"),
        Index(None, "received"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    received: Mapped[date] = mapped_column(Date)
    site: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text, default="")
    content_hash: Mapped[str] = mapped_column(String(64))
    deadline: Mapped[date] = mapped_column(Date)
    handled: Mapped[date | None] = mapped_column(Date)
    source_file: Mapped[str | None] = mapped_column(Text)
    imported_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<FeedbackMessage {self.id} {self.received} {self.site!r}>"


# --------------------------------------------------------------------------- availability probes

PROBE_ERROR_KINDS = ("dns", "connect", "timeout", "tls", "http_status", "too_many_redirects", "other")


class Probe(Base):
    """One availability probe of a site's home page (govmon.probes, crawler/probe.py).

    ``round_id`` groups the probes of one round. ``local_outage`` marks the probes of a
    round in which every site (three or more) failed at the connection level: our network
    was more likely down than all of them, so these probes count for no site.
    """

    __tablename__ = "probes"
    __table_args__ = (
        CheckConstraint(_in("error_kind", PROBE_ERROR_KINDS), name="error_kind"),
        Index(None, "target_id", "probed_at"),
        Index(None, "round_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    round_id: Mapped[str] = mapped_column(String(32))
    probed_at: Mapped[datetime]
    url: Mapped[str] = mapped_column(Text)
    ok: Mapped[bool] = mapped_column(Boolean)
    status: Mapped[int | None]
    elapsed_ms: Mapped[int | None]
    bytes: Mapped[int | None]
    error_kind: Mapped[str | None] = mapped_column(String(32))
    detail: Mapped[str | None] = mapped_column(Text)
    final_url: Mapped[str | None] = mapped_column(Text)
    local_outage: Mapped[bool] = mapped_column(Boolean, default=False)

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"failed:{self.error_kind}"
        return f"<Probe {self.id} {self.target_id} {self.probed_at.isoformat()} {state}>"


BROWSER_PAGE_TYPES = ("home", "list", "article")


class BrowserAudit(Base):
    """One page of a site scan as the browser measured it (govmon.browser_audits, crawler/browser.py).

    ``measured`` False: the browser could not measure it (``reason``: crashed, could not open it);
    such a page is never judged. ``load_ms`` is the median of the loads; ``details`` keeps each
    load, TTFB, LCP, bytes, the network profile, JavaScript errors, failed resources, overflowing
    elements and, for the home page, the phone and accessibility facts.
    """

    __tablename__ = "browser_audits"
    __table_args__ = (
        CheckConstraint(_in("page_type", BROWSER_PAGE_TYPES), name="page_type"),
        Index(None, "scan_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    url: Mapped[str] = mapped_column(Text)
    page_type: Mapped[str] = mapped_column(String(16))
    measured: Mapped[bool] = mapped_column(Boolean)
    reason: Mapped[str | None] = mapped_column(Text)
    load_ms: Mapped[int | None]
    details: Mapped[dict[str, Any] | None]
    measured_at: Mapped[datetime] = mapped_column(default=utcnow)
SITE_FACT_KINDS = ("tls", "ipv6", "search")


class SiteFact(Base):
    """What a site scan saw of the site as a whole, besides its pages (govmon.crawler.site_features).

    ``kind`` says which: ``tls`` (does https:// answer, is the certificate valid, when does it
    expire), ``ipv6`` (the host's AAAA addresses, did it answer over IPv6), ``search`` (the home
    page's search form, the query submitted, what the result page showed). ``data`` holds it.
    """

    __tablename__ = "site_facts"
    __table_args__ = (
        CheckConstraint(_in("kind", SITE_FACT_KINDS), name="kind"),
        Index(None, "scan_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    data: Mapped[dict[str, Any]]
    observed_at: Mapped[datetime] = mapped_column(default=utcnow)


# --------------------------------------------------------------------------- new-media accounts

ACCOUNT_COVERAGES = ("complete", "partial", "blocked", "failed")


class AccountRead(Base):
    """One read of one account by its platform adapter (crawler/accounts), one per account scan.

    ``coverage`` says how much the read can vouch for: only ``complete`` can prove that nothing
    was posted recently; ``reason`` (Chinese) says why not; ``evidence`` keeps what was seen
    (URLs asked, codes and short bodies of the answers, the login used).
    """

    __tablename__ = "account_reads"
    __table_args__ = (
        CheckConstraint(_in("coverage", ACCOUNT_COVERAGES), name="coverage"),
        UniqueConstraint("scan_id"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    platform: Mapped[str] = mapped_column(String(16))
    url: Mapped[str] = mapped_column(Text)
    coverage: Mapped[str] = mapped_column(String(16))
    reason: Mapped[str | None] = mapped_column(Text)
    login_expired: Mapped[bool] = mapped_column(Boolean, default=False)
    requests: Mapped[int] = mapped_column(Integer, default=0)
    evidence: Mapped[dict[str, Any] | None]
    read_at: Mapped[datetime] = mapped_column(default=utcnow)

    def __repr__(self) -> str:
        return f"<AccountRead {self.id} scan={self.scan_id} {self.platform} {self.coverage}>"


class AccountPost(Base):
    """One post an account read saw (its text with the HTML removed, its time, pinned or not)."""

    __tablename__ = "account_posts"
    __table_args__ = (Index(None, "scan_id"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    scan_id: Mapped[int] = mapped_column(ForeignKey("scans.id", ondelete="CASCADE"))
    post_id: Mapped[str] = mapped_column(Text)
    text: Mapped[str] = mapped_column(Text, default="")
    url: Mapped[str | None] = mapped_column(Text)
    published_at: Mapped[datetime]
    pinned: Mapped[bool] = mapped_column(Boolean, default=False)
    comments_open: Mapped[bool | None] = mapped_column(Boolean)  # None: the platform did not say


# --------------------------------------------------------------------------- console users (govmon.web)

USER_ROLES = ("admin", "operator", "viewer")
TOKEN_KINDS = ("session", "api")


class User(Base):
    """A person who may use the web console and its API (``govmon user add``)."""

    __tablename__ = "users"
    __table_args__ = (
        UniqueConstraint("name"),
        CheckConstraint(_in("role", USER_ROLES), name="role"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    name: Mapped[str] = mapped_column(String(64))
    role: Mapped[str] = mapped_column(String(16))
    password_hash: Mapped[str] = mapped_column(Text)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]

    def __repr__(self) -> str:
        return f"<User {self.id} {self.name!r} {self.role}>"


class ApiToken(Base):
    """A bearer credential of a user: a console session (cookie) or an API token.

    Only the SHA-256 of the secret is stored; the secret is shown once, when issued.
    """

    __tablename__ = "api_tokens"
    __table_args__ = (
        UniqueConstraint("token_hash"),
        CheckConstraint(_in("kind", TOKEN_KINDS), name="kind"),
        Index(None, "user_id"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    name: Mapped[str | None] = mapped_column(Text)
    token_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    expires_at: Mapped[datetime | None]
    last_used_at: Mapped[datetime | None]
    revoked_at: Mapped[datetime | None]

    user: Mapped[User] = relationship()

    def __repr__(self) -> str:
        return f"<ApiToken {self.id} user={self.user_id} {self.kind}>"


class AuditEntry(Base):
    """Who changed what, and when: every change made through the console or the API."""

    __tablename__ = "audit_log"
    __table_args__ = (Index(None, "at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id", ondelete="SET NULL"))
    username: Mapped[str] = mapped_column(Text)
    action: Mapped[str] = mapped_column(String(64))
    object_type: Mapped[str | None] = mapped_column(String(32))
    object_id: Mapped[str | None] = mapped_column(Text)
    detail: Mapped[dict[str, Any] | None]
    ip: Mapped[str | None] = mapped_column(String(64))

    def __repr__(self) -> str:
        return f"<AuditEntry {self.id} {self.username} {self.action} {self.object_type}:{self.object_id}>"


# --------------------------------------------------------------------------- service (0006)

SCAN_REQUEST_STATUSES = ("pending", "running", "done", "failed")
ALERT_DELIVERY_STATUSES = ("pending", "sending", "sent", "failed")


class ServiceLease(Base):
    """The one running ``govmon run`` of a database: taken atomically, kept by heartbeat,
    free again once ``expires_at`` has passed (a killed service)."""

    __tablename__ = "service_leases"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    owner: Mapped[str] = mapped_column(Text)
    started_at: Mapped[datetime]
    heartbeat_at: Mapped[datetime]
    expires_at: Mapped[datetime]


class ScanRequest(Base):
    """An on-demand rescan (``govmon rescan``) the running service picks up."""

    __tablename__ = "scan_requests"
    __table_args__ = (
        CheckConstraint(_in("status", SCAN_REQUEST_STATUSES), name="status"),
        Index(None, "status", "requested_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    requested_at: Mapped[datetime] = mapped_column(default=utcnow)
    requested_by: Mapped[str | None] = mapped_column(Text)
    picked_at: Mapped[datetime | None]
    finished_at: Mapped[datetime | None]
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id", ondelete="SET NULL"))
    summary: Mapped[dict[str, Any] | None]


class Alert(Base):
    """One digest of a target's new and resolved findings from one judgement (govmon.alerts):
    queued in the transaction that recorded those findings; ``payload`` keeps the finding
    objects (INTERFACE.md) as they were then."""

    __tablename__ = "alerts"
    __table_args__ = (Index(None, "target_id", "created_at"),)

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"))
    scan_id: Mapped[int | None] = mapped_column(ForeignKey("scans.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    payload: Mapped[dict[str, Any]]

    deliveries: Mapped[list[AlertDelivery]] = relationship(
        back_populates="alert", order_by="AlertDelivery.id", cascade="all, delete-orphan", passive_deletes=True,
    )


class AlertDelivery(Base):
    """One alert to one channel: pending → sending (claimed) → sent, or back to pending with a
    later ``next_attempt_at`` after a failure, or failed once the attempts are used up."""

    __tablename__ = "alert_deliveries"
    __table_args__ = (
        UniqueConstraint("alert_id", "channel"),
        CheckConstraint(_in("status", ALERT_DELIVERY_STATUSES), name="status"),
        Index(None, "status", "next_attempt_at"),
    )

    id: Mapped[int] = mapped_column(BigIntKey, primary_key=True)
    alert_id: Mapped[int] = mapped_column(ForeignKey("alerts.id", ondelete="CASCADE"))
    channel: Mapped[str] = mapped_column(String(200))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    last_error: Mapped[str | None] = mapped_column(Text)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    claimed_by: Mapped[str | None] = mapped_column(Text)
    claimed_at: Mapped[datetime | None]
    sent_at: Mapped[datetime | None]

    alert: Mapped[Alert] = relationship(back_populates="deliveries")


# --------------------------------------------------------------------------- politeness across processes (0011)


class ProbeLease(Base):
    """An availability probe of a site in flight (govmon.probes): a scan of the site waits
    for it to end, so the probe's one connection never comes on top of the crawl's; free
    again once ``expires_at`` has passed (a probing process that died)."""

    __tablename__ = "probe_leases"

    target_id: Mapped[str] = mapped_column(ForeignKey("targets.id", ondelete="CASCADE"), primary_key=True)
    owner: Mapped[str] = mapped_column(Text)
    expires_at: Mapped[datetime]


class PlatformPaceState(Base):
    """The pace of one platform shared by every ``govmon worker`` (govmon.shared_pace): when
    its next request may start, and its refusals in a row (the back-off doubles with each)."""

    __tablename__ = "platform_paces"

    platform: Mapped[str] = mapped_column(String(32), primary_key=True)
    next_start: Mapped[datetime]
    last_start: Mapped[datetime | None]
    last_block: Mapped[datetime | None]
    blocks: Mapped[int] = mapped_column(Integer, default=0)
