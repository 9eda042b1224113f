"""config.yaml → validated, immutable settings; every error names file, line and key.

:func:`load_config` reads the file with ruamel.yaml's round-trip loader (which keeps the
line of every mapping key and list item), validates a plain copy of it with the pydantic
models below, and maps each pydantic error location (``("sites", 2, "url")``) back to the
line of that key or item. The result is a frozen :class:`Config` or a
:class:`ConfigError`; nothing is ever half-loaded.

The top-level keys are those of INTERFACE.md (``timezone``, ``database``, ``sites``,
``accounts``, ``crawl``, ``cluster``, ``schedule``) plus the sections that carry the
defaults everything else needs: ``checks`` (one block per check id of CHECKS.md),
``lexicon``, ``browser`` and ``report``. Unknown keys are an error everywhere.
"""

from __future__ import annotations

import datetime as dt
import difflib
import functools
import json
import math
import os
import re
import unicodedata
import zoneinfo
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from fractions import Fraction
from pathlib import Path
from types import UnionType
from typing import Annotated, Any, ClassVar, Literal, Union, get_args, get_origin
from urllib.parse import urlsplit

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    PrivateAttr,
    StrictFloat,
    StrictInt,
    StringConstraints,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from ruamel.yaml import YAML
from ruamel.yaml.comments import CommentedMap, CommentedSeq
from ruamel.yaml.error import MarkedYAMLError, YAMLError

from govmon import __version__

__all__ = [
    "CATEGORIES",
    "CHECK_IDS",
    "COLUMN_KINDS",
    "CORE_COLUMN_KINDS",
    "DEFAULT_BAD_LINK_TERMS",
    "DEFAULT_DATABASE_URL",
    "IDENTIFIERS",
    "NETWORK_PROFILES",
    "PLATFORMS",
    "SEVERITIES",
    "Account",
    "BrowserSettings",
    "CheckSettings",
    "ChecksSettings",
    "ClusterSettings",
    "Column",
    "Config",
    "ConfigError",
    "ConfigIssue",
    "CrawlSettings",
    "LexiconSettings",
    "NotificationSettings",
    "PassRateFormat",
    "ReportSettings",
    "ScheduleSettings",
    "Site",
    "TargetNotFound",
    "derive_target_id",
    "format_duration",
    "load_config",
    "parse_duration",
    "read_lexicon_file",
]

DEFAULT_DATABASE_URL = "sqlite:///govmon.db"

# --- enumerations (the values config.yaml accepts, with the words the office uses) ------

Category = Literal["county_portal", "department_site", "department_channel"]
ColumnKind = Literal["news", "notice", "policy", "personnel", "planning", "interaction", "other"]
Platform = Literal["wechat", "weibo", "douyin", "toutiao", "kuaishou", "bilibili", "rss"]
Severity = Literal["veto", "deduct", "notice"]
NetworkProfile = Literal["none", "broadband", "mobile"]
Rounding = Literal["floor", "half_up"]
Identifier = Literal["主办单位", "联系方式", "网站标识码", "ICP备案号", "公安机关备案号", "党政机关网站标识"]

CATEGORIES: dict[str, str] = {
    "county_portal": "县区门户",
    "department_site": "市直部门独立站点",
    "department_channel": "市直部门子频道",
}
COLUMN_KINDS: dict[str, str] = {
    "news": "要闻动态",
    "notice": "通知公告",
    "policy": "政策文件",
    "personnel": "人事信息",
    "planning": "规划计划",
    "interaction": "互动交流",
    "other": "其他",
}
CORE_COLUMN_KINDS: tuple[str, ...] = ("news", "notice", "policy")
"""The column kinds whose staleness counts toward ``column.stale.veto_core_stale``."""
PLATFORMS: dict[str, str] = {
    "wechat": "微信公众号",
    "weibo": "微博",
    "douyin": "抖音",
    "toutiao": "今日头条",
    "kuaishou": "快手",
    "bilibili": "哔哩哔哩",
    "rss": "RSS/Atom 订阅源",
}
SEVERITIES: dict[str, str] = {"veto": "单项否决", "deduct": "扣分", "notice": "提示"}
NETWORK_PROFILES: dict[str, str] = {"none": "不限速", "broadband": "普通宽带", "mobile": "移动网络"}
IDENTIFIERS: tuple[str, ...] = get_args(Identifier)

CHECK_IDS: tuple[str, ...] = (
    "site.unreachable",
    "site.homepage_stale",
    "column.stale",
    "column.empty",
    "content.date_order",
    "content.title_mismatch",
    "content.undated",
    "content.serious_error",
    "links.broken",
    "links.external_unsafe",
    "site.identifiers",
    "page.slow",
    "page.render",
    "site.mobile",
    "site.elderly",
    "account.stale",
    "account.unreachable",
    "account.serious_error",
    "interaction.missing",
    "interaction.unanswered",
    "site.zhaocuo_entry",
    "site.search",
    "site.https",
    "site.ipv6",
    "account.no_interaction",
)
"""Every stable check id of CHECKS.md, in its order."""

DEFAULT_BAD_LINK_TERMS: tuple[str, ...] = (
    "博彩",
    "赌场",
    "赌博",
    "百家乐",
    "时时彩",
    "六合彩",
    "澳门赌场",
    "真人视讯",
    "真人荷官",
    "老虎机",
    "体育投注",
    "网上赌",
    "彩金",
    "色情",
    "成人视频",
    "裸聊",
    "约炮",
)
"""Off-site link texts or targets that make ``links.external_unsafe`` fire (不良外链)."""


# --- errors -----------------------------------------------------------------------------


@dataclass(frozen=True)
class ConfigIssue:
    """One problem in a config: where (1-based line, dotted key) and what (Chinese)."""

    line: int | None
    key: str | None
    message: str


class ConfigError(Exception):
    """A config that cannot be used. ``str(err)`` is one line naming file, line and key:

    ``config.yaml:14: sites[2].url: 不是有效的网址（需要 http:// 或 https:// 开头）: "www.x.gov.cn"``

    ``issues`` holds every problem found (the first, by line, is the one shown).
    """

    def __init__(
        self,
        path: str | os.PathLike[str] | None,
        line: int | None,
        key: str | None,
        message: str,
        *,
        issues: Iterable[ConfigIssue] = (),
    ) -> None:
        self.path = None if path is None else str(path)
        self.line = line
        self.key = key
        self.message = message
        self.issues: tuple[ConfigIssue, ...] = tuple(issues) or (ConfigIssue(line, key, message),)
        super().__init__(str(self))

    @classmethod
    def from_issues(cls, path: str | os.PathLike[str] | None, issues: Iterable[ConfigIssue]) -> ConfigError:
        ordered = sorted(issues, key=lambda i: math.inf if i.line is None else i.line)
        first = ordered[0]
        return cls(path, first.line, first.key, first.message, issues=ordered)

    def __str__(self) -> str:
        where = self.path or "<配置>"
        if self.line is not None:
            where += f":{self.line}"
        text = f"{where}: {self.key}: {self.message}" if self.key else f"{where}: {self.message}"
        if len(self.issues) > 1:
            text += f"（另有 {len(self.issues) - 1} 处错误）"
        return text

    def __reduce__(self):  # keep the error picklable (worker processes)
        return (_rebuild_config_error, (self.path, self.line, self.key, self.message, self.issues))


def _rebuild_config_error(path, line, key, message, issues):  # pragma: no cover - pickling
    return ConfigError(path, line, key, message, issues=issues)


