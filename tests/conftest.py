"""Database fixtures shared by the store and integration tests.

``db_url`` runs a test once on SQLite (a fresh file under tmp_path) and once on
PostgreSQL (the server named by GOVMON_TEST_POSTGRES_URL; skipped with a visible reason
when it is unset). Each PostgreSQL test gets a schema of its own, selected through the
URL's ``options=-csearch_path=...``, and dropped afterwards, so parallel runs and CI jobs
sharing one server never see each other's tables.

    def test_something(session_factory):      # migrated database, sessionmaker
        with session_factory.begin() as session:
            ...
"""

from __future__ import annotations

import os
import uuid
from collections.abc import Iterator

import pytest
from sqlalchemy import Engine, create_engine, text
from sqlalchemy.engine import make_url
from sqlalchemy.orm import Session, sessionmaker
from sqlalchemy.pool import NullPool

from govmon.db import make_engine, migrate, normalize_url

POSTGRES_ENV = "GOVMON_TEST_POSTGRES_URL"
POSTGRES_SKIP_REASON = "GOVMON_TEST_POSTGRES_URL not set: PostgreSQL store tests skipped"


def _postgres_admin_engine(base_url: str) -> Engine:
    return create_engine(normalize_url(base_url), poolclass=NullPool, isolation_level="AUTOCOMMIT")


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def db_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A URL of an empty database: SQLite file, or a fresh PostgreSQL schema."""
    if request.param == "sqlite":
        directory = tmp_path_factory.mktemp("db")
        yield f"sqlite:///{directory / 'govmon.db'}"
        return

    base_url = os.environ.get(POSTGRES_ENV)
    if not base_url:
        pytest.skip(POSTGRES_SKIP_REASON)
    schema = f"govmon_test_{uuid.uuid4().hex[:12]}"
    admin = _postgres_admin_engine(base_url)
    try:
        with admin.connect() as connection:
            connection.execute(text(f'CREATE SCHEMA "{schema}"'))
    except Exception as err:  # a configured but unreachable server is a failure, not a skip
        admin.dispose()
        pytest.fail(f"{POSTGRES_ENV} is set but PostgreSQL is not usable: {err}")
    url = normalize_url(base_url).update_query_dict({"options": f"-csearch_path={schema}"})
    try:
        yield url.render_as_string(hide_password=False)
    finally:
        with admin.connect() as connection:
            # Never hang the suite on a connection a test leaked mid-transaction.
            connection.execute(text("SET lock_timeout = '10s'"))
            connection.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()


@pytest.fixture
def db_kind(db_url: str) -> str:
    """'sqlite' or 'postgresql'."""
    return make_url(db_url).get_backend_name()


@pytest.fixture
def engine(db_url: str) -> Iterator[Engine]:
    """An engine on the empty database (not migrated); disposed after the test."""
    engine = make_engine(db_url)
    try:
        yield engine
    finally:
        engine.dispose()


@pytest.fixture
def migrated_engine(engine: Engine) -> Engine:
    """The engine with the schema migrated to head."""
    migrate(engine)
    return engine


@pytest.fixture
def session_factory(migrated_engine: Engine) -> sessionmaker[Session]:
    """A sessionmaker on a migrated database, configured as open_database() does it."""
    return sessionmaker(bind=migrated_engine, expire_on_commit=False)


@pytest.fixture
def session(session_factory: sessionmaker[Session]) -> Iterator[Session]:
    """One session on a migrated database; closed (uncommitted work rolled back) afterwards."""
    with session_factory() as session:
        yield session
