"""The store: migrations, models, registry sync and the findings lifecycle, on SQLite and PostgreSQL."""

from __future__ import annotations

import threading
from datetime import UTC, date, datetime, timedelta, timezone
from zoneinfo import ZoneInfo

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Column, Engine, Integer, MetaData, func, inspect, select, text
from sqlalchemy.exc import IntegrityError, StatementError
from sqlalchemy.orm import Session, sessionmaker

from govmon.db import (
    DatabaseUnavailableError,
    DatabaseUrlError,
    SchemaVersionError,
    current_revision,
    head_revision,
    make_engine,
    migrate,
    migrations_config,
    open_database,
    redact_url,
)
from govmon.findings import (
    MAX_SUBJECT_LENGTH,
    FindingNotFoundError,
    NewFinding,
    dismiss_finding,
    evidence_fingerprint,
    record_findings,
    subject_key,
)
from govmon.models import (
    Base,
    ColumnSpec,
    Finding,
    FindingEvent,
    Link,
    LinkCheck,
    ListItem,
    NaiveDatetimeError,
    Page,
    Scan,
    SiteColumn,
    Target,
    TargetSpec,
    sync_targets,
)

SHANGHAI = ZoneInfo("Asia/Shanghai")
TABLES = {
    "targets",
    "columns",
    "scans",
    "pages",
    "list_items",
    "links",
    "link_checks",
    "findings",
    "finding_events",
    "feedback_messages",
    "probes",
    "browser_audits",
    "site_facts",
    "service_leases",
    "scan_requests",
    "users",
    "api_tokens",
    "audit_log",
    "account_reads",
    "account_posts",
    "alerts",
    "alert_deliveries",
    "probe_leases",
    "platform_paces",
}
LIANJIANG = TargetSpec(
    id="lianjiang",
    kind="site",
    name="廉江市政府门户网站",
    organizer="廉江市政府",
    category="county_portal",
    platform=None,
    url="http://www.lianjiang.gov.cn/",
    columns=(
        ColumnSpec(name="政务动态", url="http://www.lianjiang.gov.cn/zwdt/", kind="news"),
        ColumnSpec(name="通知公告", url="http://www.lianjiang.gov.cn/tzgg/", kind="notice"),
    ),
)
XIASHAN = TargetSpec(
    id="meili-xiashan",
    kind="account",
    name="魅力霞山",
    organizer="霞山区政府",
    category=None,
    platform="douyin",
    url="https://www.douyin.com/user/XXXX",
)
DATE_ORDER = "content.date_order"
ARTICLE = "http://www.lianjiang.gov.cn/zwgk/content/post_123.html"
T0 = datetime(2023, 5, 12, 9, 30, tzinfo=SHANGHAI)


def at(days: float) -> datetime:
    return T0 + timedelta(days=days)


def date_order(publish: str = "2023-05-08", written: str = "2023-05-10", subject: str = ARTICLE) -> NewFinding:
    return NewFinding(
        check_id=DATE_ORDER,
        subject=subject,
        severity="veto",
        message=f"发布日期（{publish}）早于成文日期（{written}）",
        url=subject,
        evidence={"publish_date": publish, "written_date": written},
    )


def new_scan(session: Session, when: datetime, target_id: str = "lianjiang", status: str = "complete") -> Scan:
    scan = Scan(target_id=target_id, kind="site", status=status, started_at=when, finished_at=when, as_of=when)
    session.add(scan)
    session.flush()
    return scan


def record(
    session: Session,
    when: datetime,
    findings: list[NewFinding],
    *,
    complete: bool = True,
    judged: set[str] | None = None,
    target_id: str = "lianjiang",
):
    scan = new_scan(session, when, target_id, "complete" if complete else "incomplete")
    return record_findings(
        session,
        scan,
        target_id,
        findings,
        complete=complete,
        now=when,
        judged_checks={DATE_ORDER} if judged is None else judged,
    )


def events(session: Session, finding: Finding) -> list[str]:
    return list(
        session.scalars(select(FindingEvent.event).where(FindingEvent.finding_id == finding.id).order_by(FindingEvent.id))
    )