class TargetNotFound(KeyError):
    """``Config.find_target`` found no site or account with that id or name."""

    def __init__(self, query: str, suggestions: Iterable[str] = ()) -> None:
        self.query = query
        self.suggestions = tuple(suggestions)
        super().__init__(query)

    def __str__(self) -> str:
        text = f"配置中没有 id 或名称为 {_quote(self.query)} 的网站或账号"
        if self.suggestions:
            text += "；相近的有：" + "、".join(self.suggestions)
        return text


def _quote(value: Any, limit: int = 80) -> str:
    """A value as the user wrote it, on one line: strings in double quotes."""
    try:
        text = json.dumps(_plain(value), ensure_ascii=False, default=str)
    except (TypeError, ValueError):
        text = repr(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    return text


# --- value types ------------------------------------------------------------------------

Text = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1)]


def _check_url(value: str) -> str:
    bad = f"不是有效的网址（需要 http:// 或 https:// 开头）: {_quote(value)}"
    if any(ch.isspace() for ch in value):
        raise ValueError(f"网址中不能有空格或换行: {_quote(value)}")
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 - raises ValueError on a bad port
    except ValueError:
        raise ValueError(bad) from None
    if parts.scheme.lower() not in ("http", "https"):
        raise ValueError(bad)
    if not parts.hostname:
        raise ValueError(f"网址缺少主机名（应为 http://主机名/路径）: {_quote(value)}")
    return value


Url = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_check_url)]

_ID_FORBIDDEN = re.compile(r"[\s/\\?#%]")


def _check_target_id(value: str) -> str:
    if _ID_FORBIDDEN.search(value):
        raise ValueError(f"id 不能含空格或 / \\ ? # % 等字符: {_quote(value)}")
    if len(value) > 100:
        raise ValueError(f"id 太长（最多 100 个字符）: {_quote(value)}")
    return value


TargetId = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_check_target_id)]


def derive_target_id(name: str) -> str:
    """The stable id of a target registered without one.

    A name with non-ASCII characters is its own id (NFKC-normalised, whitespace and the
    characters an id may not hold removed): ``廉江市政府门户网站``. An ASCII name becomes a
    lowercase slug: ``Zhanjiang Portal`` → ``zhanjiang-portal``. Returns '' when nothing
    usable is left.
    """
    text = unicodedata.normalize("NFKC", name).strip()
    if text.isascii():
        slug = re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")
        if slug:
            return slug
    return _ID_FORBIDDEN.sub("", text)


_DURATION_PART = re.compile(r"(\d+)\s*([dhms])", re.IGNORECASE)
_DURATION_FULL = re.compile(r"(?:\d+\s*[dhms]\s*)+", re.IGNORECASE)
_DURATION_UNITS = {"d": "days", "h": "hours", "m": "minutes", "s": "seconds"}


def parse_duration(value: Any) -> dt.timedelta:
    """``"24h"``, ``"30m"``, ``"90s"``, ``"7d"`` or ``"1h30m"`` → timedelta (> 0).

    Raises ValueError with a Chinese message for anything else ("abc", "0h", 3600).
    """
    if isinstance(value, dt.timedelta):
        delta = value
    elif isinstance(value, str) and _DURATION_FULL.fullmatch(value.strip()):
        delta = dt.timedelta()
        for amount, unit in _DURATION_PART.findall(value):
            delta += dt.timedelta(**{_DURATION_UNITS[unit.lower()]: int(amount)})
    else:
        raise ValueError(
            f"不是有效的时长（写成 数字+单位，单位 s 秒、m 分、h 小时、d 天，如 24h、30m）: {_quote(value)}"
        )
    if delta <= dt.timedelta():
        raise ValueError(f"时长必须大于 0: {_quote(value if not isinstance(value, dt.timedelta) else str(value))}")
    return delta


def format_duration(delta: dt.timedelta) -> str:
    """The shortest config spelling of a duration: 1 day → ``"1d"``, 90 min → ``"1h30m"``."""
    seconds = int(delta.total_seconds())
    parts = []
    for unit, size in (("d", 86400), ("h", 3600), ("m", 60), ("s", 1)):
        amount, seconds = divmod(seconds, size)
        if amount:
            parts.append(f"{amount}{unit}")
    return "".join(parts) or "0s"


Duration = Annotated[dt.timedelta, BeforeValidator(parse_duration)]


@functools.cache
def _time_zone_names() -> tuple[str, ...]:
    return tuple(sorted(zoneinfo.available_timezones()))


def _check_time_zone(value: str) -> str:
    try:
        zoneinfo.ZoneInfo(value)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, OSError):
        close = difflib.get_close_matches(value, _time_zone_names(), n=1, cutoff=0.6)
        hint = f"；是否想写 {_quote(close[0])}？" if close else "（例如 Asia/Shanghai）"
        raise ValueError(f"不是已知的时区: {_quote(value)}{hint}") from None
    return value


TimeZoneName = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_check_time_zone)]


def _check_database_url(value: str) -> str:
    example = "（例如 sqlite:///govmon.db 或 postgresql+psycopg://用户@主机/库名）"
    match = re.match(r"([A-Za-z][A-Za-z0-9+.\-]*)://", value)
    if not match:
        raise ValueError(f"不是有效的数据库地址{example}: {_quote(value)}")
    dialect = match.group(1).split("+", 1)[0].lower()
    if dialect == "postgres":
        raise ValueError(f"数据库地址应以 postgresql:// 或 postgresql+psycopg:// 开头，而不是 postgres://: {_quote(value)}")
    if dialect not in ("sqlite", "postgresql"):
        raise ValueError(f"只支持 SQLite 和 PostgreSQL 数据库{example}: {_quote(value)}")
    return value


DatabaseUrl = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_check_database_url)]


def _check_header_text(value: str) -> str:
    if not all(" " <= ch <= "~" for ch in value):
        raise ValueError(f"只能包含英文字母、数字和符号（HTTP 请求头中不能有中文）: {_quote(value)}")
    return value


HeaderText = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_check_header_text)]


def _base_dir(info: ValidationInfo) -> Path:
    context = info.context if isinstance(info.context, dict) else {}
    return Path(context.get("base_dir") or Path.cwd())


def _resolve(value: Path, info: ValidationInfo) -> Path:
    path = value.expanduser()
    return path if path.is_absolute() else _base_dir(info) / path


def read_lexicon_file(path: Path) -> tuple[str, ...]:
    """The terms of a lexicon file: UTF-8 text, one term a line; blank lines and lines
    starting with ``#`` are skipped. Raises ValueError (Chinese) when it cannot be read."""
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise ValueError(f"无法读取词库文件 {_quote(str(path))}: {exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ValueError(
            f"词库文件不是 UTF-8 编码（第 {line} 行起无法读取），请另存为 UTF-8: {_quote(str(path))}"
        ) from None
    terms = []
    for line in text.splitlines():
        term = line.strip()
        if term and not term.startswith("#"):
            terms.append(term)
    return tuple(terms)


def _load_lexicon_file(value: Path, info: ValidationInfo) -> Path:
    path = _resolve(value, info)
    if not path.is_file():
        raise ValueError(
            f"找不到词库文件 {_quote(str(value))}（相对路径从配置文件所在目录 {_base_dir(info)} 算起）"
        )
    terms = read_lexicon_file(path)
    if isinstance(info.context, dict):
        info.context.setdefault("lexicon_terms", {})[path] = terms
    return path


LexiconFile = Annotated[Path, AfterValidator(_load_lexicon_file)]


