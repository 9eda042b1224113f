"""Browser checks of 100 loopback pages: pages per minute and peak memory of Chromium and of govmon.

    .venv/bin/python benchmarks/bench_browser.py [--pages 100] [--sites 10] [--rounds 3] [--loads 3]

govmon's way (a fresh context per site, its pages measured in it one after another, each page
loaded ``--loads`` times with the cache off, as ``govmon scan`` does) against the naive one (a
fresh context for every page), in the same run, alternating, median of ``--rounds``. The pages
are ordinary article pages (12 KB, one image, a style sheet) served by a threaded server on
loopback hosts, one host per site. Memory: the largest sum of Chromium's processes' PSS
(``/proc/PID/smaps_rollup``: shared pages counted once) and this process's RSS, sampled every
0.2 s.
"""

from __future__ import annotations

import argparse
import asyncio
import http.server
import statistics
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from govmon.crawler.browser import NETWORK_PROFILES, BrowserPool, find_chromium, measure_page  # noqa: E402

ARTICLE = ("<!DOCTYPE html><html lang='zh-CN'><head><meta charset='utf-8'>"
           "<meta name='viewport' content='width=device-width, initial-scale=1'><title>{title}</title>"
           "<link rel='stylesheet' href='/s.css'></head><body><h1>{title}</h1><img src='/logo.png' alt='标志'>"
           "<div class='content'>{body}</div></body></html>")
PNG = bytes.fromhex("89504e470d0a1a0a0000000d4948445200000001000000010806000000"
                    "1f15c4890000000d49444154789c6360000002000154a24f5d0000000049454e44ae426082")


def serve(host: str) -> http.server.ThreadingHTTPServer:
    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:  # noqa: N802
            if self.path == "/logo.png":
                body, kind = PNG, "image/png"
            elif self.path == "/s.css":
                body, kind = b"body{font-family:sans-serif;margin:0 auto;max-width:960px}", "text/css"
            else:
                text = ARTICLE.format(title=f"文章 {self.path}", body="<p>" + "政府信息公开工作年度报告。" * 400 + "</p>")
                body, kind = text.encode(), "text/html; charset=utf-8"
            self.send_response(200)
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                self.wfile.write(body)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the browser closed the page before the favicon or a repeat load was read

        def log_message(self, *args: object) -> None:
            return

    server = http.server.ThreadingHTTPServer((host, 0), Handler)
    server.daemon_threads = True
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def _descendants(pid: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                ppid = int((entry / "stat").read_text().rsplit(")", 1)[1].split()[1])
            except OSError:
                continue
            children.setdefault(ppid, []).append(int(entry.name))
    found, todo = [], list(children.get(pid, []))
    while todo:
        child = todo.pop()
        found.append(child)
        todo.extend(children.get(child, []))
    return found


def _kb(path: Path, field: str) -> int:
    try:
        for line in path.read_text().splitlines():
            if line.startswith(field):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


class MemorySampler:
    def __init__(self) -> None:
        self.browser_mb = 0.0
        self.govmon_mb = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        me = Path("/proc/self").resolve().name
        while not self._stop.is_set():
            chromium = [p for p in _descendants(int(me))
                        if "chrom" in (Path(f"/proc/{p}/comm").read_text() if Path(f"/proc/{p}/comm").exists() else "")]
            pss = sum(_kb(Path(f"/proc/{p}/smaps_rollup"), "Pss:") for p in chromium) / 1024
            self.browser_mb = max(self.browser_mb, pss)
            self.govmon_mb = max(self.govmon_mb, _kb(Path("/proc/self/status"), "VmRSS:") / 1024)
            time.sleep(0.2)

    def __enter__(self) -> MemorySampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


async def run_once(sites: list[list[str]], *, per_page: bool, loads: int) -> tuple[float, int, float, float]:
    pool = BrowserPool(find_chromium())
    measured = 0
    with MemorySampler() as memory:
        await pool.browser()  # launched before the clock starts, as in a scan of many sites
        started = time.monotonic()
        try:
            for index, urls in enumerate(sites):
                if per_page:
                    for url in urls:
                        async with pool.context(f"site{index}") as context:
                            m = await measure_page(context, url, page_type="article", profile=NETWORK_PROFILES["none"], loads=loads)
                            measured += m.measured
                else:
                    async with pool.context(f"site{index}") as context:
                        for url in urls:
                            m = await measure_page(context, url, page_type="article", profile=NETWORK_PROFILES["none"], loads=loads)
                            measured += m.measured
            seconds = time.monotonic() - started
        finally:
            await pool.close()
    return seconds, measured, memory.browser_mb, memory.govmon_mb


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pages", type=int, default=100)
    parser.add_argument("--sites", type=int, default=10)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--loads", type=int, default=3)
    args = parser.parse_args()
    servers = [serve(f"127.0.0.{60 + i}") for i in range(args.sites)]
    per_site = args.pages // args.sites
    sites = [[f"http://{s.server_address[0]}:{s.server_address[1]}/a{j}.html" for j in range(per_site)] for s in servers]
    results: dict[str, list[tuple[float, int, float, float]]] = {"context per site (govmon)": [], "context per page": []}
    for _ in range(args.rounds):
        results["context per site (govmon)"].append(asyncio.run(run_once(sites, per_page=False, loads=args.loads)))
        results["context per page"].append(asyncio.run(run_once(sites, per_page=True, loads=args.loads)))
    print(f"{args.pages} pages on {args.sites} loopback sites, {args.loads} loads each, {args.rounds} rounds (median)")
    print(f"{'way':28} {'pages':>5} {'seconds':>8} {'pages/min':>9} {'browser PSS MB':>14} {'govmon RSS MB':>13}")
    medians = {}
    for name, runs in results.items():
        seconds = statistics.median(r[0] for r in runs)
        medians[name] = args.pages / seconds * 60
        print(f"{name:28} {runs[0][1]:>5} {seconds:>8.1f} {medians[name]:>9.1f} "
              f"{statistics.median(r[2] for r in runs):>14.0f} {statistics.median(r[3] for r in runs):>13.0f}")
        print(f"   runs (s): {', '.join(f'{r[0]:.1f}' for r in runs)}")
    ratio = medians["context per site (govmon)"] / medians["context per page"]
    print(f"govmon's way: {ratio:.2f}x the pages per minute of a context per page")


if __name__ == "__main__":
    main()
