"""The one interface every platform adapter implements.

An adapter reads one registered account and answers an :class:`AccountSnapshot`: the posts it
saw (newest first where the platform says so) and how much it can vouch for them — its
*coverage*. Only a ``complete`` snapshot can prove that an account posted nothing recently;
``partial``, ``blocked`` and ``failed`` say why not, in Chinese, for the office to read.

Blocked is never empty: each platform's soft failures (HTTP 200 with an empty body,
``{"ok":0}``, ``result: 50``, ``code -352``, ``ret 200013``, captcha pages, login walls) must be
recognised by its adapter and answered as ``blocked`` (or ``failed`` for a login that expired),
never as an account without posts.

Adapters take the host from the account's URL, so the same code reads a loopback fake and the
real platform. They never sleep or open connections by themselves outside the
:class:`ReadContext` they are given: the pace of requests per platform, the HTTP client, the
browser and the saved logins all come from there.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, AsyncContextManager, Awaitable, Callable, ClassVar, Literal, Mapping, Protocol

if TYPE_CHECKING:
    import httpx
    from playwright.async_api import BrowserContext

Coverage = Literal["complete", "partial", "blocked", "failed"]
COVERAGES: tuple[Coverage, ...] = ("complete", "partial", "blocked", "failed")


@dataclass(frozen=True)
class Post:
    """One post as the platform showed it."""

    id: str
    text: str  # the title or the text, HTML removed
    url: str | None
    published_at: dt.datetime  # timezone-aware, in the configured zone
    pinned: bool = False
    # Whether the platform's answer says readers may comment on this post: True open, False
    # closed, None when the answer does not say (the platform has no such field, or left it out).
    # Set only from a field a public source documents (govmon/checks/account_no_interaction.py).
    comments_open: bool | None = None


@dataclass
class AccountSnapshot:
    """What one read of one account saw."""

    coverage: Coverage
    posts: list[Post] = field(default_factory=list)
    reason: str = ""  # Chinese, required unless complete: "平台返回风控校验失败（code -352）"
    login_expired: bool = False  # the saved login no longer works: renew with `govmon login`
    requests: int = 0  # requests made to the platform for this read
    evidence: dict[str, Any] = field(default_factory=dict)  # what was seen: URLs, codes, bodies (short)
    ours: bool = False  # the read failed on our side (no browser, the browser crashed): not the account's doing

    def __post_init__(self) -> None:
        if self.coverage not in COVERAGES:
            raise ValueError(f"unknown coverage {self.coverage!r}")
        if self.coverage != "complete" and not self.reason:
            raise ValueError(f"a {self.coverage} snapshot must say why")


@dataclass(frozen=True)
class AccountRef:
    """The registered account, as the adapter needs it."""

    id: str
    name: str
    platform: str
    url: str


class Pace(Protocol):
    """Per-platform pacing: at most N requests in flight and at least D seconds apart."""

    def slot(self) -> AsyncContextManager[None]:
        """Hold one request slot of this platform (waits for its turn)."""

    def blocked(self) -> None:
        """The platform answered with a block: back off before the next request."""


@dataclass
class ReadContext:
    """Everything an adapter may use to read an account."""

    http: httpx.AsyncClient
    pace: Pace
    timezone: dt.tzinfo
    now: dt.datetime  # the monitoring time point (aware)
    since: dt.datetime  # posts older than this are not needed (paging may stop there)
    max_pages: int = 5
    login_state: Mapping[str, Any] | None = None  # Playwright storage_state of a saved login, if any
    new_browser_context: Callable[..., Awaitable[BrowserContext]] | None = None  # None: no browser


class Adapter(Protocol):
    """A platform adapter."""

    platform: ClassVar[str]
    needs_browser: ClassVar[bool]

    async def read(self, account: AccountRef, ctx: ReadContext) -> AccountSnapshot: ...
