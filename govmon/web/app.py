"""The web console (server-rendered pages) and its JSON API, as one FastAPI app.

``create_app(config, sessions)`` builds it; ``govmon serve`` runs it with uvicorn, and the
``govmon run`` service can mount the same app in its own loop (:func:`govmon.web.serve`).
No data is readable without logging in: pages redirect to /login, the API answers 401.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import secrets
import shutil
import tempfile
import zipfile
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import quote, urlencode, urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Path as PathParam, Query, Request
from fastapi.responses import FileResponse, JSONResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from fastapi.templating import Jinja2Templates
from sqlalchemy import select
from sqlalchemy.exc import OperationalError
from sqlalchemy.orm import Session, sessionmaker
from starlette.background import BackgroundTask
from starlette.datastructures import UploadFile
from starlette.middleware.base import BaseHTTPMiddleware

from govmon import __version__
from govmon.config import CATEGORIES, CHECK_IDS, PLATFORMS, Config
from govmon.export.common import check_title
from govmon.findings import FindingNotFoundError, Period, dismiss_finding, parse_quarter
from govmon.models import ApiToken, AuditEntry, Finding, Target, User, format_time
from govmon.web import api_models as m
from govmon.web import charts
from govmon.web.auth import (
    PERMISSIONS,
    ROLE_LABELS,
    SESSION_LIFETIME,
    LoginLimiter,
    Principal,
    UserError,
    audit,
    authenticate,
    create_user,
    csrf_for,
    csrf_matches,
    issue_token,
    resolve_token,
    revoke_token,
)
from govmon.web.queries import (
    FindingFilter,
    RatesCache,
    TargetFilter,
    current_quarter,
    export_findings,
    list_findings,
    list_targets,
    overview,
    quarter_choices,
    target_detail,
)
from govmon.web.rescan import InProcessRescanner, RescanError, Rescanner, RescanStatus

__all__ = ["Console", "create_app"]

HERE = Path(__file__).resolve().parent
SESSION_COOKIE = "govmon_session"
QUARTER_PATTERN = r"^[0-9]{4}[Qq][1-4]$"
LOGIN_COOKIE = "govmon_login"
SEVERITY_LABELS = {"veto": "单项否决", "deduct": "扣分", "notice": "提示"}
STATUS_LABELS = {"open": "未解决", "resolved": "已解决", "dismissed": "已忽略"}
EVENT_LABELS = {"opened": "新发现", "seen": "证据更新", "resolved": "已解决", "dismissed": "已忽略", "reopened": "重新提出"}
SCAN_STATUS_LABELS = {"running": "进行中", "complete": "完成", "incomplete": "未完成", "failed": "失败"}
KIND_LABELS = {"site": "网站", "account": "新媒体"}
REPORT_FORMATS = {
    "xlsx": ("application/vnd.openxmlformats-officedocument.spreadsheetml.sheet", "xlsx"),
    "docx": ("application/vnd.openxmlformats-officedocument.wordprocessingml.document", "docx"),
    "csv": ("application/zip", "zip"),  # three CSV files
    "html": ("text/html; charset=utf-8", "html"),
    "json": ("application/json", "json"),
}
EVIDENCE_LABELS = {
    "url": "网址", "title": "网页标题", "page_title": "网页标题", "publish_date": "发布日期",
    "publish_date_raw": "发布日期原文", "written_date": "成文日期", "written_date_raw": "成文日期原文",
    "days_earlier": "早了（天）", "status": "状态码", "error": "错误", "error_kind": "错误类型",
    "final_url": "最终网址", "fetched_at": "读取时间", "column_name": "栏目", "column_url": "栏目网址",
    "newest_title": "最新一条", "newest_url": "最新一条网址", "newest_date": "最新日期", "days_since": "未更新天数",
    "threshold_days": "期限（天）", "listed_title": "列表标题", "article_title": "文章标题", "list_url": "列表页",
    "article_url": "文章网址", "similarity": "相似度", "term": "错误表述", "matched": "原文", "context_before": "前文",
    "context_after": "后文", "on_home": "在首页", "found_on": "出现在", "found_on_count": "出现次数",
    "missing": "缺少", "present": "已有", "footer_excerpt": "页脚原文", "method": "请求方式",
    "probes_total": "探测次数", "probes_failed": "失败次数", "failure_percent": "失败率",
    "window_start": "统计开始", "window_end": "统计结束", "failed_probes": "失败的探测", "as_of": "监测时间点",
}


@dataclass
class Console:
    """Everything the request handlers share (one per app; no global state)."""

    config: Config
    sessions: sessionmaker[Session]
    rescanner: Rescanner
    limiter: LoginLimiter
    templates: Jinja2Templates
    secure_cookies: bool = False
    rates: RatesCache = field(default_factory=RatesCache)


class LoginRequired(Exception):
    """A page was asked for without a valid session: send the browser to /login."""


# --------------------------------------------------------------------------- helpers


def safe_href(url: Any) -> str | None:
    """``url`` when it is an http(s) URL a link may point to; None otherwise (javascript:, data:…)."""
    if not isinstance(url, str):
        return None
    try:
        scheme = urlsplit(url.strip()).scheme.lower()
    except ValueError:
        return None
    return url.strip() if scheme in ("http", "https") else None


def _client_ip(request: Request) -> str:
    return request.client.host if request.client else "unknown"


def _text_param(value: str | None) -> str | None:
    """A query parameter as a filter: blank → None."""
    if value is None:
        return None
    value = value.strip()
    return value or None


def _iso(value: dt.datetime | None, console: Console) -> str | None:
    return format_time(value, console.config.tzinfo) if value is not None else None


def _period(console: Console, quarter: str | None) -> Period:
    if not quarter:
        return current_quarter(console.config)
    try:
        return parse_quarter(quarter, console.config.tzinfo)
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


# --------------------------------------------------------------------------- the app


def create_app(
    config: Config,
    sessions: sessionmaker[Session],
    *,
    rescanner: Rescanner | None = None,
    secure_cookies: bool = False,
    limiter: LoginLimiter | None = None,
    warm_rates_every: float | None = 30.0,
) -> FastAPI:
    """The console for ``config`` over the database of ``sessions``.

    ``rescanner``: what runs 重新检查 (default: :class:`InProcessRescanner`, scans in this
    process's loop). ``secure_cookies``: mark cookies Secure (serve behind HTTPS).
    ``warm_rates_every``: seconds between background checks that recompute this quarter's
    pass rates when the data changed, so the overview rarely waits for them (None: never).
    """
    templates = Jinja2Templates(directory=str(HERE / "templates"))
    console = Console(
        config=config,
        sessions=sessions,
        rescanner=rescanner or InProcessRescanner(config, sessions),
        limiter=limiter or LoginLimiter(),
        templates=templates,
        secure_cookies=secure_cookies,
    )
    env = templates.env
    tz = config.tzinfo
    env.globals.update(
        SEVERITY_LABELS=SEVERITY_LABELS, STATUS_LABELS=STATUS_LABELS, EVENT_LABELS=EVENT_LABELS,
        SCAN_STATUS_LABELS=SCAN_STATUS_LABELS, CATEGORIES=CATEGORIES, PLATFORMS=PLATFORMS, KIND_LABELS=KIND_LABELS,
        CHECK_IDS=CHECK_IDS, ROLE_LABELS=ROLE_LABELS, EVIDENCE_LABELS=EVIDENCE_LABELS, check_title=check_title,
        version=__version__,
    )
    env.filters["local"] = lambda value, fmt="%Y-%m-%d %H:%M": value.astimezone(tz).strftime(fmt) if value else ""
    env.filters["href"] = safe_href
    env.filters["evidence_text"] = _evidence_text
    env.filters["merge_page"] = lambda params, page: urlencode({**params, "page": page})

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        warmer = asyncio.get_running_loop().create_task(_keep_rates_warm(console, warm_rates_every)) \
            if warm_rates_every else None
        try:
            yield
        finally:
            if warmer is not None:
                warmer.cancel()
                await asyncio.gather(warmer, return_exceptions=True)
            await console.rescanner.close()

    app = FastAPI(
        title="govmon 控制台 API",
        version=__version__,
        description="政府网站与政务新媒体监测：问题、网站与账号、重新检查、季度报告。"
        "用“Authorization: Bearer 令牌”调用（令牌在控制台“API 令牌”页创建）。",
        docs_url=None,
        redoc_url=None,
        openapi_url="/openapi.json",
        lifespan=lifespan,
    )
    app.state.console = console
    app.add_middleware(SecurityHeaders)
    app.mount("/static", StaticFiles(directory=str(HERE / "static")), name="static")

    @app.exception_handler(LoginRequired)
    async def _login_required(request: Request, exc: LoginRequired) -> Response:
        target = request.url.path + (f"?{request.url.query}" if request.url.query else "")
        return RedirectResponse(f"/login?{urlencode({'next': target})}", status_code=303)

    _pages(app, console)
    _api(app, console)
    return app


async def _keep_rates_warm(console: Console, every: float) -> None:
    """Recompute this quarter's pass rates in the background whenever the data changed."""
    import logging

    def refresh() -> None:
        with console.sessions() as session:
            console.rates.get(session, console.config, current_quarter(console.config))

    while True:
        try:
            await asyncio.to_thread(refresh)
        except Exception:  # the next page view computes them instead; never stop the server
            logging.getLogger(__name__).exception("后台计算合格率失败")
        await asyncio.sleep(every)


class SecurityHeaders(BaseHTTPMiddleware):
    """CSP (nothing but our own files), no framing, no sniffing, no referrer; NUL bytes refused."""

    async def dispatch(self, request: Request, call_next: Callable[[Request], Any]) -> Response:
        raw = request.scope.get("raw_path", b"") + b"?" + request.scope.get("query_string", b"")
        if b"%00" in raw or b"\x00" in raw:
            return JSONResponse({"detail": "请求中不能包含 NUL 字符"}, status_code=400)
        response: Response = await call_next(request)
        response.headers.setdefault(
            "Content-Security-Policy",
            "default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
            "frame-ancestors 'none'; form-action 'self'; base-uri 'none'",
        )
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("X-Frame-Options", "DENY")
        response.headers.setdefault("Referrer-Policy", "no-referrer")
        if request.url.path.startswith(("/api", "/login")) or "text/html" in response.headers.get("content-type", ""):
            response.headers.setdefault("Cache-Control", "no-store")
        return response


def _evidence_text(value: Any) -> str:
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, (list, tuple)):
        if all(isinstance(v, (str, int, float)) for v in value):
            return "、".join(str(v) for v in value)
        import json

        return json.dumps(value, ensure_ascii=False, indent=1)
    if isinstance(value, dict):
        import json

        return json.dumps(value, ensure_ascii=False)
    return str(value)


