"""`govmon demo`: serve the demonstration province on loopback, scan it, show the findings."""

from __future__ import annotations

import datetime as dt
import tempfile
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Iterator
from zoneinfo import ZoneInfo

import typer
from sqlalchemy import select

from govmon.config import CATEGORIES, PLATFORMS, Config
from govmon.demo.account_platforms import AccountPlatforms
from govmon.demo.certs import LoopbackCA
from govmon.demo.province import (
    ACCOUNTS,
    HTTPS_DAYS_LEFT,
    IPV6_SITES,
    PLANTED,
    PROBE_ROUNDS,
    SERIOUS_TERM,
    SITES,
    TRAPS,
    DemoAccount,
    FlakyHome,
    Planted,
    province_sites,
)
from govmon.demo.server import DemoServer, unused_url
from govmon.logins import LoginStore


class DemoProvince:
    """The demo sites being served, their config, and where each planted defect lives."""

    def __init__(self, server: DemoServer, config: Config, offline_url: str, mapping: dict[str, Any],
                 platforms: AccountPlatforms | None = None) -> None:
        self.server = server
        self.platforms = platforms  # the loopback Weibo / 公众平台 / Douyin / feeds of the accounts
        self.config = config
        self.offline_url = offline_url
        self.mapping = mapping  # the config as a plain mapping, e.g. to write a config.yaml

    def subject(self, planted: Planted) -> str:
        """The finding subject a correct scan reports for ``planted``."""
        if planted.subject == "@offline":
            return self.offline_url
        if planted.subject.startswith("@helper/"):
            return self.server.base_urls["helper"] + planted.subject[len("@helper"):]
        if planted.subject.startswith("/"):
            return self.server.base_urls[planted.site] + planted.subject
        if "@/" in planted.subject:
            term, path = planted.subject.split("@", 1)
            return f"{term}@{self.server.base_urls[planted.site]}{path}"
        return planted.subject

    def expected(self, by: str | None = None) -> set[tuple[str, str, str]]:
        """(target id, check id, subject) of every planted defect (``by``: only those a
        ``"scan"`` or the ``"probes"`` find)."""
        return {(p.site, p.check, self.subject(p)) for p in PLANTED if by is None or p.by == by}

    @property
    def flaky(self) -> FlakyHome:
        """The transport bureau's home page, which fails every 12th visit while flaky."""
        home = self.server.sites["shifan-transport"]["/"]
        assert isinstance(home, FlakyHome)
        return home


PROBE_DAYS = 7


def simulate_probe_week(province: DemoProvince, sessions: Any, as_of: dt.datetime,
                        rounds: int = PROBE_ROUNDS) -> list[Any]:
    """Real probe rounds against the served province, recorded at time points spread evenly
    over the trailing week (the last at ``as_of``): the week of availability monitoring a
    deployment would have gathered, in seconds. The transport bureau fails every 12th
    visit meanwhile. Returns the last round's outcomes."""
    import asyncio

    from govmon.probes import probe_sites

    step = dt.timedelta(days=PROBE_DAYS) / rounds
    config = province.config

    async def week() -> list[Any]:
        outcomes: list[Any] = []
        for i in range(rounds):
            when = as_of - (rounds - 1 - i) * step
            outcomes = await probe_sites(config, sessions, list(config.sites), now=when)
        return outcomes

    province.flaky.start()
    try:
        return asyncio.run(week())
    finally:
        province.flaky.stop()


def account_url(platforms: AccountPlatforms, account: DemoAccount) -> str:
    if account.platform == "weibo":
        return platforms.weibo_url(account.scenario)
    if account.platform == "wechat":
        return platforms.wechat_url(account.scenario)
    if account.platform == "douyin":
        return platforms.douyin_url(account.scenario)
    return platforms.feed_url(account.scenario)


