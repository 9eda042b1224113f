"""Saved platform logins (``govmon login``): where they live and how they are read and written.

A login is a Playwright ``storage_state`` (cookies and local storage) of the office's own session
on one platform, one file per platform in the secrets folder (``platforms.secrets_dir``, default
``~/.local/share/govmon/logins``), outside the config. The folder is mode 0700 and every file 0600;
a file that others may read is refused rather than used. Contents are never logged or exported:
errors name the file, never a cookie.

Sources of a login:

- ``govmon login PLATFORM``: a real browser window on the platform's login page; the session is
  saved when the operator has logged in (a login cookie appears) and closes the window;
- ``govmon login PLATFORM --cookies FILE``: a Playwright storage_state JSON, a JSON list of
  cookies (as browser extensions export them) or a Netscape ``cookies.txt``.
"""

from __future__ import annotations

import json
import os
import stat
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Mapping

DEFAULT_SECRETS_DIR = Path("~/.local/share/govmon/logins")

LOGIN_PAGES: dict[str, str] = {
    "wechat": "https://mp.weixin.qq.com/",
    "weibo": "https://passport.weibo.cn/signin/login",
    "douyin": "https://www.douyin.com/",
    "toutiao": "https://www.toutiao.com/",
    "kuaishou": "https://www.kuaishou.com/",
    "bilibili": "https://passport.bilibili.com/login",
}
"""Where the login window opens, per platform (RSS feeds need no login)."""

LOGIN_COOKIES: dict[str, tuple[str, ...]] = {
    "wechat": ("slave_sid",),
    "weibo": ("SUB",),
    "douyin": ("sessionid", "sessionid_ss"),
    "toutiao": ("sessionid",),
    "kuaishou": ("userId", "kuaishou.server.web_st"),
    "bilibili": ("SESSDATA",),
}
"""A cookie that exists only once the operator has logged in, per platform."""


class LoginError(Exception):
    """A saved login cannot be used or written; the message (Chinese) says what to do."""


