"""The adapters that read an account through its page in a browser, by platform id."""

from __future__ import annotations

from govmon.crawler.accounts.bilibili import BilibiliAdapter
from govmon.crawler.accounts.browser_page import BrowserAdapter
from govmon.crawler.accounts.douyin import DouyinAdapter
from govmon.crawler.accounts.kuaishou import KuaishouAdapter
from govmon.crawler.accounts.toutiao import ToutiaoAdapter

BROWSER_ADAPTERS: dict[str, type[BrowserAdapter]] = {
    cls.platform: cls for cls in (DouyinAdapter, BilibiliAdapter, KuaishouAdapter, ToutiaoAdapter)
}
