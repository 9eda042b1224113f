"""The site-wide part of a site scan: HTTPS, IPv6 and search, observed once after the crawl.

:func:`gather_site_facts` reads what the crawl stored of the home page (its search forms, its
articles), makes the observations of ``crawler/site_features.py`` and stores each as a
``site_facts`` row; :func:`load_site_facts` reads them back as the artifacts of ``site.https``,
``site.ipv6`` and ``site.search``. A site whose home page could not be read is not observed
(``site.unreachable`` speaks for it), so none of the three judges it.
"""

from __future__ import annotations

import asyncio
import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, sessionmaker

from govmon.checks.artifacts import Ipv6Obs, SearchObs, TlsObs
from govmon.config import Config, Site
from govmon.crawler.site_features import observe_ipv6, observe_search, observe_tls, pick_search_item
from govmon.crawler.urls import host_of, is_private_address, site_hosts
from govmon.db import write_lock
from govmon.models import ListItem, Page, SiteFact


def _home(session: Session, scan_id: int) -> tuple[str, dict[str, Any], list[tuple[str, str]]] | None:
    """(url read, facts, [(title, url)] of its list items) of the scan's home page, if it was read."""
    page = session.scalars(select(Page).where(Page.scan_id == scan_id, Page.page_type == "home")
                           .order_by(Page.id).limit(1)).first()
    if page is None or page.error is not None or page.status_code is None or not 200 <= page.status_code < 300:
        return None
    items = session.execute(select(ListItem.title, ListItem.url).where(ListItem.page_id == page.id)
                            .order_by(ListItem.position)).all()
    return page.final_url or page.url, dict(page.facts or {}), [(row.title or "", row.url or "") for row in items]


async def gather_site_facts(config: Config, sessions: sessionmaker[Session], scan_id: int, site: Site) -> int:
    """Observe the site's HTTPS, IPv6 and search; store them under the scan. Returns how many were stored."""
    home = await asyncio.to_thread(_read_home, sessions, scan_id)
    if home is None:
        return 0
    home_url, facts, items = home
    url = str(site.url)
    agent, timeout = config.crawl.user_agent, config.crawl.timeout_s
    forms = list(facts.get("search_forms") or ())
    item = pick_search_item(items, host_of(home_url))
    # one after another: never more than one connection of ours to the site at a time
    tls = await observe_tls(url, https_port=config.tls.https_port, extra_ca_file=config.tls.extra_ca_file,
                            timeout_s=config.tls.timeout_s)
    ipv6 = await observe_ipv6(url, timeout_s=timeout, user_agent=agent)
    own = site_hosts(url) | site_hosts(home_url)

    def may_request(target: str) -> bool:
        host = host_of(target)
        return host in own or config.crawl.allow_private_addresses or not is_private_address(host)

    search = await observe_search(home_url, forms, item, timeout_s=timeout, user_agent=agent, may_request=may_request)
    rows = [("tls", tls), ("ipv6", ipv6), ("search", search)]
    await asyncio.to_thread(_store, sessions, scan_id, site.id, rows)
    return len(rows)


def _read_home(sessions: sessionmaker[Session], scan_id: int) -> tuple[str, dict[str, Any], list[tuple[str, str]]] | None:
    with sessions() as session:
        return _home(session, scan_id)


def _store(sessions: sessionmaker[Session], scan_id: int, target_id: str, rows: list[tuple[str, dict[str, Any]]]) -> None:
    with sessions.begin() as session:
        write_lock(session, f"scan:{target_id}")
        for kind, data in rows:
            session.add(SiteFact(scan_id=scan_id, kind=kind, data=data))


def _time(value: Any) -> dt.datetime | None:
    return dt.datetime.fromisoformat(value) if isinstance(value, str) else None


def fact_obs(kind: str, d: dict[str, Any]) -> TlsObs | Ipv6Obs | SearchObs | None:
    """A stored observation (``site_facts.data``, as the gatherer made it) as the checks see it."""
    if kind == "tls":
        return TlsObs(url=d.get("url", ""), answered=bool(d.get("answered")), valid=bool(d.get("valid")),
                      error=d.get("error"), verify_error=d.get("verify_error"),
                      not_after=_time(d.get("not_after")), days_left=d.get("days_left"))
    if kind == "ipv6":
        return Ipv6Obs(host=d.get("host", ""), addresses=tuple(d.get("addresses") or ()),
                       answered=bool(d.get("answered")), tried=d.get("tried"), status=d.get("status"),
                       error=d.get("error"), resolve_error=d.get("resolve_error"))
    if kind == "search":
        return SearchObs(home_url=d.get("home_url", ""), form=d.get("form"), query=d.get("query"),
                         article_url=d.get("article_url"), result_url=d.get("result_url"),
                         status=d.get("status"), error=d.get("error"), found=d.get("found"),
                         result_links=d.get("result_links"))
    return None


def load_site_facts(session: Session, scan_id: int) -> dict[str, Any]:
    """``{"tls": TlsObs, "ipv6": Ipv6Obs, "search": SearchObs}`` of the scan, those observed."""
    result: dict[str, Any] = {}
    for row in session.scalars(select(SiteFact).where(SiteFact.scan_id == scan_id).order_by(SiteFact.id)):
        obs = fact_obs(row.kind, row.data or {})
        if obs is not None:
            result[row.kind] = obs
    return result