# --------------------------------------------------------------------------- authentication


def _principal(request: Request, console: Console) -> Principal | None:
    """Who is asking: a bearer token (API) or the session cookie; None when neither is valid."""
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        secret, kind = header[7:].strip(), "api"
    else:
        secret, kind = request.cookies.get(SESSION_COOKIE, ""), "session"
    if not secret:
        return None
    with console.sessions() as session:
        found = resolve_token(session, secret, kind)
        if found is None:
            return None
        user, _ = found
        principal = Principal(user.id, user.name, user.role, kind, csrf_for(secret) if kind == "session" else None)
        try:
            session.commit()  # the token's last use, noted at most once a minute
        except OperationalError:  # SQLite busy with a scan's write: the note waits, the request does not fail
            session.rollback()
        return principal


def _console(request: Request) -> Console:
    return request.app.state.console  # type: ignore[no-any-return]


def page_user(request: Request) -> Principal:
    principal = _principal(request, _console(request))
    if principal is None:
        raise LoginRequired()
    return principal


def api_user(request: Request) -> Principal:
    principal = _principal(request, _console(request))
    if principal is None:
        raise HTTPException(401, "需要登录或 API 令牌（Authorization: Bearer 令牌）", headers={"WWW-Authenticate": "Bearer"})
    return principal