def _check_executable(value: Path, info: ValidationInfo) -> Path:
    path = _resolve(value, info)
    if not path.is_file():
        raise ValueError(f"找不到浏览器程序: {_quote(str(value))}（不填则自动查找 /usr/bin/chromium）")
    return path


Executable = Annotated[Path, AfterValidator(_check_executable)]


def _check_ca_file(value: Path, info: ValidationInfo) -> Path:
    path = _resolve(value, info)
    if not path.is_file():
        raise ValueError(f"找不到证书文件: {_quote(str(value))}（PEM 格式的 CA 证书，相对路径从配置文件所在目录算起）")
    return path


CaFile = Annotated[Path, AfterValidator(_check_ca_file)]


# --- models -----------------------------------------------------------------------------


def _unwrap(annotation: Any) -> Any:
    """Strip ``Annotated`` and ``X | None`` down to the type that carries the value."""
    while True:
        origin = get_origin(annotation)
        if origin is Annotated:
            annotation = get_args(annotation)[0]
        elif origin in (Union, UnionType):
            args = [a for a in get_args(annotation) if a is not type(None)]
            if len(args) != 1:
                return annotation
            annotation = args[0]
        else:
            return annotation


def _is_section(annotation: Any) -> bool:
    inner = _unwrap(annotation)
    if get_origin(inner) is tuple:
        return True
    return isinstance(inner, type) and issubclass(inner, BaseModel)


class _Section(BaseModel):
    """A frozen, closed block of config.yaml: unknown keys are errors, nothing changes later.

    A section or list written with nothing after its colon (``crawl:``) means its defaults.
    """

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)

    @model_validator(mode="before")
    @classmethod
    def _blank_means_default(cls, data: Any) -> Any:
        if isinstance(data, Mapping):
            blank = _defaulted_sections(cls)
            if blank and any(data.get(key, 0) is None for key in blank):
                data = {k: v for k, v in data.items() if not (v is None and k in blank)}
        return data


@functools.cache
def _defaulted_sections(model: type[BaseModel]) -> frozenset[str]:
    """The keys of ``model`` holding a section or list that has a default."""
    return frozenset(
        field.alias or name
        for name, field in model.model_fields.items()
        if not field.is_required() and _is_section(field.annotation)
    )


class Column(_Section):
    """A column (栏目) of a site whose list the crawler reads."""

    name: Text
    url: Url
    kind: ColumnKind | None = None  # None: classified later from the column's name


class Site(_Section):
    """A registered government website (or a department channel within one)."""

    kind: ClassVar[str] = "site"

    id: TargetId
    name: Text
    organizer: Text | None = None
    category: Category
    url: Url
    columns: tuple[Column, ...] = ()
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _derive_id(cls, data: Any) -> Any:
        return _with_derived_id(data)

    @property
    def host(self) -> str:
        return (urlsplit(self.url).hostname or "").lower()


class Account(_Section):
    """A registered government new-media account."""

    kind: ClassVar[str] = "account"

    id: TargetId
    name: Text
    organizer: Text | None = None
    platform: Platform
    url: Url
    enabled: bool = True

    @model_validator(mode="before")
    @classmethod
    def _derive_id(cls, data: Any) -> Any:
        return _with_derived_id(data)


def _with_derived_id(data: Any) -> Any:
    if isinstance(data, Mapping) and data.get("id") is None:
        name = data.get("name")
        if isinstance(name, (int, float)) and not isinstance(name, bool):
            name = str(name)
        if not isinstance(name, str) or not name.strip():
            return {**data, "id": "_"}  # the missing or bad name is the error to report
        derived = derive_target_id(name)
        if not derived:
            raise ValueError(f"无法由名称 {_quote(name)} 生成 id，请填写 id")
        data = {**data, "id": derived}
    return data


def _check_download_delay(value: float) -> float:
    if not value > 0:
        raise ValueError(
            "必须大于 0（例如 0.25）：Scrapy 2.14 及以后版本在下载间隔为 0 时不再遵守 concurrency_per_domain，"
            f"会同时向一个网站发出大量请求: {value:g}"
        )
    return value


DownloadDelay = Annotated[StrictFloat, AfterValidator(_check_download_delay)]


class CrawlSettings(_Section):
    """How sites are crawled (Scrapy) and single pages fetched (httpx)."""

    allow_private_addresses: bool = False
    concurrency_per_domain: StrictInt = Field(4, ge=1)
    download_delay_s: DownloadDelay = 0.25
    timeout_s: StrictFloat = Field(15.0, gt=0)
    retries: StrictInt = Field(2, ge=0)
    contact: HeaderText | None = None
    user_agent: HeaderText
    max_pages_per_site: StrictInt = Field(2000, ge=1)
    max_link_checks: StrictInt = Field(20000, ge=0)  # link requests per site scan
    max_depth: StrictInt = Field(4, ge=0)
    articles_per_column: StrictInt = Field(5, ge=0)
    messages_per_column: StrictInt = Field(30, ge=0)  # messages read per interaction column (领导信箱…)
    list_pages_per_column: StrictInt = Field(3, ge=1)
    max_page_bytes: StrictInt = Field(5_000_000, ge=1024)
    max_redirects: StrictInt = Field(5, ge=0)
    retry_after_max_s: StrictFloat = Field(120.0, ge=0)
    obey_robots: bool = True
    concurrent_sites: StrictInt = Field(4, ge=1)  # sites scanned at once by one process

    @model_validator(mode="before")
    @classmethod
    def _default_user_agent(cls, data: Any) -> Any:
        """No (or a blank) ``user_agent``: ``govmon/<version>``, plus ``(+contact)`` if given."""
        if not isinstance(data, Mapping):
            return data
        agent = data.get("user_agent")
        if agent is not None and not (isinstance(agent, str) and not agent.strip()):
            return data
        agent = f"govmon/{__version__}"
        contact = data.get("contact")
        if isinstance(contact, str) and contact.strip():
            try:
                agent += f" (+{_check_header_text(contact.strip())})"
            except ValueError:
                pass  # reported on ``contact`` itself
        return {**data, "user_agent": agent}


class TlsSettings(_Section):
    """How a scan observes a site's HTTPS (site.https): the trust store and where https:// answers.

    Certificates are verified against the system's CAs plus ``extra_ca_file`` (a PEM file) when
    given. ``https_port``: the port https:// is tried on for a site registered with http://
    (a site registered with https:// is observed on its own port).
    """

    extra_ca_file: CaFile | None = None
    https_port: StrictInt = Field(443, ge=1, le=65535)
    timeout_s: StrictFloat = Field(10.0, gt=0)


class PaceSettings(_Section):
    """How hard one platform is read: requests in flight, seconds between them, back-off."""

    concurrency: StrictInt = Field(1, ge=1)
    interval_s: StrictFloat = Field(2.0, ge=0)
    backoff_s: StrictFloat = Field(30.0, ge=0)  # after a refusal; doubles with each further one
    backoff_max_s: StrictFloat = Field(900.0, ge=0)


class PlatformsSettings(_Section):
    """Reading new-media accounts: pace per platform, pages per read, where logins are kept."""

    pace: PaceSettings = PaceSettings()
    pace_overrides: dict[Platform, PaceSettings] = Field(default_factory=dict)
    max_pages: StrictInt = Field(5, ge=1)
    # saved logins (govmon login), relative to the config's folder; default: ~/.local/share/govmon/logins
    secrets_dir: Annotated[Path, AfterValidator(_resolve)] | None = None
    timeout_s: StrictFloat = Field(15.0, gt=0)  # one request of an httpx adapter
    concurrent_reads: StrictInt = Field(8, ge=1)  # accounts read at once (each platform keeps its pace)

    def pace_for(self, platform: str) -> PaceSettings:
        return self.pace_overrides.get(platform, self.pace)  # type: ignore[call-overload]


