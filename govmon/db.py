"""Database connections and schema migrations.

``open_database(url)`` is what commands use: it builds the engine, brings the schema to
the newest migration and returns a ``sessionmaker``. SQLite (the default) runs in WAL
mode with foreign keys on and real transactions (BEGIN is emitted for reads too, so
SAVEPOINT and ROLLBACK behave as on PostgreSQL); PostgreSQL is reached through psycopg 3.

Errors the operator can fix (a server that is down, a wrong password, a database file
that cannot be opened, a database newer than this program) are raised as
:class:`DatabaseError` with a one-line Chinese message that names the URL without its
password.
"""

from __future__ import annotations

import hashlib
import re
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from alembic.script import ScriptDirectory
from alembic.runtime.migration import MigrationContext
from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy import exc as sa_exc
from sqlalchemy.engine import URL, make_url
from sqlalchemy.orm import Session, sessionmaker

__all__ = [
    "DatabaseError",
    "DatabaseUnavailableError",
    "DatabaseUrlError",
    "SchemaVersionError",
    "current_revision",
    "head_revision",
    "make_engine",
    "migrate",
    "migrations_config",
    "normalize_url",
    "open_database",
    "redact_url",
    "unavailable_error",
    "write_lock",
]

SQLITE_BUSY_TIMEOUT_MS = 30_000
POSTGRES_CONNECT_TIMEOUT_S = 10
MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"


class DatabaseError(Exception):
    """A database problem the operator can act on; ``str()`` is a one-line Chinese message."""


class DatabaseUrlError(DatabaseError, ValueError):
    """The database URL is malformed or names a database govmon does not support."""


class DatabaseUnavailableError(DatabaseError):
    """The database could not be reached or opened."""


class SchemaVersionError(DatabaseError):
    """The database's schema is of a version this program does not know (newer govmon?)."""


# --------------------------------------------------------------------------- URLs


def normalize_url(url: str | URL) -> URL:
    """Parse ``url``; a PostgreSQL URL without a driver (``postgresql://``, ``postgres://``) gets psycopg 3."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except sa_exc.ArgumentError:
        raise DatabaseUrlError(f"数据库 URL 格式不正确：{_redact_text(str(url))}") from None
    if parsed.drivername in ("postgresql", "postgres"):
        parsed = parsed.set(drivername="postgresql+psycopg")
    backend = parsed.get_backend_name()
    if backend not in ("sqlite", "postgresql"):
        raise DatabaseUrlError(
            f"不支持的数据库 {redact_url(parsed)}：只支持 sqlite:///文件路径 和 postgresql+psycopg://用户@主机/库名"
        )
    return parsed


def redact_url(url: str | URL) -> str:
    """The URL as it may be shown to people: the password replaced by ***."""
    try:
        parsed = make_url(url) if isinstance(url, str) else url
    except sa_exc.ArgumentError:
        return _redact_text(str(url))
    return parsed.render_as_string(hide_password=True)


def _redact_text(url: str) -> str:
    return re.sub(r"(//[^:/@]*:)[^@/]*@", r"\1***@", url)


# --------------------------------------------------------------------------- engines


def make_engine(url: str | URL, **kwargs: Any) -> Engine:
    """An engine for ``url`` set up for govmon (does not connect yet).

    SQLite: WAL journal, ``foreign_keys=ON``, a busy timeout, and SQLAlchemy-controlled
    BEGIN so that reads are inside the transaction. PostgreSQL: psycopg 3, pool pre-ping,
    a connect timeout. ``kwargs`` go to :func:`sqlalchemy.create_engine`.
    """
    parsed = normalize_url(url)
    if parsed.get_backend_name() == "sqlite":
        connect_args = {"timeout": SQLITE_BUSY_TIMEOUT_MS / 1000, **kwargs.pop("connect_args", {})}
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
        _configure_sqlite(engine)
    else:
        connect_args = {
            "connect_timeout": POSTGRES_CONNECT_TIMEOUT_S,
            **({} if "application_name" in parsed.query else {"application_name": "govmon"}),  # the URL's wins
            **kwargs.pop("connect_args", {}),
        }
        kwargs.setdefault("pool_pre_ping", True)
        engine = create_engine(parsed, connect_args=connect_args, **kwargs)
    return engine


def _configure_sqlite(engine: Engine) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, connection_record: Any) -> None:
        # Take transaction control away from the sqlite3 module (which would not BEGIN
        # before a SELECT); the "begin" hook below emits BEGIN itself.
        dbapi_connection.isolation_level = None
        cursor = dbapi_connection.cursor()
        try:
            cursor.execute(f"PRAGMA busy_timeout = {SQLITE_BUSY_TIMEOUT_MS}")
            cursor.execute("PRAGMA foreign_keys = ON")
            if engine.url.database not in (None, "", ":memory:"):
                cursor.execute("PRAGMA journal_mode = WAL")
                cursor.execute("PRAGMA synchronous = NORMAL")
        finally:
            cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(connection: Connection) -> None:
        options = connection.get_execution_options()
        if options.get("isolation_level") == "AUTOCOMMIT":
            return
        # "IMMEDIATE" takes the write lock at BEGIN (used by migrate).
        connection.exec_driver_sql(f"BEGIN {options.get('govmon_sqlite_begin', 'DEFERRED')}")


def write_lock(session: Session | Connection, name: str) -> None:
    """Serialise read-then-write work named ``name`` against other processes, until commit.

    PostgreSQL: a transaction-scoped advisory lock. SQLite: the database's write lock,
    taken now (a no-op write) rather than when the first row is written, so two writers
    cannot both read and then collide. Call it first in the transaction.
    """
    bind = session.get_bind() if isinstance(session, Session) else session.engine
    if bind.dialect.name == "postgresql":
        key = int.from_bytes(hashlib.blake2b(f"govmon:{name}".encode(), digest_size=8).digest(), "big", signed=True)
        session.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": key})
    elif bind.dialect.name == "sqlite":
        session.execute(text("UPDATE targets SET id = id WHERE 1 = 0"))


# --------------------------------------------------------------------------- migrations


def migrations_config() -> Config:
    """The Alembic configuration, built in code: no alembic.ini needed in the working directory."""
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    return config


def head_revision() -> str:
    """The newest migration this program knows."""
    head = ScriptDirectory.from_config(migrations_config()).get_current_head()
    assert head is not None
    return head


def current_revision(engine: Engine) -> str | None:
    """The migration the database is at (None: not initialised)."""
    with _connect(engine) as connection:
        return MigrationContext.configure(connection).get_current_revision()


def migrate(engine: Engine, revision: str = "head") -> None:
    """Upgrade the schema to ``revision`` (the newest by default); safe to run every start.

    Runs in one transaction. On PostgreSQL an advisory lock makes concurrent starts
    (several workers) wait for each other instead of racing to create tables.
    """
    config = migrations_config()
    script = ScriptDirectory.from_config(config)
    with _connect(engine) as connection:
        connection.execution_options(govmon_sqlite_begin="IMMEDIATE")
        try:
            with connection.begin():
                if connection.dialect.name == "postgresql":
                    connection.execute(text("SELECT pg_advisory_xact_lock(7135520200711)"))
                for rev in MigrationContext.configure(connection).get_current_heads():
                    try:
                        known = script.get_revision(rev)
                    except Exception:
                        known = None
                    if known is None:
                        raise SchemaVersionError(_newer_schema_message(engine, rev))
                config.attributes["connection"] = connection
                command.upgrade(config, revision)
        except DatabaseError:
            raise
        except sa_exc.OperationalError as err:
            raise unavailable_error(engine.url, err) from err


def _newer_schema_message(engine: Engine, revision: str) -> str:
    return (
        f"数据库 {redact_url(engine.url)} 的结构版本（{revision}）不是本程序所知的版本，"
        "可能由更新版本的 govmon 创建：请升级 govmon"
    )


class _connect:
    """engine.connect() with connection failures turned into DatabaseUnavailableError."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.connection: Connection | None = None

    def __enter__(self) -> Connection:
        try:
            self.connection = self.engine.connect()
        except (sa_exc.OperationalError, sa_exc.InterfaceError) as err:
            raise unavailable_error(self.engine.url, err) from err
        return self.connection

    def __exit__(self, *exc: object) -> None:
        assert self.connection is not None
        self.connection.close()


