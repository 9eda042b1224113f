"""Time per account read and the browser's memory for the browser adapters (loopback platforms).

    .venv/bin/python benchmarks/bench_accounts_browser.py [--rounds 3] [--parallel 1] [--chromium /usr/bin/chromium]

Starts the four loopback platforms of tests/platforms/browser_platforms.py, one headless
Chromium, and reads every scenario of every platform ``--rounds`` times, one account at a time,
each in a fresh browser context (as the adapters do). It prints the median and p90 seconds per
read by scenario and platform, and the peak memory of the browser's processes (sampled every
50 ms from /proc: RSS summed over the processes, and PSS, which counts shared pages once), plus
the Playwright driver (node) separately. All traffic stays on loopback.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import statistics
import sys
import threading
import time
from contextlib import asynccontextmanager
from pathlib import Path
from typing import AsyncIterator

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT / "tests"), str(ROOT)]

import httpx  # noqa: E402

from govmon.crawler.accounts.base import AccountRef, ReadContext  # noqa: E402
from govmon.crawler.accounts.bilibili import BilibiliAdapter  # noqa: E402
from govmon.crawler.accounts.browser_page import Timeouts  # noqa: E402
from govmon.crawler.accounts.browser_session import open_browser  # noqa: E402
from govmon.crawler.accounts.douyin import DouyinAdapter  # noqa: E402
from govmon.crawler.accounts.kuaishou import KuaishouAdapter  # noqa: E402
from govmon.crawler.accounts.toutiao import ToutiaoAdapter  # noqa: E402
from loopback import loop_runner  # noqa: E402
from platforms.browser_platforms import NOW, SHANGHAI, SINCE, BrowserPlatform  # noqa: E402

ADAPTERS = {
    "douyin": DouyinAdapter,
    "bilibili": BilibiliAdapter,
    "bilibili_dynamic": BilibiliAdapter,
    "kuaishou": KuaishouAdapter,
    "toutiao": ToutiaoAdapter,
}
# Every loopback scenario but "busy" (a page made slow on purpose). The captcha and login-wall
# pages of Bilibili and Kuaishou are recognised by their text, after Timeouts.wall_grace_s (3 s).
SCENARIOS = ("fresh", "stale", "pinned", "paged", "empty", "blocked", "later_blocked", "captcha", "member")


def _children() -> dict[int, list[int]]:
    kids: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            stat = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        ppid = int(stat.rsplit(")", 1)[1].split()[1])
        kids.setdefault(ppid, []).append(int(entry))
    return kids


def _tree(root: int) -> list[int]:
    kids = _children()
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        for k in kids.get(pid, []):
            out.append(k)
            todo.append(k)
    return out


def _kb(pid: int, path: str, key: str) -> int:
    try:
        for line in Path(f"/proc/{pid}/{path}").read_text().splitlines():
            if line.startswith(key):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def _comm(pid: int) -> str:
    try:
        return Path(f"/proc/{pid}/comm").read_text().strip()
    except OSError:
        return ""


class Sampler(threading.Thread):
    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.stop = threading.Event()
        self.peak_rss = self.peak_pss = self.peak_driver = self.peak_procs = 0
        self.samples = 0
        self.last_rss = self.last_pss = 0

    def run(self) -> None:
        while not self.stop.is_set():
            rss = pss = driver = procs = 0
            for pid in _tree(os.getpid()):
                name = _comm(pid)
                if name.startswith("node"):
                    driver += _kb(pid, "status", "VmRSS:")
                    continue
                if "chrom" not in name:
                    continue
                procs += 1
                rss += _kb(pid, "status", "VmRSS:")
                pss += _kb(pid, "smaps_rollup", "Pss:")
            self.last_rss, self.last_pss = rss, pss
            self.peak_rss = max(self.peak_rss, rss)
            self.peak_pss = max(self.peak_pss, pss)
            self.peak_driver = max(self.peak_driver, driver)
            self.peak_procs = max(self.peak_procs, procs)
            self.samples += 1
            time.sleep(0.05)


async def bench(rounds: int, chromium: str, parallel: int, sampler: Sampler) -> dict[tuple[str, str], list[float]]:
    platforms = {
        name: BrowserPlatform("bilibili", dynamic=True) if name == "bilibili_dynamic" else BrowserPlatform(name)
        for name in ADAPTERS
    }
    times: dict[tuple[str, str], list[float]] = {}

    class Pace:
        @asynccontextmanager
        async def slot(self) -> AsyncIterator[None]:
            yield

        def blocked(self) -> None:
            pass

    t0 = time.monotonic()
    try:
        async with open_browser(chromium) as session, httpx.AsyncClient() as http:
            print(f"browser launch: {time.monotonic() - t0:.2f} s")
            await asyncio.sleep(1.0)
            print(f"idle browser (no context): RSS {sampler.last_rss / 1024:.0f} MiB, PSS {sampler.last_pss / 1024:.0f} MiB")
            ctx = ReadContext(http, Pace(), SHANGHAI, NOW, SINCE, new_browser_context=session.new_context)
            jobs = [(name, scenario) for name in ADAPTERS for scenario in SCENARIOS]

            async def one(name: str, scenario: str, first: bool) -> None:
                account = AccountRef(scenario, scenario, name, platforms[name].account_url(scenario))
                t = time.monotonic()
                snap = await ADAPTERS[name](Timeouts()).read(account, ctx)
                took = time.monotonic() - t
                times.setdefault((name, scenario), []).append(took)
                if first:
                    print(f"  {name:16s} {scenario:14s} {snap.coverage:9s} {len(snap.posts)} posts  {took:.2f} s")

            for r in range(rounds):
                for i in range(0, len(jobs), parallel):
                    await asyncio.gather(*(one(n, s, r == 0) for n, s in jobs[i : i + parallel]))
            print(f"contexts opened: {session.contexts_opened}")
    finally:
        for p in platforms.values():
            p.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--chromium", default="/usr/bin/chromium")
    parser.add_argument("--parallel", type=int, default=1, help="accounts read at once (each in its own context)")
    args = parser.parse_args()
    sampler = Sampler()
    sampler.start()
    times = loop_runner().run(bench(args.rounds, args.chromium, args.parallel, sampler), timeout=3600)
    sampler.stop.set()
    sampler.join()
    allt = [t for ts in times.values() for t in ts]
    print(f"\nreads: {len(allt)}; median {statistics.median(allt):.3f} s; p90 {statistics.quantiles(allt, n=10)[-1]:.3f} s; max {max(allt):.3f} s")
    by_scenario: dict[str, list[float]] = {}
    for (name, scenario), ts in times.items():
        by_scenario.setdefault(scenario, []).extend(ts)
    for scenario, ts in by_scenario.items():
        print(f"  {scenario:14s} median {statistics.median(ts):.3f} s")
    by_platform: dict[str, list[float]] = {}
    for (name, scenario), ts in times.items():
        by_platform.setdefault(name, []).extend(ts)
    for name, ts in by_platform.items():
        print(f"  {name:16s} median {statistics.median(ts):.3f} s")
    print(
        f"\nparallel {args.parallel}; browser peak: RSS (sum over {sampler.peak_procs} processes) {sampler.peak_rss / 1024:.0f} MiB, "
        f"PSS {sampler.peak_pss / 1024:.0f} MiB; Playwright driver (node) RSS {sampler.peak_driver / 1024:.0f} MiB; "
        f"{sampler.samples} samples"
    )


if __name__ == "__main__":
    main()
