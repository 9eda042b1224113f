"""How fast is the quarterly rollup and its xlsx export at provincial scale?

    python benchmarks/bench_rollup.py [--sites 15000] [--accounts 150000] [--db URL]...

Generates (once per database; reused when already there) a registry of 15,000 sites
and 150,000 accounts with a year (2023) of findings — sites 0–20 a year, accounts 0–3,
most of them resolved after a while, a few dismissed — and ``--scans`` complete scans
per target over the year (a few targets have none in the quarter: 未检查). Then, in a
fresh process per measurement so that peak RSS is the rollup's own, it times
``build_rollup`` for 2023Q2 and the xlsx export of the result.

``--db`` may be given several times (default: a SQLite file under /tmp). For
PostgreSQL pass a URL; the data goes into the schema ``--schema`` (default
``bench_rollup``), created when missing and left for the next run (``--fresh`` drops it).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import random
import resource
import subprocess
import sys
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
YEAR_START = dt.datetime(2023, 1, 1, tzinfo=TZ)
CHUNK = 20_000

SITE_CHECKS = (
    ("site.unreachable", "veto", 0.01),
    ("site.homepage_stale", "veto", 0.02),
    ("column.stale", "deduct", 0.25),
    ("column.empty", "deduct", 0.10),
    ("content.date_order", "veto", 0.02),
    ("content.title_mismatch", "veto", 0.02),
    ("content.undated", "notice", 0.15),
    ("links.broken", "deduct", 0.35),
    ("site.identifiers", "deduct", 0.08),
)
ACCOUNT_CHECKS = (
    ("account.stale", "deduct", 0.6),
    ("account.stale", "veto", 0.15),
    ("account.serious_error", "veto", 0.05),
    ("account.unreachable", "notice", 0.2),
)


def _url_with_schema(url: str, schema: str) -> str:
    from govmon.db import normalize_url

    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        return parsed.render_as_string(hide_password=False)
    return parsed.update_query_dict({"options": f"-csearch_path={schema}"}).render_as_string(hide_password=False)


def _prepare_schema(url: str, schema: str, fresh: bool) -> None:
    from sqlalchemy import create_engine, text

    from govmon.db import normalize_url

    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        path = Path(parsed.database or "")
        if fresh and path.exists():
            path.unlink()
        return
    admin = create_engine(parsed, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        if fresh:
            connection.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
    admin.dispose()


def generate(url: str, sites: int, accounts: int, scans_per_target: int, seed: int = 7) -> dict[str, int]:
    from sqlalchemy import func, insert, select

    from govmon.db import make_engine, migrate
    from govmon.models import Finding, Scan, Target

    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as connection:
        if connection.scalar(select(func.count()).select_from(Target.__table__)):
            counts = {
                "targets": connection.scalar(select(func.count()).select_from(Target.__table__)),
                "scans": connection.scalar(select(func.count()).select_from(Scan.__table__)),
                "findings": connection.scalar(select(func.count()).select_from(Finding.__table__)),
            }
            engine.dispose()
            return counts
    rng = random.Random(seed)
    now = dt.datetime(2024, 1, 10, tzinfo=UTC)
    targets = []
    for i in range(sites):
        category = "county_portal" if i % 10 == 0 else ("department_site" if i % 10 < 3 else "department_channel")
        targets.append({"id": f"site-{i}", "kind": "site", "name": f"测试网站{i:05d}", "organizer": f"主办单位{i % 997}",
                        "category": category, "platform": None, "url": f"http://s{i}.example.gov.cn/",
                        "active": True, "created_at": now, "updated_at": now})
    platforms = ("wechat", "weibo", "douyin", "toutiao")
    for i in range(accounts):
        targets.append({"id": f"acct-{i}", "kind": "account", "name": f"政务账号{i:06d}",
                        "organizer": f"主办单位{i % 997}", "category": None, "platform": platforms[i % 4],
                        "url": f"https://example.com/u/{i}", "active": True, "created_at": now, "updated_at": now})
    scans, findings = [], []
    year_seconds = 365 * 86400
    for target in targets:
        kind = target["kind"]
        unchecked_in_q2 = rng.random() < 0.02
        for k in range(scans_per_target):
            at = YEAR_START + dt.timedelta(seconds=(k + rng.random()) * year_seconds / scans_per_target)
            if unchecked_in_q2 and dt.datetime(2023, 4, 1, tzinfo=TZ) <= at < dt.datetime(2023, 7, 1, tzinfo=TZ):
                continue
            scans.append({"target_id": target["id"], "kind": kind, "status": "complete", "started_at": at,
                          "finished_at": at + dt.timedelta(minutes=5), "as_of": at})
        checks = SITE_CHECKS if kind == "site" else ACCOUNT_CHECKS
        n = rng.randint(0, 20) if kind == "site" else rng.randint(0, 3)
        for j in range(n):
            check_id, severity, _ = rng.choices(checks, weights=[c[2] for c in checks])[0]
            first = YEAR_START + dt.timedelta(seconds=rng.random() * year_seconds)
            roll = rng.random()
            status, resolved_at, dismissed_at = "open", None, None
            last = first + dt.timedelta(days=rng.randint(0, 30))
            if roll < 0.7:
                status, resolved_at = "resolved", last + dt.timedelta(days=1)
            elif roll < 0.73:
                status, dismissed_at = "dismissed", last
            findings.append({
                "target_id": target["id"], "check_id": check_id, "subject": f"{check_id}#{j}",
                "severity": severity, "message": f"{check_id} 问题 {j}",
                "url": f"{target['url']}page/{j}.html", "evidence": {"n": j, "on_home": j % 5 == 0},
                "evidence_hash": "0" * 64, "status": status, "first_seen": first, "last_seen": last,
                "resolved_at": resolved_at, "dismissed_at": dismissed_at,
                "dismissed_reason": "误报" if dismissed_at else None,
            })
    with engine.begin() as connection:
        for table, rows in ((Target.__table__, targets), (Scan.__table__, scans), (Finding.__table__, findings)):
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(table), rows[start : start + CHUNK])
    engine.dispose()
    return {"targets": len(targets), "scans": len(scans), "findings": len(findings)}


def measure(url: str, out_dir: str) -> dict[str, float | int]:
    """In this (fresh) process: rollup of 2023Q2, then the xlsx export."""
    from sqlalchemy.orm import sessionmaker

    from govmon.config import Config
    from govmon.db import make_engine
    from govmon.export import write_report
    from govmon.findings import parse_quarter
    from govmon.rollup import build_rollup

    config = Config.from_mapping({})
    engine = make_engine(url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    started = time.perf_counter()
    with sessions() as session:
        rollup = build_rollup(session, config, parse_quarter("2023Q2", config.tzinfo))
    rollup_s = time.perf_counter() - started
    rss_rollup = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    started = time.perf_counter()
    path = Path(out_dir) / "bench_2023Q2.xlsx"
    write_report(rollup, "xlsx", path, config.tzinfo)
    xlsx_s = time.perf_counter() - started
    engine.dispose()
    return {
        "rollup_s": round(rollup_s, 2),
        "xlsx_s": round(xlsx_s, 2),
        "peak_rss_mb_after_rollup": round(rss_rollup),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024),
        "xlsx_mb": round(path.stat().st_size / 1e6, 1),
        "targets": len(rollup.verdicts),
        "findings_in_quarter": len(rollup.findings()),
        "annex1": len(rollup.annex_sites),
        "annex2": len(rollup.annex_accounts),
        "unchecked": len(rollup.unchecked),
        "websites_rate": rollup.rates["websites"].text,
        "new_media_rate": rollup.rates["new_media"].text,
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", help="database URL (repeatable); default a SQLite file in /tmp")
    parser.add_argument("--sites", type=int, default=15_000)
    parser.add_argument("--accounts", type=int, default=150_000)
    parser.add_argument("--scans", type=int, default=4, help="complete scans per target over the year")
    parser.add_argument("--schema", default="bench_rollup")
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the data")
    parser.add_argument("--out", default="/tmp")
    parser.add_argument("--measure", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.out)))
        return 0
    urls = args.db or [f"sqlite:////tmp/govmon_bench_rollup_{args.sites}_{args.accounts}.db"]
    for base in urls:
        _prepare_schema(base, args.schema, args.fresh)
        url = _url_with_schema(base, args.schema)
        started = time.perf_counter()
        counts = generate(url, args.sites, args.accounts, args.scans)
        generated = time.perf_counter() - started
        child = subprocess.run([sys.executable, __file__, "--measure", url, "--out", args.out],
                               capture_output=True, text=True, check=False)
        if child.returncode != 0:
            print(child.stderr, file=sys.stderr)
            return 1
        result = json.loads(child.stdout.strip().splitlines()[-1])
        backend = url.split(":", 1)[0]
        print(f"{backend}: {counts} (generated/verified in {generated:.1f}s)")
        for key, value in result.items():
            print(f"  {key}: {value}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
