"""How fast does the console's overview render for a province?

    python benchmarks/bench_web.py [--sites 15000] [--accounts 150000] [--db URL]... [--fresh]

Generates (once per database; reused when already there) 15,000 sites and 150,000
accounts with the year up to now of findings — sites 0–20 a year, accounts 0–3, most
resolved after a while, a few dismissed — each with its history events (opened, resolved,
dismissed), and four complete scans per target over the year. Then serves the console
with uvicorn on loopback, logs in over HTTP and times ``GET /`` (the 总览 page: this
quarter's pass rates, open vetoes, changes since yesterday, 12 weeks of trends):

* warm: 10 renders in a row, median: the pass rates are cached until the data changes
  and recomputed in the background every 30 s when it did, so this is what a visitor sees;
* cold: 10 renders each after dropping the pass-rate cache, median: what a visitor waits
  for when the page is opened within 30 s of a change (before the background refresh).

Also the 网站 list (first page), one target page and ``GET /api/overview``. ``--db`` may be
given several times (default: a SQLite file under /tmp); a PostgreSQL URL gets the schema
``--schema`` (default ``bench_web``), kept for the next run unless ``--fresh``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import random
import re
import socket
import statistics
import sys
import threading
import time
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_rollup import ACCOUNT_CHECKS, SITE_CHECKS, _prepare_schema, _url_with_schema  # noqa: E402

TZ = ZoneInfo("Asia/Shanghai")
UTC = dt.UTC
CHUNK = 20_000
ROUNDS = 10
PASSWORD = "bench-password-1"


def generate(url: str, sites: int, accounts: int, scans_per_target: int = 4, seed: int = 11) -> dict[str, int]:
    from sqlalchemy import func, insert, select

    from govmon.db import make_engine, migrate
    from govmon.models import Finding, FindingEvent, Scan, Target, User
    from govmon.web.auth import create_user

    engine = make_engine(url)
    migrate(engine)
    with engine.begin() as connection:
        if connection.scalar(select(func.count()).select_from(Target.__table__)):
            counts = {name: connection.scalar(select(func.count()).select_from(model.__table__))
                      for name, model in (("targets", Target), ("scans", Scan), ("findings", Finding),
                                          ("finding_events", FindingEvent))}
            engine.dispose()
            return counts
    rng = random.Random(seed)
    now = dt.datetime.now(UTC)
    year_start = now - dt.timedelta(days=365)
    year_seconds = 365 * 86400
    targets = []
    for i in range(sites):
        category = "county_portal" if i % 10 == 0 else ("department_site" if i % 10 < 3 else "department_channel")
        targets.append({"id": f"site-{i}", "kind": "site", "name": f"测试网站{i:05d}", "organizer": f"主办单位{i % 997}",
                        "category": category, "platform": None, "url": f"http://s{i}.example.gov.cn/",
                        "active": True, "created_at": year_start, "updated_at": year_start})
    platforms = ("wechat", "weibo", "douyin", "toutiao")
    for i in range(accounts):
        targets.append({"id": f"acct-{i}", "kind": "account", "name": f"政务账号{i:06d}",
                        "organizer": f"主办单位{i % 997}", "category": None, "platform": platforms[i % 4],
                        "url": f"https://example.com/u/{i}", "active": True, "created_at": year_start,
                        "updated_at": year_start})
    scans, findings, events = [], [], []
    finding_id = 0
    for target in targets:
        kind = target["kind"]
        for k in range(scans_per_target):
            at = year_start + dt.timedelta(seconds=(k + rng.random()) * year_seconds / scans_per_target)
            scans.append({"target_id": target["id"], "kind": kind, "status": "complete", "started_at": at,
                          "finished_at": at + dt.timedelta(minutes=5), "as_of": at})
        checks = SITE_CHECKS if kind == "site" else ACCOUNT_CHECKS
        for j in range(rng.randint(0, 20) if kind == "site" else rng.randint(0, 3)):
            check_id, severity, _ = rng.choices(checks, weights=[c[2] for c in checks])[0]
            first = year_start + dt.timedelta(seconds=rng.random() * year_seconds)
            last = min(now, first + dt.timedelta(days=rng.randint(0, 30)))
            roll = rng.random()
            status, resolved_at, dismissed_at = "open", None, None
            if roll < 0.7 and last + dt.timedelta(days=1) < now:
                status, resolved_at = "resolved", last + dt.timedelta(days=1)
            elif roll < 0.73:
                status, dismissed_at = "dismissed", last
            finding_id += 1
            findings.append({
                "id": finding_id, "target_id": target["id"], "check_id": check_id, "subject": f"{check_id}#{j}",
                "severity": severity, "message": f"{check_id} 问题 {j}", "url": f"{target['url']}page/{j}.html",
                "evidence": {"n": j, "on_home": j % 5 == 0}, "evidence_hash": "0" * 64, "status": status,
                "first_seen": first, "last_seen": last, "resolved_at": resolved_at, "dismissed_at": dismissed_at,
                "dismissed_reason": "误报" if dismissed_at else None, "dismissed_by": "bench" if dismissed_at else None,
            })
            events.append({"finding_id": finding_id, "at": first, "event": "opened", "actor": None, "note": None})
            if resolved_at:
                events.append({"finding_id": finding_id, "at": resolved_at, "event": "resolved", "actor": None,
                               "note": None})
            if dismissed_at:
                events.append({"finding_id": finding_id, "at": dismissed_at, "event": "dismissed", "actor": "bench",
                               "note": "误报"})
    with engine.begin() as connection:
        for table, rows in ((Target.__table__, targets), (Scan.__table__, scans), (Finding.__table__, findings),
                            (FindingEvent.__table__, events)):
            for start in range(0, len(rows), CHUNK):
                connection.execute(insert(table), rows[start : start + CHUNK])
    from sqlalchemy.orm import Session

    with Session(engine) as session, session.begin():
        if session.scalar(select(func.count()).select_from(User)) == 0:
            create_user(session, "bench", "viewer", PASSWORD, actor="bench")
    if engine.dialect.name == "postgresql":
        with engine.connect().execution_options(isolation_level="AUTOCOMMIT") as connection:
            from sqlalchemy import text

            connection.execute(text("ANALYZE"))
    engine.dispose()
    return {"targets": len(targets), "scans": len(scans), "findings": len(findings), "finding_events": len(events)}


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def measure(url: str) -> dict[str, object]:
    import httpx
    from sqlalchemy.orm import sessionmaker

    from govmon.config import Config
    from govmon.db import make_engine
    from govmon.web import create_app, server
    from govmon.web.queries import RatesCache

    config = Config.from_mapping({})
    engine = make_engine(url)
    sessions = sessionmaker(bind=engine, expire_on_commit=False)
    app = create_app(config, sessions, warm_rates_every=None)  # cold/warm controlled below
    port = _port()
    uvicorn_server = server(app, host="127.0.0.1", port=port)
    thread = threading.Thread(target=uvicorn_server.run, daemon=True)
    thread.start()
    while not uvicorn_server.started:
        time.sleep(0.05)
    results: dict[str, object] = {}
    try:
        with httpx.Client(base_url=f"http://127.0.0.1:{port}", timeout=120) as client:
            page = client.get("/login")
            csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text)[1]  # type: ignore[index]
            client.post("/login", data={"username": "bench", "password": PASSWORD, "csrf_token": csrf})

            def timed(path: str, *, cold: bool = False) -> float:
                if cold:
                    app.state.console.rates = RatesCache()
                started = time.perf_counter()
                response = client.get(path)
                elapsed = time.perf_counter() - started
                if response.status_code != 200:
                    raise RuntimeError(f"{path}: HTTP {response.status_code}: {response.text[:300]}")
                return elapsed

            cold = [timed("/", cold=True) for _ in range(ROUNDS)]
            warm = [timed("/") for _ in range(ROUNDS)]
            results["overview_cold_median_s"] = round(statistics.median(cold), 3)
            results["overview_cold_max_s"] = round(max(cold), 3)
            results["overview_warm_median_s"] = round(statistics.median(warm), 3)
            results["overview_warm_max_s"] = round(max(warm), 3)
            results["api_overview_warm_median_s"] = round(statistics.median(timed("/api/overview") for _ in range(ROUNDS)), 3)
            results["sites_list_median_s"] = round(statistics.median(timed("/sites") for _ in range(ROUNDS)), 3)
            results["accounts_list_vetoes_median_s"] = round(
                statistics.median(timed("/accounts?problem=veto") for _ in range(ROUNDS)), 3)
            results["target_page_median_s"] = round(statistics.median(timed("/targets/site-10") for _ in range(ROUNDS)), 3)
            text = client.get("/").text
            results["overview_bytes"] = len(text.encode())
            results["open_vetoes_shown"] = re.search(r'id="open-vetoes">(\d+)<', text)[1]  # type: ignore[index]
    finally:
        uvicorn_server.should_exit = True
        thread.join(timeout=30)
        engine.dispose()
    return results


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--db", action="append", help="database URL (repeatable); default a SQLite file in /tmp")
    parser.add_argument("--sites", type=int, default=15_000)
    parser.add_argument("--accounts", type=int, default=150_000)
    parser.add_argument("--schema", default="bench_web")
    parser.add_argument("--fresh", action="store_true", help="drop and regenerate the data")
    args = parser.parse_args()
    urls = args.db or [f"sqlite:////tmp/govmon_bench_web_{args.sites}_{args.accounts}.db"]
    for base in urls:
        _prepare_schema(base, args.schema, args.fresh)
        url = _url_with_schema(base, args.schema)
        started = time.perf_counter()
        counts = generate(url, args.sites, args.accounts)
        print(f"{url.split(':', 1)[0]}: {counts} (generated/verified in {time.perf_counter() - started:.1f}s)",
              flush=True)
        for key, value in measure(url).items():
            print(f"  {key}: {value}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