@dataclass(frozen=True)
class LoginStore:
    """The secrets folder of saved logins."""

    root: Path

    @classmethod
    def from_settings(cls, secrets_dir: Path | None) -> LoginStore:
        return cls((secrets_dir or DEFAULT_SECRETS_DIR).expanduser())

    def path_for(self, platform: str) -> Path:
        return self.root / f"{platform}.json"

    def load(self, platform: str) -> dict[str, Any] | None:
        """The saved storage_state of ``platform``; None when there is none."""
        path = self.path_for(platform)
        try:
            mode = path.stat().st_mode
        except FileNotFoundError:
            return None
        if mode & (stat.S_IRWXG | stat.S_IRWXO):
            raise LoginError(
                f"登录文件 {path} 的权限过宽（{stat.filemode(mode)}），其他用户可以读取，已拒绝使用；"
                f"请运行 chmod 600 {path}，或用 govmon login {platform} 重新保存"
            )
        try:
            state = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, json.JSONDecodeError) as err:
            raise LoginError(f"登录文件 {path} 无法读取（{type(err).__name__}）；请用 govmon login {platform} 重新保存") from None
        if not isinstance(state, dict) or not isinstance(state.get("cookies", []), list):
            raise LoginError(f"登录文件 {path} 不是有效的登录状态；请用 govmon login {platform} 重新保存")
        return state

    def save(self, platform: str, state: Mapping[str, Any]) -> Path:
        """Write ``state`` atomically: folder 0700, file 0600, never visible half-written."""
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        path = self.path_for(platform)
        fd, tmp = tempfile.mkstemp(prefix=f".{platform}.", dir=self.root)
        try:
            os.fchmod(fd, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump(dict(state), out, ensure_ascii=False)
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        return path


def has_login_cookie(platform: str, state: Mapping[str, Any]) -> bool:
    names = set(LOGIN_COOKIES.get(platform, ()))
    return any(isinstance(c, Mapping) and c.get("name") in names for c in state.get("cookies") or ())


def read_cookie_file(path: Path, *, token: str | None = None) -> dict[str, Any]:
    """A storage_state from a cookie export (storage_state JSON, cookie list JSON, cookies.txt)."""
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as err:
        raise LoginError(f"无法读取 cookie 文件 {path}：{type(err).__name__}") from None
    state: dict[str, Any]
    stripped = text.lstrip()
    if stripped.startswith(("{", "[")):
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise LoginError(f"cookie 文件 {path} 第 {err.lineno} 行不是有效的 JSON：{err.msg}") from None
        if isinstance(data, dict) and isinstance(data.get("cookies"), list):
            state = {"cookies": [_cookie(c, path) for c in data["cookies"]], "origins": list(data.get("origins") or [])}
        elif isinstance(data, list):
            state = {"cookies": [_cookie(c, path) for c in data], "origins": []}
        else:
            raise LoginError(f"cookie 文件 {path} 既不是 storage_state（含 cookies 列表）也不是 cookie 列表")
    else:
        state = {"cookies": _netscape(text, path), "origins": []}
    if not state["cookies"]:
        raise LoginError(f"cookie 文件 {path} 中没有任何 cookie")
    if token:
        state["token"] = token
    return state


def _cookie(value: Any, path: Path) -> dict[str, Any]:
    if not isinstance(value, Mapping) or not value.get("name") or "value" not in value or not value.get("domain"):
        raise LoginError(f"cookie 文件 {path} 中有一项缺少 name、value 或 domain")
    expires = value.get("expires", value.get("expirationDate", -1))
    return {
        "name": str(value["name"]),
        "value": str(value["value"]),
        "domain": str(value["domain"]),
        "path": str(value.get("path") or "/"),
        "expires": float(expires) if isinstance(expires, (int, float)) else -1,
        "httpOnly": bool(value.get("httpOnly", False)),
        "secure": bool(value.get("secure", False)),
        "sameSite": value.get("sameSite") if value.get("sameSite") in ("Strict", "Lax", "None") else "Lax",
    }


def _netscape(text: str, path: Path) -> list[dict[str, Any]]:
    cookies = []
    for number, line in enumerate(text.splitlines(), 1):
        http_only = line.startswith("#HttpOnly_")
        if http_only:
            line = line[len("#HttpOnly_"):]
        if not line.strip() or line.startswith("#"):
            continue
        parts = line.split("\t")
        if len(parts) != 7:
            raise LoginError(f"cookie 文件 {path} 第 {number} 行不是 Netscape cookies.txt 格式（应有 7 个以制表符分隔的字段）")
        domain, _, cookie_path, secure, expires, name, value = parts
        cookies.append({
            "name": name, "value": value.rstrip("\r\n"), "domain": domain, "path": cookie_path or "/",
            "expires": float(expires) if expires.strip().isdigit() and int(expires) > 0 else -1,
            "httpOnly": http_only, "secure": secure.upper() == "TRUE", "sameSite": "Lax",
        })
    return cookies


async def login_in_browser(platform: str, executable: str | None = None, *, url: str | None = None,
                           timeout_s: float = 600.0) -> dict[str, Any]:
    """Open a real (headed) browser window on the platform's login page; return the session once
    the operator has logged in (a login cookie appears) or closed the window after logging in."""
    import asyncio

    from playwright.async_api import async_playwright

    from govmon.crawler.browser import CHROMIUM_ARGS, CONTEXT_DEFAULTS, find_chromium

    if not os.environ.get("DISPLAY") and not os.environ.get("WAYLAND_DISPLAY"):
        raise LoginError(
            "这台机器没有图形界面，无法打开登录窗口；请在有桌面的电脑上运行 govmon login，"
            f"或在浏览器中登录后导出 cookie，再运行 govmon login {platform} --cookies 文件"
        )
    path = find_chromium(executable)
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(executable_path=path, args=list(CHROMIUM_ARGS), headless=False)
        try:
            context = await browser.new_context(**CONTEXT_DEFAULTS)
            page = await context.new_page()
            closed = asyncio.Event()
            page.on("close", lambda _: closed.set())
            await page.goto(url or LOGIN_PAGES[platform])
            loop = asyncio.get_running_loop()
            deadline = loop.time() + timeout_s
            state: dict[str, Any] = {}
            while loop.time() < deadline:
                state = dict(await context.storage_state())
                if has_login_cookie(platform, state):
                    if platform == "wechat":  # the backend token is in the address after login
                        token = _token_in(page.url)
                        if token:
                            state["token"] = token
                            return state
                    else:
                        return state
                if closed.is_set():
                    break
                await asyncio.sleep(1.0)
            raise LoginError(f"未检测到 {platform} 的登录（超时或窗口已关闭），没有保存任何内容")
        finally:
            await browser.close()


def _token_in(url: str) -> str | None:
    from urllib.parse import parse_qs, urlsplit

    values = parse_qs(urlsplit(url).query).get("token")
    return values[0] if values else None
