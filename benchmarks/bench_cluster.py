"""The cluster: 1 worker vs 2 workers over generated sites on loopback, through the real path.

Each round gets a database of its own (CREATE DATABASE on the PostgreSQL named by
GOVMON_BENCH_POSTGRES_URL or GOVMON_TEST_POSTGRES_URL), starts ``govmon run`` (the one
dispatcher) and N ``govmon worker`` processes, files one rescan request per site (what
``govmon rescan --no-wait`` does) and waits until every request is answered. Sites are
LoopbackServer hosts (home, one column, a few articles, one broken link each) crawled at the
default politeness (crawl.concurrency_per_domain, download_delay_s > 0 kept).

Reported per round: scans per minute, seconds per scan (mean of the scans' own durations),
queue lag (request picked up by the dispatcher → scan started on a worker: mean / p95 /
max), the largest resident memory of each worker, and the most requests any one site saw at
once.

    .venv/bin/python benchmarks/bench_cluster.py --sites 200 --workers 1 2
"""

from __future__ import annotations

import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import create_engine, func, select, text  # noqa: E402
from sqlalchemy.pool import NullPool  # noqa: E402

from govmon.db import normalize_url, open_database  # noqa: E402
from govmon.leases import service_state  # noqa: E402
from govmon.models import Scan, ScanRequest, Target  # noqa: E402
from govmon.rescan import request_rescan  # noqa: E402
from tests.loopback import LoopbackServer, Reply, html  # noqa: E402

GOVMON = str(Path(sys.executable).with_name("govmon"))


def site_routes(n: int, articles: int, delay: float) -> dict[str, Reply]:
    items = "".join(f'<li><a href="/zwdt/{i}.html">通知{i}</a><span>2026-11-{10 + i:02d}</span></li>' for i in range(articles))
    routes = {
        "/": Reply(body=html(f'<h1>示范县{n}人民政府</h1><a href="/zwdt/">政务动态</a><p>主办单位：示范县{n}人民政府办公室</p>',
                             title=f"示范县{n}"), delay=delay),
        "/zwdt/": Reply(body=html(f"<ul>{items}</ul>", title="政务动态"), delay=delay),
        "/gone.html": Reply(status=404, body=html("<p>页面不存在</p>"), delay=delay),
    }
    for i in range(articles):
        routes[f"/zwdt/{i}.html"] = Reply(body=html(f'<h1>通知{i}</h1><p>发布日期：2026-11-20</p><a href="/gone.html">附件</a>',
                                                    title=f"通知{i}"), delay=delay)
    return routes