def count(session: Session, model: type[Base]) -> int:
    return session.scalar(select(func.count()).select_from(model)) or 0


@pytest.fixture
def registered(session_factory: sessionmaker[Session]) -> sessionmaker[Session]:
    with session_factory.begin() as session:
        sync_targets(session, [LIANJIANG, XIASHAN], now=T0)
    return session_factory


# --------------------------------------------------------------------------- migrations


def test_migration_creates_tables(migrated_engine: Engine) -> None:
    tables = set(inspect(migrated_engine).get_table_names())
    assert tables == TABLES | {"alembic_version"}
    assert current_revision(migrated_engine) == head_revision() == "0013"


def test_models_and_migrations_do_not_drift(migrated_engine: Engine) -> None:
    with migrated_engine.connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": True, "compare_server_default": True})
        assert compare_metadata(context, Base.metadata) == []

        # ...and the comparison does notice a difference.
        drifted = MetaData()
        for table in Base.metadata.tables.values():
            table.to_metadata(drifted)
        drifted.tables["findings"].append_column(Column("extra", Integer()))
        diff = compare_metadata(context, drifted)
        assert [(d[0], d[2], d[3].name) for d in diff] == [("add_column", "findings", "extra")]


def test_posts_stored_before_0011_have_no_comment_state(engine: Engine) -> None:
    """0011 adds account_posts.comments_open: posts kept before it read back as unknown (NULL)."""
    migrate(engine, "0010")
    now = datetime(2026, 11, 20, 2, 0, tzinfo=UTC)
    with engine.begin() as connection:
        connection.execute(text("INSERT INTO targets (id, kind, name, url, active, created_at, updated_at) "
                                "VALUES ('dy', 'account', '示范政务', 'http://127.0.0.1/user/x', :t, :now, :now)"),
                           {"t": True, "now": now})
        connection.execute(text("INSERT INTO scans (id, target_id, kind, status, started_at, as_of) "
                                "VALUES (1, 'dy', 'account', 'complete', :now, :now)"), {"now": now})
        connection.execute(text("INSERT INTO account_posts (scan_id, post_id, text, published_at, pinned) "
                                "VALUES (1, '7600000000000000800', '第800条', :now, :f)"), {"now": now, "f": False})
    migrate(engine, "0011")
    assert current_revision(engine) == "0011"
    with engine.connect() as connection:
        assert connection.execute(text("SELECT post_id, comments_open FROM account_posts")).all() == [
            ("7600000000000000800", None)]
    config = migrations_config()
    with engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "0010")
    assert "comments_open" not in {c["name"] for c in inspect(engine).get_columns("account_posts")}


def test_migrate_is_idempotent_and_needs_no_alembic_ini(
    engine: Engine, tmp_path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)  # nothing alembic-related here
    assert current_revision(engine) is None
    migrate(engine)
    migrate(engine)
    assert current_revision(engine) == head_revision()
    assert list(tmp_path.iterdir()) == []


def test_downgrade_to_base_and_upgrade_again(migrated_engine: Engine) -> None:
    config = migrations_config()
    with migrated_engine.begin() as connection:
        config.attributes["connection"] = connection
        command.downgrade(config, "base")
    assert set(inspect(migrated_engine).get_table_names()) == {"alembic_version"}
    migrate(migrated_engine)
    assert set(inspect(migrated_engine).get_table_names()) == TABLES | {"alembic_version"}


def test_database_newer_than_program_is_refused(migrated_engine: Engine) -> None:
    with migrated_engine.begin() as connection:
        connection.execute(text("UPDATE alembic_version SET version_num = '9999_future'"))
    with pytest.raises(SchemaVersionError) as raised:
        migrate(migrated_engine)
    assert "9999_future" in str(raised.value)
    assert "请升级 govmon" in str(raised.value)


def test_open_database_returns_ready_sessions(db_url: str) -> None:
    factory = open_database(db_url)
    try:
        with factory.begin() as session:
            sync_targets(session, [XIASHAN], now=T0)
        with factory() as session:
            assert session.scalars(select(Target.id)).all() == ["meili-xiashan"]
    finally:
        factory.kw["bind"].dispose()


