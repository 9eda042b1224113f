"""Every platform adapter, by platform id (the httpx ones and the browser ones)."""

from __future__ import annotations

from typing import Mapping

from govmon.crawler.accounts.base import Adapter
from govmon.crawler.accounts.browser_adapters import BROWSER_ADAPTERS
from govmon.crawler.accounts.rss import RssAdapter
from govmon.crawler.accounts.wechat import WechatAdapter
from govmon.crawler.accounts.weibo import WeiboAdapter

HTTP_ADAPTERS: Mapping[str, type] = {cls.platform: cls for cls in (RssAdapter, WeiboAdapter, WechatAdapter)}
ADAPTERS: Mapping[str, type[Adapter]] = {**HTTP_ADAPTERS, **BROWSER_ADAPTERS}  # type: ignore[dict-item]


def adapter_for(platform: str) -> Adapter:
    """A new adapter of ``platform``; KeyError names the known platforms."""
    try:
        return ADAPTERS[platform]()
    except KeyError:
        raise KeyError(f"没有平台 {platform!r} 的读取方式；可用：{', '.join(sorted(ADAPTERS))}") from None
