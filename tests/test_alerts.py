"""Alerts end to end over loopback, on SQLite and PostgreSQL: real `govmon scan` / `govmon run`
subprocesses, real webhook receivers (企业微信, 钉钉 with 加签, JSON) and a real SMTP server
(aiosmtpd). One digest per target per scan, retried when the receiver fails, never sent twice."""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import email
import email.policy
import hashlib
import hmac
import json
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select

from govmon.alerts import deliver_pending
from govmon.config import load_config
from govmon.db import open_database
from govmon.models import AlertDelivery, Scan, utcnow
from tests.loopback import LoopbackServer, Reply, WebhookReceiver, dead_address, html
from tests.test_service import _start, _stop, _wait_for

GOVMON = str(Path(sys.executable).with_name("govmon"))

HOME = html('<h1>示范县人民政府</h1><a href="/zwdt/">政务动态</a><p>主办单位：示范县人民政府办公室</p>', title="示范县")
LIST = html('<ul><li><a href="/zwdt/1.html">通知</a><span>2026-11-20</span></li></ul>', title="政务动态")
# The publication date before the written date: a veto (content.date_order), fixed later.
WRONG = html("<h1>通知</h1><p>发布日期：2026-11-20</p><p>成文日期：2026-11-25</p>", title="通知")
FIXED = html("<h1>通知</h1><p>发布日期：2026-11-26</p><p>成文日期：2026-11-25</p>", title="通知")
DATE_ORDER_MESSAGE = "文章“通知”的发布日期（2026-11-20）早于成文日期（2026-11-25），早 5 天"
ROBOT_OK = Reply(200, '{"errcode": 0, "errmsg": "ok"}', "application/json")
FINDING_KEYS = {"target", "target_id", "kind", "organizer", "category", "check", "severity", "message", "url",
                "evidence", "first_seen", "last_seen", "status"}


def _site_routes() -> dict[str, Reply]:
    return {"/": Reply(body=HOME), "/zwdt/": Reply(body=LIST), "/zwdt/1.html": Reply(body=WRONG)}


@pytest.fixture
def site():
    with LoopbackServer(_site_routes()) as server:
        yield server


def _site_entry(server: LoopbackServer, number: int = 1) -> dict[str, Any]:
    """A department site: the portal-only checks (consultation channel, search, 找错 entry) stay out of the digests."""
    suffix = "" if number == 1 else str(number)
    return {"id": f"shifan{suffix}", "name": f"示范县{suffix}政府门户网站", "organizer": f"示范县{suffix}人民政府",
            "category": "department_site", "url": server.base + "/",
            "columns": [{"name": "政务动态", "url": server.base + "/zwdt/", "kind": "news"}]}


def _config(path: Path, db_url: str, sites: list[dict[str, Any]], notifications: dict[str, Any],
            schedule: dict[str, Any] | None = None) -> Path:
    mapping = {
        "database": db_url, "sites": sites, "crawl": {"download_delay_s": 0.01}, "browser": {"enabled": False},
        "notifications": notifications,
        "schedule": schedule or {"sites": "1h", "probes": "1h", "service_lease": "6s", "rescan_poll": "1s"},
    }
    path.write_text(json.dumps(mapping, ensure_ascii=False), encoding="utf-8")
    return path


def _scan(config: Path, cwd: Path) -> subprocess.CompletedProcess[str]:
    result = subprocess.run([GOVMON, "scan", "--config", str(config)], cwd=cwd, capture_output=True, text=True,
                            timeout=180)
    assert result.returncode == 0, result.stderr
    return result


def _deliveries(db_url: str) -> list[AlertDelivery]:
    sessions = open_database(db_url)
    try:
        with sessions() as session:
            return list(session.scalars(select(AlertDelivery).order_by(AlertDelivery.id)))
    finally:
        sessions.kw["bind"].dispose()