# --------------------------------------------------------------------------- engines


def test_sqlite_runs_in_wal_mode_with_foreign_keys(tmp_path) -> None:
    factory = open_database(f"sqlite:///{tmp_path / 'govmon.db'}")
    engine = factory.kw["bind"]
    try:
        with engine.connect() as connection:
            assert connection.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
            assert connection.exec_driver_sql("PRAGMA foreign_keys").scalar() == 1
            assert connection.exec_driver_sql("PRAGMA busy_timeout").scalar() == 30000
        with factory() as session:
            session.add(Scan(target_id="no-such-target", kind="site", as_of=T0))
            with pytest.raises(IntegrityError, match="FOREIGN KEY"):
                session.flush()
    finally:
        engine.dispose()


def test_postgresql_url_gets_psycopg_driver() -> None:
    assert make_engine("postgresql://u@db.example/govmon").url.drivername == "postgresql+psycopg"
    assert make_engine("postgres://u@db.example/govmon").url.drivername == "postgresql+psycopg"
    assert make_engine("postgresql+psycopg://u@db.example/govmon").url.drivername == "postgresql+psycopg"
    assert redact_url("postgresql://u:secret@h/db") == "postgresql://u:***@h/db"


def test_unreachable_postgresql_is_a_one_line_chinese_error() -> None:
    with pytest.raises(DatabaseUnavailableError) as raised:
        open_database("postgresql://govmon:s3cret@127.0.0.1:1/govmon")
    message = str(raised.value)
    assert message == "无法连接数据库 postgresql+psycopg://govmon:***@127.0.0.1:1/govmon：数据库服务器未运行或拒绝连接"
    assert "s3cret" not in message and "\n" not in message


def test_unopenable_sqlite_file_is_a_chinese_error(tmp_path) -> None:
    with pytest.raises(DatabaseUnavailableError) as raised:
        open_database(f"sqlite:///{tmp_path / 'missing-dir' / 'govmon.db'}")
    assert str(raised.value).startswith("无法连接数据库 sqlite:///")
    assert str(raised.value).endswith("：无法打开数据库文件（目录不存在或没有权限）")


def test_unsupported_database_url_is_refused() -> None:
    with pytest.raises(DatabaseUrlError, match="^不支持的数据库 mysql://root:\\*\\*\\*@h/db"):
        make_engine("mysql://root:pw@h/db")
    with pytest.raises(DatabaseUrlError, match="^数据库 URL 格式不正确"):
        make_engine("not a url")


# --------------------------------------------------------------------------- datetimes


def test_aware_datetimes_round_trip(registered: sessionmaker[Session], db_kind: str) -> None:
    started = datetime(2023, 7, 14, 23, 59, 58, 123456, tzinfo=SHANGHAI)
    with registered.begin() as session:
        scan = new_scan(session, started)
        scan_id = scan.id
    with registered() as session:
        loaded = session.get(Scan, scan_id)
        assert loaded is not None
        assert loaded.started_at == started
        assert loaded.started_at.tzinfo is UTC
        assert loaded.started_at == datetime(2023, 7, 14, 15, 59, 58, 123456, tzinfo=UTC)
        assert loaded.started_at.astimezone(SHANGHAI).isoformat() == "2023-07-14T23:59:58.123456+08:00"
        # Comparisons in SQL use the same conversion, whatever zone the bound value is in.
        later = datetime(2023, 7, 14, 16, 0, tzinfo=timezone(timedelta(hours=1)))  # 15:00 UTC
        assert session.scalar(select(func.count()).select_from(Scan).where(Scan.started_at > later)) == 1
        if db_kind == "sqlite":
            raw = session.execute(text("SELECT started_at FROM scans WHERE id = :id"), {"id": scan_id}).scalar()
            assert raw == "2023-07-14 15:59:58.123456"


def test_naive_datetimes_are_rejected(registered: sessionmaker[Session]) -> None:
    with registered() as session:
        session.add(Scan(target_id="lianjiang", kind="site", as_of=datetime(2023, 7, 14, 9, 0)))
        with pytest.raises(StatementError) as raised:
            session.flush()
        assert isinstance(raised.value.orig, NaiveDatetimeError)
        session.rollback()
        with pytest.raises(NaiveDatetimeError):
            record_findings(session, None, "lianjiang", [], complete=False, now=datetime(2023, 7, 14))