def _require(principal: Principal, permission: str) -> None:
    if not principal.can(permission):
        raise HTTPException(403, f"{principal.role_label}没有此操作的权限")


def _check_csrf(principal: Principal, token: str | None) -> None:
    """Changes made with the session cookie must carry the session's CSRF token."""
    if principal.via == "session" and not (principal.csrf and token and secrets.compare_digest(principal.csrf, token)):
        raise HTTPException(403, "页面已过期或请求来源不明（CSRF 校验失败），请刷新页面后重试")


PageUser = Annotated[Principal, Depends(page_user)]
ApiUser = Annotated[Principal, Depends(api_user)]


# --------------------------------------------------------------------------- shared actions


def _dismiss(console: Console, who: Principal, finding_id: int, reason: str, ip: str) -> Finding:
    _require(who, "dismiss")
    try:
        with console.sessions.begin() as session:
            finding = dismiss_finding(session, finding_id, reason, who.name)
            audit(session, who, "finding.dismiss", "finding", str(finding_id),
                  {"reason": reason.strip(), "target_id": finding.target_id, "check": finding.check_id}, ip=ip)
            return finding
    except FindingNotFoundError:
        raise HTTPException(404, f"没有编号为 {finding_id} 的问题") from None
    except ValueError as err:
        raise HTTPException(422, str(err)) from None


async def _rescan(console: Console, who: Principal, target_id: str, ip: str) -> RescanStatus:
    _require(who, "rescan")
    try:
        status = await console.rescanner.request(target_id, requested_by=who.name)
    except RescanError as err:
        raise HTTPException(409, str(err)) from None

    def record() -> None:
        with console.sessions.begin() as session:
            audit(session, who, "target.rescan", "target", target_id, {"handle": status.handle}, ip=ip)

    await asyncio.to_thread(record)
    return status


def _report_file(console: Console, who: Principal, quarter: str, fmt: str, ip: str) -> FileResponse:
    from govmon.export import write_report
    from govmon.feedback import load_messages
    from govmon.rollup import build_rollup

    _require(who, "export")
    if fmt not in REPORT_FORMATS:
        raise HTTPException(422, f"格式只能是 {'、'.join(REPORT_FORMATS)}")
    period = _period(console, quarter)
    tz = console.config.tzinfo
    with console.sessions() as session:
        messages = load_messages(session) or None
        rollup = build_rollup(session, console.config, period, feedback=messages)
    folder = Path(tempfile.mkdtemp(prefix="govmon-report-"))
    media_type, suffix = REPORT_FORMATS[fmt]
    name = f"govmon-{period.label}"
    written = write_report(rollup, fmt, folder / f"{name}.{fmt}", tz)
    if fmt == "csv":
        path = folder / f"{name}.zip"
        with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as bundle:
            for file in written:
                bundle.write(file, file.name)
    else:
        path = written[0]
    with console.sessions.begin() as session:
        audit(session, who, "report.export", "report", period.label, {"format": fmt}, ip=ip)
    return FileResponse(path, media_type=media_type, filename=f"{name}.{suffix}",
                        background=BackgroundTask(shutil.rmtree, folder, ignore_errors=True))


def _finding_filter(console: Console, *, status: str | None, severity: str | None, check: str | None,
                    kind: str | None, category: str | None, organizer: str | None, target: str | None,
                    quarter: str | None, page: int, per_page: int = 50) -> FindingFilter:
    return FindingFilter(
        status=_text_param(status) if status != "all" else None, severity=_text_param(severity),
        check=_text_param(check), kind=_text_param(kind), category=_text_param(category),
        organizer=_text_param(organizer), target=_text_param(target),
        period=_period(console, quarter) if _text_param(quarter) else None, page=page, per_page=per_page,
    )


# --------------------------------------------------------------------------- pages


