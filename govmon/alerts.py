"""Alerts: a target's new and resolved findings, sent to the office while they are fresh.

Each judgement of a target (a site scan, a rescan, the nightly re-judgement) that opens or
resolves findings at or above ``notifications.min_severity`` queues one digest (an
:class:`~govmon.models.Alert`, not one message per finding) with one
:class:`~govmon.models.AlertDelivery` per configured channel, in the same transaction as
the findings: a rolled-back judgement queues nothing, a committed one is never forgotten.

:func:`deliver_pending` is the outbox worker: it claims due deliveries atomically
(``pending`` → ``sending``, under :func:`govmon.db.write_lock`), sends them, then marks each
``sent``, or ``pending`` again with a doubling back-off, or ``failed`` once
``max_attempts`` are used. A claimed delivery is never sent by anyone else, and a sent one
is never sent again. A delivery left ``sending`` by a process that died mid-send is marked
``failed`` ("结果不明"), not retried: a receiver may already have it, and a duplicate is
what this module promises never to send.

Channels: 企业微信 and 钉钉 group robots (markdown messages; a robot answers HTTP 200 with
``{"errcode": N}``, and N ≠ 0 is a failure; 钉钉 加签 signs ``timestamp + "\\n" + secret``
with HMAC-SHA256 into the ``timestamp`` and ``sign`` query parameters), plain JSON (the
finding objects of INTERFACE.md) and e-mail over SMTP (stdlib smtplib in a worker thread;
the password is read from its file when sending and never logged).
"""

from __future__ import annotations

import asyncio
import base64
import datetime as dt
import hashlib
import hmac
import json
import smtplib
import ssl
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.config import Config, NotificationSettings, SmtpChannel, WebhookChannel
from govmon.db import write_lock
from govmon.models import Alert, AlertDelivery, Finding, Target, utcnow

SEVERITY_RANK = {"veto": 0, "deduct": 1, "notice": 2}
SEVERITY_LABELS = {"veto": "单项否决", "deduct": "扣分", "notice": "提示"}
CLAIM_BATCH = 200
# A delivery still "sending" this long after its claim belongs to a process that died mid-send.
STALE_CLAIM = dt.timedelta(minutes=15)
WECOM_MAX_BYTES = 4000  # 企业微信 markdown content: at most 4096 bytes
DINGTALK_MAX_BYTES = 18000  # 钉钉 messages: at most 20000 bytes
EMAIL_MAX_ITEMS = 500


# --------------------------------------------------------------------------- channels


@dataclass(frozen=True)
class Channel:
    """A configured destination; ``key`` names it in the outbox (stable while its config is)."""

    key: str
    webhook: WebhookChannel | None = None
    smtp: SmtpChannel | None = None


def _digest(text: str) -> str:
    return hashlib.blake2b(text.encode(), digest_size=8).hexdigest()


def configured_channels(settings: NotificationSettings) -> list[Channel]:
    channels = [Channel(f"webhook:{w.format}:{_digest(w.url)}", webhook=w) for w in settings.webhooks]
    if settings.smtp is not None:
        smtp = settings.smtp
        identity = f"{smtp.host}:{smtp.port}:" + ",".join(smtp.to)
        channels.append(Channel(f"smtp:{_digest(identity)}", smtp=smtp))
    return channels


# --------------------------------------------------------------------------- queueing


def _reaches(severity: str, minimum: str) -> bool:
    return SEVERITY_RANK.get(severity, 9) <= SEVERITY_RANK[minimum]