def test_page_dates_and_facts_round_trip(registered: sessionmaker[Session]) -> None:
    with registered.begin() as session:
        scan = new_scan(session, T0)
        column = session.scalars(select(SiteColumn).where(SiteColumn.kind == "news")).one()
        page = Page(
            scan_id=scan.id,
            url=ARTICLE,
            status_code=200,
            page_type="article",
            column_id=column.id,
            bytes=12345,
            publish_date=date(2023, 5, 8),
            publish_date_raw="发布日期：2023-05-08",
            written_date=date(2023, 5, 1),
            written_date_precision="month",
            written_date_raw="（2023年5月）",
            facts={"publish_time": "09:30", "warnings": []},
        )
        page.list_items.append(ListItem(title="关于…的通知", url=ARTICLE, date=date(2023, 5, 8), position=0))
        session.add(page)
        page_id = page.id if page.id else None
    with registered() as session:
        page = session.scalars(select(Page)).one()
        assert page_id is None or page.id == page_id
        assert (page.publish_date, page.written_date, page.written_date_precision) == (
            date(2023, 5, 8),
            date(2023, 5, 1),
            "month",
        )
        assert page.facts == {"publish_time": "09:30", "warnings": []}
        assert page.column is not None and page.column.name == "政务动态"
        assert [(i.title, i.date) for i in page.list_items] == [("关于…的通知", date(2023, 5, 8))]


# --------------------------------------------------------------------------- registry


def test_sync_targets_upserts_and_deactivates(session_factory: sessionmaker[Session]) -> None:
    with session_factory.begin() as session:
        result = sync_targets(session, [LIANJIANG, XIASHAN], now=T0)
        assert (result.added, result.updated, result.deactivated) == (["lianjiang", "meili-xiashan"], [], [])
        # A column found on the home page, not in the config.
        session.add(SiteColumn(target_id="lianjiang", name="图片新闻", url="http://www.lianjiang.gov.cn/tpxw/",
                               kind="news", source="discovered", created_at=T0, updated_at=T0))

    with session_factory.begin() as session:
        again = sync_targets(session, [LIANJIANG, XIASHAN], now=at(1))
        assert (again.added, again.updated, again.reactivated, again.deactivated) == ([], [], [], [])
        assert session.get(Target, "lianjiang").updated_at == T0

    renamed = TargetSpec(
        id="lianjiang", kind="site", name="廉江市人民政府门户网站", organizer="廉江市政府",
        category="county_portal", platform=None, url="http://www.lianjiang.gov.cn/",
        columns=(
            ColumnSpec(name="政务要闻", url="http://www.lianjiang.gov.cn/zwdt/", kind="news"),
            ColumnSpec(name="图片新闻", url="http://www.lianjiang.gov.cn/tpxw/", kind="news"),
        ),
    )
    newcomer = TargetSpec(id="zhanjiang-jd", kind="account", name="湛江禁毒", organizer="湛江市公安局",
                          category=None, platform="wechat", url="https://mp.weixin.qq.com/x")
    with session_factory.begin() as session:
        result = sync_targets(session, [renamed, newcomer], now=at(2))
        assert (result.added, result.updated, result.reactivated, result.deactivated) == (
            ["zhanjiang-jd"], ["lianjiang"], [], ["meili-xiashan"]
        )

    with session_factory() as session:
        targets = {t.id: t for t in session.scalars(select(Target))}
        assert set(targets) == {"lianjiang", "meili-xiashan", "zhanjiang-jd"}  # nothing deleted
        assert targets["meili-xiashan"].active is False
        assert targets["lianjiang"].name == "廉江市人民政府门户网站"
        assert targets["lianjiang"].created_at == T0 and targets["lianjiang"].updated_at == at(2)
        columns = {c.url.rsplit("/", 2)[-2]: (c.name, c.source, c.active) for c in targets["lianjiang"].columns}
        assert columns == {
            "zwdt": ("政务要闻", "config", True),
            "tzgg": ("通知公告", "config", False),  # dropped from the config: kept, inactive
            "tpxw": ("图片新闻", "config", True),  # discovered, now registered
        }

    with session_factory.begin() as session:
        back = sync_targets(session, [renamed, newcomer, XIASHAN], now=at(3))
        assert (back.added, back.reactivated, back.deactivated) == ([], ["meili-xiashan"], [])
        assert session.get(Target, "meili-xiashan").active is True


