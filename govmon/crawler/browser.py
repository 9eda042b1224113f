"""Browser sessions: what a page does in a real Chromium — its load time, its rendering, on a phone.

One Chromium per process (:class:`BrowserPool`), launched on first use and shared by every target
of the process's one event loop; a fresh context per target, never more than one at a time for
the same target, at most ``contexts`` at once in all (on 2 cores several at once gained nothing).
If Chromium crashes, the page being measured is reported as *not measured* (never as slow) and
the next use launches a new one.

:func:`measure_page` loads a page ``loads`` times with the cache disabled (the median is reported,
as Lighthouse CI does) under a network profile set through :func:`emulate_network`, the one place
that speaks CDP's network emulation. The first load also records what rendering went wrong:
JavaScript errors, images/scripts/styles that failed, and elements whose text or table spills
out of its container, each named by tag, id, classes and a CSS path. :func:`inspect_home` adds
what is judged on the home page only: the viewport meta and horizontal overflow at a phone's
375 px, the 长者模式/适老化/无障碍 entry, and the axe-core accessibility rules.

Gatherers never judge: these functions record; ``checks/page_*.py`` and ``site_mobile/elderly``
decide. The browser is the system's (Debian's ``chromium``); Playwright's own download is never
needed.
"""

from __future__ import annotations

import asyncio
import shutil
import statistics
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext, CDPSession, Page, Playwright

CHROMIUM_CANDIDATES = ("/usr/bin/chromium", "chromium", "chromium-browser", "google-chrome")
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
    "--disable-blink-features=AutomationControlled",
)
# An office PC's browser: Chinese locale, Beijing time, a common desktop size.
CONTEXT_DEFAULTS: dict[str, Any] = {
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "viewport": {"width": 1366, "height": 768},
}
WATCHED_RESOURCES = ("image", "script", "stylesheet")
MAX_LISTED = 20  # elements, errors and resources kept per page
AXE_RULES = ("image-alt", "color-contrast", "label", "html-has-lang")


class NoBrowserError(RuntimeError):
    """No Chromium to run: what needs a browser is not measured."""


class BrowserCrashed(RuntimeError):
    """Chromium went away while a page was being measured."""


def find_chromium(executable: str | Path | None = None) -> str:
    """The Chromium to launch: the configured one, else the first found of the usual names."""
    if executable:
        path = Path(executable)
        if path.is_file():
            return str(path)
        raise NoBrowserError(f"找不到浏览器程序：{executable}")
    for candidate in CHROMIUM_CANDIDATES:
        found = candidate if Path(candidate).is_file() else shutil.which(candidate)
        if found:
            return str(found)
    raise NoBrowserError("找不到 Chromium 浏览器（可安装 Debian 软件包 chromium）")


# --- network profiles ---------------------------------------------------------------------------


@dataclass(frozen=True)
class NetworkProfile:
    name: str
    label: str  # Chinese, for the evidence
    latency_ms: float = 0
    download_kbps: float = 0  # 0: not throttled
    upload_kbps: float = 0


NETWORK_PROFILES: dict[str, NetworkProfile] = {
    "none": NetworkProfile("none", "不限速"),
    "broadband": NetworkProfile("broadband", "普通宽带（往返 40 毫秒，下行 10 Mbps，上行 2 Mbps）", 40, 10_000, 2_000),
    "mobile": NetworkProfile("mobile", "移动网络（Lighthouse：往返 150 毫秒，下行 1.6 Mbps，上行 750 kbps）", 150, 1_600, 750),
}


async def emulate_network(cdp: CDPSession, profile: NetworkProfile) -> None:
    """Throttle the page's network as ``profile`` says (nothing for ``none``).

    Chromium is replacing ``Network.emulateNetworkConditions`` by
    ``Network.emulateNetworkConditionsByRule``; this helper is the only caller of either and
    falls back to the new one when the old one is gone.
    """
    if profile.name == "none":
        return
    conditions = {
        "offline": False,
        "latency": profile.latency_ms,
        "downloadThroughput": profile.download_kbps * 1000 / 8,
        "uploadThroughput": profile.upload_kbps * 1000 / 8,
    }
    try:
        await cdp.send("Network.emulateNetworkConditions", conditions)
    except Exception as exc:  # the old call removed from this Chromium
        if "wasn't found" not in str(exc) and "not found" not in str(exc).lower():
            raise
        await cdp.send("Network.emulateNetworkConditionsByRule", {
            "offline": False,
            "matchedNetworkConditions": [{"urlPattern": "", **{k: v for k, v in conditions.items() if k != "offline"}}],
        })


# --- the pool -------------------------------------------------------------------------------------