def unavailable_error(url: URL, err: Exception) -> DatabaseUnavailableError:
    """The operator's one-line Chinese explanation of a failure to connect (``err`` from the driver)."""
    detail = str(getattr(err, "orig", None) or err)
    lowered = detail.lower()
    if url.get_backend_name() == "sqlite":
        if "unable to open" in lowered:
            reason = "无法打开数据库文件（目录不存在或没有权限）"
        elif "locked" in lowered:
            reason = "数据库文件被其他程序锁定"
        elif "not a database" in lowered:
            reason = "该文件不是 SQLite 数据库"
        else:
            reason = _first_line(detail)
    elif "refused" in lowered:
        reason = "数据库服务器未运行或拒绝连接"
    elif "password authentication failed" in lowered or "no password supplied" in lowered:
        reason = "用户名或密码错误"
    elif "does not exist" in lowered and "database" in lowered:
        reason = "数据库不存在"
    elif "role" in lowered and "does not exist" in lowered:
        reason = "数据库用户不存在"
    elif "timeout" in lowered or "timed out" in lowered:
        reason = "连接超时"
    elif "translate host name" in lowered or "name or service not known" in lowered or "nodename" in lowered:
        reason = "主机名无法解析"
    else:
        reason = _first_line(detail)
    return DatabaseUnavailableError(f"无法连接数据库 {redact_url(url)}：{reason}")


def _first_line(detail: str) -> str:
    for line in detail.splitlines():
        if line.strip():
            return line.strip()
    return detail.strip()


# --------------------------------------------------------------------------- sessions


def open_database(url: str | URL, **engine_kwargs: Any) -> sessionmaker[Session]:
    """Engine + migrations: a ready ``sessionmaker`` for ``url`` (``expire_on_commit=False``).

    The engine is ``factory.kw["bind"]``; dispose it when done with the database.
    """
    engine = make_engine(url, **engine_kwargs)
    try:
        migrate(engine)
    except BaseException:
        engine.dispose()
        raise
    return sessionmaker(bind=engine, expire_on_commit=False)