def queue_alert(
    session: Session,
    config: Config,
    *,
    target_id: str,
    scan_id: int | None,
    opened: Iterable[Finding],
    resolved: Iterable[Finding],
) -> Alert | None:
    """Queue one digest of ``opened`` and ``resolved`` findings of a target, in the caller's
    transaction; None when nothing reaches ``min_severity`` or no channel is configured."""
    settings = config.notifications
    channels = configured_channels(settings)
    new = [f for f in opened if _reaches(f.severity, settings.min_severity)]
    gone = [f for f in resolved if _reaches(f.severity, settings.min_severity)]
    if not channels or not (new or gone):
        return None
    target = session.get(Target, target_id)
    assert target is not None
    order = lambda f: (SEVERITY_RANK.get(f.severity, 9), f.id)  # noqa: E731
    tz = config.tzinfo
    now = utcnow()
    alert = Alert(target_id=target_id, scan_id=scan_id, created_at=now, payload={
        "target": target.name, "target_id": target.id, "kind": target.kind, "organizer": target.organizer,
        "scan_id": scan_id,
        "opened": [f.to_json(target, tz) for f in sorted(new, key=order)],
        "resolved": [f.to_json(target, tz) for f in sorted(gone, key=order)],
    })
    session.add(alert)
    session.flush()
    for channel in channels:
        session.add(AlertDelivery(alert_id=alert.id, channel=channel.key, status="pending", attempts=0,
                                  next_attempt_at=now))
    session.flush()
    return alert


# --------------------------------------------------------------------------- rendering


def subject_line(payload: dict[str, Any]) -> str:
    """The digest's one-line title, e.g. ``示范县政府门户网站：新增 2 个单项否决问题，1 个问题已整改``."""
    opened, resolved = payload["opened"], payload["resolved"]
    parts = []
    if opened:
        severities = {f["severity"] for f in opened}
        kind = f"{SEVERITY_LABELS[severities.pop()]}问题" if len(severities) == 1 else "问题"
        parts.append(f"新增 {len(opened)} 个{kind}")
    if resolved:
        parts.append(f"{len(resolved)} 个问题已整改")
    return f"{payload['target']}：{'，'.join(parts)}"


def _item_lines(findings: Sequence[dict[str, Any]], *, markdown: bool) -> list[str]:
    lines = []
    for number, f in enumerate(findings, 1):
        label = SEVERITY_LABELS.get(f["severity"], f["severity"])
        url = f.get("url")
        if markdown:
            where = f"\n   网址：[{url}]({url})" if url else ""
        else:
            where = f"\n   网址：{url}" if url else ""
        lines.append(f"{number}. 【{label}】{f['message']}{where}")
    return lines


def render_text(payload: dict[str, Any], *, markdown: bool, max_bytes: int | None = None) -> str:
    """The digest as markdown (robots) or plain text (e-mail), cut to ``max_bytes`` (UTF-8)."""
    head = [f"### 政府网站监测提醒：{payload['target']}" if markdown else f"政府网站监测提醒：{payload['target']}",
            f"主办单位：{payload.get('organizer') or '（未登记）'}"]
    sections: list[tuple[str, list[str]]] = []
    if payload["opened"]:
        sections.append((f"新发现的问题（{len(payload['opened'])} 个）：",
                         _item_lines(payload["opened"], markdown=markdown)))
    if payload["resolved"]:
        sections.append((f"已整改（复查不再发现，{len(payload['resolved'])} 个）：",
                         _item_lines(payload["resolved"], markdown=markdown)))
    lines = list(head)
    omitted = 0
    for title, items in sections:
        lines.append("")
        lines.append(f"**{title}**" if markdown else title)
        for item in items:
            candidate = "\n".join([*lines, item])
            if max_bytes is not None and len(candidate.encode()) > max_bytes - 200:
                omitted += 1
                continue
            lines.append(item)
    if omitted:
        lines.append("")
        lines.append(f"……另有 {omitted} 项未列出，请在 govmon 中查看（govmon findings --target {payload['target_id']}）")
    return "\n".join(lines)


def webhook_body(channel: WebhookChannel, payload: dict[str, Any], alert_id: int) -> dict[str, Any]:
    if channel.format == "wecom":
        return {"msgtype": "markdown",
                "markdown": {"content": render_text(payload, markdown=True, max_bytes=WECOM_MAX_BYTES)}}
    if channel.format == "dingtalk":
        return {"msgtype": "markdown",
                "markdown": {"title": subject_line(payload),
                             "text": render_text(payload, markdown=True, max_bytes=DINGTALK_MAX_BYTES)}}
    return {"alert_id": alert_id, "title": subject_line(payload), **payload}


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """钉钉加签: base64(HMAC-SHA256(key=secret, msg=f"{timestamp}\\n{secret}")) (not yet URL-encoded)."""
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return base64.b64encode(digest).decode()