def test_sync_targets_refuses_duplicate_ids(session_factory: sessionmaker[Session]) -> None:
    with session_factory() as session, pytest.raises(ValueError, match="重复的 id：lianjiang"):
        sync_targets(session, [LIANJIANG, LIANJIANG], now=T0)


# --------------------------------------------------------------------------- findings lifecycle


def test_findings_lifecycle_open_seen_resolved_reopened(registered: sessionmaker[Session]) -> None:
    with registered.begin() as session:
        result = record(session, at(0), [date_order()])
        assert len(result.opened) == 1
        finding_id = result.opened[0].id

    with registered.begin() as session:  # seen again, unchanged: last_seen moves, no event
        result = record(session, at(1), [date_order()])
        assert (result.opened, result.updated, result.unchanged) == ([], 0, 1)
        finding = session.get(Finding, finding_id)
        assert (finding.status, finding.first_seen, finding.last_seen) == ("open", at(0), at(1))
        assert events(session, finding) == ["opened"]

    with registered.begin() as session:  # a new message and day count only: refreshed, no event
        reworded = NewFinding(DATE_ORDER, ARTICLE, "veto", "发布日期早于成文日期", ARTICLE,
                              {"publish_date": "2023-05-08", "written_date": "2023-05-10", "days_since": 3})
        result = record(session, at(1.5), [reworded])
        assert (result.updated, result.unchanged) == (0, 1)
        finding = session.get(Finding, finding_id)
        assert finding.message == "发布日期早于成文日期"
        assert finding.evidence["days_since"] == 3
        assert events(session, finding) == ["opened"]

    with registered.begin() as session:  # a new severity: updated, one "seen" event
        result = record(session, at(2), [NewFinding(DATE_ORDER, ARTICLE, "deduct", "m", ARTICLE,
                                                    {"publish_date": "2023-05-08", "written_date": "2023-05-10"})])
        assert result.updated == 1
        finding = session.get(Finding, finding_id)
        assert (finding.severity, finding.last_seen) == ("deduct", at(2))
        assert events(session, finding) == ["opened", "seen"]
        assert session.scalars(select(FindingEvent.note).where(FindingEvent.event == "seen")).one() == "更新：严重程度（veto→deduct）"

    with registered.begin() as session:  # a complete scan no longer sees it
        result = record(session, at(3), [])
        assert [f.id for f in result.resolved] == [finding_id]
        finding = session.get(Finding, finding_id)
        assert (finding.status, finding.resolved_at, finding.last_seen) == ("resolved", at(3), at(2))

    with registered.begin() as session:  # and then sees it again
        scan_result = record(session, at(4), [date_order()])
        assert [f.id for f in scan_result.reopened] == [finding_id]
        finding = session.get(Finding, finding_id)
        assert (finding.status, finding.resolved_at, finding.first_seen, finding.last_seen) == (
            "open", None, at(0), at(4)
        )
        assert events(session, finding) == ["opened", "seen", "resolved", "reopened"]
        assert count(session, Finding) == 1


def test_incomplete_scan_resolves_nothing(registered: sessionmaker[Session]) -> None:
    with registered.begin() as session:
        record(session, at(0), [date_order()])
    with registered.begin() as session:
        result = record(session, at(1), [], complete=False)
        assert result.resolved == []
        finding = session.scalars(select(Finding)).one()
        assert (finding.status, finding.last_seen) == ("open", at(0))
        assert events(session, finding) == ["opened"]


