"""Soak `govmon run`: many tiny generated sites on loopback, compressed schedules, minutes on end.

    .venv/bin/python benchmarks/soak_service.py [--sites 1000] [--minutes 10] [--site-period 4m]
        [--probe-period 1m] [--hosts 20] [--max-concurrent-scans 4] [--db URL]
        [--accounts 0] [--account-period 6m]

A child process serves ``--sites`` tiny sites (home page → one column → one article, all dated
yesterday) from one asyncio HTTP/1.1 server per loopback host (``--hosts`` addresses
127.0.1.x, the sites spread over them by path ``/s123/``). `govmon run` runs as a subprocess
on a fresh database (SQLite in a temporary folder unless ``--db``), browser checks off, with
``--job-log`` so that every stored job's scheduled time, submission and start are recorded.
For ``--minutes`` the harness samples the service's RSS (``/proc/PID/status``) every 5 s, then
stops it with SIGTERM and reports:

- start-up: how long until the service logs that its jobs are scheduled (a fresh database
  gets one stored job per target first), and the lag of the fires that fell due meanwhile;
- scheduler lag after start-up: submission minus scheduled time, per job (median, p95, max),
  and the wait for a scan slot (start minus submission);
- jobs expected vs run: for every site job the fire times its trigger has in the window (from
  the same spread offsets the service uses), compared with the submissions logged — none lost
  (missed, skipped while still running, or absent) and none doubled;
- jobs submitted more than a minute before the stop that never got a scan slot;
- RSS: the median of the first and of the last minute of the run, the peak, and the slope over
  the second half (MiB per minute; flat memory is about 0).

``--accounts N`` adds N feed accounts (RSS, Atom and JSON Feed in turn, each its own URL) on the
loopback platform server of govmon/demo/account_platforms.py, read every ``--account-period``; the
feed platform's pace is shortened to 4 requests at once, 20 ms apart (loopback only), so one
platform can carry thousands of accounts in a compressed schedule. Their jobs are counted with
the sites'.

Figures go to stdout and ``benchmarks/results/soak_service.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import multiprocessing as mp
import os
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter, defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from govmon.config import parse_duration  # noqa: E402
from govmon.demo.account_platforms import AccountPlatforms  # noqa: E402
from govmon.scheduler import SCHEDULE_EPOCH, spread_offset  # noqa: E402

GOVMON = str(Path(sys.executable).with_name("govmon"))
RESULTS = ROOT / "benchmarks" / "results"


# --- the sites (in a child process) ------------------------------------------------------------


def _page(title: str, body: str) -> bytes:
    return (f'<!DOCTYPE html><html><head><meta charset="utf-8"><title>{title}</title></head>'
            f"<body>{body}</body></html>").encode()


def _route(path: str, today: dt.date) -> tuple[int, bytes]:
    parts = path.split("?", 1)[0].strip("/").split("/")
    if not parts or not parts[0].startswith("s") or not parts[0][1:].isdigit():
        return 404, _page("404", "<h1>404</h1>")
    site, rest = parts[0], "/".join(parts[1:])
    day = (today - dt.timedelta(days=1)).isoformat()
    item = f'<li><a href="/{site}/zwdt/1.html">关于开展检查的通知</a><span>{day}</span></li>'
    if rest == "":
        return 200, _page(f"{site}县人民政府", f'<h1>{site}县人民政府</h1><a href="/{site}/zwdt/">政务动态</a>'
                                               f"<ul>{item}</ul><p>主办单位：{site}县人民政府办公室</p>")
    if rest == "zwdt":
        return 200, _page("政务动态", f"<ul>{item}</ul>")
    if rest == "zwdt/1.html":
        return 200, _page("关于开展检查的通知", f"<h1>关于开展检查的通知</h1><p>发布日期：{day}</p><p>正文。</p>")
    return 404, _page("404", "<h1>404</h1>")


async def _handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter, counter: list[int]) -> None:
    today = dt.date.today()
    try:
        while True:
            request = await reader.readuntil(b"\r\n\r\n")
            line = request.split(b"\r\n", 1)[0].decode("latin-1").split()
            if len(line) < 2:
                break
            method, path = line[0], line[1]
            status, body = _route(path, today)
            counter[0] += 1
            head = (f"HTTP/1.1 {status} {'OK' if status == 200 else 'Not Found'}\r\n"
                    f"Content-Type: text/html; charset=utf-8\r\nContent-Length: {len(body)}\r\n\r\n").encode()
            writer.write(head if method == "HEAD" else head + body)
            await writer.drain()
    except (asyncio.IncompleteReadError, ConnectionError, asyncio.LimitOverrunError):
        pass
    finally:
        writer.close()


def _serve(hosts: list[str], port: int, ready: mp.Queue, stop_after: float) -> None:  # the child
    async def main() -> None:
        counter = [0]
        servers = [await asyncio.start_server(lambda r, w: _handle(r, w, counter), host, port) for host in hosts]
        ready.put(port)
        await asyncio.sleep(stop_after)
        for server in servers:
            server.close()

    signal.signal(signal.SIGTERM, lambda *_: os._exit(0))
    asyncio.run(main())


def start_sites(hosts: list[str], stop_after: float) -> tuple[mp.Process, int]:
    with socket.socket() as probe:
        probe.bind((hosts[0], 0))
        port = probe.getsockname()[1]
    ready: mp.Queue = mp.Queue()
    process = mp.Process(target=_serve, args=(hosts, port, ready, stop_after), daemon=True)
    process.start()
    ready.get(timeout=30)
    return process, port


# --- the run ---------------------------------------------------------------------------------------


def rss_kib(pid: int) -> int | None:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        return None
    return None


def percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * (len(ordered) - 1))))]


def expected_fires(job_id: str, period: dt.timedelta, start: dt.datetime, end: dt.datetime) -> list[dt.datetime]:
    """The fire times of the service's interval trigger for ``job_id`` in [start, end)."""
    first = SCHEDULE_EPOCH + spread_offset(job_id, period)
    k = max(0, -(-(start - first) // period))  # ceil
    fires = []
    moment = first + k * period
    while moment < end:
        fires.append(moment)
        moment += period
    return fires


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sites", type=int, default=1000)
    parser.add_argument("--accounts", type=int, default=0)
    parser.add_argument("--account-period", default="6m")
    parser.add_argument("--minutes", type=float, default=10.0)
    parser.add_argument("--site-period", default="4m")
    parser.add_argument("--probe-period", default="1m")
    parser.add_argument("--hosts", type=int, default=20)
    parser.add_argument("--max-concurrent-scans", type=int, default=4)
    parser.add_argument("--db", default=None, help="database URL (default: SQLite in a temporary folder)")
    args = parser.parse_args()

    site_period, probe_period = parse_duration(args.site_period), parse_duration(args.probe_period)
    hosts = [f"127.0.1.{i + 10}" for i in range(args.hosts)]
    seconds = args.minutes * 60
    workdir = Path(tempfile.mkdtemp(prefix="govmon-soak-"))
    db_url = args.db or f"sqlite:///{workdir / 'soak.db'}"
    server, port = start_sites(hosts, stop_after=seconds + 300)
    sites = [{"id": f"s{i}", "name": f"压测{i}县政府门户网站", "organizer": f"压测{i}县人民政府", "category": "county_portal",
              "url": f"http://{hosts[i % len(hosts)]}:{port}/s{i}/",
              "columns": [{"name": "政务动态", "url": f"http://{hosts[i % len(hosts)]}:{port}/s{i}/zwdt/", "kind": "news"}]}
             for i in range(args.sites)]
    account_period = parse_duration(args.account_period)
    feeds = AccountPlatforms(dt.datetime.now(dt.UTC), host="127.0.1.250") if args.accounts else None
    accounts = [{"id": f"a{i}", "name": f"压测{i}发布", "organizer": f"压测{i}县人民政府", "platform": "rss",
                 "url": f"{feeds.feed_url('fresh', ('rss', 'atom', 'json')[i % 3])}?account={i}"}
                for i in range(args.accounts)] if feeds is not None else []
    config = {
        "database": db_url, "sites": sites, "accounts": accounts, "browser": {"enabled": False},
        "crawl": {"download_delay_s": 0.01, "allow_private_addresses": True},
        "platforms": {"pace_overrides": {"rss": {"concurrency": 4, "interval_s": 0.02}}},
        "schedule": {"sites": args.site_period, "probes": args.probe_period, "nightly": "02:30",
                     "accounts": args.account_period,
                     "max_concurrent_scans": args.max_concurrent_scans, "misfire_grace": "1h"},
    }
    config_path = workdir / "config.yaml"
    config_path.write_text(json.dumps(config, ensure_ascii=False), encoding="utf-8")
    job_log = workdir / "jobs.jsonl"
    print(f"{args.sites} 个网站（{len(hosts)} 个回环地址，端口 {port}），扫描周期 {site_period}，探测周期 {probe_period}，"
          f"运行 {args.minutes:g} 分钟；数据库 {db_url}；工作目录 {workdir}", flush=True)

    stderr = open(workdir / "service.log", "w", encoding="utf-8")
    service = subprocess.Popen([GOVMON, "run", "--config", str(config_path), "--job-log", str(job_log)],
                               cwd=workdir, stdout=stderr, stderr=subprocess.STDOUT)
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    rss: list[tuple[float, int]] = []
    ready: dt.datetime | None = None  # when the service logged that its jobs are scheduled
    try:
        while time.monotonic() - t0 < seconds:
            if ready is None and "已启动" in (workdir / "service.log").read_text(encoding="utf-8", errors="replace"):
                ready = dt.datetime.now(dt.UTC)
            if service.poll() is not None:
                print(f"govmon run 提前退出（{service.returncode}），见 {workdir / 'service.log'}", file=sys.stderr)
                return 1
            value = rss_kib(service.pid)
            if value is not None:
                rss.append((time.monotonic() - t0, value))
            time.sleep(5)
    finally:
        stopped = dt.datetime.now(dt.UTC)
        if service.poll() is None:
            service.send_signal(signal.SIGTERM)
        try:
            service.wait(timeout=60)
        except subprocess.TimeoutExpired:
            service.kill()
        server.terminate()
        if feeds is not None:
            feeds.close()
        stderr.close()

    events = [json.loads(line) for line in job_log.read_text(encoding="utf-8").splitlines() if line.strip()]
    submitted = [e for e in events if e["event"] == "submitted"]
    lost_events = [e for e in events if e["event"] in ("missed", "skipped_running")]
    # Start-up (migrations, the registry, one job per target written to the store) is measured on
    # its own: fires that fell due while the jobs were being written wait for the first pass.
    ready = ready or started
    lags = [e["lag_s"] for e in submitted if dt.datetime.fromisoformat(e["scheduled"]) >= ready]
    startup_lags = [e["lag_s"] for e in submitted if dt.datetime.fromisoformat(e["scheduled"]) < ready]
    # a scan's wait for a slot: its start minus its submission, paired per job in order
    starts: dict[str, list[dt.datetime]] = defaultdict(list)
    for e in events:
        if e["event"] == "started" and e.get("request") is None:
            starts[e["job"]].append(dt.datetime.fromisoformat(e["at"]))
    waits = []
    by_job: dict[str, list[dict]] = defaultdict(list)
    for e in submitted:
        by_job[e["job"]].append(e)
    unstarted = 0  # submitted over a minute before the stop and never started: lost in the queue
    for job, subs in by_job.items():
        job_starts = starts.get(job, [])
        for sub, start in zip(subs, job_starts):
            waits.append((start - dt.datetime.fromisoformat(sub["at"])).total_seconds())
        unstarted += sum(1 for sub in subs[len(job_starts):]
                         if dt.datetime.fromisoformat(sub["at"]) < stopped - dt.timedelta(seconds=60))

    # expected vs run, in a window clear of the start-up and the stop
    window_start, window_end = ready + dt.timedelta(seconds=5), stopped - dt.timedelta(seconds=30)
    # the job store keeps times as float timestamps: compare them to the millisecond
    key = lambda job, when: (job, round(when.timestamp(), 3))  # noqa: E731
    seen = Counter(key(e["job"], dt.datetime.fromisoformat(e["scheduled"])) for e in submitted)
    expected_total = missing = 0
    for site in sites:
        for fire in expected_fires(f"site:{site['id']}", site_period, window_start, window_end):
            expected_total += 1
            missing += seen[key(f"site:{site['id']}", fire)] == 0
    for account in accounts:
        for fire in expected_fires(f"account:{account['id']}", account_period, window_start, window_end):
            expected_total += 1
            missing += seen[key(f"account:{account['id']}", fire)] == 0
    for fire in expected_fires("probes:", probe_period, window_start, window_end):
        expected_total += 1
        missing += seen[key("probes:", fire)] == 0
    doubled = sum(1 for n in seen.values() if n > 1)

    half = [(t, v) for t, v in rss if t >= rss[-1][0] / 2] if rss else []
    first = [v for t, v in rss if t <= 60]
    last = [v for t, v in rss if t >= rss[-1][0] - 60] if rss else []
    scans = _scan_counts(db_url)
    result = {
        "sites": args.sites, "accounts": args.accounts, "account_period": str(account_period), "minutes": args.minutes, "site_period": str(site_period), "probe_period": str(probe_period),
        "max_concurrent_scans": args.max_concurrent_scans, "db": "postgresql" if "postgresql" in db_url else "sqlite",
        "jobs_submitted": len(submitted), "jobs_expected_in_window": expected_total, "jobs_missing_in_window": missing,
        "jobs_doubled": doubled, "jobs_missed_or_skipped": len(lost_events),
        "jobs_submitted_never_started": unstarted,
        "startup_s": round((ready - started).total_seconds(), 1),
        "startup_lag_max_s": max(startup_lags) if startup_lags else None,
        "lag_s": {"median": statistics.median(lags) if lags else None, "p95": percentile(lags, 0.95),
                  "max": max(lags) if lags else None},
        "slot_wait_s": {"median": statistics.median(waits) if waits else None, "p95": percentile(waits, 0.95),
                        "max": max(waits) if waits else None},
        "rss_mib": {"first_minute_median": round(statistics.median(first) / 1024, 1) if first else None,
                    "last_minute_median": round(statistics.median(last) / 1024, 1) if last else None,
                    "peak": round(max(v for _, v in rss) / 1024, 1) if rss else None,
                    "second_half_slope_mib_per_min": _slope(half),
                    "per_minute": _per_minute(rss)},
        "scans": scans, "service_exit": service.returncode, "workdir": str(workdir),
    }
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / "soak_service.json").write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    print(json.dumps(result, ensure_ascii=False, indent=2))
    return 0


def _slope(samples: list[tuple[float, int]]) -> float | None:
    """Least-squares slope of RSS over time, MiB per minute: about 0 when memory is flat."""
    if len(samples) < 3:
        return None
    ts, vs = [t / 60 for t, _ in samples], [v / 1024 for _, v in samples]
    mt, mv = statistics.fmean(ts), statistics.fmean(vs)
    var = sum((t - mt) ** 2 for t in ts)
    return round(sum((t - mt) * (v - mv) for t, v in zip(ts, vs)) / var, 2) if var else None


def _per_minute(samples: list[tuple[float, int]]) -> list[float]:
    """The median RSS (MiB) of each minute of the run, to see where it levels off."""
    minutes: dict[int, list[int]] = defaultdict(list)
    for t, v in samples:
        minutes[int(t // 60)].append(v)
    return [round(statistics.median(minutes[m]) / 1024, 1) for m in sorted(minutes)]


def _scan_counts(db_url: str) -> dict[str, int]:
    from sqlalchemy import func, select

    from govmon.db import open_database
    from govmon.models import Scan

    sessions = open_database(db_url)
    try:
        with sessions() as session:
            return {f"{kind}:{status}": n for kind, status, n in session.execute(
                select(Scan.kind, Scan.status, func.count()).where(Scan.kind.in_(("site", "account")))
                .group_by(Scan.kind, Scan.status))}
    finally:
        sessions.kw["bind"].dispose()


if __name__ == "__main__":
    sys.exit(main())