class ConsoleSettings(_Section):
    """``console:``: the web console inside ``govmon run`` (``govmon serve`` runs it on its own)."""

    enabled: bool = False
    host: HeaderText = "127.0.0.1"  # only this machine by default
    port: StrictInt = Field(8400, ge=1, le=65535)
    secure_cookies: bool = False  # true when served behind HTTPS


class ClusterSettings(_Section):
    """Several machines (``govmon worker``) sharing one PostgreSQL database through procrastinate.

    ``database``: the queue's PostgreSQL (default: the main ``database``, which must then be
    PostgreSQL too: workers on other machines write their scans there). ``concurrency``: scans
    one worker runs at once. ``stalled_timeout``: a worker silent this long is taken as dead;
    its scans are retried on another worker and its scan leases expire.
    """

    enabled: bool = False
    database: DatabaseUrl | None = None
    concurrency: StrictInt = Field(4, ge=1, le=256)
    stalled_timeout: Duration = dt.timedelta(seconds=30)
    retry_wait: Duration = dt.timedelta(seconds=10)  # before a scan that could not run (busy, interrupted) is retried
    max_attempts: StrictInt = Field(5, ge=1)  # tries of one queued scan before it is reported failed

    @field_validator("stalled_timeout")
    @classmethod
    def _at_least_three_seconds(cls, value: dt.timedelta) -> dt.timedelta:
        if value < dt.timedelta(seconds=3):
            raise ValueError("stalled_timeout 至少为 3 秒（心跳间隔为它的三分之一）")
        return value


_TIME_OF_DAY = re.compile(r"([01]?\d|2[0-3]):([0-5]\d)")


def _parse_nightly(value: Any) -> dt.time | dt.timedelta:
    if isinstance(value, (dt.time, dt.timedelta)):
        return value
    if isinstance(value, str) and (match := _TIME_OF_DAY.fullmatch(value.strip())):
        return dt.time(int(match[1]), int(match[2]))
    try:
        return parse_duration(value)
    except ValueError:
        raise ValueError(
            f"应为每天的时刻（如 02:30）或时长（如 30s，用于测试）: {_quote(value)}"
        ) from None


NightlySchedule = Annotated[dt.time | dt.timedelta, BeforeValidator(_parse_nightly)]


class ScheduleSettings(_Section):
    sites: Duration = dt.timedelta(hours=24)
    accounts: Duration = dt.timedelta(hours=6)
    probes: Duration = dt.timedelta(hours=1)
    max_concurrent_scans: StrictInt = Field(2, ge=1)  # scans `govmon run` runs at once
    misfire_grace: Duration = dt.timedelta(hours=1)  # a job late by more is skipped to its next time
    service_lease: Duration = dt.timedelta(seconds=60)  # a killed service's lease frees after this
    rescan_poll: Duration = dt.timedelta(seconds=2)  # how often the service looks for rescan requests
    # The nightly re-judgement and rollup: a time of day ("02:30", in ``timezone``) or, for
    # tests and soaks, a period ("30s").
    nightly: NightlySchedule = dt.time(2, 30)


# --- checks: one block per check id, keyed by the id itself ------------------------------


class CheckSettings(_Section):
    """What every check accepts: switch it off, override its severity, and the points a
    deduct finding of it costs on the 100-point portal score (``points`` per finding,
    ``max_points`` per site and period; None = no cap)."""

    enabled: bool = True
    severity: Severity | None = None
    points: StrictFloat = Field(0.0, ge=0, le=100)
    max_points: StrictFloat | None = Field(None, ge=0, le=100)


class SiteUnreachableSettings(CheckSettings):
    timeout_s: StrictFloat = Field(15.0, gt=0)
    min_probes_per_day: StrictInt = Field(20, ge=1)
    window_days: StrictInt = Field(7, ge=1)
    veto_failure_ratio: StrictFloat = Field(0.05, gt=0, le=1)
    warn_failure_ratio: StrictFloat = Field(0.03, gt=0, le=1)

    @model_validator(mode="after")
    def _ordered(self) -> SiteUnreachableSettings:
        if self.warn_failure_ratio > self.veto_failure_ratio:
            raise ValueError(
                f"warn_failure_ratio（{self.warn_failure_ratio}）不能大于 veto_failure_ratio（{self.veto_failure_ratio}）"
            )
        return self


class HomepageStaleSettings(CheckSettings):
    days: StrictInt = Field(14, ge=1)


class ColumnStaleDays(_Section):
    """Days without a new item after which a column of each kind is stale (null: not judged)."""

    news: StrictInt | None = Field(14, ge=1)
    notice: StrictInt | None = Field(180, ge=1)
    policy: StrictInt | None = Field(180, ge=1)
    personnel: StrictInt | None = Field(365, ge=1)
    planning: StrictInt | None = Field(365, ge=1)
    interaction: StrictInt | None = Field(None, ge=1)
    other: StrictInt | None = Field(None, ge=1)

    def for_kind(self, kind: str | None) -> int | None:
        return getattr(self, kind or "other")


class ColumnStaleSettings(CheckSettings):
    days: ColumnStaleDays = ColumnStaleDays()
    veto_core_stale: StrictInt = Field(5, ge=1)
    veto_any_stale: StrictInt = Field(10, ge=1)
    points: StrictFloat = Field(5.0, ge=0, le=100)


class ColumnEmptySettings(CheckSettings):
    veto_count: StrictInt = Field(5, ge=1)
    points: StrictFloat = Field(5.0, ge=0, le=100)


class TitleMismatchSettings(CheckSettings):
    min_similarity: StrictFloat = Field(0.5, ge=0, le=1)


class LinksBrokenSettings(CheckSettings):
    timeout_s: StrictFloat = Field(15.0, gt=0)
    retries: StrictInt = Field(2, ge=0)
    home_points: StrictFloat = Field(1.0, ge=0, le=100)
    points: StrictFloat = Field(0.1, ge=0, le=100)


class IdentifiersSettings(CheckSettings):
    required: tuple[Identifier, ...] = IDENTIFIERS
    points: StrictFloat = Field(1.0, ge=0, le=100)


class PageSlowSettings(CheckSettings):
    load_ms: StrictInt = Field(3000, ge=1)
    network_profile: NetworkProfile | None = None  # None: browser.network_profile
    points: StrictFloat = Field(1.0, ge=0, le=100)


class PageRenderSettings(CheckSettings):
    points: StrictFloat = Field(1.0, ge=0, le=100)


class MobileSettings(CheckSettings):
    viewport_px: StrictInt = Field(375, ge=200, le=1200)
    points: StrictFloat = Field(2.0, ge=0, le=100)


class ElderlySettings(CheckSettings):
    entry_words: tuple[Text, ...] = ("长者模式", "适老化", "无障碍", "关怀版")
    min_contrast: StrictFloat = Field(4.5, ge=1, le=21)
    points: StrictFloat = Field(2.0, ge=0, le=100)


class AccountStaleSettings(CheckSettings):
    veto_days: StrictInt = Field(14, ge=1)
    flag_days: StrictInt = Field(7, ge=1)

    @model_validator(mode="after")
    def _ordered(self) -> AccountStaleSettings:
        if self.flag_days > self.veto_days:
            raise ValueError(f"flag_days（{self.flag_days}）不能大于 veto_days（{self.veto_days}）")
        return self