def test_complete_scan_resolves_only_the_checks_it_judged(registered: sessionmaker[Session]) -> None:
    broken = NewFinding("links.broken", "http://www.lianjiang.gov.cn/dead.html", "deduct", "不可用链接",
                        "http://www.lianjiang.gov.cn/dead.html", {"status": 404})
    with registered.begin() as session:
        record(session, at(0), [date_order(), broken], judged={DATE_ORDER, "links.broken"})
    with registered.begin() as session:  # a scan that judged dates only
        result = record(session, at(1), [], judged={DATE_ORDER})
        assert [f.check_id for f in result.resolved] == [DATE_ORDER]
        statuses = dict(session.execute(select(Finding.check_id, Finding.status)).all())
        assert statuses == {DATE_ORDER: "resolved", "links.broken": "open"}
    with registered() as session:
        with pytest.raises(TypeError, match="judged_checks"):
            record_findings(session, None, "lianjiang", [], complete=True, now=at(2))
        with pytest.raises(ValueError, match="not among the judged checks"):
            record_findings(session, None, "lianjiang", [broken], complete=True, now=at(2), judged_checks={DATE_ORDER})


def test_findings_of_other_targets_are_untouched(registered: sessionmaker[Session]) -> None:
    with registered.begin() as session:
        record(session, at(0), [date_order()])
    with registered.begin() as session:
        result = record(session, at(1), [], target_id="meili-xiashan")
        assert result.resolved == []
        assert session.scalars(select(Finding.status)).all() == ["open"]


def test_dismissed_finding_stays_dismissed_until_its_evidence_changes(registered: sessionmaker[Session]) -> None:
    with registered.begin() as session:
        finding_id = record(session, at(0), [date_order()]).opened[0].id
    with registered.begin() as session:
        finding = dismiss_finding(session, finding_id, "成文日期为印发日期，非误发", "张三", now=at(0.5))
        assert (finding.status, finding.dismissed_reason, finding.dismissed_by) == ("dismissed", "成文日期为印发日期，非误发", "张三")

    with registered.begin() as session:  # unchanged evidence: stays dismissed, last_seen moves
        volatile_only = NewFinding(DATE_ORDER, ARTICLE, "veto", "另一种说法", ARTICLE,
                                   {"publish_date": "2023-05-08", "written_date": "2023-05-10", "as_of": "2023-05-13",
                                    "stale_count": 7}, volatile_keys={"as_of", "stale_count"})
        result = record(session, at(1), [volatile_only])
        assert (result.still_dismissed, result.reopened) == (1, [])
        finding = session.get(Finding, finding_id)
        assert (finding.status, finding.last_seen) == ("dismissed", at(1))

    with registered.begin() as session:  # not seen by a complete scan: still dismissed, not resolved
        assert record(session, at(2), []).resolved == []
        assert session.get(Finding, finding_id).status == "dismissed"

    with registered.begin() as session:  # the evidence changes: raised again
        result = record(session, at(3), [date_order(publish="2023-05-09")])
        assert [f.id for f in result.reopened] == [finding_id]
        finding = session.get(Finding, finding_id)
        assert (finding.status, finding.dismissed_at, finding.dismissed_reason) == ("open", None, None)
        assert finding.evidence == {"publish_date": "2023-05-09", "written_date": "2023-05-10"}
        history = session.execute(
            select(FindingEvent.event, FindingEvent.actor, FindingEvent.note)
            .where(FindingEvent.finding_id == finding_id)
            .order_by(FindingEvent.id)
        ).all()
        assert history == [
            ("opened", None, None),
            ("dismissed", "张三", "成文日期为印发日期，非误发"),
            ("reopened", None, "证据已变化，重新提出"),
        ]


def test_dismiss_needs_a_reason_and_an_existing_finding(registered: sessionmaker[Session]) -> None:
    with registered() as session:
        finding_id = record(session, at(0), [date_order()]).opened[0].id
        with pytest.raises(ValueError, match="必须注明理由"):
            dismiss_finding(session, finding_id, "  ", "张三")
        with pytest.raises(FindingNotFoundError, match="没有编号为 424242 的问题"):
            dismiss_finding(session, 424242, "误报", "张三")