def _pages(app: FastAPI, console: Console) -> None:
    templates = console.templates

    def render(request: Request, name: str, who: Principal | None, status_code: int = 200, **context: Any) -> Response:
        return templates.TemplateResponse(request, name, {"user": who, **context}, status_code=status_code)

    @app.get("/login", include_in_schema=False)
    def login_page(request: Request, next: str = "/") -> Response:
        pre = request.cookies.get(LOGIN_COOKIE) or secrets.token_urlsafe(24)
        response = render(request, "login.html", None, csrf=csrf_for(pre), next=_safe_next(next), error=None)
        response.set_cookie(LOGIN_COOKIE, pre, httponly=True, samesite="lax", secure=console.secure_cookies,
                            max_age=3600, path="/login")
        return response

    @app.post("/login", include_in_schema=False)
    def login(
        request: Request,
        username: Annotated[str, Form(max_length=200)] = "",
        password: Annotated[str, Form(max_length=1000)] = "",
        csrf_token: Annotated[str, Form(max_length=200)] = "",
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        pre = request.cookies.get(LOGIN_COOKIE, "")
        ip = _client_ip(request)
        if not csrf_matches(pre, csrf_token):
            return render(request, "login.html", None, 403, csrf=csrf_for(pre) if pre else "", next=_safe_next(next),
                          error="登录页面已过期，请刷新后重试")
        wait = console.limiter.retry_after(username, ip)
        if wait:
            response = render(request, "login.html", None, 429, csrf=csrf_for(pre), next=_safe_next(next),
                              error=f"登录失败次数过多，请 {wait} 秒后再试")
            response.headers["Retry-After"] = str(wait)
            return response
        with console.sessions.begin() as session:
            user = authenticate(session, username, password)
            if user is None:
                audit(session, None, "login.failed", "user", username.strip()[:64], None, ip=ip,
                      actor_name=username.strip()[:64] or "（空）")
            else:
                user.last_login_at = dt.datetime.now(dt.UTC)
                secret, _ = issue_token(session, user, "session", lifetime=SESSION_LIFETIME)
                who = Principal(user.id, user.name, user.role, "session")
                audit(session, who, "login", "user", user.name, None, ip=ip)
        if user is None:
            console.limiter.failed(username, ip)
            return render(request, "login.html", None, 401, csrf=csrf_for(pre), next=_safe_next(next),
                          error="用户名或密码错误")
        console.limiter.succeeded(username)
        response = RedirectResponse(_safe_next(next), status_code=303)
        response.set_cookie(SESSION_COOKIE, secret, httponly=True, samesite="lax", secure=console.secure_cookies,
                            max_age=int(SESSION_LIFETIME.total_seconds()), path="/")
        response.delete_cookie(LOGIN_COOKIE, path="/login")
        return response

    @app.post("/logout", include_in_schema=False)
    def logout(request: Request, who: PageUser, csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
        _check_csrf(who, csrf_token)
        with console.sessions.begin() as session:
            revoke_token(session, request.cookies.get(SESSION_COOKIE, ""))
            audit(session, who, "logout", "user", who.name, None, ip=_client_ip(request))
        response = RedirectResponse("/login", status_code=303)
        response.delete_cookie(SESSION_COOKIE, path="/")
        return response

    @app.get("/", include_in_schema=False)
    def overview_page(request: Request, who: PageUser, quarter: str | None = None) -> Response:
        period = _period(console, _text_param(quarter))
        with console.sessions() as session:
            data = overview(session, console.config, console.rates, period=period)
        rates = list(data.rates.values())
        return render(request, "overview.html", who, data=data, rates=rates, quarters=quarter_choices(console.config),
                      rate_chart=charts.rate_bars(rates), trend_chart=charts.weekly_bars(data.weekly))

    def targets_page(request: Request, who: Principal, kind: str, category: str | None, organizer: str | None,
                     check: str | None, problem: str | None, q: str | None, page: int) -> Response:
        f = TargetFilter(kind=kind, category=_text_param(category), organizer=_text_param(organizer),
                         check=_text_param(check), problem=_text_param(problem), q=_text_param(q), page=page)
        with console.sessions() as session:
            result = list_targets(session, f)
        params = {k: v for k, v in {"category": f.category, "organizer": f.organizer, "check": f.check,
                                    "problem": f.problem, "q": f.q}.items() if v}
        return render(request, "targets.html", who, result=result, kind=kind, params=params,
                      categories=CATEGORIES if kind == "site" else PLATFORMS)

    @app.get("/sites", include_in_schema=False)
    def sites_page(request: Request, who: PageUser, category: str | None = None, organizer: str | None = None,
                   check: str | None = None, problem: str | None = None, q: str | None = None,
                   page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
        return targets_page(request, who, "site", category, organizer, check, problem, q, page)

    @app.get("/accounts", include_in_schema=False)
    def accounts_page(request: Request, who: PageUser, category: str | None = None, organizer: str | None = None,
                      check: str | None = None, problem: str | None = None, q: str | None = None,
                      page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
        return targets_page(request, who, "account", category, organizer, check, problem, q, page)

    @app.get("/targets/{target_id}", include_in_schema=False)
    def target_page(request: Request, who: PageUser, target_id: str, rescan: str | None = None) -> Response:
        now = dt.datetime.now(dt.UTC)
        with console.sessions() as session:
            detail = target_detail(session, target_id, now=now)
        if detail is None:
            return render(request, "error.html", who, 404, message=f"没有 id 为 {target_id} 的网站或账号")
        status = console.rescanner.result(rescan) if rescan else console.rescanner.latest(target_id)
        if status is not None and status.target_id != target_id:
            status = None
        start = now - dt.timedelta(days=7)
        probe_chart = charts.probe_history(detail.probes, start, now, console.config.tzinfo) if detail.probes else None
        failed_probes = sum(1 for p in detail.probes if not p.ok and not p.local_outage)
        counted_probes = sum(1 for p in detail.probes if not p.local_outage)
        return render(request, "target.html", who, d=detail, t=detail.target, rescan=status, probe_chart=probe_chart,
                      failed_probes=failed_probes, counted_probes=counted_probes)

    @app.post("/targets/{target_id}/rescan", include_in_schema=False)
    async def rescan_form(request: Request, target_id: str) -> Response:
        who = await asyncio.to_thread(page_user, request)
        form = await request.form()
        _check_csrf(who, str(form.get("csrf_token") or ""))
        try:
            status = await _rescan(console, who, target_id, _client_ip(request))
        except HTTPException as err:
            if err.status_code != 409:
                raise
            message = str(err.detail)
            return await asyncio.to_thread(lambda: render(request, "error.html", who, 409, message=message))
        return RedirectResponse(f"/targets/{quote(target_id, safe='')}?rescan={status.handle}", status_code=303)

    @app.get("/findings", include_in_schema=False)
    def findings_page(request: Request, who: PageUser, status: str | None = "open", severity: str | None = None,
                      check: str | None = None, kind: str | None = None, category: str | None = None,
                      organizer: str | None = None, target: str | None = None, quarter: str | None = None,
                      page: Annotated[int, Query(ge=1, le=1_000_000)] = 1) -> Response:
        f = _finding_filter(console, status=status, severity=severity, check=check, kind=kind, category=category,
                            organizer=organizer, target=target, quarter=quarter, page=page)
        with console.sessions() as session:
            rows, total, page, pages = list_findings(session, f)
        params = {k: v for k, v in {"status": status or "all", "severity": f.severity, "check": f.check,
                                    "kind": f.kind, "category": f.category, "organizer": f.organizer,
                                    "target": f.target, "quarter": _text_param(quarter)}.items() if v}
        return render(request, "findings.html", who, rows=rows, total=total, page=page, pages=pages, params=params,
                      quarters=quarter_choices(console.config), back=str(request.url.path) + "?" + urlencode(params))

    @app.post("/findings/{finding_id}/dismiss", include_in_schema=False)
    def dismiss_form(request: Request, who: PageUser, finding_id: Annotated[int, PathParam(ge=1, le=2**62)],
                     reason: Annotated[str, Form(max_length=2000)] = "",
                     csrf_token: Annotated[str, Form(max_length=200)] = "",
                     back: Annotated[str, Form(max_length=4000)] = "/findings") -> Response:
        _check_csrf(who, csrf_token)
        if not reason.strip():
            return render(request, "error.html", who, 422, message="忽略问题时必须注明理由")
        _dismiss(console, who, finding_id, reason, _client_ip(request))
        return RedirectResponse(_safe_next(back), status_code=303)

    @app.get("/findings/export", include_in_schema=False)
    def findings_export(request: Request, who: PageUser, format: str = "csv", status: str | None = "open",
                        severity: str | None = None, check: str | None = None, kind: str | None = None,
                        category: str | None = None, organizer: str | None = None, target: str | None = None,
                        quarter: str | None = None) -> Response:
        import json

        from govmon.export.common import inert_csv
        from govmon.terminal import findings_as_csv

        _require(who, "export")
        if format not in ("csv", "json"):
            raise HTTPException(422, "格式只能是 csv 或 json")
        f = _finding_filter(console, status=status, severity=severity, check=check, kind=kind, category=category,
                            organizer=organizer, target=target, quarter=quarter, page=1)
        with console.sessions.begin() as session:
            rows = export_findings(session, f, console.config.tzinfo)
            audit(session, who, "findings.export", None, None, {"format": format, "count": len(rows)},
                  ip=_client_ip(request))
        headers = {"Content-Disposition": f'attachment; filename="govmon-findings.{format}"'}
        if format == "json":
            return Response(json.dumps(rows, ensure_ascii=False, indent=1), media_type="application/json",
                            headers=headers)
        safe = [{k: inert_csv(v) if isinstance(v, str) else v for k, v in row.items()} for row in rows]
        return Response("\ufeff" + findings_as_csv(safe), media_type="text/csv; charset=utf-8", headers=headers)

    @app.get("/reports", include_in_schema=False)
    def reports_page(request: Request, who: PageUser, quarter: str | None = None) -> Response:
        period = _period(console, _text_param(quarter))
        with console.sessions() as session:
            rates = list(console.rates.get(session, console.config, period).values())
        return render(request, "reports.html", who, period=period, quarters=quarter_choices(console.config),
                      rates=rates, formats=REPORT_FORMATS)

    @app.get("/reports/download", include_in_schema=False)
    def report_download(request: Request, who: PageUser, quarter: str = "", format: str = "xlsx") -> Response:
        return _report_file(console, who, quarter, format, _client_ip(request))

    @app.get("/feedback", include_in_schema=False)
    def feedback_page(request: Request, who: PageUser, quarter: str | None = None, message: str | None = None) -> Response:
        from govmon.feedback import feedback_stats, load_messages

        period = _period(console, _text_param(quarter))
        tz = console.config.tzinfo
        with console.sessions() as session:
            messages = load_messages(session, period, tz)
        stats = feedback_stats(messages, period, console.config.report.websites, tz)
        today = dt.datetime.now(tz).date()
        return render(request, "feedback.html", who, period=period, messages=messages, stats=stats, today=today,
                      quarters=quarter_choices(console.config), message=message)

    @app.post("/feedback/import", include_in_schema=False)
    async def feedback_import(request: Request) -> Response:
        from govmon.feedback import FeedbackError, read_feedback_file, store_messages

        who = await asyncio.to_thread(page_user, request)
        form = await request.form()
        _check_csrf(who, str(form.get("csrf_token") or ""))
        _require(who, "feedback")
        upload = form.get("file")
        if not isinstance(upload, UploadFile) or not upload.filename:
            return await asyncio.to_thread(lambda: render(request, "error.html", who, 422, message="请选择要导入的留言文件"))
        suffix = Path(upload.filename).suffix.lower()
        if suffix not in (".xlsx", ".csv"):
            return await asyncio.to_thread(
                lambda: render(request, "error.html", who, 422, message="只支持 .xlsx 或 .csv 文件"))
        data = await upload.read(20_000_001)
        if len(data) > 20_000_000:
            return await asyncio.to_thread(lambda: render(request, "error.html", who, 413, message="文件超过 20 MB"))

        def work() -> Response:
            with tempfile.TemporaryDirectory(prefix="govmon-feedback-") as tmp:
                path = Path(tmp) / f"upload{suffix}"
                path.write_bytes(data)
                try:
                    messages = read_feedback_file(path)
                except FeedbackError as err:
                    text = str(err).replace(str(path), upload.filename or "文件")
                    return render(request, "error.html", who, 422, message=f"留言文件错误：{text}")
            with console.sessions.begin() as session:
                added, updated = store_messages(session, messages, source=upload.filename)
                audit(session, who, "feedback.import", "feedback", upload.filename,
                      {"rows": len(messages), "added": added, "updated": updated}, ip=_client_ip(request))
            note = f"已导入 {upload.filename}：共 {len(messages)} 条，新增 {added} 条，更新 {updated} 条"
            return RedirectResponse("/feedback?" + urlencode({"message": note}), status_code=303)

        return await asyncio.to_thread(work)

    @app.get("/tokens", include_in_schema=False)
    def tokens_page(request: Request, who: PageUser, created: str | None = None) -> Response:
        with console.sessions() as session:
            tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == who.user_id, ApiToken.kind == "api")
                                     .order_by(ApiToken.created_at.desc())).all()
        return render(request, "tokens.html", who, tokens=tokens, created=None, now=dt.datetime.now(dt.UTC))

    @app.post("/tokens", include_in_schema=False)
    def token_create(request: Request, who: PageUser, name: Annotated[str, Form(max_length=200)] = "",
                     csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
        _check_csrf(who, csrf_token)
        label = name.strip() or "API 令牌"
        with console.sessions.begin() as session:
            user = session.get(User, who.user_id)
            assert user is not None
            secret, token = issue_token(session, user, "api", name=label)
            audit(session, who, "token.create", "token", str(token.id), {"name": label}, ip=_client_ip(request))
            tokens = session.scalars(select(ApiToken).where(ApiToken.user_id == who.user_id, ApiToken.kind == "api")
                                     .order_by(ApiToken.created_at.desc())).all()
        return render(request, "tokens.html", who, tokens=tokens, created=secret, now=dt.datetime.now(dt.UTC))

    @app.post("/tokens/{token_id}/revoke", include_in_schema=False)
    def token_revoke(request: Request, who: PageUser, token_id: Annotated[int, PathParam(ge=1, le=2**62)],
                     csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
        _check_csrf(who, csrf_token)
        with console.sessions.begin() as session:
            token = session.get(ApiToken, token_id)
            if token is None or token.user_id != who.user_id or token.kind != "api":
                raise HTTPException(404, "没有这个令牌")
            if token.revoked_at is None:
                token.revoked_at = dt.datetime.now(dt.UTC)
                audit(session, who, "token.revoke", "token", str(token_id), None, ip=_client_ip(request))
        return RedirectResponse("/tokens", status_code=303)

    @app.get("/users", include_in_schema=False)
    def users_page(request: Request, who: PageUser, error: str | None = None) -> Response:
        _require(who, "users")
        with console.sessions() as session:
            users = session.scalars(select(User).order_by(User.name)).all()
        return render(request, "users.html", who, users=users, error=error)

    @app.post("/users", include_in_schema=False)
    def user_add(request: Request, who: PageUser, name: Annotated[str, Form(max_length=200)] = "",
                 role: Annotated[str, Form(max_length=20)] = "viewer",
                 password: Annotated[str, Form(max_length=1000)] = "",
                 csrf_token: Annotated[str, Form(max_length=200)] = "") -> Response:
        _check_csrf(who, csrf_token)
        _require(who, "users")
        try:
            with console.sessions.begin() as session:
                create_user(session, name, role, password, actor=who.name, ip=_client_ip(request))
                entry = session.scalars(select(AuditEntry).order_by(AuditEntry.id.desc()).limit(1)).one()
                entry.user_id, entry.username = who.user_id, who.name
        except UserError as err:
            return RedirectResponse("/users?" + urlencode({"error": str(err)}), status_code=303)
        return RedirectResponse("/users", status_code=303)

    @app.get("/audit", include_in_schema=False)
    def audit_page(request: Request, who: PageUser) -> Response:
        _require(who, "users")
        with console.sessions() as session:
            entries = session.scalars(select(AuditEntry).order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
                                      .limit(500)).all()
        return render(request, "audit.html", who, entries=entries)

    @app.exception_handler(HTTPException)
    async def _http_error(request: Request, exc: HTTPException) -> Response:
        if request.url.path.startswith("/api") or request.url.path == "/openapi.json":
            return JSONResponse({"detail": exc.detail}, status_code=exc.status_code, headers=exc.headers)
        return templates.TemplateResponse(request, "error.html", {"user": None, "message": str(exc.detail)},
                                          status_code=exc.status_code, headers=exc.headers)


def _safe_next(target: str | None) -> str:
    """A same-site path to go to after login (never another host)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


# --------------------------------------------------------------------------- the JSON API


_ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"model": m.ErrorOut, "description": "未登录或令牌无效"},
    403: {"model": m.ErrorOut, "description": "没有权限"},
}


def _api(app: FastAPI, console: Console) -> None:
    tz = console.config.tzinfo

    def scan_out(scan: Any) -> m.ScanOut | None:
        if scan is None:
            return None
        get = scan.get if isinstance(scan, dict) else lambda k: getattr(scan, k, None)
        return m.ScanOut(id=get("id"), kind=get("kind") or "site", status=get("status"),
                         started_at=_iso(get("started_at"), console), finished_at=_iso(get("finished_at"), console),
                         as_of=_iso(get("as_of"), console), error=get("error"))

    def target_out(target: Target, open_counts: dict[str, int], last_scan: Any, state: tuple[str, str]) -> m.TargetOut:
        return m.TargetOut(id=target.id, kind=target.kind, name=target.name, organizer=target.organizer,
                           category=target.category, platform=target.platform, url=target.url, state=state[0],
                           state_label=state[1], open=open_counts, last_scan=scan_out(last_scan))

    def rescan_out(status: RescanStatus) -> m.RescanOut:
        return m.RescanOut(handle=status.handle, target_id=status.target_id, state=status.state,
                           state_label=status.state_label, requested_by=status.requested_by,
                           requested_at=_iso(status.requested_at, console), finished_at=_iso(status.finished_at, console),
                           scan_id=status.scan_id, scan_status=status.scan_status, message=status.message,
                           opened=status.opened, resolved=status.resolved, open_by_severity=status.open_by_severity)

    @app.get("/api/me", response_model=m.MeOut, responses=_ERRORS, tags=["用户"], summary="当前用户")
    def me(who: ApiUser) -> m.MeOut:
        return m.MeOut(name=who.name, role=who.role, permissions=sorted(PERMISSIONS[who.role]))

    @app.get("/api/overview", response_model=m.OverviewOut, responses=_ERRORS, tags=["总览"], summary="总览")
    def api_overview(who: ApiUser, quarter: Annotated[str | None, Query(pattern=QUARTER_PATTERN)] = None) -> m.OverviewOut:
        period = _period(console, _text_param(quarter))
        with console.sessions() as session:
            data = overview(session, console.config, console.rates, period=period)
        return m.OverviewOut(
            quarter=period.label, sampling=data.sampling, sites=data.sites, accounts=data.accounts,
            open_by_severity=data.open_by_severity, open_vetoes=data.open_veto_count,
            changes_since_yesterday=data.changes,
            rates=[m.RateOut(key=r.key, label=r.label, passed=r.passed, failed=r.total - r.passed, total=r.total,
                             unchecked=r.unchecked, text=r.text) for r in data.rates.values()],
            weekly=[m.WeekOut(start=w["start"].date().isoformat(), opened=w["opened"], resolved=w["resolved"])
                    for w in data.weekly],
        )

    @app.get("/api/targets", response_model=m.TargetPageOut, responses=_ERRORS, tags=["网站与账号"],
             summary="网站或新媒体账号列表")
    def api_targets(
        who: ApiUser,
        kind: Annotated[str, Query(pattern="^(site|account)$")] = "site",
        category: Annotated[str | None, Query(max_length=64)] = None,
        organizer: Annotated[str | None, Query(max_length=500)] = None,
        check: Annotated[str | None, Query(max_length=64)] = None,
        problem: Annotated[str | None, Query(pattern="^(veto|deduct|none)$")] = None,
        q: Annotated[str | None, Query(max_length=200)] = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=500)] = 50,
    ) -> m.TargetPageOut:
        f = TargetFilter(kind=kind, category=_text_param(category), organizer=_text_param(organizer),
                         check=_text_param(check), problem=problem, q=_text_param(q), page=page, per_page=per_page)
        with console.sessions() as session:
            result = list_targets(session, f)
        return m.TargetPageOut(total=result.total, page=result.page, pages=result.pages,
                               items=[target_out(r["target"], r["open"], r["last_scan"], r["state"])
                                      for r in result.rows])

    @app.get("/api/targets/{target_id}", response_model=m.TargetDetailOut,
             responses={**_ERRORS, 404: {"model": m.ErrorOut, "description": "没有这个网站或账号"}},
             tags=["网站与账号"], summary="一个网站或账号：问题、扫描、探测")
    def api_target(who: ApiUser, target_id: str) -> m.TargetDetailOut:
        from govmon.web.queries import target_state

        with console.sessions() as session:
            detail = target_detail(session, target_id)
            if detail is None:
                raise HTTPException(404, f"没有 id 为 {target_id} 的网站或账号")
            findings = [m.FindingOut(id=f.id, **f.to_json(detail.target, tz)) for f in detail.findings]
        last = next((s for s in detail.scans if s.kind in ("site", "account")), None)
        last_dict = {"status": last.status} if last else None
        return m.TargetDetailOut(
            target=target_out(detail.target, detail.open_counts, last, target_state(detail.open_counts, last_dict)),
            findings=findings,
            scans=[o for o in (scan_out(s) for s in detail.scans) if o is not None],
            probes=[m.ProbeOut(probed_at=_iso(p.probed_at, console), ok=p.ok, status=p.status,
                               elapsed_ms=p.elapsed_ms, error_kind=p.error_kind, detail=p.detail,
                               local_outage=p.local_outage) for p in detail.probes],
        )

    @app.get("/api/findings", response_model=m.FindingPageOut, responses=_ERRORS, tags=["问题"],
             summary="问题列表（最新的在前）")
    def api_findings(
        who: ApiUser,
        status: Annotated[str | None, Query(pattern="^(open|resolved|dismissed|all)$")] = "open",
        severity: Annotated[str | None, Query(pattern="^(veto|deduct|notice)$")] = None,
        check: Annotated[str | None, Query(max_length=64)] = None,
        kind: Annotated[str | None, Query(pattern="^(site|account)$")] = None,
        category: Annotated[str | None, Query(max_length=64)] = None,
        organizer: Annotated[str | None, Query(max_length=500)] = None,
        target: Annotated[str | None, Query(max_length=200)] = None,
        quarter: Annotated[str | None, Query(pattern=QUARTER_PATTERN, description="如 2023Q2：该季度内存在过的问题")] = None,
        page: Annotated[int, Query(ge=1, le=1_000_000)] = 1,
        per_page: Annotated[int, Query(ge=1, le=1000)] = 100,
    ) -> m.FindingPageOut:
        f = _finding_filter(console, status=status, severity=severity, check=check, kind=kind, category=category,
                            organizer=organizer, target=target, quarter=quarter, page=page, per_page=per_page)
        with console.sessions() as session:
            rows, total, page, pages = list_findings(session, f)
            items = [m.FindingOut(id=finding.id, **finding.to_json(t, tz)) for finding, t in rows]
        return m.FindingPageOut(total=total, page=page, pages=pages, items=items)

    @app.post("/api/findings/{finding_id}/dismiss", response_model=m.FindingOut,
              responses={**_ERRORS, 404: {"model": m.ErrorOut, "description": "没有这个问题"}},
              tags=["问题"], summary="忽略一个问题（误报），须注明理由")
    def api_dismiss(request: Request, who: ApiUser, finding_id: Annotated[int, PathParam(ge=1, le=2**62)],
                    body: m.DismissIn) -> m.FindingOut:
        _check_csrf(who, request.headers.get("x-csrf-token"))
        _dismiss(console, who, finding_id, body.reason, _client_ip(request))
        with console.sessions() as session:
            finding = session.get(Finding, finding_id)
            assert finding is not None
            return m.FindingOut(id=finding.id, **finding.to_json(finding.target, tz))

    @app.post("/api/targets/{target_id}/rescan", response_model=m.RescanOut, status_code=202,
              responses={**_ERRORS, 409: {"model": m.ErrorOut, "description": "无法重新检查"}},
              tags=["网站与账号"], summary="重新检查一个网站")
    async def api_rescan(request: Request, target_id: str) -> m.RescanOut:
        who = await asyncio.to_thread(api_user, request)
        _check_csrf(who, request.headers.get("x-csrf-token"))
        return rescan_out(await _rescan(console, who, target_id, _client_ip(request)))

    @app.get("/api/rescans/{handle}", response_model=m.RescanOut,
             responses={**_ERRORS, 404: {"model": m.ErrorOut, "description": "没有这个请求"}},
             tags=["网站与账号"], summary="重新检查的进展")
    def api_rescan_status(who: ApiUser, handle: str) -> m.RescanOut:
        status = console.rescanner.result(handle)
        if status is None:
            raise HTTPException(404, "没有这个重新检查请求（服务重启后记录不保留）")
        return rescan_out(status)

    @app.get("/api/reports/{quarter}", tags=["报告"], summary="下载季度报告（xlsx、docx、csv 压缩包、html、json）",
             responses={**_ERRORS, 200: {"content": {t: {} for t, _ in REPORT_FORMATS.values()},
                                         "description": "报告文件"}},
             response_class=FileResponse)
    def api_report(request: Request, who: ApiUser, quarter: Annotated[str, PathParam(pattern=QUARTER_PATTERN)],
                   format: Annotated[str, Query(pattern="^(xlsx|docx|csv|html|json)$")] = "json") -> FileResponse:
        return _report_file(console, who, quarter, format, _client_ip(request))

    @app.get("/api/feedback", response_model=m.FeedbackStatsOut, responses=_ERRORS, tags=["找错留言"],
             summary="找错留言的办结率")
    def api_feedback(who: ApiUser, quarter: Annotated[str | None, Query(pattern=QUARTER_PATTERN)] = None) -> m.FeedbackStatsOut:
        from govmon.feedback import feedback_stats, load_messages

        period = _period(console, _text_param(quarter))
        with console.sessions() as session:
            messages = load_messages(session, period, tz)
        stats = feedback_stats(messages, period, console.config.report.websites, tz)
        return m.FeedbackStatsOut(quarter=period.label, received=stats["received"],
                                  handled_on_time=stats["handled_on_time"], rate_text=stats["rate_text"],
                                  overdue=stats["overdue"])