def test_webhook_formats_digest_once_per_scan_and_resolved(db_url, site, tmp_path):
    with WebhookReceiver([ROBOT_OK]) as wecom, WebhookReceiver([ROBOT_OK]) as ding, \
            WebhookReceiver([Reply(204, "", None)]) as plain:
        secret = "SEC0123456789abcdef"
        config = _config(tmp_path / "config.yaml", db_url, [_site_entry(site)], {"webhooks": [
            {"format": "wecom", "url": wecom.url("/cgi-bin/webhook/send?key=abc")},
            {"format": "dingtalk", "url": ding.url("/robot/send?access_token=tok"), "secret": secret},
            {"format": "json", "url": plain.url("/govmon")},
        ]})
        _scan(config, tmp_path)
        assert [len(r.calls) for r in (wecom, ding, plain)] == [1, 1, 1]

        # 企业微信: exactly {"msgtype": "markdown", "markdown": {"content": ...}}
        body = wecom.calls[0].json()
        assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
        assert set(body["markdown"]) == {"content"}
        content = body["markdown"]["content"]
        assert "示范县政府门户网站" in content and "主办单位：示范县人民政府" in content
        assert DATE_ORDER_MESSAGE in content and site.url("/zwdt/1.html") in content
        assert "首页未发现带日期的信息条目" in content  # the other veto
        assert "网站标识" not in content  # deduct findings are below min_severity
        assert len(content.encode()) <= 4096
        assert wecom.calls[0].query == {"key": "abc"}

        # 钉钉: markdown with a title, and 加签 that checks out
        call = ding.calls[0]
        body = call.json()
        assert set(body) == {"msgtype", "markdown"} and body["msgtype"] == "markdown"
        assert set(body["markdown"]) == {"title", "text"}
        assert body["markdown"]["title"] == "示范县政府门户网站：新增 2 个单项否决问题"
        assert DATE_ORDER_MESSAGE in body["markdown"]["text"]
        query = call.query
        assert set(query) == {"access_token", "timestamp", "sign"} and query["access_token"] == "tok"
        expected = base64.b64encode(hmac.new(secret.encode(), f"{query['timestamp']}\n{secret}".encode(),
                                             hashlib.sha256).digest()).decode()
        assert query["sign"] == expected
        assert abs(int(query["timestamp"]) - dt.datetime.now(dt.UTC).timestamp() * 1000) < 3_600_000

        # plain JSON: the digest with INTERFACE.md's finding objects
        body = plain.calls[0].json()
        assert set(body) == {"alert_id", "title", "target", "target_id", "kind", "organizer", "scan_id",
                             "opened", "resolved"}
        assert (body["target"], body["target_id"], body["kind"], body["organizer"]) == (
            "示范县政府门户网站", "shifan", "site", "示范县人民政府")
        assert body["resolved"] == [] and len(body["opened"]) == 2
        assert all(set(f) == FINDING_KEYS and f["severity"] == "veto" and f["status"] == "open"
                   for f in body["opened"])
        [date_order] = [f for f in body["opened"] if f["check"] == "content.date_order"]
        assert date_order["message"] == DATE_ORDER_MESSAGE and date_order["url"] == site.url("/zwdt/1.html")
        assert date_order["evidence"]["publish_date"] == "2026-11-20"

        # a second scan that finds nothing new sends nothing
        _scan(config, tmp_path)
        assert [len(r.calls) for r in (wecom, ding, plain)] == [1, 1, 1]

        # the article fixed: one "已整改" digest per channel
        site.routes["/zwdt/1.html"] = Reply(body=FIXED)
        _scan(config, tmp_path)
        assert [len(r.calls) for r in (wecom, ding, plain)] == [2, 2, 2]
        assert "已整改" in wecom.calls[1].json()["markdown"]["content"]
        assert DATE_ORDER_MESSAGE in wecom.calls[1].json()["markdown"]["content"]
        assert ding.calls[1].json()["markdown"]["title"] == "示范县政府门户网站：1 个问题已整改"
        body = plain.calls[1].json()
        assert body["opened"] == [] and [f["check"] for f in body["resolved"]] == ["content.date_order"]
        assert body["resolved"][0]["status"] == "resolved"
    deliveries = _deliveries(db_url)
    assert len(deliveries) == 6 and {(d.status, d.attempts) for d in deliveries} == {("sent", 1)}


def test_a_failing_receiver_is_retried_and_never_sent_twice(db_url, site, tmp_path):
    failing = [Reply(500, "busy", "text/plain"), Reply(502, "bad gateway", "text/plain"), Reply(200, "ok", "text/plain")]
    robot = [Reply(200, '{"errcode": 45009, "errmsg": "api freq out of limit"}', "application/json"), ROBOT_OK]
    refused = dead_address()
    with WebhookReceiver(failing) as plain, WebhookReceiver(robot) as wecom:
        config = _config(tmp_path / "config.yaml", db_url, [_site_entry(site)], {"webhooks": [
            {"format": "json", "url": plain.url()}, {"format": "wecom", "url": wecom.url()},
            {"format": "json", "url": refused + "/hook"},
        ], "retry_initial": "10m", "max_attempts": 5})
        _scan(config, tmp_path)  # attempt 1 of each fails
        assert [d.status for d in _deliveries(db_url)] == ["pending"] * 3
        assert "HTTP 500" in _deliveries(db_url)[0].last_error
        assert "errcode=45009" in _deliveries(db_url)[1].last_error
        assert "连接失败" in _deliveries(db_url)[2].last_error
        assert {d.attempts for d in _deliveries(db_url)} == {1}

        settings = load_config(config)
        sessions = open_database(db_url)
        try:
            # not due yet (10 minutes of back-off): nothing is sent
            asyncio.run(deliver_pending(settings, sessions, owner="test"))
            assert (len(plain.calls), len(wecom.calls)) == (1, 1)
            for day in range(1, 5):  # later and later: every back-off has passed
                moment = utcnow() + dt.timedelta(days=day)
                asyncio.run(deliver_pending(settings, sessions, owner="test", now=lambda m=moment: m))
        finally:
            sessions.kw["bind"].dispose()
    assert len(plain.calls) == 3 and len(plain.accepted) == 1  # 500, 502, then accepted; never again
    assert len(wecom.calls) == 2 and len(wecom.accepted) == 2  # errcode 45009 counted as a failure
    assert len(wecom.calls[1].json()["markdown"]["content"]) > 0
    plain_row, wecom_row, refused_row = _deliveries(db_url)
    assert (plain_row.status, plain_row.attempts, plain_row.last_error) == ("sent", 3, None)
    assert (wecom_row.status, wecom_row.attempts) == ("sent", 2)
    assert refused_row.status == "failed" and refused_row.attempts == 5 and "连接失败" in refused_row.last_error