def test_finding_key_is_unique(registered: sessionmaker[Session]) -> None:
    with registered() as session:
        for _ in range(2):
            session.add(Finding(target_id="lianjiang", check_id=DATE_ORDER, subject=ARTICLE, severity="veto",
                                message="m", evidence={}, evidence_hash="x", first_seen=T0, last_seen=T0))
        with pytest.raises(IntegrityError):
            session.flush()


def test_duplicate_and_long_subjects_in_one_judgement(registered: sessionmaker[Session]) -> None:
    long_url = "http://www.lianjiang.gov.cn/search?q=" + "政" * 3000
    with registered.begin() as session:
        result = record(session, at(0), [date_order(publish="2023-01-01"), date_order(),
                                         date_order(subject=long_url), date_order(subject=long_url + "x")])
        assert len(result.opened) == 3  # the repeated key counted once; the later one won
    with registered() as session:
        subjects = session.scalars(select(Finding.subject).order_by(Finding.id)).all()
        assert subjects[0] == ARTICLE
        assert all(len(s) <= MAX_SUBJECT_LENGTH for s in subjects) and subjects[1] != subjects[2]
        assert subjects[1] == subject_key(long_url)
        first = session.scalars(select(Finding).where(Finding.subject == ARTICLE)).one()
        assert first.evidence["publish_date"] == "2023-05-08"


def test_evidence_is_stored_as_plain_json(registered: sessionmaker[Session]) -> None:
    evidence = {"written_date": date(2023, 5, 10), "publish_date": date(2023, 5, 8)}
    with registered.begin() as session:
        record(session, at(0), [NewFinding(DATE_ORDER, ARTICLE, "veto", "m", ARTICLE, evidence)])
    with registered() as session:
        finding = session.scalars(select(Finding)).one()
        assert finding.evidence == {"written_date": "2023-05-10", "publish_date": "2023-05-08"}
        assert finding.evidence_hash == evidence_fingerprint({"publish_date": "2023-05-08", "written_date": "2023-05-10"})
        assert finding.evidence_hash == evidence_fingerprint(
            {"written_date": "2023-05-10", "publish_date": "2023-05-08", "as_of": "2023-07-01", "days_since": 9}
        )
        assert finding.evidence_hash != evidence_fingerprint({"publish_date": "2023-05-09", "written_date": "2023-05-10"})


def test_to_json_is_the_interface_shape(registered: sessionmaker[Session]) -> None:
    with registered.begin() as session:
        record(session, datetime(2023, 5, 12, 9, 30, tzinfo=SHANGHAI), [date_order()])
        record(session, datetime(2023, 6, 30, 1, 30, tzinfo=UTC), [date_order()])
    with registered() as session:
        finding = session.scalars(select(Finding)).one()
        data = finding.to_json(session.get(Target, "lianjiang"), SHANGHAI)
        assert list(data) == [
            "target", "target_id", "kind", "organizer", "category", "check", "severity",
            "message", "url", "evidence", "first_seen", "last_seen", "status",
        ]
        assert data == {
            "target": "廉江市政府门户网站",
            "target_id": "lianjiang",
            "kind": "site",
            "organizer": "廉江市政府",
            "category": "county_portal",
            "check": "content.date_order",
            "severity": "veto",
            "message": "发布日期（2023-05-08）早于成文日期（2023-05-10）",
            "url": "http://www.lianjiang.gov.cn/zwgk/content/post_123.html",
            "evidence": {"publish_date": "2023-05-08", "written_date": "2023-05-10"},
            "first_seen": "2023-05-12T09:30:00+08:00",
            "last_seen": "2023-06-30T09:30:00+08:00",
            "status": "open",
        }
        assert finding.to_json(None, UTC)["first_seen"] == "2023-05-12T01:30:00+00:00"


def test_to_json_of_an_account_finding_has_null_category(registered: sessionmaker[Session]) -> None:
    stale = NewFinding("account.stale", "account", "deduct", "监测时间点前1周内无更新", None, {"last_post": None})
    with registered.begin() as session:
        record(session, at(0), [stale], target_id="meili-xiashan", judged={"account.stale"})
    with registered() as session:
        data = session.scalars(select(Finding)).one().to_json(None, SHANGHAI)
        assert (data["kind"], data["category"], data["url"], data["evidence"]) == ("account", None, None, {"last_post": None})