def signed_url(channel: WebhookChannel, now_ms: int | None = None) -> str:
    if channel.format != "dingtalk" or channel.secret is None:
        return channel.url
    timestamp = now_ms if now_ms is not None else int(time.time() * 1000)
    query = urlencode({"timestamp": timestamp, "sign": dingtalk_sign(channel.secret, timestamp)})
    return f"{channel.url}{'&' if '?' in channel.url else '?'}{query}"


def email_message(smtp: SmtpChannel, payload: dict[str, Any]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = f"【政府网站监测】{subject_line(payload)}"
    message["From"] = smtp.sender
    message["To"] = ", ".join(smtp.to)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain=smtp.sender.rsplit("@", 1)[-1])
    trimmed = {**payload, "opened": payload["opened"][:EMAIL_MAX_ITEMS], "resolved": payload["resolved"][:EMAIL_MAX_ITEMS]}
    message.set_content(render_text(trimmed, markdown=False) + "\n\n（本邮件由 govmon 自动发送）\n", charset="utf-8")
    return message


# --------------------------------------------------------------------------- sending


class DeliveryFailed(Exception):
    """The receiver did not take the message; ``str()`` is the reason kept in ``last_error``."""


async def send_webhook(client: Any, channel: WebhookChannel, body: dict[str, Any]) -> None:
    import httpx

    content = json.dumps(body, ensure_ascii=False).encode("utf-8")
    try:
        response = await client.post(signed_url(channel), content=content,
                                     headers={"Content-Type": "application/json; charset=utf-8"})
    except httpx.HTTPError as err:  # refused, timed out, reset: the URL (a token) is not in the message
        raise DeliveryFailed(f"连接失败：{type(err).__name__}: {err}") from None
    if response.status_code >= 300:
        raise DeliveryFailed(f"接收方返回 HTTP {response.status_code}：{response.text[:200]}")
    if channel.format in ("wecom", "dingtalk"):
        try:
            answer = response.json()
        except ValueError:
            raise DeliveryFailed(f"机器人的回答不是 JSON：{response.text[:200]}") from None
        code = answer.get("errcode", 0) if isinstance(answer, dict) else 0
        if code not in (0, "0"):
            raise DeliveryFailed(f"机器人返回错误 errcode={code}：{answer.get('errmsg', '')}")


def send_email(smtp: SmtpChannel, message: EmailMessage) -> None:
    """Blocking: run in a worker thread."""
    try:
        with smtplib.SMTP(smtp.host, smtp.port, timeout=smtp.timeout_s) as client:
            if smtp.starttls:
                client.starttls(context=ssl.create_default_context())
            if smtp.username is not None and smtp.password_file is not None:
                password = smtp.password_file.read_text(encoding="utf-8").strip()
                client.login(smtp.username, password)
            client.send_message(message)
    except smtplib.SMTPAuthenticationError as err:
        raise DeliveryFailed(f"SMTP 登录失败（{err.smtp_code}）") from None
    except (smtplib.SMTPException, OSError) as err:
        raise DeliveryFailed(f"SMTP 发送失败：{type(err).__name__}: {err}") from None


# --------------------------------------------------------------------------- the outbox worker


@dataclass(frozen=True)
class Claimed:
    delivery_id: int
    alert_id: int
    channel: str
    payload: dict[str, Any]


@dataclass
class DeliveryReport:
    sent: int = 0
    retrying: int = 0
    failed: int = 0
    errors: list[str] = field(default_factory=list)


