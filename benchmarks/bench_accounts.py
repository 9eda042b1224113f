"""`govmon scan` of 250 accounts of mixed platforms against the loopback platforms, per-platform
pace on (the defaults) and off, in one run.

    .venv/bin/python benchmarks/bench_accounts.py [--accounts 250] [--runs 1] [--only on|off]

Serves the loopback Weibo, 公众平台 and feeds (govmon/demo/account_platforms.py) and the four
browser platforms (tests/platforms/browser_platforms.py: Douyin, Bilibili, Kuaishou, Toutiao), writes
a config of ``--accounts`` accounts spread over the seven platforms and their scenarios (fresh,
stale, pinned, paged, blocked, and an expired 公众平台 login), then runs the real ``govmon scan`` as
a subprocess twice: with the default pace (one request at a time per platform, at least 2 s apart)
and with the pace off (8 at a time, no interval). It prints the wall time, the accounts per minute,
the findings and coverage counts (identical in both runs, or the run is reported as wrong), the
requests each platform saw, and the peak memory of the govmon process and of its Chromium (RSS of
govmon, PSS summed over the browser's processes, sampled every 100 ms from /proc). All traffic stays
on loopback.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT), str(ROOT / "benchmarks")]

from sqlalchemy import create_engine, func, select  # noqa: E402

from bench_accounts_browser import _comm, _kb, _tree  # noqa: E402
from govmon.demo.account_platforms import AccountPlatforms  # noqa: E402
from govmon.logins import LoginStore  # noqa: E402
from govmon.models import AccountRead, Finding  # noqa: E402
from platforms.browser_platforms import NOW, BrowserPlatform  # noqa: E402

GOVMON = str(Path(sys.executable).with_name("govmon"))
HTTP_SHARES = {"weibo": 0.2, "wechat": 0.2, "rss": 0.2}
BROWSER_PLATFORMS = ("douyin", "bilibili", "kuaishou", "toutiao")  # 0.1 each
SCENARIOS = {
    "weibo": ("fresh", "stale", "pinned", "paged", "blocked"),
    "wechat": ("fresh", "stale", "pinned", "paged", "expired"),
    "rss": ("fresh", "stale", "pinned", "paged", "blocked"),
    "browser": ("fresh", "stale", "pinned", "paged", "blocked"),
}
PACE_OFF = {"concurrency": 8, "interval_s": 0.0, "backoff_s": 0.0}


class TreeSampler(threading.Thread):
    """Peak RSS of one process and peak PSS of the Chromium processes below it."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.stop = pid, threading.Event()
        self.peak_rss = self.peak_browser = 0

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak_rss = max(self.peak_rss, _kb(self.pid, "status", "VmRSS:"))
            browser = sum(_kb(p, "smaps_rollup", "Pss:") for p in _tree(self.pid) if "chrom" in _comm(p))
            self.peak_browser = max(self.peak_browser, browser)
            time.sleep(0.1)