def demo_config_mapping(base_urls: dict[str, str], down_url: str, *, database: str | None = None,
                        tls: dict[str, Any] | None = None, platforms: AccountPlatforms | None = None,
                        secrets_dir: Path | None = None) -> dict[str, Any]:
    """The demo province's config.yaml content (a plain mapping); accounts when ``platforms`` is given."""
    sites = []
    for site in SITES:
        base = base_urls.get(site.id, down_url.rstrip("/"))
        entry: dict[str, Any] = {"id": site.id, "name": site.name, "organizer": site.organizer,
                                 "category": site.category, "url": base + "/"}
        if site.columns:
            entry["columns"] = [{"name": n, "url": base + path, "kind": k} for n, path, k in site.columns]
        sites.append(entry)
    accounts = [{"id": a.id, "name": a.name, "organizer": a.organizer, "platform": a.platform,
                 "url": account_url(platforms, a)} for a in ACCOUNTS] if platforms is not None else []
    return {
        "database": database,
        "sites": sites,
        "accounts": accounts,
        # one request at a time per platform, 50 ms apart: the pace of a real registry (2 s) shortened
        "platforms": {"pace": {"interval_s": 0.05, "backoff_s": 0.1},
                      **({"secrets_dir": str(secrets_dir)} if secrets_dir is not None else {})},
        # Loopback hosts: the demo's off-site links are on 127.0.0.x; 5 ms between requests
        # is still a delay > 0, which keeps Scrapy's per-site concurrency limit in force.
        "crawl": {"allow_private_addresses": True, "download_delay_s": 0.005, "timeout_s": 5, "retries": 1,
                  "retry_after_max_s": 5, "contact": "demo@localhost"},
        "lexicon": {"serious_errors": [SERIOUS_TERM]},
        # one load a page and one article a site besides the home and list pages: keeps the demo
        # quick (the defaults, 3 loads and 3 articles, are what a real registry gets)
        "browser": {"articles": 1, "loads": 1},
        # the demo's HTTPS: one port on every site's address, certificates from the demo CA
        **({"tls": tls} if tls else {}),
    }


@contextmanager
def serving_province(as_of: dt.date, *, database: str | None = None) -> Iterator[DemoProvince]:
    """Serve the demo province on loopback for the duration of the ``with`` block."""
    labels = [site.id for site in SITES if site.id != "shifan-town"] + ["helper"]
    server = DemoServer(labels, ipv6_labels=IPV6_SITES)
    offline = unused_url("127.0.0.250")
    down = unused_url("127.0.0.251")
    for label, site in province_sites(as_of, helper_base=server.base_urls["helper"], offline_url=offline).items():
        server.mount(label, site)
    base_urls = {k: v for k, v in server.base_urls.items() if k != "helper"}
    platform_now = dt.datetime.combine(as_of, dt.time(0, 0), tzinfo=ZoneInfo("Asia/Shanghai"))
    with tempfile.TemporaryDirectory(prefix="govmon-demo-") as private:
        ca = LoopbackCA(Path(private))
        port = server.serve_https({label: ca.issue(server.addresses[label], days_left=days)
                                   for label, days in HTTPS_DAYS_LEFT.items() if days is not None})
        tls = {"https_port": port, "extra_ca_file": str(ca.file), "timeout_s": 5}
        secrets = Path(private) / "logins"
        with server, AccountPlatforms(platform_now, host="127.0.0.249") as platforms:
            LoginStore(secrets).save("wechat", platforms.wechat_login())  # the office's saved 公众平台 login
            mapping = demo_config_mapping(base_urls, down, database=database, tls=tls, platforms=platforms,
                                          secrets_dir=secrets)
            yield DemoProvince(server, Config.from_mapping(mapping, source="<演示配置>"), offline, mapping, platforms)