def claim_due(session: Session, owner: str, now: dt.datetime, limit: int = CLAIM_BATCH) -> list[Claimed]:
    """Atomically mark due deliveries ``sending`` for ``owner``; deliveries abandoned mid-send
    are marked failed (never sent twice)."""
    write_lock(session, "alert-deliveries")
    for stale in session.scalars(select(AlertDelivery).where(
            AlertDelivery.status == "sending", AlertDelivery.claimed_at < now - STALE_CLAIM)):
        stale.status = "failed"
        stale.last_error = (f"投递结果不明：发送进程 {stale.claimed_by} 在发送时中止；为避免重复发送，不再重试")
    rows = session.execute(
        select(AlertDelivery, Alert.payload).join(Alert, Alert.id == AlertDelivery.alert_id)
        .where(AlertDelivery.status == "pending", AlertDelivery.next_attempt_at <= now)
        .order_by(AlertDelivery.next_attempt_at, AlertDelivery.id).limit(limit)
    ).all()
    claimed = []
    for delivery, payload in rows:
        delivery.status, delivery.claimed_by, delivery.claimed_at = "sending", owner, now
        claimed.append(Claimed(delivery.id, delivery.alert_id, delivery.channel, payload))
    session.flush()
    return claimed


def backoff(settings: NotificationSettings, attempts: int) -> dt.timedelta:
    """The wait after the ``attempts``-th failed attempt: retry_initial doubling, at most retry_max."""
    return min(settings.retry_max, settings.retry_initial * (2 ** max(0, attempts - 1)))


def finish_delivery(session: Session, settings: NotificationSettings, delivery_id: int, error: str | None,
                    now: dt.datetime) -> str:
    """Record one attempt's outcome; returns the new status."""
    delivery = session.get(AlertDelivery, delivery_id)
    assert delivery is not None
    delivery.attempts += 1
    delivery.claimed_by = delivery.claimed_at = None
    if error is None:
        delivery.status, delivery.sent_at, delivery.last_error = "sent", now, None
    elif delivery.attempts >= settings.max_attempts:
        delivery.status, delivery.last_error = "failed", error
    else:
        delivery.status, delivery.last_error = "pending", error
        delivery.next_attempt_at = now + backoff(settings, delivery.attempts)
    return delivery.status


async def deliver_pending(
    config: Config,
    sessions: sessionmaker[Session],
    *,
    owner: str,
    now: Callable[[], dt.datetime] = utcnow,
    log: Callable[[str], None] | None = None,
) -> DeliveryReport:
    """Send every due delivery once; what fails waits for a later call (see the module doc)."""
    import httpx

    settings = config.notifications
    report = DeliveryReport()
    channels = {c.key: c for c in configured_channels(settings)}

    def tx(work: Callable[[Session], Any]) -> Any:
        with sessions.begin() as session:
            return work(session)

    claimed: list[Claimed] = await asyncio.to_thread(tx, lambda s: claim_due(s, owner, now()))
    if not claimed:
        return report
    async with httpx.AsyncClient(timeout=settings.timeout_s, follow_redirects=False, trust_env=False) as client:
        for item in claimed:
            channel = channels.get(item.channel)
            error: str | None = None
            try:
                if channel is None:
                    error = "该通道已不在配置中"
                elif channel.webhook is not None:
                    await send_webhook(client, channel.webhook, webhook_body(channel.webhook, item.payload, item.alert_id))
                elif channel.smtp is not None:
                    await asyncio.to_thread(send_email, channel.smtp, email_message(channel.smtp, item.payload))
            except DeliveryFailed as err:
                error = str(err)
            except Exception as err:  # a bug in one delivery never blocks the others
                error = f"{type(err).__name__}: {err}"
            status = await asyncio.to_thread(
                tx, lambda s: finish_delivery(s, settings if channel is not None else _no_retry(settings),
                                              item.delivery_id, error, now()))
            if status == "sent":
                report.sent += 1
            elif status == "failed":
                report.failed += 1
            else:
                report.retrying += 1
            if error is not None:
                report.errors.append(f"{item.channel}: {error}")
                if log is not None:
                    log(f"提醒投递失败（{item.payload.get('target')}，{item.channel}）：{error}；"
                        + ("不再重试" if status == "failed" else "稍后重试"))
    return report


def _no_retry(settings: NotificationSettings) -> NotificationSettings:
    return settings.model_copy(update={"max_attempts": 1})