def accounts(count: int, http: AccountPlatforms, browsers: dict[str, BrowserPlatform]) -> list[dict]:
    plan: list[tuple[str, int]] = [(p, round(count * share)) for p, share in HTTP_SHARES.items()]
    rest = count - sum(n for _, n in plan)
    plan += [(p, rest // 4 + (1 if i < rest % 4 else 0)) for i, p in enumerate(BROWSER_PLATFORMS)]
    out = []
    for platform, n in plan:
        scenarios = SCENARIOS.get(platform, SCENARIOS["browser"])
        for i in range(n):
            scenario = scenarios[i % len(scenarios)]
            if platform == "weibo":
                url = http.weibo_url(scenario)
            elif platform == "wechat":
                url = http.wechat_url(scenario)
            elif platform == "rss":
                url = http.feed_url(scenario, ("rss", "atom", "json")[i % 3])
            else:
                url = browsers[platform].account_url(scenario)
            out.append({"id": f"{platform}-{i:03d}", "name": f"{platform}-{scenario}-{i:03d}",
                        "platform": platform, "url": url})
    return out


def run_once(label: str, pace: dict | None, mapping: dict, folder: Path) -> dict:
    db = folder / f"{label}.db"
    config = folder / f"{label}.json"
    platforms = dict(mapping["platforms"])
    if pace is not None:
        platforms["pace"] = pace
    config.write_text(json.dumps({**mapping, "database": f"sqlite:///{db}", "platforms": platforms},
                                 ensure_ascii=False), encoding="utf-8")
    started = time.monotonic()
    proc = subprocess.Popen([GOVMON, "scan", "--config", str(config), "--as-of", NOW.isoformat()],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    sampler = TreeSampler(proc.pid)
    sampler.start()
    out, err = proc.communicate(timeout=3600)
    seconds = time.monotonic() - started
    sampler.stop.set()
    if proc.returncode != 0:
        raise SystemExit(f"govmon scan ({label}) exited {proc.returncode}: {err[-2000:]}")
    engine = create_engine(f"sqlite:///{db}")
    with engine.connect() as conn:
        coverage = dict(conn.execute(select(AccountRead.coverage, func.count()).group_by(AccountRead.coverage)).all())
        findings = dict(conn.execute(select(Finding.check_id, func.count()).where(Finding.status == "open")
                                     .group_by(Finding.check_id)).all())
    engine.dispose()
    return {"label": label, "seconds": seconds, "coverage": coverage, "findings": findings,
            "rss_mb": sampler.peak_rss / 1024, "browser_pss_mb": sampler.peak_browser / 1024}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--accounts", type=int, default=250)
    parser.add_argument("--runs", type=int, default=1, help="runs of each (medians are printed)")
    parser.add_argument("--only", choices=("on", "off"), default=None)
    args = parser.parse_args()

    browsers = {p: BrowserPlatform(p) for p in BROWSER_PLATFORMS}
    with AccountPlatforms(NOW, host="127.0.0.248") as http, tempfile.TemporaryDirectory(prefix="bench-accounts-") as tmp:
        folder = Path(tmp)
        LoginStore(folder / "logins").save("wechat", http.wechat_login())
        mapping = {
            "timezone": "Asia/Shanghai", "sites": [], "accounts": accounts(args.accounts, http, browsers),
            "platforms": {"secrets_dir": str(folder / "logins")},
            "crawl": {"allow_private_addresses": True, "contact": "bench@localhost"},
        }
        print(f"{args.accounts} 个账号：" + "、".join(f"{p} {n}" for p, n in
                                                  Counter(a["platform"] for a in mapping["accounts"]).items()))
        modes = [("pace-on", None), ("pace-off", PACE_OFF)]
        if args.only:
            modes = [m for m in modes if m[0] == f"pace-{args.only}"]
        results: dict[str, list[dict]] = {label: [] for label, _ in modes}
        for run in range(args.runs):
            for label, pace in modes:
                hits_before = len(http.hits)
                result = run_once(f"{label}-{run}", pace, mapping, folder)
                result["http_requests"] = len(http.hits) - hits_before
                results[label].append(result)
                print(f"  {label} #{run + 1}: {result['seconds']:.1f} s, govmon RSS {result['rss_mb']:.0f} MB, "
                      f"Chromium PSS {result['browser_pss_mb']:.0f} MB, coverage {result['coverage']}, "
                      f"findings {result['findings']}, HTTP platform requests {result['http_requests']}")
        print()
        for label, runs in results.items():
            seconds = statistics.median(r["seconds"] for r in runs)
            print(f"{label}: median {seconds:.1f} s = {args.accounts / seconds * 60:.0f} accounts/min; "
                  f"govmon RSS {statistics.median(r['rss_mb'] for r in runs):.0f} MB; "
                  f"Chromium PSS {statistics.median(r['browser_pss_mb'] for r in runs):.0f} MB")
        if len(results) == 2:
            on, off = (statistics.median(r["seconds"] for r in results[k]) for k in ("pace-on", "pace-off"))
            same = all(r["findings"] == results["pace-on"][0]["findings"] and r["coverage"] == results["pace-on"][0]["coverage"]
                       for runs in results.values() for r in runs)
            print(f"pace on / pace off: {on / off:.1f}x the time; same findings and coverage: {'yes' if same else 'NO'}")
    for platform in browsers.values():
        platform.close()


if __name__ == "__main__":
    os.environ.setdefault("PYTHONUNBUFFERED", "1")
    main()