class BrowserPool:
    """One Chromium for the process, a fresh context per target (see the module docstring).

        async with BrowserPool(executable=None, contexts=1) as pool:
            async with pool.context("site-id") as context:
                ...
    """

    def __init__(self, executable: str | Path | None = None, *, contexts: int = 1) -> None:
        self.executable = executable
        self._slots = asyncio.Semaphore(max(1, contexts))
        self._target_locks: dict[str, asyncio.Lock] = {}
        self._launch_lock = asyncio.Lock()
        self._playwright: Playwright | None = None
        self._browser: Browser | None = None
        self.launches = 0
        self.contexts_opened = 0
        self.open_contexts = 0  # now, for tests and the benchmark

    async def __aenter__(self) -> BrowserPool:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.close()

    async def browser(self) -> Browser:
        """The running Chromium, launched (again, after a crash) when needed."""
        async with self._launch_lock:
            if self._browser is not None and self._browser.is_connected():
                return self._browser
            path = find_chromium(self.executable)
            if self._playwright is None:
                from playwright.async_api import async_playwright

                self._playwright = await async_playwright().start()
            self._browser = await self._playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS))
            self.launches += 1
            return self._browser

    async def new_context(self, **options: Any) -> BrowserContext:
        """A fresh context the caller closes (the account adapters' ``new_browser_context``)."""
        browser = await self.browser()
        try:
            context = await browser.new_context(**{**CONTEXT_DEFAULTS, **options})
        except Exception as exc:
            raise BrowserCrashed(f"浏览器无法打开新窗口：{exc}") from exc
        self.contexts_opened += 1
        return context

    @asynccontextmanager
    async def context(self, target_id: str, **options: Any) -> AsyncIterator[BrowserContext]:
        """A fresh context for ``target_id``; a second one for the same target waits for the first."""
        lock = self._target_locks.setdefault(target_id, asyncio.Lock())
        async with lock, self._slots:
            context = await self.new_context(**options)
            self.open_contexts += 1
            try:
                yield context
            finally:
                self.open_contexts -= 1
                try:
                    await context.close()
                except Exception:
                    pass  # the browser went away with it

    async def close(self) -> None:
        if self._browser is not None:
            try:
                await self._browser.close()
            except Exception:
                pass
            self._browser = None
        if self._playwright is not None:
            await self._playwright.stop()
            self._playwright = None


def is_crash(exc: BaseException) -> bool:
    """Did this Playwright error come from the browser going away (not from the page)?"""
    text = str(exc)
    return any(sign in text for sign in (
        "Target page, context or browser has been closed", "Browser has been closed", "browser has disconnected",
        "Target closed", "Connection closed", "Browser closed",
    ))


# --- measuring a page -----------------------------------------------------------------------------

_TIMING_JS = """() => {
  const nav = performance.getEntriesByType('navigation')[0];
  if (!nav) return null;
  let bytes = nav.transferSize || 0;
  for (const r of performance.getEntriesByType('resource')) bytes += r.transferSize || 0;
  return {load: nav.loadEventStart, ttfb: nav.responseStart, bytes: bytes};
}"""

_LCP_JS = """() => new Promise(resolve => {
  let value = null;
  try {
    new PerformanceObserver(list => {
      const entries = list.getEntries();
      if (entries.length) value = entries[entries.length - 1].startTime;
    }).observe({type: 'largest-contentful-paint', buffered: true});
  } catch (e) {}
  setTimeout(() => resolve(value), 50);
})"""

# Elements whose own text spills out of their box, and tables wider than a container that does
# not scroll. Ancestors are not flagged for a descendant's overflow: a text element must hold
# the text itself.
_OVERFLOW_JS = """(limit) => {
  const found = [];
  const describe = el => {
    let s = el.tagName.toLowerCase();
    if (el.id) s += '#' + el.id;
    for (const c of el.classList) s += '.' + c;
    return s;
  };
  const cssPath = el => {
    const parts = [];
    for (let e = el; e && e.nodeType === 1 && e.tagName !== 'HTML' && parts.length < 8; e = e.parentElement) {
      if (e.id) { parts.unshift(e.tagName.toLowerCase() + '#' + e.id); break; }
      let part = e.tagName.toLowerCase();
      const parent = e.parentElement;
      if (parent) {
        const same = Array.from(parent.children).filter(c => c.tagName === e.tagName);
        if (same.length > 1) part += ':nth-of-type(' + (same.indexOf(e) + 1) + ')';
      }
      parts.unshift(part);
    }
    return parts.join(' > ');
  };
  const scrolls = s => ['auto', 'scroll', 'hidden', 'clip'].includes(s.overflowX);
  if (!document.body) return found;
  for (const el of document.body.querySelectorAll('*')) {
    if (found.length >= limit) break;
    if (['SCRIPT', 'STYLE', 'NOSCRIPT', 'BR', 'svg'].includes(el.tagName)) continue;
    const style = getComputedStyle(el);
    if (style.display === 'none' || style.visibility === 'hidden') continue;
    const text = (el.textContent || '').trim().replace(/\\s+/g, ' ').slice(0, 40);
    if (el.tagName === 'TABLE') {
      const parent = el.parentElement;
      if (!parent) continue;
      const width = el.getBoundingClientRect().width;
      const room = parent.clientWidth;
      if (room > 0 && width > room + 2 && !scrolls(getComputedStyle(parent))) {
        found.push({kind: 'table', element: describe(el), path: cssPath(el), text: text,
                    width: Math.round(width), container: Math.round(room)});
      }
      continue;
    }
    const ownText = Array.from(el.childNodes).some(n => n.nodeType === 3 && n.textContent.trim());
    if (!ownText || scrolls(style) || el.clientWidth === 0) continue;
    if (el.scrollWidth > el.clientWidth + 2) {
      found.push({kind: 'text', element: describe(el), path: cssPath(el), text: text,
                  width: el.scrollWidth, container: el.clientWidth});
    }
  }
  return found;
}"""