class _Mailbox:
    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802 (aiosmtpd's name)
        self.messages.append((list(envelope.rcpt_tos), envelope.original_content or envelope.content))
        return "250 Message accepted for delivery"


def _free_port(host: str) -> int:
    with socket.socket() as s:
        s.bind((host, 0))
        return s.getsockname()[1]


@pytest.fixture
def smtp_server():
    from aiosmtpd.controller import Controller

    mailbox = _Mailbox()
    controller = Controller(mailbox, hostname="127.0.0.1", port=_free_port("127.0.0.1"))
    controller.start()
    try:
        yield controller, mailbox
    finally:
        controller.stop()


def test_one_mail_per_target_over_smtp(db_url, site, tmp_path, smtp_server):
    controller, mailbox = smtp_server
    with LoopbackServer(_site_routes()) as second:
        smtp = {"host": "127.0.0.1", "port": controller.port, "from": "govmon@example.gov.cn",
                "to": ["office@example.gov.cn", "duty@example.gov.cn"]}
        config = _config(tmp_path / "config.yaml", db_url, [_site_entry(site), _site_entry(second, 2)],
                         {"smtp": smtp})
        _scan(config, tmp_path)
        assert len(mailbox.messages) == 2
        _scan(config, tmp_path)  # nothing new
    assert len(mailbox.messages) == 2
    parsed = {}
    for recipients, raw in mailbox.messages:
        assert sorted(recipients) == ["duty@example.gov.cn", "office@example.gov.cn"]
        message = email.message_from_bytes(raw, policy=email.policy.default)
        parsed[str(message["Subject"])] = message.get_content()
    assert set(parsed) == {"【政府网站监测】示范县政府门户网站：新增 2 个单项否决问题",
                           "【政府网站监测】示范县2政府门户网站：新增 2 个单项否决问题"}
    text = parsed["【政府网站监测】示范县2政府门户网站：新增 2 个单项否决问题"]
    assert "主办单位：示范县2人民政府" in text and DATE_ORDER_MESSAGE in text
    assert second.url("/zwdt/1.html") in text
    assert {(d.status, d.attempts) for d in _deliveries(db_url)} == {("sent", 1)}


def test_the_service_sends_an_alert_once(db_url, site, tmp_path):
    with WebhookReceiver([Reply(200, "ok", "text/plain")]) as plain:
        config = _config(tmp_path / "config.yaml", db_url, [_site_entry(site)], {"webhooks": [
            {"format": "json", "url": plain.url()}], "retry_poll": "1s"},
            schedule={"sites": "3s", "probes": "1h", "service_lease": "6s", "rescan_poll": "1s"})
        service = _start(config, tmp_path)
        try:
            _wait_for(lambda: plain.calls, timeout=90)
            scans = lambda: len([s for s in _all_scans(db_url) if s.status == "complete"])  # noqa: E731
            seen = scans()
            _wait_for(lambda: scans() >= seen + 2, timeout=90)  # two more scans, nothing new in them
        finally:
            code, err = _stop(service)
        assert code == 0, err
    assert len(plain.calls) == 1
    body = plain.calls[0].json()
    assert body["target_id"] == "shifan" and len(body["opened"]) == 2
    [delivery] = _deliveries(db_url)
    assert (delivery.status, delivery.attempts) == ("sent", 1)


def _all_scans(db_url: str) -> list[Scan]:
    sessions = open_database(db_url)
    try:
        with sessions() as session:
            return list(session.scalars(select(Scan).where(Scan.kind == "site")))
    finally:
        sessions.kw["bind"].dispose()
