"""One headless Chromium for the browser adapters, and the ``new_browser_context`` they are given.

    async with open_browser(config.browser.executable) as session:
        ctx = ReadContext(..., new_browser_context=session.new_context)

Every account is read in a fresh context (cookies and storage of one account never leak into the
next; the saved login comes in as ``storage_state``). Contexts get a Chinese locale, the Beijing
time zone and a desktop viewport, as an office PC's browser would have. Finding and launching
Chromium is ``crawler/browser.py``'s.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, AsyncIterator

from govmon.crawler.browser import CHROMIUM_ARGS, CONTEXT_DEFAULTS, NoBrowserError, find_chromium

if TYPE_CHECKING:
    from playwright.async_api import Browser, BrowserContext

__all__ = ["BrowserSession", "CHROMIUM_ARGS", "NoBrowserError", "find_chromium", "open_browser"]


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