class NoInteractionSettings(CheckSettings):
    """``account.no_interaction``: the recent posts judged are those of the last ``window_days``
    (the national two-week window of ``account.stale``); fewer than ``min_posts`` judge nothing."""

    window_days: StrictInt = Field(14, ge=1)
    min_posts: StrictInt = Field(3, ge=1)


class InteractionMissingSettings(CheckSettings):
    excluded_channels: tuple[Text, ...] = ("网上信访", "纪检举报")


class InteractionUnansweredSettings(CheckSettings):
    veto_unanswered_days: StrictInt = Field(90, ge=1)
    deduct_no_reply_days: StrictInt = Field(60, ge=1)
    lookback_days: StrictInt = Field(365, ge=1)
    excluded_columns: tuple[Text, ...] = ("在线访谈", "征集调查", "网上信访", "纪检举报")
    points: StrictFloat = Field(3.0, ge=0, le=100)


DEFAULT_TRUSTED_NEWS_DOMAINS: tuple[str, ...] = (
    "people.com.cn",
    "xinhuanet.com",
    "news.cn",
    "cctv.com",
    "chinanews.com.cn",
    "gmw.cn",
    "cnr.cn",
    "china.com.cn",
    "chinadaily.com.cn",
    "12371.cn",
    "qstheory.cn",
    "xuexi.cn",
)


class ExternalUnsafeSettings(CheckSettings):
    """links.external_unsafe: hosts (with their subdomains) never reported besides *.gov.cn."""

    trusted_domains: tuple[Text, ...] = DEFAULT_TRUSTED_NEWS_DOMAINS


class ZhaocuoEntrySettings(CheckSettings):
    points: StrictFloat = Field(2.0, ge=0, le=100)


class SearchSettings(CheckSettings):
    points: StrictFloat = Field(2.0, ge=0, le=100)
    categories: tuple[Category, ...] = ("county_portal",)  # the site categories asked for a working search


class HttpsSettings(CheckSettings):
    expiry_warn_days: StrictInt = Field(30, ge=0)


def _check(model: type[CheckSettings], check_id: str) -> Any:
    return Field(default=model(), alias=check_id)


class ChecksSettings(_Section):
    """``checks:``: ``fail_below`` of the portal score and one block per check id."""

    fail_below: StrictFloat = Field(60.0, gt=0, le=100)
    site_unreachable: SiteUnreachableSettings = _check(SiteUnreachableSettings, "site.unreachable")
    site_homepage_stale: HomepageStaleSettings = _check(HomepageStaleSettings, "site.homepage_stale")
    column_stale: ColumnStaleSettings = _check(ColumnStaleSettings, "column.stale")
    column_empty: ColumnEmptySettings = _check(ColumnEmptySettings, "column.empty")
    content_date_order: CheckSettings = _check(CheckSettings, "content.date_order")
    content_title_mismatch: TitleMismatchSettings = _check(TitleMismatchSettings, "content.title_mismatch")
    content_undated: CheckSettings = _check(CheckSettings, "content.undated")
    content_serious_error: CheckSettings = _check(CheckSettings, "content.serious_error")
    links_broken: LinksBrokenSettings = _check(LinksBrokenSettings, "links.broken")
    links_external_unsafe: ExternalUnsafeSettings = _check(ExternalUnsafeSettings, "links.external_unsafe")
    site_identifiers: IdentifiersSettings = _check(IdentifiersSettings, "site.identifiers")
    page_slow: PageSlowSettings = _check(PageSlowSettings, "page.slow")
    page_render: PageRenderSettings = _check(PageRenderSettings, "page.render")
    site_mobile: MobileSettings = _check(MobileSettings, "site.mobile")
    site_elderly: ElderlySettings = _check(ElderlySettings, "site.elderly")
    account_stale: AccountStaleSettings = _check(AccountStaleSettings, "account.stale")
    account_unreachable: CheckSettings = _check(CheckSettings, "account.unreachable")
    account_serious_error: CheckSettings = _check(CheckSettings, "account.serious_error")
    interaction_missing: InteractionMissingSettings = _check(InteractionMissingSettings, "interaction.missing")
    interaction_unanswered: InteractionUnansweredSettings = _check(
        InteractionUnansweredSettings, "interaction.unanswered"
    )
    site_zhaocuo_entry: ZhaocuoEntrySettings = _check(ZhaocuoEntrySettings, "site.zhaocuo_entry")
    site_search: SearchSettings = _check(SearchSettings, "site.search")
    site_https: HttpsSettings = _check(HttpsSettings, "site.https")
    site_ipv6: CheckSettings = _check(CheckSettings, "site.ipv6")
    account_no_interaction: NoInteractionSettings = _check(NoInteractionSettings, "account.no_interaction")

    def get(self, check_id: str) -> CheckSettings:
        """The settings of one check by its id (``"column.stale"``); KeyError if unknown."""
        name = _CHECK_FIELDS.get(check_id)
        if name is None:
            close = difflib.get_close_matches(check_id, CHECK_IDS, n=1, cutoff=0.6)
            hint = f"；是否想写 {_quote(close[0])}？" if close else ""
            raise KeyError(f"没有 id 为 {_quote(check_id)} 的检查项{hint}")
        return getattr(self, name)


_CHECK_FIELDS: dict[str, str] = {
    field.alias: name for name, field in ChecksSettings.model_fields.items() if field.alias
}
assert tuple(_CHECK_FIELDS) == CHECK_IDS, "ChecksSettings must have one block per CHECKS.md id"


# --- lexicon, browser, report ------------------------------------------------------------


class LexiconSettings(_Section):
    """Word lists: serious expression errors (listed here and/or in files) and bad links."""

    serious_errors: tuple[Text, ...] = ()
    files: tuple[LexiconFile, ...] = ()
    bad_links: tuple[Text, ...] = DEFAULT_BAD_LINK_TERMS

    _file_terms: tuple[str, ...] = PrivateAttr(default=())

    def model_post_init(self, context: Any, /) -> None:
        loaded = context.get("lexicon_terms", {}) if isinstance(context, dict) else {}
        terms: list[str] = []
        for path in self.files:
            terms.extend(loaded[path] if path in loaded else read_lexicon_file(path))
        self._file_terms = tuple(terms)

    @property
    def serious_error_terms(self) -> tuple[str, ...]:
        """Every serious-error term, from ``serious_errors`` then the files, each once."""
        return tuple(dict.fromkeys((*self.serious_errors, *self._file_terms)))


class BrowserSettings(_Section):
    enabled: bool = True
    executable: Executable | None = None  # None: found automatically (/usr/bin/chromium)
    network_profile: NetworkProfile = "none"
    contexts: StrictInt = Field(1, ge=1, le=16)  # targets measured at once by one process
    loads: StrictInt = Field(3, ge=1, le=10)  # loads per page; the median is judged
    articles: StrictInt = Field(3, ge=0)  # articles measured per site, besides the home and list pages
    timeout_s: StrictFloat = Field(15.0, gt=0)  # a load not finished by then counts as this long


class PassRateFormat(_Section):
    """How a pass rate (合格率) prints: ``digits`` after the point, ``rounding`` to get there."""

    digits: StrictInt = Field(0, ge=0, le=4)
    rounding: Rounding = "half_up"

    def value(self, passed: int, total: int) -> Decimal:
        """``passed / total`` in percent, rounded as configured (exact, no float error)."""
        if total <= 0:
            raise ValueError("total must be positive")
        scaled = Fraction(100 * passed, total) * 10**self.digits
        if self.rounding == "half_up":
            scaled += Fraction(1, 2)
        return Decimal(math.floor(scaled)).scaleb(-self.digits)

    def format(self, passed: int, total: int) -> str:
        """``"91%"``, ``"99.5%"``; ``"—"`` when there is nothing to rate."""
        if total <= 0:
            return "—"
        return f"{self.value(passed, total)}%"