# --------------------------------------------------------------------------- transactions


def test_rolled_back_transaction_leaves_nothing_half_written(session_factory: sessionmaker[Session]) -> None:
    with pytest.raises(RuntimeError, match="crash"):
        with session_factory.begin() as session:
            sync_targets(session, [LIANJIANG], now=T0)
            record(session, at(0), [date_order()])
            raise RuntimeError("crash mid-scan")
    with session_factory() as session:
        assert [count(session, m) for m in (Target, SiteColumn, Scan, Finding, FindingEvent)] == [0, 0, 0, 0, 0]

    # A database error part-way through undoes the earlier writes of the same transaction.
    with pytest.raises(IntegrityError):
        with session_factory.begin() as session:
            sync_targets(session, [LIANJIANG], now=T0)
            session.add(LinkCheck(scan_id=new_scan(session, T0).id, url="http://a/", outcome="ok"))
            session.flush()
            session.add(LinkCheck(scan_id=session.scalar(select(Scan.id)), url="http://a/", outcome="ok"))
    with session_factory() as session:
        assert [count(session, m) for m in (Target, Scan, LinkCheck)] == [0, 0, 0]


def test_deleting_a_scan_removes_its_observations_and_keeps_findings(registered: sessionmaker[Session]) -> None:
    with registered.begin() as session:
        scan = new_scan(session, T0)
        page = Page(scan_id=scan.id, url=ARTICLE, page_type="article")
        page.list_items.append(ListItem(title="t", position=0))
        session.add(page)
        session.flush()
        session.add_all([
            Link(scan_id=scan.id, source_page_id=page.id, url="http://x/", visible=False),
            LinkCheck(scan_id=scan.id, url="http://x/", method="HEAD", status_code=404, outcome="broken"),
        ])
        record_findings(session, scan, "lianjiang", [date_order()], complete=True, now=T0, judged_checks={DATE_ORDER})
        scan_id = scan.id
    with registered.begin() as session:
        session.execute(Scan.__table__.delete().where(Scan.id == scan_id))
    with registered() as session:
        assert [count(session, m) for m in (Scan, Page, ListItem, Link, LinkCheck)] == [0, 0, 0, 0, 0]
        finding = session.scalars(select(Finding)).one()
        assert (finding.first_scan_id, finding.last_scan_id) == (None, None)
        assert session.scalars(select(FindingEvent.scan_id)).all() == [None]


def test_concurrent_judgements_of_one_target_do_not_collide(registered: sessionmaker[Session]) -> None:
    with registered.begin() as session:
        scan_ids = [new_scan(session, at(0)).id, new_scan(session, at(0)).id]
    barrier = threading.Barrier(2)
    errors: list[BaseException] = []

    def judge(scan_id: int) -> None:
        try:
            with registered.begin() as session:
                barrier.wait(timeout=10)
                record_findings(session, scan_id, "lianjiang", [date_order()], complete=True, now=at(1),
                                judged_checks={DATE_ORDER})
        except BaseException as err:  # noqa: BLE001 - reported below
            errors.append(err)

    threads = [threading.Thread(target=judge, args=(scan_id,)) for scan_id in scan_ids]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    with registered() as session:
        finding = session.scalars(select(Finding)).one()
        assert events(session, finding) == ["opened"]


def test_a_long_lived_session_does_not_undo_a_dismissal_made_elsewhere(registered: sessionmaker[Session]) -> None:
    with registered() as scanner:
        finding_id = record(scanner, at(0), [date_order()]).opened[0].id
        record(scanner, at(1), [])  # resolved
        scanner.commit()  # the scanner keeps its (unexpired) Finding object, status "resolved"
        with registered.begin() as console:
            dismiss_finding(console, finding_id, "误报", "李四", now=at(1.5))
        result = record(scanner, at(2), [date_order()])  # seen again, same evidence
        scanner.commit()
        assert (result.reopened, result.still_dismissed) == ([], 1)
    with registered() as session:
        assert session.get(Finding, finding_id).status == "dismissed"
