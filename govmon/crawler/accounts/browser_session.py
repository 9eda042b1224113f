"""One headless Chromium for the browser adapters, and the ``new_browser_context`` they are given.

    async with open_browser(config.browser.executable) as session:
        ctx = ReadContext(..., new_browser_context=session.new_context)

Every account is read in a fresh context (cookies and storage of one account never leak into the
next; the saved login comes in as ``storage_state``). Contexts get a Chinese locale, the Beijing
time zone and a desktop viewport, as an office PC's browser would have. The Chromium is the
system's (Debian's ``chromium``); Playwright's own browser download is never used.
"""

from __future__ import annotations

import shutil
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext

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
CONTEXT_DEFAULTS: dict[str, Any] = {
    "locale": "zh-CN",
    "timezone_id": "Asia/Shanghai",
    "viewport": {"width": 1366, "height": 768},
}


class NoBrowserError(RuntimeError):
    """No Chromium to run: the browser-based accounts are not measured."""


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
    raise NoBrowserError("找不到 Chromium 浏览器（可安装 Debian 软件包 chromium），抖音、快手、哔哩哔哩、今日头条账号未监测")


@dataclass
class BrowserSession:
    browser: Browser
    contexts_opened: int = 0

    async def new_context(self, **kwargs: Any) -> BrowserContext:
        """A fresh context with the defaults above; ``kwargs`` (e.g. ``storage_state``) win."""
        self.contexts_opened += 1
        return await self.browser.new_context(**{**CONTEXT_DEFAULTS, **kwargs})


@asynccontextmanager
async def open_browser(executable: str | Path | None = None, *, headless: bool = True) -> AsyncIterator[BrowserSession]:
    """Launch the system Chromium through Playwright for the duration of the block."""
    from playwright.async_api import async_playwright

    path = find_chromium(executable)
    playwright = await async_playwright().start()
    try:
        browser = await playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS), headless=headless)
        try:
            yield BrowserSession(browser)
        finally:
            await browser.close()
    finally:
        await playwright.stop()