class WebsitePassRateFormat(PassRateFormat):
    digits: StrictInt = Field(0, ge=0, le=4)
    rounding: Rounding = "half_up"


class NewMediaPassRateFormat(PassRateFormat):
    digits: StrictInt = Field(1, ge=0, le=4)
    rounding: Rounding = "floor"


class ReportSettings(_Section):
    """How the quarterly report prints pass rates: websites 91% / 96%, new media 99.5%."""

    websites: WebsitePassRateFormat = WebsitePassRateFormat()
    new_media: NewMediaPassRateFormat = NewMediaPassRateFormat()


# --- notifications (govmon.alerts) ---------------------------------------------------------

WebhookFormat = Literal["wecom", "dingtalk", "json"]
_EMAIL = re.compile(r"[^@\s<>]+@[^@\s<>]+")


def _check_email(value: str) -> str:
    if not _EMAIL.fullmatch(value):
        raise ValueError(f"不是有效的电子邮件地址: {_quote(value)}")
    return value


Email = Annotated[str, StringConstraints(strip_whitespace=True, min_length=1), AfterValidator(_check_email)]


def _check_password_file(value: Path, info: ValidationInfo) -> Path:
    path = _resolve(value, info)
    if not path.is_file():
        raise ValueError(f"找不到密码文件 {_quote(str(value))}（相对路径从配置文件所在目录 {_base_dir(info)} 算起）")
    return path


PasswordFile = Annotated[Path, AfterValidator(_check_password_file)]


class WebhookChannel(_Section):
    """A group robot or any HTTP receiver; ``secret`` signs DingTalk requests (加签)."""

    format: WebhookFormat
    url: Url
    secret: Text | None = None

    @model_validator(mode="after")
    def _secret_only_for_dingtalk(self) -> WebhookChannel:
        if self.secret is not None and self.format != "dingtalk":
            raise ValueError("secret（加签密钥）只用于钉钉机器人（format: dingtalk）")
        return self


class SmtpChannel(_Section):
    """E-mail over SMTP; the password is read from ``password_file`` when sending, never logged."""

    host: Text
    port: StrictInt = Field(25, ge=1, le=65535)
    starttls: bool = False
    username: Text | None = None
    password_file: PasswordFile | None = None
    sender: Email = Field(alias="from")
    to: tuple[Email, ...] = Field(min_length=1)
    timeout_s: StrictFloat = Field(30.0, gt=0)

    @model_validator(mode="after")
    def _login_complete(self) -> SmtpChannel:
        if (self.username is None) != (self.password_file is None):
            raise ValueError("username 和 password_file 须同时填写（或都不填，不登录）")
        return self


class NotificationSettings(_Section):
    """Alerts on new and resolved findings: one digest per target per scan, to every channel."""

    min_severity: Severity = "veto"
    webhooks: tuple[WebhookChannel, ...] = ()
    smtp: SmtpChannel | None = None
    timeout_s: StrictFloat = Field(10.0, gt=0)  # one webhook request
    retry_initial: Duration = dt.timedelta(seconds=30)  # the first retry waits this long, doubling after
    retry_max: Duration = dt.timedelta(hours=1)  # ... up to this
    max_attempts: StrictInt = Field(12, ge=1)  # then the delivery is given up (status failed)
    retry_poll: Duration = dt.timedelta(seconds=30)  # how often `govmon run` retries pending deliveries


# --- the whole config ----------------------------------------------------------------------


def _normalise_key(text: str) -> str:
    """How ids and names are compared for --target and for duplicates."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text)).casefold()


class Config(_Section):
    """The validated config.yaml. Build it with :func:`load_config` or :meth:`from_mapping`."""

    timezone: TimeZoneName = "Asia/Shanghai"
    database: DatabaseUrl | None = None
    sites: tuple[Site, ...] = ()
    accounts: tuple[Account, ...] = ()
    crawl: CrawlSettings = CrawlSettings()
    tls: TlsSettings = TlsSettings()
    platforms: PlatformsSettings = PlatformsSettings()
    cluster: ClusterSettings = ClusterSettings()
    schedule: ScheduleSettings = ScheduleSettings()
    checks: ChecksSettings = ChecksSettings()
    lexicon: LexiconSettings = LexiconSettings()
    browser: BrowserSettings = BrowserSettings()
    report: ReportSettings = ReportSettings()
    notifications: NotificationSettings = NotificationSettings()
    console: ConsoleSettings = ConsoleSettings()

    @model_validator(mode="after")
    def _cluster_needs_postgres(self) -> "Config":
        if self.cluster.enabled:
            for label, url in (("database", self.database), ("cluster.database", self.cluster.database)):
                if url is not None and not url.lower().startswith("postgresql"):
                    raise ValueError(f"cluster.enabled 需要 PostgreSQL 数据库，但 {label} 是 {url.split(':', 1)[0]}：多台机器只能共享 PostgreSQL")
            if self.database is None:
                raise ValueError("cluster.enabled 需要在 database 中配置 PostgreSQL 数据库（多台机器共享它；默认的 SQLite 只能单机使用）")
        return self

    _path: Path | None = PrivateAttr(default=None)
    _base_dir: Path = PrivateAttr(default_factory=Path.cwd)
    _source: str = PrivateAttr(default="<memory>")
    _index: dict[str, Site | Account] = PrivateAttr(default_factory=dict)

    def model_post_init(self, context: Any, /) -> None:
        if isinstance(context, dict):
            self._path = context.get("path")
            self._base_dir = Path(context.get("base_dir") or Path.cwd())
            self._source = str(context.get("source") or self._path or "<memory>")
        index: dict[str, Site | Account] = {}
        for target in self.targets:
            for key in (target.id, target.name):
                index.setdefault(key, target)
        for target in self.targets:
            for key in (target.id, target.name):
                index.setdefault(_normalise_key(key), target)
        self._index = index


    # -- construction --

    @classmethod
    def from_mapping(
        cls,
        data: Mapping[str, Any] | None,
        source: str = "<memory>",
        *,
        base_dir: str | os.PathLike[str] | None = None,
    ) -> Config:
        """Validate a plain mapping (tests, the demo) exactly as a file would be.

        Errors are :class:`ConfigError` with ``path == source`` and no line; relative
        lexicon files are resolved against ``base_dir`` (default: the current directory).
        """
        return _validate(data or {}, tree=None, source=source, path=None, base_dir=base_dir)

    # -- where it came from --

    @property
    def path(self) -> Path | None:
        """The absolute path of the file it was loaded from (None for :meth:`from_mapping`)."""
        return self._path

    @property
    def base_dir(self) -> Path:
        """The folder relative paths in the config are resolved against."""
        return self._base_dir

    @property
    def source(self) -> str:
        return self._source

    # -- lookups --

    @property
    def tzinfo(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.timezone)

    @property
    def database_url(self) -> str:
        """``database`` or the default ``sqlite:///govmon.db``."""
        return self.database or DEFAULT_DATABASE_URL

    @property
    def targets(self) -> tuple[Site | Account, ...]:
        """Every registered site, then every account, in file order."""
        return (*self.sites, *self.accounts)

    def find_target(self, name_or_id: str) -> Site | Account:
        """The site or account whose ``id`` or ``name`` is ``name_or_id``.

        Exact matches win; otherwise ids and names are compared NFKC-normalised, without
        whitespace and case-insensitively. Raises :class:`TargetNotFound` (a KeyError)
        listing near matches.
        """
        query = name_or_id.strip()
        found = self._index.get(query) or self._index.get(_normalise_key(query))
        if found is not None:
            return found
        raise TargetNotFound(name_or_id, self._near_targets(query))

    def _near_targets(self, query: str, limit: int = 5) -> list[str]:
        def label(target: Site | Account) -> str:
            return target.name if target.id == target.name else f"{target.name}（{target.id}）"

        wanted = _normalise_key(query)
        scored: list[tuple[float, int, str]] = []
        for order, target in enumerate(self.targets):
            best = 0.0
            for key in (_normalise_key(target.id), _normalise_key(target.name)):
                if wanted and (wanted in key or key in wanted):
                    best = max(best, 1.0)
                best = max(best, difflib.SequenceMatcher(None, wanted, key).ratio())
            if best >= 0.5:
                scored.append((-best, order, label(target)))
        return [text for _, _, text in sorted(scored)[:limit]]

    def check_settings(self, check_id: str) -> CheckSettings:
        """The settings of one check (``enabled``, ``severity``, ``points``, thresholds)."""
        return self.checks.get(check_id)