_MOBILE_JS = """() => {
  const meta = document.querySelector('meta[name="viewport" i]');
  const root = document.documentElement;
  return {viewport_meta: meta ? meta.getAttribute('content') || '' : null,
          scroll_width: Math.max(root.scrollWidth, document.body ? document.body.scrollWidth : 0),
          viewport_width: window.innerWidth};
}"""

_ENTRY_JS = """(words) => {
  for (const el of document.querySelectorAll('a, button, [role=button], [onclick], img, input[type=button], input[type=image]')) {
    const texts = [el.textContent, el.getAttribute('title'), el.getAttribute('alt'), el.getAttribute('aria-label'), el.getAttribute('value')];
    for (const t of texts) {
      if (!t) continue;
      for (const w of words) {
        if (t.includes(w)) return {word: w, text: t.trim().slice(0, 40), href: el.getAttribute('href')};
      }
    }
  }
  return null;
}"""


@dataclass
class PageMeasurement:
    """What the browser saw of one page. ``measured`` False: ``reason`` says why (never slow)."""

    url: str
    page_type: str
    profile: str
    measured: bool = True
    reason: str | None = None
    loads_ms: list[int | None] = field(default_factory=list)  # loadEventStart per load; None: not loaded in time
    ttfb_ms: int | None = None
    lcp_ms: int | None = None
    bytes: int | None = None
    timeout_ms: int | None = None
    js_errors: list[str] = field(default_factory=list)
    failed_resources: list[dict[str, Any]] = field(default_factory=list)
    overflows: list[dict[str, Any]] = field(default_factory=list)
    home: dict[str, Any] | None = None  # mobile and elderly facts, home page only

    @property
    def load_ms(self) -> int | None:
        """The median load; a load that did not finish in time counts as the time limit."""
        if not self.measured or not self.loads_ms:
            return None
        limit = self.timeout_ms or 0
        return int(statistics.median(limit if v is None else v for v in self.loads_ms))

    @property
    def timed_out(self) -> int:
        return sum(1 for v in self.loads_ms if v is None)

    def details(self) -> dict[str, Any]:
        return {
            "profile": self.profile,
            "loads_ms": self.loads_ms,
            "ttfb_ms": self.ttfb_ms,
            "lcp_ms": self.lcp_ms,
            "bytes": self.bytes,
            "timeout_ms": self.timeout_ms,
            "js_errors": self.js_errors,
            "failed_resources": self.failed_resources,
            "overflows": self.overflows,
            "home": self.home,
        }


async def _open_page(context: BrowserContext, profile: NetworkProfile) -> Page:
    page = await context.new_page()
    cdp = await context.new_cdp_session(page)
    await cdp.send("Network.enable")
    await cdp.send("Network.setCacheDisabled", {"cacheDisabled": True})
    await emulate_network(cdp, profile)
    return page


def _watch_rendering(page: Page, result: PageMeasurement) -> None:
    def on_error(error: Any) -> None:
        if len(result.js_errors) < MAX_LISTED:
            result.js_errors.append(str(getattr(error, "message", error))[:300])

    def record(kind: str, url: str, error: str) -> None:
        # a 404 script is also aborted by Chromium: one entry per URL, the first (the status) wins
        if kind in WATCHED_RESOURCES and len(result.failed_resources) < MAX_LISTED \
                and all(r["url"] != url for r in result.failed_resources):
            result.failed_resources.append({"type": kind, "url": url, "error": error})

    def on_failed(request: Any) -> None:
        record(request.resource_type, request.url, request.failure or "加载失败")

    def on_response(response: Any) -> None:
        if response.status >= 400:
            record(response.request.resource_type, response.url, f"HTTP {response.status}")

    page.on("pageerror", on_error)
    page.on("requestfailed", on_failed)
    page.on("response", on_response)