def rss_kib(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def cpu_seconds(pid: int) -> float:
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
    except (OSError, IndexError, ValueError):
        return 0.0


def one_round(base_url: str, servers: list[LoopbackServer], workers: int, concurrency: int, workdir: Path) -> dict:
    name = f"govmon_bench_{uuid.uuid4().hex[:10]}"
    admin = create_engine(normalize_url(base_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    db_url = normalize_url(base_url).set(database=name).render_as_string(hide_password=False)
    config = workdir / f"config-{workers}.json"
    config.write_text(json.dumps({
        "database": db_url,
        "sites": [{"id": f"s{n:03d}", "name": f"示范县{n}政府门户网站", "organizer": f"示范县{n}人民政府",
                   "category": "county_portal", "url": s.base + "/",
                   "columns": [{"name": "政务动态", "url": s.base + "/zwdt/", "kind": "news"}]} for n, s in enumerate(servers)],
        "crawl": {"allow_private_addresses": True},  # default politeness: concurrency_per_domain 4, delay 0.25 s
        "browser": {"enabled": False},
        "cluster": {"enabled": True, "concurrency": concurrency},
        "schedule": {"sites": "24h", "probes": "24h", "rescan_poll": "1s"},
    }, ensure_ascii=False), encoding="utf-8")
    for server in servers:
        server.max_inflight = 0
    procs: list[subprocess.Popen[bytes]] = []
    sessions = open_database(db_url)
    peak: dict[int, int] = {}
    cpu: dict[int, float] = {}
    sampling = threading.Event()

    def sample() -> None:
        while not sampling.wait(0.5):
            for p in procs[1:]:
                peak[p.pid] = max(peak.get(p.pid, 0), rss_kib(p.pid))
                cpu[p.pid] = max(cpu.get(p.pid, 0.0), cpu_seconds(p.pid))

    try:
        logs = [open(workdir / f"run-{workers}.log", "wb")]
        procs.append(subprocess.Popen([GOVMON, "run", "--config", str(config)], stdout=logs[0], stderr=subprocess.STDOUT))
        for i in range(workers):
            logs.append(open(workdir / f"worker-{workers}-{i}.log", "wb"))
            procs.append(subprocess.Popen([GOVMON, "worker", "--config", str(config)], stdout=logs[-1], stderr=subprocess.STDOUT))
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:  # the dispatcher up (its lease taken after the sites are registered)
            with sessions() as session:
                state = service_state(session)
                if state is not None and state.alive and session.scalar(select(func.count()).select_from(Target)) >= len(servers):
                    break
            time.sleep(0.5)
        time.sleep(3)  # the workers registered
        threading.Thread(target=sample, daemon=True).start()
        started = time.monotonic()
        with sessions.begin() as session:
            for n in range(len(servers)):
                request_rescan(session, f"s{n:03d}")
        while True:
            with sessions() as session:
                left = session.scalar(select(ScanRequest.id).where(ScanRequest.status.in_(("pending", "running"))).limit(1))
            if left is None:
                break
            if any(p.poll() is not None for p in procs):
                raise SystemExit(f"a process exited early; see {workdir}")
            time.sleep(0.5)
        elapsed = time.monotonic() - started
        dispatcher_cpu = cpu_seconds(procs[0].pid)
        for p in procs[1:]:
            cpu[p.pid] = cpu_seconds(p.pid)
        with sessions() as session:
            requests = list(session.scalars(select(ScanRequest)))
            scans = {s.id: s for s in session.scalars(select(Scan).where(Scan.kind == "site"))}
    finally:
        sampling.set()
        for p in procs[::-1]:
            if p.poll() is None:
                p.send_signal(signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=60)
            except subprocess.TimeoutExpired:
                p.kill()
        sessions.kw["bind"].dispose()
        with admin.connect() as connection:
            connection.execute(text(f'DROP DATABASE "{name}" WITH (FORCE)'))
        admin.dispose()
    done = [r for r in requests if r.scan_id in scans]
    lags = sorted((scans[r.scan_id].started_at - r.picked_at).total_seconds() for r in done)
    durations = [(scans[r.scan_id].finished_at - scans[r.scan_id].started_at).total_seconds() for r in done]
    return {
        "workers": workers, "concurrency": concurrency, "sites": len(servers), "seconds": round(elapsed, 1),
        "scans_per_minute": round(len(done) / elapsed * 60, 1),
        "complete": sum(1 for r in done if scans[r.scan_id].status == "complete"),
        "seconds_per_scan": round(statistics.mean(durations), 2),
        "lag_mean_s": round(statistics.mean(lags), 1), "lag_p95_s": round(lags[int(0.95 * (len(lags) - 1))], 1),
        "lag_max_s": round(lags[-1], 1),
        "worker_rss_mib": [round(v / 1024) for v in peak.values()],
        "worker_cpu_s": [round(v, 1) for v in cpu.values()], "dispatcher_cpu_s": round(dispatcher_cpu, 1),
        "cpu_s_per_scan": round(sum(cpu.values()) / max(1, len(done)), 3),
        "max_inflight_per_site": max(s.max_inflight for s in servers),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sites", type=int, default=200)
    parser.add_argument("--articles", type=int, default=4)
    parser.add_argument("--delay", type=float, default=0.05, help="each page's answer delay (s)")
    parser.add_argument("--workers", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--concurrency", type=int, default=4, help="scans per worker (cluster.concurrency)")
    args = parser.parse_args()
    base = os.environ.get("GOVMON_BENCH_POSTGRES_URL") or os.environ.get("GOVMON_TEST_POSTGRES_URL")
    if not base:
        raise SystemExit("set GOVMON_BENCH_POSTGRES_URL (or GOVMON_TEST_POSTGRES_URL) to a PostgreSQL server")
    servers = [LoopbackServer(site_routes(n, args.articles, args.delay)) for n in range(args.sites)]
    results = []
    with tempfile.TemporaryDirectory(prefix="bench-cluster-") as tmp:
        for workers in args.workers:
            result = one_round(base, servers, workers, args.concurrency, Path(tmp))
            print(json.dumps(result, ensure_ascii=False), flush=True)
            results.append(result)
    for server in servers:
        server.close()
    if len(results) >= 2:
        print(f"ratio {results[-1]['workers']} vs {results[0]['workers']} workers: "
              f"{results[-1]['scans_per_minute'] / results[0]['scans_per_minute']:.2f}x scans per minute")


if __name__ == "__main__":
    main()