# --- loading ------------------------------------------------------------------------------


def load_config(path: str | os.PathLike[str]) -> Config:
    """Read and validate a config.yaml; raises :class:`ConfigError` naming file, line, key."""
    display = os.fspath(path)
    file = Path(path)
    tree = _read_yaml(file, display)
    data = _plain(tree)
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise ConfigError(display, 1, None, "配置文件的最外层应为“键: 值”形式（timezone、sites、accounts…），而不是列表或单个值")
    absolute = Path(os.path.abspath(file))
    return _validate(data, tree=tree, source=display, path=absolute, base_dir=absolute.parent)


_YAML_PROBLEMS = (
    ("found duplicate key", "同一层中出现了重复的键"),
    ("cannot start any token", "不能用 Tab 键缩进，请改用空格"),
    ("mapping values are not allowed here", "此处不能出现“键: 值”（缩进不对，或值中的冒号后有空格却没有加引号）"),
    ("could not find expected ':'", "缺少冒号“:”"),
    ("did not find expected key", "缩进不一致，或列表项缺少“- ”"),
    ("did not find expected '-' indicator", "列表项缺少“- ”或缩进不一致"),
    ("expected <block end>", "缩进不一致"),
    ("found unexpected end of stream", "文件意外结束（可能缺少配对的引号或括号）"),
    ("found undefined alias", "引用了未定义的锚点（*名称）"),
    ("expected a single document", "文件中只能有一个 YAML 文档（不要用 --- 分隔多个）"),
    ("expected ',' or ']'", "方括号列表 [...] 没有正确结束"),
    ("expected ',' or '}'", "花括号映射 {...} 没有正确结束"),
    ("found unknown escape character", "双引号字符串中有无效的转义字符（Windows 路径请用单引号）"),
)


def _read_yaml(file: Path, display: str) -> Any:
    try:
        raw = file.read_bytes()
    except FileNotFoundError:
        raise ConfigError(
            display,
            None,
            None,
            f"找不到配置文件（当前目录 {Path.cwd()}）；可复制项目中的 config.yaml 示例修改后使用，或用 --config 指定路径",
        ) from None
    except IsADirectoryError:
        raise ConfigError(display, None, None, "这是一个目录，不是配置文件") from None
    except PermissionError:
        raise ConfigError(display, None, None, "没有读取该配置文件的权限") from None
    except OSError as exc:
        raise ConfigError(display, None, None, f"无法读取配置文件：{exc.strerror or exc}") from None
    try:
        text = raw.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        line = raw[: exc.start].count(b"\n") + 1
        raise ConfigError(
            display, line, None, "配置文件不是 UTF-8 编码；请用 UTF-8 另存（记事本“另存为”时编码选 UTF-8）"
        ) from None
    try:
        return YAML(typ="rt").load(text)
    except MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = (exc.problem or exc.context or "").strip()
        meaning = next((zh for en, zh in _YAML_PROBLEMS if en in problem), None)
        if problem.startswith("found duplicate key"):
            match = re.search(r'found duplicate key "(.*?)"', problem)
            name = match.group(1) if match else "?"
            first = exc.context_mark.line + 1 if exc.context_mark is not None else None
            where = f"（所在映射从第 {first} 行开始）" if first else ""
            message = f"YAML 语法错误：键 {_quote(name)} 重复出现{where}"
        elif meaning:
            message = f"YAML 语法错误：{meaning}（{problem}）"
        else:
            message = f"YAML 语法错误：{problem or exc}"
        raise ConfigError(display, line, None, message) from None
    except YAMLError as exc:
        raise ConfigError(display, None, None, f"YAML 语法错误：{exc}") from None


def _plain(node: Any) -> Any:
    """ruamel's round-trip objects → plain dict / list / str / int / float / bool."""
    if isinstance(node, Mapping):
        return {_plain(k): _plain(v) for k, v in node.items()}
    if isinstance(node, (list, tuple)) and not isinstance(node, str):
        return [_plain(v) for v in node]
    if isinstance(node, bool) or node is None:
        return node
    if type(node).__name__ == "ScalarBoolean":
        return bool(node)
    if isinstance(node, str):
        return str(node)
    if isinstance(node, int):
        return int(node)
    if isinstance(node, float):
        return float(node)
    if type(node).__name__ == "TaggedScalar":
        return str(getattr(node, "value", node))
    return node


def _validate(
    data: Any,
    *,
    tree: Any,
    source: str,
    path: Path | None,
    base_dir: str | os.PathLike[str] | None,
) -> Config:
    context = {
        "path": path,
        "source": source,
        "base_dir": Path(base_dir) if base_dir is not None else Path.cwd(),
        "lexicon_terms": {},
    }
    try:
        config = Config.model_validate(data, context=context)
    except ValidationError as exc:
        issues = [_issue_from_error(error, tree) for error in exc.errors(include_url=False)]
        raise ConfigError.from_issues(source, issues) from None
    issues = _registry_issues(config, tree, data)
    if issues:
        raise ConfigError.from_issues(source, issues)
    return config


def _line_of(tree: Any, loc: tuple[Any, ...]) -> int | None:
    """1-based line of the deepest key or list item of ``loc`` present in the YAML tree."""
    if tree is None:
        return None
    line = 1 if loc == () else None
    node = tree
    for part in loc:
        try:
            if isinstance(node, CommentedMap) and part in node:
                line = node.lc.key(part)[0] + 1
                node = node[part]
            elif isinstance(node, CommentedSeq) and isinstance(part, int) and 0 <= part < len(node):
                line = node.lc.item(part)[0] + 1
                node = node[part]
            else:
                break
        except (KeyError, IndexError, TypeError, AttributeError):  # merged keys carry no position
            break
    if line is None and isinstance(tree, CommentedMap):
        line = 1
    return line


def _format_key(loc: Iterable[Any]) -> str | None:
    text = ""
    for part in loc:
        if isinstance(part, int):
            text += f"[{part}]"
        else:
            text += f".{part}" if text else str(part)
    return text or None


