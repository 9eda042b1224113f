"""The ``govmon`` command (INTERFACE.md): Chinese help and messages, stable exit codes.

Exit status: 0 the command did its job (findings are not errors), 2 bad usage or a bad
config, 1 anything else.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Any, Callable, Optional

import typer

from govmon import __version__

app = typer.Typer(
    name="govmon",
    help="govmon：政府网站与政务新媒体持续监测。",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    context_settings={"help_option_names": ["-h", "--help"]},
)

ConfigOption = Annotated[
    Path, typer.Option("--config", help="配置文件路径（默认 ./config.yaml）", show_default=False)
]
DbOption = Annotated[
    Optional[str],
    typer.Option("--db", help="数据库 URL（默认取配置中的 database，否则 sqlite:///govmon.db）"),
]
DEFAULT_CONFIG = Path("config.yaml")


def _fail(message: str, code: int) -> typer.Exit:
    typer.echo(message, err=True)
    return typer.Exit(code)


def load_settings(path: Path, *, required: bool) -> Any:
    """Load the config; a missing default config is allowed where ``required`` is False."""
    from govmon.config import Config, ConfigError, load_config

    if not path.exists() and not required and path == DEFAULT_CONFIG:
        return Config.from_mapping({}, source="<默认设置>")
    try:
        return load_config(path)
    except ConfigError as err:
        raise _fail(f"配置错误：{err}", 2) from None


def database_url(settings: Any, db: str | None) -> str:
    return db or settings.database or "sqlite:///govmon.db"


@app.callback()
def main(
    version: Annotated[bool, typer.Option("--version", help="显示版本并退出")] = False,
) -> None:
    """govmon：政府网站与政务新媒体持续监测。"""
    if version:
        typer.echo(f"govmon {__version__}")
        raise typer.Exit(0)


@app.command()
def inspect(
    url: Annotated[str, typer.Argument(help="要查看的网页地址")],
    output_format: Annotated[
        str, typer.Option("--format", help="输出格式：text 或 json", show_default=True)
    ] = "text",
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """抓取一个网页并显示从中读取的内容（标题、发布日期、成文日期、来源、列表条目、链接），用于核实问题判定的依据。"""
    from govmon.crawler.extract import extract_page
    from govmon.crawler.fetch import FetchError, fetch

    if output_format not in ("text", "json"):
        raise _fail(f"--format 只能是 text 或 json，而不是 {output_format!r}", 2)
    settings = load_settings(config, required=config != DEFAULT_CONFIG)
    crawl = settings.crawl
    try:
        result = fetch(
            url,
            timeout_s=crawl.timeout_s,
            max_bytes=crawl.max_page_bytes,
            max_redirects=crawl.max_redirects,
            user_agent=crawl.user_agent,
        )
    except FetchError as err:
        raise _fail(f"无法访问 {url}：{err.reason}", 1) from None
    facts = extract_page(result.final_url, result.body, result.headers, max_bytes=crawl.max_page_bytes)
    data = facts.to_dict()
    data["url"] = url
    data["final_url"] = result.final_url
    data["status"] = result.status
    if result.truncated and not data.get("truncated"):
        data["truncated"] = True
    if output_format == "json":
        typer.echo(json.dumps(data, ensure_ascii=False, indent=2))
    else:
        typer.echo(render_facts(data))


def render_facts(data: dict[str, Any]) -> str:
    """The human form of ``inspect``: one fact a line, with how each date was found."""
    lines = [f"网址：{data['url']}"]
    if data.get("final_url") and data["final_url"] != data["url"]:
        lines.append(f"最终网址：{data['final_url']}")
    lines.append(f"状态码：{data.get('status')}")

    def show(label: str, value: Any, how: Any = None) -> None:
        text = "（页面未提供）" if value in (None, "") else str(value)
        if how and value not in (None, ""):
            text += f"　〔依据：{how}〕"
        lines.append(f"{label}：{text}")

    show("标题", data.get("title"))
    published = data.get("publish_date")
    if published and data.get("publish_time"):
        published = f"{published} {data['publish_time']}"
    show("发布日期", published, data.get("publish_date_how"))
    written = data.get("written_date")
    if written and data.get("written_date_precision") == "month":
        written = f"{written}（只注明到月）"
    show("成文日期", written, data.get("written_date_how"))
    show("来源", data.get("source"))
    show("发布机构", data.get("issuer"))
    show("索引号", data.get("index_no"))
    show("发文字号", data.get("doc_no"))
    show("编码", data.get("encoding"))
    for warning in data.get("warnings") or []:
        lines.append(f"注意：{warning}")
    items = data.get("items") or []
    lines.append(f"列表条目（{len(items)} 条）：")
    for item in items:
        lines.append(f"  {item.get('date') or '无日期':<10}  {item['title']}  {item['url']}")
    details = data.get("link_details") or []
    hidden = [d for d in details if not d.get("visible", True)]
    lines.append(f"链接：{len(details)} 个，其中读者看不到的 {len(hidden)} 个")
    for link in hidden:
        lines.append(f"  隐藏（{link.get('hidden_reason')}）：{link.get('text') or '（无文字）'}  {link['url']}")
    return "\n".join(lines)


def open_db(settings: Any, db: str | None) -> Any:
    """The migrated database as a sessionmaker; a bad URL exits 2, an unreachable one 1."""
    from govmon.db import DatabaseError, DatabaseUrlError, open_database

    url = database_url(settings, db)
    try:
        return open_database(url)
    except DatabaseUrlError as err:
        raise _fail(f"数据库地址错误：{err}", 2) from None
    except DatabaseError as err:
        raise _fail(str(err), 1) from None


def _chosen_targets(settings: Any, names: list[str] | None) -> tuple[list[Any], list[Any]]:
    """The sites and accounts ``--target`` names (all when none); a bad name exits 2."""
    from govmon.config import TargetNotFound
    from govmon.scan import select_targets

    try:
        return select_targets(settings, names or [])
    except TargetNotFound as err:
        raise _fail(str(err.args[0] if err.args else err), 2) from None


def _progress() -> Callable[[str], None] | None:
    """Progress lines on stderr when it is a terminal, else quiet."""
    return (lambda message: typer.echo(message, err=True)) if sys.stderr.isatty() else None


@app.command()
def scan(
    target: Annotated[
        Optional[list[str]], typer.Option("--target", help="只扫描这个网站或账号（id 或名称；可重复）")
    ] = None,
    as_of: Annotated[
        Optional[str], typer.Option("--as-of", help="监测时间点（ISO 8601，如 2023-06-30），默认为现在")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """立即抓取并检查登记的网站（或 --target 指定的），保存所见内容和发现的问题，最后打印汇总表。"""
    from govmon.scan import parse_as_of, run_scan

    settings = load_settings(config, required=True)
    sites, accounts = _chosen_targets(settings, target)
    try:
        point = parse_as_of(as_of, settings)
    except ValueError as err:
        raise _fail(str(err), 2) from None
    if not sites and not accounts:
        typer.echo("没有需要扫描的网站或账号。", err=True)
        raise typer.Exit(0)
    sessions = open_db(settings, db)
    results = run_scan(settings, sessions, sites, accounts, as_of=point, progress=_progress())
    typer.echo(render_scan_summary(results, point))
    if not results.all_complete:
        typer.echo("注意：未完成的扫描不会把以前的问题标为已解决。", err=True)


_SCAN_STATUS = {"complete": "完成", "incomplete": "未完成", "failed": "失败"}


def render_scan_summary(results: Any, as_of: Any) -> str:
    """The summary tables of one ``govmon scan`` (a :class:`govmon.scan.ScanResults`)."""
    from govmon.account_scan import COVERAGE_LABELS
    from govmon.config import PLATFORMS
    from govmon.terminal import table

    def counts(r: Any) -> list[str]:
        return [str(r.open_by_severity.get("veto", 0)), str(r.open_by_severity.get("deduct", 0)),
                str(r.open_by_severity.get("notice", 0)), str(r.opened), str(r.resolved)]

    text = f"监测时间点：{as_of.isoformat(timespec='minutes')}"
    if results.sites:
        rows = [[r.name, _SCAN_STATUS[r.status], str(r.pages), str(r.links_checked), *counts(r), r.reason or ""]
                for r in results.sites]
        head = ["网站", "扫描", "网页", "链接", "否决", "扣分", "提示", "新发现", "已解决", "说明"]
        text += "\n" + table(head, rows)
    if results.accounts:
        rows = [[r.name, PLATFORMS.get(r.platform, r.platform), _SCAN_STATUS[r.status],
                 COVERAGE_LABELS.get(r.coverage or "", "未读取"), str(r.posts), *counts(r), r.reason or ""]
                for r in results.accounts]
        head = ["账号", "平台", "扫描", "读取", "内容", "否决", "扣分", "提示", "新发现", "已解决", "说明"]
        text += "\n" + table(head, rows)
    for notice in dict.fromkeys(r.browser_notice for r in results.sites if getattr(r, "browser_notice", None)):
        text += f"\n注意：{notice}"
    return text


@app.command()
def probe(
    target: Annotated[
        Optional[list[str]], typer.Option("--target", help="只探测这个网站（id 或名称；可重复）")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """立即对登记网站（或 --target 指定的）的首页做一轮可用性探测，保存结果，并按近 7 天的探测记录判定“站点无法访问”。"""
    from govmon.probes import run_probe_round

    settings = load_settings(config, required=True)
    sites, accounts = _chosen_targets(settings, target)
    if accounts:
        typer.echo(f"提示：可用性探测只针对网站，{len(accounts)} 个新媒体账号不探测。", err=True)
    if not sites:
        typer.echo("没有需要探测的网站。", err=True)
        raise typer.Exit(0)
    sessions = open_db(settings, db)
    outcomes = run_probe_round(settings, sessions, sites, progress=_progress())
    typer.echo(render_probe_summary(outcomes, settings.checks.site_unreachable.window_days))
    if any(o.local_outage for o in outcomes):
        typer.echo("注意：本轮所有网站都无法连接，可能是监测端网络故障；本轮探测不计入各网站的失败率。", err=True)
        raise typer.Exit(1)
    if any(not o.measured for o in outcomes):
        typer.echo("注意：部分网站因监测程序自身出错未能探测（未测量），不计入失败率。", err=True)
        raise typer.Exit(1)


def render_probe_summary(outcomes: list[Any], window_days: int) -> str:
    from govmon.checks.site_unreachable import percent
    from govmon.terminal import SEVERITY_LABELS, table

    rows = []
    for o in outcomes:
        if not o.measured:
            result = f"未测量（{o.detail}）"
        elif o.local_outage:
            result = "不计入（监测端网络故障）"
        elif o.ok:
            result = "正常"
        else:
            result = f"失败：{o.detail}"
        elapsed = f"{o.elapsed_ms / 1000:.2f} 秒" if o.elapsed_ms is not None else ""
        ratio = o.failure_ratio
        rate = f"{percent(ratio)}（{o.window_failed}/{o.window_total}）" if ratio is not None else "无记录"
        verdict = SEVERITY_LABELS.get(o.severity, "") if o.severity else "无"
        rows.append([o.name, result, str(o.status) if o.status is not None else "", elapsed, rate, verdict])
    head = ["站点", "结果", "状态码", "用时", f"近{window_days}天失败率", "判定"]
    return table(head, rows)


findings_app = typer.Typer(help="查看和处理发现的问题。", no_args_is_help=False, rich_markup_mode=None)
app.add_typer(findings_app, name="findings")


@findings_app.callback(invoke_without_command=True)
def findings(
    ctx: typer.Context,
    target: Annotated[Optional[str], typer.Option("--target", help="只看这个网站或账号（id 或名称）")] = None,
    quarter: Annotated[Optional[str], typer.Option("--quarter", help="只看这个季度内存在过的问题，如 2023Q2")] = None,
    output_format: Annotated[str, typer.Option("--format", help="table、json 或 csv")] = "table",
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """列出发现的问题，最新的在前（不带子命令时）。"""
    if ctx.invoked_subcommand is not None:
        return
    from govmon.config import TargetNotFound
    from govmon.findings import FindingQuery, parse_quarter, query_findings
    from govmon.terminal import findings_as_csv, findings_as_table

    if output_format not in ("table", "json", "csv"):
        raise _fail(f"--format 只能是 table、json 或 csv，而不是 {output_format!r}", 2)
    settings = load_settings(config, required=config != DEFAULT_CONFIG)
    try:
        target_id = settings.find_target(target).id if target else None
        period = parse_quarter(quarter, settings.tzinfo) if quarter else None
    except TargetNotFound as err:
        raise _fail(str(err.args[0] if err.args else err), 2) from None
    except ValueError as err:
        raise _fail(str(err), 2) from None
    sessions = open_db(settings, db)
    with sessions() as session:
        rows = query_findings(session, FindingQuery(target_id=target_id, period=period), settings.tzinfo)
    if output_format == "json":
        typer.echo(json.dumps(rows, ensure_ascii=False, indent=2))
    elif output_format == "csv":
        typer.echo(findings_as_csv(rows), nl=False)
    else:
        typer.echo(findings_as_table(rows))


@findings_app.command("dismiss")
def findings_dismiss(
    finding_id: Annotated[int, typer.Argument(help="问题编号（findings 列表中的“编号”）")],
    reason: Annotated[str, typer.Option("--reason", help="忽略的理由（必填），例如“该栏目已撤销”")],
    by: Annotated[Optional[str], typer.Option("--by", help="操作人（默认为当前系统用户）")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """把一个问题标记为误报：不再计入报告，证据不变时也不再提出。"""
    import getpass

    from govmon.findings import FindingNotFoundError, dismiss_finding

    settings = load_settings(config, required=config != DEFAULT_CONFIG)
    sessions = open_db(settings, db)
    try:
        with sessions.begin() as session:
            finding = dismiss_finding(session, finding_id, reason, by or getpass.getuser())
            typer.echo(f"已忽略问题 {finding.id}（{finding.check_id}：{finding.message}），理由：{reason}")
    except FindingNotFoundError:
        raise _fail(f"没有编号为 {finding_id} 的问题", 1) from None
    except ValueError as err:
        raise _fail(str(err), 2) from None


@app.command()
def demo(
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """在本机回环地址上启动内置演示网站，并演示 govmon 如何读取它们。"""
    from govmon.demo.run import run_demo

    raise typer.Exit(run_demo(db))


@app.command()
def run(
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
    job_log: Annotated[
        Optional[Path], typer.Option("--job-log", help="把每个计划任务的计划时间、提交时间和开始时间追加写入此文件（每行一个 JSON，用于测量调度延迟）")
    ] = None,
) -> None:
    """持续监测：按配置的计划运行扫描、可用性探测和汇总，直到被停止。"""
    from govmon.scheduler import run_service

    settings = load_settings(config, required=True)
    raise typer.Exit(run_service(settings, database_url(settings, db), config_path=config, job_log=job_log))


@app.command()
def worker(
    concurrency: Annotated[
        Optional[int], typer.Option("--concurrency", min=1, help="本进程同时运行的扫描数（默认 cluster.concurrency）")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """集群工作进程：从任务队列领取 govmon run 分派的扫描并运行（需要 cluster.enabled 和 PostgreSQL）。"""
    from govmon.worker import worker_main

    settings = load_settings(config, required=True)
    if not settings.cluster.enabled:
        raise _fail("配置中没有启用集群（cluster.enabled: true）；单机请使用 govmon run", 2)
    raise typer.Exit(worker_main(settings, database_url(settings, db), concurrency))


@app.command()
def login(
    platform: Annotated[str, typer.Argument(help="平台：wechat、weibo、douyin、toutiao、kuaishou 或 bilibili")],
    cookies: Annotated[
        Optional[Path], typer.Option("--cookies", help="导入浏览器导出的 cookie 文件（storage_state JSON、cookie 列表 JSON 或 cookies.txt），不打开窗口")
    ] = None,
    token: Annotated[
        Optional[str], typer.Option("--token", help="微信公众平台登录后地址栏中的 token（与 --cookies 一起用于 wechat）")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
) -> None:
    """保存本单位在一个平台上的登录（扫码或密码登录，或导入 cookie），供读取新媒体账号使用。

    登录保存在配置之外的私密目录（platforms.secrets_dir，默认 ~/.local/share/govmon/logins），
    文件权限 0600，不写入日志，也不随报告导出。登录过期时，账号会显示“登录已过期”，再运行本命令即可。"""
    import asyncio

    from govmon.logins import LOGIN_PAGES, LoginError, LoginStore, has_login_cookie, login_in_browser, read_cookie_file

    if platform not in LOGIN_PAGES:
        raise _fail(f"平台 {platform!r} 不需要或不支持登录；可登录的平台：{'、'.join(LOGIN_PAGES)}", 2)
    settings = load_settings(config, required=False)
    store = LoginStore.from_settings(settings.platforms.secrets_dir)
    try:
        if cookies is not None:
            state = read_cookie_file(cookies, token=token)
            if platform == "wechat" and not state.get("token"):
                raise LoginError("微信公众平台还需要 token：登录后台后从地址栏复制 token=后面的数字，用 --token 传入")
            if not has_login_cookie(platform, state):
                typer.echo(f"提示：cookie 中没有 {platform} 的登录 cookie，可能尚未登录；仍然保存。", err=True)
        else:
            typer.echo(f"正在打开浏览器窗口：请在窗口中登录 {platform}，登录成功后会自动保存……", err=True)
            state = asyncio.run(login_in_browser(platform, settings.browser.executable))
        path = store.save(platform, state)
    except LoginError as err:
        raise _fail(str(err), 1) from None
    typer.echo(f"已保存 {platform} 的登录：{path}（{len(state.get('cookies') or [])} 个 cookie，权限 0600）")


@app.command()
def rescan(
    name: Annotated[str, typer.Argument(help="要复查的网站或新媒体账号（id 或名称）")],
    no_wait: Annotated[bool, typer.Option("--no-wait", help="提交复查请求后立即返回，不等待结果")] = False,
    timeout: Annotated[float, typer.Option("--timeout", help="等待结果的最长秒数")] = 3600.0,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """请正在运行的 govmon run 立即复查一个网站或账号并等待结果；没有服务在运行时，在本进程内扫描。"""
    import time

    from govmon.leases import service_state
    from govmon.rescan import request_rescan, request_state
    from govmon.scan import parse_as_of, run_scan

    settings = load_settings(config, required=True)
    sites, accounts = _chosen_targets(settings, [name])
    if not sites and not accounts:
        raise _fail(f"{name} 没有启用，无法复查", 2)
    sessions = open_db(settings, db)
    with sessions() as session:
        state = service_state(session)
    if state is None or not state.alive:
        typer.echo("没有正在运行的 govmon run：在本进程内扫描（同 govmon scan --target）。", err=True)
        point = parse_as_of(None, settings)
        results = run_scan(settings, sessions, sites, accounts, as_of=point, progress=_progress())
        typer.echo(render_scan_summary(results, point))
        raise typer.Exit(0 if all(r.status != "failed" for r in (*results.sites, *results.accounts)) else 1)
    chosen = (sites or accounts)[0]
    with sessions.begin() as session:
        request_id = request_rescan(session, chosen.id)
    typer.echo(f"已提交复查请求 {request_id}：{chosen.name}（由 {state.owner} 上的服务执行）", err=True)
    if no_wait:
        raise typer.Exit(0)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        time.sleep(0.5)
        with sessions() as session:
            request = request_state(session, request_id)
            if request is not None and request.status in ("done", "failed"):
                summary = request.summary or {}
                break
    else:
        raise _fail(f"等待 {timeout:.0f} 秒仍未完成；复查请求 {request_id} 仍在服务中排队或运行", 1)
    severity = summary.get("open_by_severity") or {}
    status = {"complete": "完成", "incomplete": "未完成", "failed": "失败"}.get(summary.get("status", ""), "失败")
    if summary.get("kind") == "account":
        from govmon.account_scan import COVERAGE_LABELS

        seen = f"读取{COVERAGE_LABELS.get(summary.get('coverage') or '', '失败')}，{summary.get('posts', 0)} 条内容"
    else:
        seen = f"{summary.get('pages', 0)} 个网页，{summary.get('links_checked', 0)} 个链接"
    typer.echo(f"复查 {summary.get('name', chosen.name)}：{status}，{seen}；未解决问题 否决 {severity.get('veto', 0)}、"
               f"扣分 {severity.get('deduct', 0)}、提示 {severity.get('notice', 0)}；"
               f"新发现 {summary.get('opened', 0)}，已解决 {summary.get('resolved', 0)}"
               + (f"；{summary['reason']}" if summary.get("reason") else ""))
    raise typer.Exit(0 if status != "失败" else 1)


@app.command()
def status(
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """监测服务的状态：是否在运行、每个网站最近一次扫描和探测、超期未扫描的网站、待处理的复查。"""
    from govmon.status import service_status_text

    settings = load_settings(config, required=True)
    sessions = open_db(settings, db)
    with sessions() as session:
        typer.echo(service_status_text(session, settings))
        if settings.cluster.enabled:
            typer.echo(_cluster_status(settings, database_url(settings, db), session))


def _cluster_status(settings: Any, url: str, session: Any) -> str:
    from sqlalchemy.pool import NullPool

    from govmon.db import make_engine
    from govmon.status import cluster_status_text

    engine = make_engine(settings.cluster.database or url, poolclass=NullPool)
    try:
        with engine.connect() as queue:
            return cluster_status_text(queue, session, settings)
    except Exception as err:
        return f"集群：无法读取任务队列：{type(err).__name__}: {err}"
    finally:
        engine.dispose()


@app.command()
def report(
    quarter: Annotated[Optional[str], typer.Option("--quarter", help="季度，如 2023Q2")] = None,
    date_from: Annotated[Optional[str], typer.Option("--from", help="检查采样开始日期，如 2023-04-01（与 --to 一起使用）")] = None,
    date_to: Annotated[Optional[str], typer.Option("--to", help="检查采样结束日期（含当天），如 2023-06-30")] = None,
    output_format: Annotated[str, typer.Option("--format", help="xlsx、docx、csv、json 或 html")] = "xlsx",
    out: Annotated[Optional[Path], typer.Option("--out", help="输出文件路径")] = None,
    feedback: Annotated[
        Optional[Path],
        typer.Option("--feedback", help="“我为政府网站找错”留言导出文件（xlsx 或 csv），用于统计办结率"),
    ] = None,
    deadline: Annotated[
        Optional[str], typer.Option("--deadline", help="整改期限（如 2023-07-31）：列出各问题对象的整改状态和逾期情况")
    ] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """季度汇总：各类合格率、通报附件1/附件2 和全部问题明细。"""
    import datetime as dt

    from govmon.export import FORMATS, write_report
    from govmon.findings import parse_quarter
    from govmon.rollup import build_rollup, date_range_period

    if output_format not in FORMATS:
        raise _fail(f"--format 只能是 {'、'.join(FORMATS)}，而不是 {output_format!r}", 2)
    if out is None:
        raise _fail("请用 --out 指定输出文件，例如 --out 2023Q2.xlsx", 2)
    if quarter and (date_from or date_to):
        raise _fail("--quarter 与 --from/--to 只能二选一", 2)
    if not quarter and not (date_from and date_to):
        raise _fail("请用 --quarter 指定季度（如 2023Q2），或用 --from 和 --to 指定检查采样时间", 2)
    settings = load_settings(config, required=config != DEFAULT_CONFIG)
    try:
        if quarter:
            period = parse_quarter(quarter, settings.tzinfo)
        else:
            start, end = (dt.date.fromisoformat(str(d).strip()) for d in (date_from, date_to))
            period = date_range_period(start, end, settings.tzinfo)
        deadline_day = dt.date.fromisoformat(deadline.strip()) if deadline else None
    except ValueError as err:
        raise _fail(f"日期或季度无效：{err}", 2) from None
    messages = None
    if feedback is not None:
        from govmon.feedback import FeedbackError, read_feedback_file

        try:
            messages = read_feedback_file(feedback)
        except FeedbackError as err:
            raise _fail(f"留言文件错误：{err}", 2) from None
    sessions = open_db(settings, db)
    interactive = sys.stderr.isatty()
    if interactive:
        typer.echo("正在汇总……", err=True)
    try:
        if settings.targets:
            from govmon.models import sync_targets
            from govmon.scan import target_specs

            with sessions.begin() as session:
                sync_targets(session, target_specs(settings))
        with sessions() as session:
            if messages is None:
                from govmon.feedback import load_messages

                messages = load_messages(session) or None
            rollup = build_rollup(session, settings, period, feedback=messages, deadline=deadline_day)
        if interactive:
            typer.echo(f"正在写出 {output_format} 文件……", err=True)
        written = write_report(rollup, output_format, out, settings.tzinfo)
    except OSError as err:
        raise _fail(f"无法写出报告：{err}", 1) from None
    rates = "，".join(f"{r.label} {r.text}" for r in rollup.rates.values())
    typer.echo(f"检查采样时间：{rollup.sampling}")
    typer.echo(f"合格率：{rates}")
    if rollup.unchecked:
        typer.echo(f"未检查（不计入合格率）：{len(rollup.unchecked)} 个")
    if rollup.feedback is not None:
        fb = rollup.feedback
        typer.echo(f"找错留言：收到 {fb['received']} 条，按期办结 {fb['handled_on_time']} 条，办结率 {fb['rate_text']}")
    if rollup.rectification is not None:
        typer.echo(f"整改期限 {deadline_day}：问题对象 {len(rollup.rectification)} 个，逾期 {len(rollup.overdue)} 个")
    for path in written:
        typer.echo(f"已写出：{path}")


@app.command()
def serve(
    host: Annotated[str, typer.Option("--host", help="监听地址（默认只允许本机访问）")] = "127.0.0.1",
    port: Annotated[int, typer.Option("--port", help="端口", min=1, max=65535)] = 8400,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """启动网页控制台及其 JSON API（接口说明在 /openapi.json）；不登录看不到任何数据。"""
    import asyncio

    from sqlalchemy import func, select

    from govmon.models import User

    settings = load_settings(config, required=config != DEFAULT_CONFIG)
    sessions = open_db(settings, db)
    with sessions() as session:
        users = session.scalar(select(func.count()).select_from(User)) or 0
    if not users:
        typer.echo("提示：还没有任何用户，请先运行 govmon user add 名字 --role admin 创建管理员。", err=True)
    typer.echo(f"控制台：http://{host if ':' not in host else f'[{host}]'}:{port}/  （Ctrl+C 停止）", err=True)

    async def main() -> None:
        from govmon.crawler.runner import shutdown_reactor
        from govmon.web import create_app
        from govmon.web import serve as serve_app

        try:
            await serve_app(create_app(settings, sessions), host=host, port=port, handle_signals=True)
        finally:
            shutdown_reactor()

    try:
        asyncio.run(main())
    except OSError as err:
        raise _fail(str(err), 1) from None


user_app = typer.Typer(help="控制台用户。", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(user_app, name="user")


@user_app.command("add")
def user_add(
    name: Annotated[str, typer.Argument(help="用户名")],
    role: Annotated[str, typer.Option("--role", help="角色：admin（管理员）、operator（操作员）或 viewer（只读）")],
    password_file: Annotated[
        Optional[Path], typer.Option("--password-file", help="从文件第一行读取密码（不给则提示输入）")
    ] = None,
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="从标准输入第一行读取密码")] = False,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """创建一个控制台用户（密码以 argon2 散列保存）。"""
    import getpass

    from govmon.web.auth import UserError, create_user

    if role not in ("admin", "operator", "viewer"):
        raise _fail(f"--role 只能是 admin、operator 或 viewer，而不是 {role!r}", 2)
    if password_file is not None and password_stdin:
        raise _fail("--password-file 与 --password-stdin 只能二选一", 2)
    if password_file is not None:
        try:
            lines = password_file.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as err:
            raise _fail(f"无法读取密码文件 {password_file}：{err}", 2) from None
        password = lines[0] if lines else ""
    elif password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("密码", hide_input=True, confirmation_prompt="再输入一次")
    settings = load_settings(config, required=config != DEFAULT_CONFIG)
    sessions = open_db(settings, db)
    try:
        with sessions.begin() as session:
            create_user(session, name, role, password, actor=f"命令行（{getpass.getuser()}）")
    except UserError as err:
        raise _fail(str(err), 2) from None
    typer.echo(f"已创建用户 {name.strip()}（{role}）")


feedback_app = typer.Typer(help="“我为政府网站找错”平台留言：导入和查看。", no_args_is_help=True, rich_markup_mode=None)
app.add_typer(feedback_app, name="feedback")


@feedback_app.command("import")
def feedback_import(
    file: Annotated[Path, typer.Argument(help="平台导出的留言文件（xlsx 或 csv；列：received、site、content、deadline、handled）")],
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """导入留言；重复导入同一条留言只更新办理期限和办结时间。"""
    from govmon.feedback import FeedbackError, read_feedback_file, store_messages

    settings = load_settings(config, required=config != DEFAULT_CONFIG)
    try:
        messages = read_feedback_file(file)
    except FeedbackError as err:
        raise _fail(f"留言文件错误：{err}", 2) from None
    sessions = open_db(settings, db)
    with sessions.begin() as session:
        added, updated = store_messages(session, messages, source=str(file))
    typer.echo(f"已导入 {file}：共 {len(messages)} 条，新增 {added} 条，更新 {updated} 条")


@feedback_app.command("list")
def feedback_list(
    quarter: Annotated[Optional[str], typer.Option("--quarter", help="只看这个季度收到的留言，如 2023Q2")] = None,
    config: ConfigOption = DEFAULT_CONFIG,
    db: DbOption = None,
) -> None:
    """列出已导入的留言和办结情况。"""
    import datetime as dt

    from govmon.feedback import feedback_stats, load_messages
    from govmon.findings import parse_quarter
    from govmon.terminal import table

    settings = load_settings(config, required=config != DEFAULT_CONFIG)
    try:
        period = parse_quarter(quarter, settings.tzinfo) if quarter else None
    except ValueError as err:
        raise _fail(str(err), 2) from None
    sessions = open_db(settings, db)
    with sessions() as session:
        messages = load_messages(session, period, settings.tzinfo)
    if not messages:
        typer.echo("没有留言。")
        return
    today = dt.datetime.now(settings.tzinfo).date()

    def state(m: Any) -> str:
        if m.handled is None:
            return "逾期未办结" if today > m.deadline else "办理中"
        return "按期办结" if m.handled_on_time else "逾期办结"

    rows = [[m.received.isoformat(), m.site, m.content, m.deadline.isoformat(),
             m.handled.isoformat() if m.handled else "", state(m)] for m in messages]
    typer.echo(table(["收到日期", "网站", "留言内容", "办理期限", "办结日期", "状态"], rows))
    if period is not None:
        stats = feedback_stats(messages, period, settings.report.websites, settings.tzinfo)
        typer.echo(f"{period.label}：收到 {stats['received']} 条，按期办结 {stats['handled_on_time']} 条，"
                   f"办结率 {stats['rate_text']}")
    else:
        typer.echo(f"共 {len(messages)} 条")


def entrypoint() -> None:  # pragma: no cover - console script shim
    sys.exit(app())


if __name__ == "__main__":  # pragma: no cover
    app()