async def measure_page(
    context: BrowserContext,
    url: str,
    *,
    page_type: str,
    profile: NetworkProfile,
    loads: int = 3,
    timeout_s: float = 15.0,
    home_checks: dict[str, Any] | None = None,
) -> PageMeasurement:
    """Load ``url`` ``loads`` times (cache off) and record timings and rendering problems.

    Raises :class:`BrowserCrashed` when Chromium goes away. A page that cannot be opened at all
    (connection refused, DNS) is returned as not measured: the crawl reports such pages.
    ``home_checks`` (``{"entry_words": [...], "axe": bool}``) adds :func:`inspect_home`.
    """
    from playwright.async_api import Error as PlaywrightError
    from playwright.async_api import TimeoutError as PlaywrightTimeout

    result = PageMeasurement(url=url, page_type=page_type, profile=profile.name, timeout_ms=int(timeout_s * 1000))
    for index in range(max(1, loads)):
        page = None
        try:
            page = await _open_page(context, profile)
            if index == 0:
                _watch_rendering(page, result)
            try:
                await page.goto(url, wait_until="load", timeout=timeout_s * 1000)
            except PlaywrightTimeout:
                result.loads_ms.append(None)
                continue
            timing = await page.evaluate(_TIMING_JS)
            if timing is None:
                result.loads_ms.append(None)
                continue
            result.loads_ms.append(int(timing["load"]))
            if index == 0:
                result.ttfb_ms = int(timing["ttfb"])
                result.bytes = int(timing["bytes"])
                lcp = await page.evaluate(_LCP_JS)
                result.lcp_ms = int(lcp) if lcp is not None else None
                result.overflows = await page.evaluate(_OVERFLOW_JS, MAX_LISTED)
                if home_checks is not None:
                    result.home = await inspect_home(context, page, url, profile=profile, timeout_s=timeout_s, **home_checks)
        except PlaywrightError as exc:
            if is_crash(exc) or not context.browser or not context.browser.is_connected():
                raise BrowserCrashed(str(exc)) from exc
            result.measured, result.reason = False, f"浏览器无法打开该网页：{_first_line(exc)}"
            return result
        finally:
            if page is not None:
                try:
                    await page.close()
                except Exception:
                    pass
    return result


async def inspect_home(
    context: BrowserContext,
    page: Page,
    url: str,
    *,
    profile: NetworkProfile,
    timeout_s: float,
    entry_words: Sequence[str] = (),
    axe: bool = True,
    phone_width: int = 375,
) -> dict[str, Any]:
    """The home page's facts for ``site.mobile`` and ``site.elderly`` (``page`` is loaded at desktop size)."""
    facts: dict[str, Any] = {"entry": await page.evaluate(_ENTRY_JS, list(entry_words))}
    if axe:
        facts["axe"] = await run_axe(page)
    phone = await _open_page(context, profile)
    try:
        await phone.set_viewport_size({"width": phone_width, "height": 667})
        await phone.goto(url, wait_until="load", timeout=timeout_s * 1000)
        mobile = await phone.evaluate(_MOBILE_JS)
    finally:
        await phone.close()
    mobile["overflow_px"] = max(0, int(mobile["scroll_width"]) - int(mobile["viewport_width"]))
    facts["mobile"] = mobile
    return facts


async def run_axe(page: Page) -> dict[str, Any]:
    """axe-core's violations of :data:`AXE_RULES` on ``page``: rule → count, help and the elements."""
    from axe_playwright_python.async_playwright import Axe

    results = await Axe().run(page, options={"runOnly": {"type": "rule", "values": list(AXE_RULES)},
                                             "resultTypes": ["violations"]})
    violations: dict[str, Any] = {}
    for violation in results.response.get("violations", []):
        nodes = violation.get("nodes", [])
        violations[violation["id"]] = {
            "count": len(nodes),
            "help": violation.get("help", ""),
            "elements": [_axe_node(node) for node in nodes[:MAX_LISTED]],
        }
    return violations


def _axe_node(node: dict[str, Any]) -> dict[str, Any]:
    """An element axe flagged: its selector, its opening tag (not its content: the page's text is
    evidence elsewhere) and, for contrast, the ratio."""
    html = str(node.get("html", ""))
    tag = html.split(">", 1)[0] + ">" if ">" in html else html
    entry: dict[str, Any] = {"element": " ".join(map(str, node.get("target", []))), "html": tag[:120]}
    for check in node.get("any", []):
        ratio = (check.get("data") or {}).get("contrastRatio") if isinstance(check.get("data"), dict) else None
        if ratio:
            entry["ratio"] = round(float(ratio), 2)
    return entry


def _first_line(exc: BaseException) -> str:
    return str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__
