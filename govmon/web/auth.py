"""Console users: password hashes, sessions and API tokens, roles, the audit log, login limits.

Passwords are hashed with argon2id (argon2-cffi). A session (the console's cookie) and an
API token are both random secrets of which only the SHA-256 is stored (``api_tokens``);
the secret is shown once. The CSRF token of a session is derived from its secret, so a
form posted from another site, which cannot read the cookie, cannot carry it.

Roles: ``viewer`` reads; ``operator`` also rescans, dismisses, exports and imports
feedback; ``admin`` also manages users. Every change is written to ``audit_log`` with who
and when (:func:`audit`).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import hmac
import re
import secrets
import threading
import time
from collections import deque
from dataclasses import dataclass
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError
from sqlalchemy import delete, select
from sqlalchemy.orm import Session

from govmon.models import USER_ROLES, ApiToken, AuditEntry, User, utcnow

__all__ = [
    "PERMISSIONS",
    "LoginLimiter",
    "Principal",
    "UserError",
    "audit",
    "authenticate",
    "create_user",
    "csrf_for",
    "has_permission",
    "issue_token",
    "resolve_token",
    "revoke_token",
]

SESSION_LIFETIME = dt.timedelta(hours=12)
MIN_PASSWORD_LENGTH = 8
ROLE_LABELS = {"admin": "管理员", "operator": "操作员", "viewer": "只读用户"}
# What each role may do beyond reading.
PERMISSIONS: dict[str, frozenset[str]] = {
    "viewer": frozenset({"read"}),
    "operator": frozenset({"read", "rescan", "dismiss", "export", "feedback"}),
    "admin": frozenset({"read", "rescan", "dismiss", "export", "feedback", "users"}),
}
_NAME = re.compile(r"^[^\s/\\<>&\"']{1,64}$")
_hasher = PasswordHasher()
# Verified against when the user does not exist, so a wrong name costs as long as a wrong password.
_DUMMY_HASH = _hasher.hash("govmon-no-such-user")


class UserError(ValueError):
    """A user could not be created or changed; ``str()`` says why, in Chinese."""


@dataclass(frozen=True)
class Principal:
    """Who is making a request, and how they proved it."""

    user_id: int
    name: str
    role: str
    via: str  # session | api
    csrf: str | None = None  # the session's CSRF token (None for API tokens)

    def can(self, permission: str) -> bool:
        return has_permission(self.role, permission)

    @property
    def role_label(self) -> str:
        return ROLE_LABELS.get(self.role, self.role)


def has_permission(role: str, permission: str) -> bool:
    return permission in PERMISSIONS.get(role, frozenset())


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("utf-8")).hexdigest()


def csrf_for(secret: str) -> str:
    """The CSRF token of a session (or of a login form's pre-session cookie)."""
    return hmac.new(secret.encode("utf-8"), b"govmon-csrf", hashlib.sha256).hexdigest()


def csrf_matches(secret: str | None, token: str | None) -> bool:
    if not secret or not token:
        return False
    return hmac.compare_digest(csrf_for(secret), token)


# --------------------------------------------------------------------------- users


def create_user(session: Session, name: str, role: str, password: str, *, actor: str, ip: str | None = None) -> User:
    """Add a console user; UserError for a bad name, role, short password or a taken name."""
    name = (name or "").strip()
    if not _NAME.match(name):
        raise UserError("用户名须为 1–64 个字符，不含空格和 / \\ < > & \" ' 等字符")
    if role not in USER_ROLES:
        raise UserError(f"角色只能是 admin、operator 或 viewer，而不是 {role!r}")
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise UserError(f"密码至少 {MIN_PASSWORD_LENGTH} 个字符")
    if session.scalar(select(User.id).where(User.name == name)) is not None:
        raise UserError(f"用户 {name} 已存在")
    user = User(name=name, role=role, password_hash=_hasher.hash(password), active=True, created_at=utcnow())
    session.add(user)
    session.flush()
    audit(session, None, "user.add", "user", name, {"role": role}, ip=ip, actor_name=actor)
    return user


def authenticate(session: Session, name: str, password: str) -> User | None:
    """The active user with this name and password, or None (same cost either way)."""
    user = session.scalar(select(User).where(User.name == (name or "").strip()))
    stored = user.password_hash if user is not None and user.active else _DUMMY_HASH
    try:
        _hasher.verify(stored, password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    if user is None or not user.active:
        return None
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return user


# --------------------------------------------------------------------------- tokens


def issue_token(
    session: Session, user: User, kind: str, *, name: str | None = None, lifetime: dt.timedelta | None = None
) -> tuple[str, ApiToken]:
    """A new secret for ``user`` (``kind`` session or api) and its row; the secret is not stored."""
    secret = secrets.token_urlsafe(32)
    now = utcnow()
    if kind == "session":  # the user's ended sessions are of no more use: keep the table small
        session.execute(delete(ApiToken).where(
            ApiToken.user_id == user.id, ApiToken.kind == "session",
            (ApiToken.expires_at <= now) | ApiToken.revoked_at.is_not(None),
        ))
    token = ApiToken(
        user_id=user.id, kind=kind, name=name, token_hash=_digest(secret), created_at=now,
        expires_at=now + lifetime if lifetime else None,
    )
    session.add(token)
    session.flush()
    return secret, token


def resolve_token(session: Session, secret: str, kind: str) -> tuple[User, ApiToken] | None:
    """The active user and live token for ``secret``, or None. Notes the use (at most every minute)."""
    if not secret or len(secret) > 256:
        return None
    row = session.execute(
        select(ApiToken, User)
        .join(User, ApiToken.user_id == User.id)
        .where(ApiToken.token_hash == _digest(secret), ApiToken.kind == kind)
    ).first()
    if row is None:
        return None
    token, user = row
    now = utcnow()
    if token.revoked_at is not None or (token.expires_at is not None and token.expires_at <= now) or not user.active:
        return None
    if token.last_used_at is None or now - token.last_used_at > dt.timedelta(minutes=1):
        token.last_used_at = now
    return user, token


def revoke_token(session: Session, secret: str) -> None:
    token = session.scalar(select(ApiToken).where(ApiToken.token_hash == _digest(secret)))
    if token is not None and token.revoked_at is None:
        token.revoked_at = utcnow()


# --------------------------------------------------------------------------- audit


def audit(
    session: Session,
    who: Principal | None,
    action: str,
    object_type: str | None = None,
    object_id: str | None = None,
    detail: dict[str, Any] | None = None,
    *,
    ip: str | None = None,
    actor_name: str | None = None,
) -> AuditEntry:
    """Record a change: ``who`` (None with ``actor_name`` for the command line) did ``action``."""
    entry = AuditEntry(
        at=utcnow(),
        user_id=who.user_id if who else None,
        username=who.name if who else (actor_name or "系统"),
        action=action,
        object_type=object_type,
        object_id=object_id,
        detail=detail,
        ip=ip,
    )
    session.add(entry)
    return entry


# --------------------------------------------------------------------------- login rate limit


class LoginLimiter:
    """At most ``attempts`` failed logins per ``window`` seconds per user name and per client address."""

    def __init__(self, attempts: int = 5, window: float = 300.0, per_address: int = 20) -> None:
        self.attempts = attempts
        self.per_address = per_address
        self.window = window
        self._failures: dict[str, deque[float]] = {}
        self._lock = threading.Lock()

    def _recent(self, key: str, now: float) -> deque[float]:
        entries = self._failures.setdefault(key, deque())
        while entries and entries[0] <= now - self.window:
            entries.popleft()
        return entries

    def retry_after(self, name: str, address: str) -> int:
        """Seconds to wait before another attempt is allowed (0: allowed now)."""
        now = time.monotonic()
        with self._lock:
            waits = []
            for key, limit in ((f"user:{name.strip().lower()}", self.attempts), (f"addr:{address}", self.per_address)):
                entries = self._recent(key, now)
                if len(entries) >= limit:
                    waits.append(int(entries[0] + self.window - now) + 1)
            return max(waits, default=0)

    def failed(self, name: str, address: str) -> None:
        now = time.monotonic()
        with self._lock:
            for key in (f"user:{name.strip().lower()}", f"addr:{address}"):
                self._recent(key, now).append(now)

    def succeeded(self, name: str) -> None:
        with self._lock:
            self._failures.pop(f"user:{name.strip().lower()}", None)