def _annotation_at(loc: Iterable[Any]) -> Any:
    """The declared type at ``loc`` in :class:`Config` (Annotated and Optional stripped)."""
    current: Any = Config
    for part in loc:
        current = _unwrap(current)
        if isinstance(current, type) and issubclass(current, BaseModel) and isinstance(part, str):
            fields = current.model_fields
            field = next((f for n, f in fields.items() if (f.alias or n) == part), None)
            if field is None:
                return None
            current = field.annotation
        elif get_origin(current) is tuple and isinstance(part, int):
            current = get_args(current)[0]
        else:
            return None
    return _unwrap(current)


def _allowed_keys(model: Any) -> list[str]:
    if isinstance(model, type) and issubclass(model, BaseModel):
        return [field.alias or name for name, field in model.model_fields.items()]
    return []


_VALUE_LABELS = (CATEGORIES, COLUMN_KINDS, PLATFORMS, SEVERITIES, NETWORK_PROFILES)

_FUTURE_KEYS: dict[str, str] = {}  # top-level keys of features not yet provided: their message

_TYPE_MESSAGES = {
    "string_type": "应为文本",
    "int_type": "应为整数",
    "int_parsing": "应为整数",
    "int_from_float": "应为整数（不能有小数）",
    "float_type": "应为数字",
    "float_parsing": "应为数字",
    "bool_type": "应为 true 或 false",
    "bool_parsing": "应为 true 或 false",
    "tuple_type": "应为列表（每项一行，以“- ”开头）",
    "list_type": "应为列表（每项一行，以“- ”开头）",
    "iterable_type": "应为列表（每项一行，以“- ”开头）",
    "model_type": "应为“键: 值”形式的映射（在下一行缩进书写）",
    "model_attributes_type": "应为“键: 值”形式的映射（在下一行缩进书写）",
    "dict_type": "应为“键: 值”形式的映射（在下一行缩进书写）",
    "path_type": "应为文件路径",
    "timedelta_type": "应为时长（如 24h、30m）",
}


def _issue_from_error(error: Mapping[str, Any], tree: Any) -> ConfigIssue:
    loc = tuple(error.get("loc", ()))
    kind = error.get("type", "")
    ctx = error.get("ctx") or {}
    value = error.get("input")
    line = _line_of(tree, loc)
    key = _format_key(loc)

    if kind == "extra_forbidden":
        name = str(loc[-1]) if loc else "?"
        if len(loc) == 1 and name in _FUTURE_KEYS:
            return ConfigIssue(line, key, _FUTURE_KEYS[name])
        allowed = _allowed_keys(_annotation_at(loc[:-1]))
        close = difflib.get_close_matches(name, allowed, n=1, cutoff=0.6)
        if close:
            message = f"未知的键 {_quote(name)}；是否想写 {_quote(close[0])}？"
        else:
            message = f"未知的键 {_quote(name)}；此处可用的键：{'、'.join(allowed)}"
        return ConfigIssue(line, key, message)
    if kind == "missing":
        return ConfigIssue(line, key, f"缺少必填项 {_quote(str(loc[-1]) if loc else '?')}")
    if kind == "literal_error":
        annotation = _annotation_at(loc)
        allowed = [str(a) for a in get_args(annotation)] if get_origin(annotation) is Literal else []
        labels = next(
            (names for names in _VALUE_LABELS if set(names) == set(allowed)),
            {},
        )
        shown = "、".join(f"{a}（{labels[a]}）" if a in labels else a for a in allowed) or ctx.get("expected", "")
        if value is None:
            return ConfigIssue(line, key, f"未填写；可选值：{shown}")
        close = difflib.get_close_matches(str(value), allowed, n=1, cutoff=0.6)
        hint = f"；是否想写 {_quote(close[0])}？" if close else ""
        return ConfigIssue(line, key, f"不是允许的值: {_quote(value)}；可选值：{shown}{hint}")
    if kind in ("value_error", "assertion_error"):
        cause = ctx.get("error")
        message = str(cause) if cause is not None else str(error.get("msg", ""))
        return ConfigIssue(line, key, message)
    if kind == "string_too_short" or (value is None and kind.endswith("_type")):
        return ConfigIssue(line, key, "未填写（不能为空）")
    if kind in ("greater_than", "greater_than_equal", "less_than", "less_than_equal"):
        template = {
            "greater_than": "必须大于 {gt}",
            "greater_than_equal": "不能小于 {ge}",
            "less_than": "必须小于 {lt}",
            "less_than_equal": "不能大于 {le}",
        }[kind]
        return ConfigIssue(line, key, f"{template.format(**ctx)}: {_quote(value)}")
    if kind in _TYPE_MESSAGES:
        return ConfigIssue(line, key, f"{_TYPE_MESSAGES[kind]}: {_quote(value)}")
    return ConfigIssue(line, key, f"{error.get('msg', '无效的值')}: {_quote(value)}")


def _registry_issues(config: Config, tree: Any, data: Any) -> list[ConfigIssue]:
    """What no single entry shows: ids and names used twice (--target takes either), and
    a column listed twice."""
    issues: list[ConfigIssue] = []

    def given(section: str, index: int, field: str) -> bool:
        try:
            return data[section][index].get(field) is not None
        except (KeyError, IndexError, TypeError, AttributeError):
            return False

    def issue(loc: tuple[Any, ...], message: str) -> None:
        issues.append(ConfigIssue(_line_of(tree, loc), _format_key(loc), message))

    def where(loc: tuple[Any, ...]) -> str:
        line = _line_of(tree, loc)
        return f"{_format_key(loc)}（第 {line} 行）" if line else str(_format_key(loc))

    seen: dict[str, tuple[tuple[Any, ...], str]] = {}  # normalised id/name → (entry loc, "id"/"name")
    entries = [("sites", i, t) for i, t in enumerate(config.sites)]
    entries += [("accounts", i, t) for i, t in enumerate(config.accounts)]
    for section, index, target in entries:
        entry = (section, index)
        name_key = _normalise_key(target.name)
        id_key = _normalise_key(target.id)
        id_given = given(section, index, "id")
        name_loc = (*entry, "name")
        id_loc = (*entry, "id") if id_given else name_loc
        name_clash = name_key in seen
        if name_clash:
            other, field = seen[name_key]
            if field == "name":
                issue(name_loc, f"名称重复：{_quote(target.name)} 已用于 {where(other)}；--target 按名称查找时无法区分")
            else:
                issue(name_loc, f"名称 {_quote(target.name)} 与 {where(other)}的 id 相同；--target 无法区分")
        if id_key != name_key and id_key in seen and not (name_clash and not id_given):
            other, field = seen[id_key]
            what = " id " if field == "id" else "名称"
            if not id_given:
                issue(id_loc, f"由名称生成的 id {_quote(target.id)} 与 {where(other)}的{what}相同，请为它填写一个不同的 id")
            elif field == "id":
                issue(id_loc, f"id 重复：{_quote(target.id)} 已用于 {where(other)}")
            else:
                issue(id_loc, f"id {_quote(target.id)} 与 {where(other)}的名称相同；--target 无法区分")
        seen.setdefault(name_key, (entry, "name"))
        seen.setdefault(id_key, (entry, "id"))

    for index, site in enumerate(config.sites):
        urls: dict[str, int] = {}
        for number, column in enumerate(site.columns):
            url = column.url.split("#", 1)[0]
            if url in urls:
                loc = ("sites", index, "columns", number, "url")
                first = ("sites", index, "columns", urls[url])
                issue(loc, f"栏目网址重复：{_quote(column.url)} 已用于 {where(first)}")
            else:
                urls[url] = number
    return issues
