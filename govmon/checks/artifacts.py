"""The observations checks consume (Lighthouse's "artifacts").

Gatherers record what they saw; the store keeps it; these frozen dataclasses are what the
checks read. They hold plain values (str, int, ``datetime.date``) so they can be built
from database rows without the crawler.

Dates carry a precision: a month-only date ("2023年5月") is stored as the first day of
its month with ``precision == "month"``. Checks never treat such a date as more precise
than it is (see :func:`earliest_day` and :func:`latest_day`).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal

Precision = Literal["day", "month"]
PageType = Literal["home", "list", "article", "other"]
ColumnKind = Literal["news", "notice", "policy", "personnel", "planning", "interaction", "other"]
LinkOutcome = Literal["ok", "broken", "inconclusive", "skipped"]


def earliest_day(value: dt.date, precision: str | None) -> dt.date:
    """The earliest calendar day a date of this precision can stand for."""
    if precision == "month":
        return value.replace(day=1)
    return value


def latest_day(value: dt.date, precision: str | None) -> dt.date:
    """The latest calendar day a date of this precision can stand for.

    A month-only date counts as the last day of its month: a staleness check must never
    accuse a site with a made-up day earlier than the truth.
    """
    if precision == "month":
        return value.replace(day=calendar.monthrange(value.year, value.month)[1])
    return value


def newest_item(items: Iterable[ItemObs]) -> ItemObs | None:
    """The dated item with the latest possible day (a month-only date at its month's end)."""
    dated = [item for item in items if item.date is not None]
    if not dated:
        return None
    return max(dated, key=lambda item: latest_day(item.date, item.date_precision))  # type: ignore[arg-type]


def format_date(value: dt.date | None, precision: str | None = "day") -> str | None:
    """``2023-05-02``, or ``2023-05`` for a month-only date; None stays None."""
    if value is None:
        return None
    if precision == "month":
        return f"{value.year:04d}-{value.month:02d}"
    return value.isoformat()


class StoredRows(Iterable[Any]):
    """An artifact read back from storage each time it is iterated, a batch of rows at a time,
    so judging a 20,000-page scan never holds every row at once (the loader's ``read`` makes
    a fresh iterator; it reads through a session that must stay open while the checks run)."""

    __slots__ = ("_read",)

    def __init__(self, read: Callable[[], Iterable[Any]]) -> None:
        self._read = read

    def __iter__(self) -> Iterator[Any]:
        return iter(self._read())

    def __repr__(self) -> str:
        return f"StoredRows({getattr(self._read, '__qualname__', self._read)!r})"


@dataclass(frozen=True)
class TargetInfo:
    """The registered site being judged."""

    id: str
    name: str
    organizer: str | None
    category: str | None
    url: str


@dataclass(frozen=True, slots=True)
class PageObs:
    """One fetched page (home, list, article or other) as the gatherer saw it."""

    url: str
    final_url: str | None = None
    status: int | None = None
    error: str | None = None  # Chinese reason when the fetch failed (DNS, 超时, 连接被拒绝…)
    error_kind: str | None = None  # dns | refused | timeout | tls | redirects | protocol | other
    page_type: PageType = "other"
    title: str | None = None
    publish_date: dt.date | None = None
    publish_date_raw: str | None = None
    publish_date_how: str | None = None  # where it was found: 元数据表 / 标题下方 / meta …
    written_date: dt.date | None = None
    written_date_precision: Precision | None = None
    written_date_raw: str | None = None
    written_date_how: str | None = None
    text: str = ""  # visible text, may be ''
    footer_text: str = ""
    fetched_at: dt.datetime | None = None
    publish_date_precision: Precision | None = None  # None means 'day' when publish_date is set
    content_type: str | None = None  # e.g. 'text/html'; None when not recorded
    # Footer images and links as "alt|src|href" strings (the 党政机关网站标识 is an image);
    # None when the gatherer did not record them, so the mark cannot be judged.
    footer_marks: tuple[str, ...] | None = None
    # The stored row this came from, when read back from the database: the key by which
    # SiteArtifacts.texts_source streams a text that was left out of ``text`` (see there).
    row_id: int | None = field(default=None, compare=False)

    @property
    def failed(self) -> bool:
        """The fetch failed: a network error, or an HTTP error status (4xx/5xx)."""
        return self.error is not None or self.status is None or self.status >= 400

    @property
    def ok(self) -> bool:
        """The page was read: no error and a 2xx status."""
        return self.error is None and self.status is not None and 200 <= self.status < 300

    @property
    def is_html(self) -> bool:
        if not self.content_type:
            return True  # not recorded: pages the gatherer parsed are HTML
        ctype = self.content_type.split(";", 1)[0].strip().lower()
        return ctype in ("text/html", "application/xhtml+xml")


@dataclass(frozen=True, slots=True)
class ItemObs:
    """One entry of a list (a column list page or the home page's blocks)."""

    title: str | None
    text: str | None
    url: str | None
    date: dt.date | None
    date_raw: str | None = None
    date_precision: Precision | None = None  # None means 'day' when date is set


@dataclass(frozen=True)
class ColumnObs:
    """A column (栏目) and the entries its list pages showed."""

    name: str
    url: str
    kind: ColumnKind = "other"
    source: Literal["config", "discovered"] = "config"
    page: PageObs | None = None  # the first list page; None when never fetched
    items: Sequence[ItemObs] = ()  # every entry of every list page read
    complete: bool = False  # the list was read without fetch errors

    @property
    def readable(self) -> bool:
        """The list was read in full, so what it shows (or lacks) can be judged."""
        return self.page is not None and self.page.ok and self.complete


@dataclass(frozen=True, slots=True)
class MessageObs:
    """What a 领导信箱 / 咨询投诉 message page shows: when it was left, answered, its state."""

    asked: dt.date
    answered: dt.date | None = None
    state: str | None = None  # as shown: 已回复 / 未回复 / 办理中 …; None when not shown


@dataclass(frozen=True, slots=True)
class ArticleObs:
    """An article page, with what the list that linked to it showed."""

    page: PageObs
    column_url: str | None = None
    listed_title: str | None = None  # the a[title] or link text the list showed
    listed_text: str | None = None
    message: MessageObs | None = None  # the page is a message of an interaction column


@dataclass(frozen=True, slots=True)
class LinkObs:
    """A link the link checker tried (or deliberately did not)."""

    url: str
    outcome: LinkOutcome
    status: int | None = None
    method: str | None = None  # HEAD / GET
    error: str | None = None  # Chinese reason when the request failed
    redirects: Sequence[tuple[int, str]] = ()
    found_on: Sequence[tuple[str, str]] = ()  # (page url, link text)
    on_home: bool = False


@dataclass(frozen=True, slots=True)
class HomeLinkObs:
    """A link on the home page as the reader sees it (the 我为政府网站找错 entry is one)."""

    url: str
    text: str = ""
    visible: bool = True


@dataclass(frozen=True, slots=True)
class OffsiteLinkObs:
    """One sighting of a link that leads off the site: where, with what text, seen or hidden.

    ``hidden_reason`` says how it was hidden from readers (display:none, off-screen…) when
    ``visible`` is False; None when not recorded.
    """

    url: str
    page_url: str
    text: str = ""
    visible: bool = True
    hidden_reason: str | None = None


@dataclass(frozen=True)
class TlsObs:
    """One TLS handshake with the site's host on its HTTPS port (crawler/site_features.py)."""

    url: str  # the https:// address tried
    answered: bool  # a TLS server answered (even with a bad certificate)
    valid: bool  # the certificate verified for the host against the trust store
    error: str | None = None  # Chinese: why https:// did not answer
    verify_error: str | None = None  # why the certificate did not verify (expired, self-signed…)
    not_after: dt.datetime | None = None
    days_left: int | None = None  # days until the certificate expires (negative: expired)


@dataclass(frozen=True)
class Ipv6Obs:
    """The host's IPv6 addresses and whether its web server answered over IPv6."""

    host: str
    addresses: Sequence[str] = ()
    answered: bool = False
    tried: str | None = None  # the IPv6 URL requested
    status: int | None = None
    error: str | None = None  # Chinese: why the IPv6 request failed
    resolve_error: str | None = None


@dataclass(frozen=True)
class SearchObs:
    """The home page's search form submitted once with the title of one of its own articles."""

    home_url: str
    form: Mapping[str, Any] | None  # {action, method, field, hidden}; None: no search form on the home page
    query: str | None = None
    article_url: str | None = None
    result_url: str | None = None
    status: int | None = None
    error: str | None = None  # Chinese: why the search could not be tried (down, no article title)
    found: bool | None = None  # the result page links to the article (or shows its title as a link)
    result_links: int | None = None


@dataclass(frozen=True)
class ProbeObs:
    """One availability probe of the home page (govmon.probes): did the whole page load in time?

    ``local_outage`` marks a probe of a round in which every site failed to connect: our
    side was probably down, so the probe counts for nothing.
    """

    probed_at: dt.datetime  # aware
    url: str
    ok: bool
    status: int | None = None
    elapsed_ms: int | None = None
    error_kind: str | None = None  # dns | connect | timeout | tls | http_status | too_many_redirects | other
    detail: str | None = None  # Chinese description of the failure
    final_url: str | None = None
    local_outage: bool = False


@dataclass(frozen=True)
class BrowserPageObs:
    """One page as the browser measured it (crawl/browser.py). ``measured`` False: never judged.

    ``load_ms`` is the median of ``loads_ms`` (loadEventStart of each load; None for a load not
    finished within ``timeout_ms``, counted as that long). The home page also carries what a
    phone-wide window and the accessibility rules saw (``home_inspected``).
    """

    url: str
    page_type: str  # home | list | article
    measured: bool = True
    reason: str | None = None
    load_ms: int | None = None
    loads_ms: Sequence[int | None] = ()
    ttfb_ms: int | None = None
    lcp_ms: int | None = None
    bytes: int | None = None
    profile: str = "none"
    timeout_ms: int | None = None
    js_errors: Sequence[str] = ()
    failed_resources: Sequence[Mapping[str, Any]] = ()  # {type, url, error}
    overflows: Sequence[Mapping[str, Any]] = ()  # {kind: text|table, element, path, text, width, container}
    home_inspected: bool = False
    viewport_meta: str | None = None  # the meta viewport's content; None: none on the page
    phone_overflow_px: int | None = None
    phone_width: int | None = None
    elderly_entry: Mapping[str, Any] | None = None  # {word, text, href}; None: no entry found
    axe: Mapping[str, Any] | None = None  # rule id → {count, help, elements: [{element, html, ratio?}]}
    measured_at: dt.datetime | None = None


@dataclass(frozen=True)
class SiteArtifacts:
    """Everything one scan of one site gathered, as the checks see it.

    ``home`` is the home page as fetched; a failed fetch is a PageObs with ``error``
    (or an HTTP error status). ``lexicon`` is the serious-error term list (a tuple, so
    matchers can be cached by it); None when none was supplied.
    ``missing`` names the artifacts the scan did not gather (e.g. ``{"links"}`` when the
    link checker did not run), so a check that needs them is not judged.
    ``probes`` is the availability probe history (see :class:`ProbeObs`), given only to
    the judgement that follows a probe round.
    """

    kind: ClassVar[str] = "site"

    target: TargetInfo
    as_of: dt.datetime  # timezone-aware monitoring time point (监测时间点)
    scan_complete: bool = True
    home: PageObs | None = None
    home_items: Sequence[ItemObs] = ()
    columns: Sequence[ColumnObs] = ()
    articles: Sequence[ArticleObs] = ()
    # Read back from storage, ``links`` and ``offsite_links`` are StoredRows: iterate them (as
    # often as needed), do not index them.
    links: Sequence[LinkObs] | Iterable[LinkObs] = ()
    # Every link of the home page (url, text, visible); None when not recorded, so nothing
    # that needs them (site.zhaocuo_entry) is judged.
    home_links: Sequence[HomeLinkObs] | None = None
    # Every sighting of a link leading off the site (by host); None when not recorded.
    offsite_links: Sequence[OffsiteLinkObs] | Iterable[OffsiteLinkObs] | None = None
    # The bad-link lexicon (不良外链 words, config ``lexicon.bad_links``); None when none was supplied.
    bad_link_terms: tuple[str, ...] | None = None
    lexicon: tuple[str, ...] | None = None
    missing: frozenset[str] = field(default_factory=frozenset)
    # The availability probes of the judged window (oldest first); None when not loaded
    # (a scan's judgement), so nothing about them is judged or resolved.
    probes: Sequence[ProbeObs] | None = None
    # What the browser measured in this scan; None when it did not run (no browser, switched off).
    browser_audits: Sequence[BrowserPageObs] | None = None
    # What the scan saw of the site's HTTPS, IPv6 and search (site_facts); None when not observed.
    tls: TlsObs | None = None
    ipv6: Ipv6Obs | None = None
    search: SearchObs | None = None
    # Read back from storage, only the home page keeps its ``text``: the others' texts are
    # streamed, a batch at a time, by this function of row ids → (row id, text) pairs, so
    # judging a 20,000-page scan never holds every text at once. None: ``text`` is complete.
    texts_source: Callable[[Sequence[int]], Iterable[tuple[int, str]]] | None = field(default=None, compare=False)

    def available(self, name: str) -> bool:
        """Was the artifact ``name`` gathered in a usable form?

        ``home`` and ``home_items`` need the home page to have been read (an unreachable
        home page makes them unavailable); ``lexicon`` needs a term list; the others need
        only not to be listed in ``missing``.
        """
        if name not in ARTIFACT_NAMES:
            raise KeyError(f"unknown artifact {name!r}")
        if name in self.missing or name not in SITE_ARTIFACT_NAMES:
            return False
        if name in ("home", "home_items"):
            return self.home is not None and self.home.ok
        if name == "lexicon":
            return self.lexicon is not None
        if name == "home_links":
            return self.home_links is not None and self.home is not None and self.home.ok
        if name == "offsite_links":
            return self.offsite_links is not None
        if name == "probes":
            return self.probes is not None
        if name == "browser_audits":
            return self.browser_audits is not None
        if name in ("tls", "ipv6", "search"):
            return getattr(self, name) is not None
        return True

    @property
    def as_of_date(self) -> dt.date:
        """The calendar day of the monitoring time point, in its own time zone."""
        return self.as_of.date()

    def pages(self) -> list[PageObs]:
        """Every page read in this scan (home, column list pages, articles), once each."""
        seen: set[str] = set()
        result: list[PageObs] = []
        candidates: list[PageObs | None] = [self.home]
        candidates += [c.page for c in self.columns]
        candidates += [a.page for a in self.articles]
        for page in candidates:
            if page is None or not page.ok or page.url in seen:
                continue
            seen.add(page.url)
            result.append(page)
        return result

    def page_texts(self, batch: int = 200) -> Iterator[tuple[PageObs, str]]:
        """Each page of :meth:`pages` with its visible text, in the same order."""
        pages = self.pages()
        if self.texts_source is None:
            yield from ((page, page.text) for page in pages)
            return
        for start in range(0, len(pages), batch):
            chunk = pages[start : start + batch]
            wanted = [page.row_id for page in chunk if page.row_id is not None and not page.text]
            texts = dict(self.texts_source(wanted)) if wanted else {}
            for page in chunk:
                yield page, page.text or texts.get(page.row_id, "")  # type: ignore[arg-type]


@dataclass(frozen=True)
class AccountInfo:
    """The registered new-media account being judged."""

    id: str
    name: str
    organizer: str | None
    platform: str
    url: str


@dataclass(frozen=True)
class PostObs:
    """One post as the platform showed it (crawler/accounts)."""

    id: str
    text: str
    url: str | None
    published_at: dt.datetime  # aware
    pinned: bool = False
    comments_open: bool | None = None  # True open, False closed, None: the platform did not say


@dataclass(frozen=True)
class AccountReadObs:
    """How one read of an account went: ``coverage`` says how much it can vouch for.

    Only ``complete`` can prove that nothing was posted; ``partial`` (paging cut short) can
    still show a recent post; ``blocked`` and ``failed`` show nothing about the account's posts.
    """

    coverage: Literal["complete", "partial", "blocked", "failed"]
    reason: str | None = None
    login_expired: bool = False
    requests: int = 0
    url: str | None = None
    evidence: Mapping[str, Any] = field(default_factory=dict)
    read_at: dt.datetime | None = None


@dataclass(frozen=True)
class AccountArtifacts:
    """What one read of one account gathered, as the account checks see it."""

    kind: ClassVar[str] = "account"

    target: AccountInfo
    as_of: dt.datetime  # timezone-aware monitoring time point (监测时间点)
    read: AccountReadObs | None = None
    posts: Sequence[PostObs] = ()
    lexicon: tuple[str, ...] | None = None
    missing: frozenset[str] = field(default_factory=frozenset)

    def available(self, name: str) -> bool:
        """``read`` and ``posts`` need a read; ``lexicon`` a term list."""
        if name not in ARTIFACT_NAMES:
            raise KeyError(f"unknown artifact {name!r}")
        if name in self.missing:
            return False
        if name in ("read", "posts"):
            return self.read is not None
        if name == "lexicon":
            return self.lexicon is not None
        return name in ACCOUNT_ARTIFACT_NAMES


SITE_ARTIFACT_NAMES: frozenset[str] = frozenset(f.name for f in fields(SiteArtifacts)) - {"missing", "texts_source"}
ACCOUNT_ARTIFACT_NAMES: frozenset[str] = frozenset(f.name for f in fields(AccountArtifacts)) - {"missing"}
ARTIFACT_NAMES: frozenset[str] = SITE_ARTIFACT_NAMES | ACCOUNT_ARTIFACT_NAMES
Artifacts = SiteArtifacts | AccountArtifacts