def run_demo(database: str | None = None) -> int:
    from govmon.cli import render_probe_summary, render_scan_summary
    from govmon.db import open_database
    from govmon.findings import FindingQuery, query_findings
    from govmon.scan import run_scan
    from govmon.terminal import check_title, findings_as_table

    with tempfile.TemporaryDirectory(prefix="govmon-demo-") as tmp:
        url = database or f"sqlite:///{Path(tmp) / 'demo.db'}"
        as_of = dt.datetime.now(ZoneInfo("Asia/Shanghai"))  # the demo config's time zone
        with serving_province(as_of.date(), database=url) as province:
            config = province.config
            typer.echo(f"演示省份：{len(config.sites)} 个登记网站（其中 1 个无法访问，1 个时常打不开），"
                       "网站在本机回环地址上运行：")
            for site in config.sites:
                typer.echo(f"  {site.name}（{CATEGORIES[site.category]}）：{site.url}")
            sessions = open_database(url)
            typer.echo(f"\n模拟 7 天的可用性监测：每天 {PROBE_ROUNDS // PROBE_DAYS} 轮、共 {PROBE_ROUNDS} 轮首页探测，"
                       "真实访问各网站，结果记在过去 7 天均匀分布的时间点上（回环地址上几秒内完成）……")
            outcomes = simulate_probe_week(province, sessions, as_of)
            typer.echo(render_probe_summary(outcomes, config.checks.site_unreachable.window_days))
            typer.echo(f"\n{len(config.accounts)} 个新媒体账号，在本机回环地址上模拟的微博、微信公众平台、抖音和订阅源上：")
            for account in config.accounts:
                typer.echo(f"  {account.name}（{PLATFORMS[account.platform]}）：{account.url}")
            typer.echo("\n正在扫描网站（首页 → 栏目 → 列表 → 最新文章 → 全部链接）并读取各账号最近的发布……")
            results = run_scan(config, sessions, list(config.sites), list(config.accounts), as_of=as_of,
                               progress=lambda message: typer.echo("  " + message))
            typer.echo("\n" + render_scan_summary(results, as_of))
            with sessions() as session:
                rows = query_findings(session, FindingQuery(), config.tzinfo)
            typer.echo("\n发现的问题：\n" + findings_as_table(rows))
            from govmon.models import Finding

            with sessions() as session:
                keys = set(session.execute(select(Finding.target_id, Finding.check_id, Finding.subject)
                                           .where(Finding.status == "open")).tuples())
            typer.echo(f"\n演示中埋设了 {len(PLANTED)} 个问题：")
            for planted in PLANTED:
                mark = "已发现" if (planted.site, planted.check, province.subject(planted)) in keys else "未发现"
                typer.echo(f"  [{mark}] {planted.site}  {check_title(planted.check)}：{planted.why}")
            typer.echo(f"\n以及 {len(TRAPS)} 个不应报告的陷阱，例如：")
            for trap in TRAPS[:5]:
                typer.echo(f"  - {trap}")
            typer.echo("\n" + demo_report(config, sessions, as_of))
            typer.echo("\n用 govmon inspect 网址 可以查看任一网页被读成了什么。")
    return 0


REPORT_DIR = Path("demo-report")


def demo_report(config: Config, sessions: Any, as_of: dt.datetime) -> str:
    """This quarter's rollup of the demo scan: pass rates printed, xlsx and html written."""
    from govmon.export import write_report
    from govmon.findings import parse_quarter
    from govmon.rollup import build_rollup
    from govmon.terminal import table

    period = parse_quarter(f"{as_of.year}Q{(as_of.month - 1) // 3 + 1}", config.tzinfo)
    with sessions() as session:
        rollup = build_rollup(session, config, period, now=as_of)
    rows = [[rate.label, str(rate.passed), str(rate.total - rate.passed), rate.text]
            for rate in rollup.rates.values() if rate.total]
    REPORT_DIR.mkdir(exist_ok=True)
    written = [path for fmt, name in (("xlsx", "通报.xlsx"), ("html", "通报.html"))
               for path in write_report(rollup, fmt, REPORT_DIR / name, config.tzinfo)]
    failing = [f"  {v.name}（{'；'.join(v.reasons)}）" for v in rollup.verdicts if v.failed]
    lines = [f"{period.label} 季度汇总（{rollup.sampling}）：", table(["类别", "合格", "不合格", "合格率"], rows)]
    if failing:
        lines += ["不合格：", *failing]
    lines.append("通报表格已写出：" + "、".join(str(p) for p in written))
    return "\n".join(lines)
