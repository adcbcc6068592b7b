"""What every test may need: the databases clusterd runs on.

PostgreSQL tests run wherever a server answers on 127.0.0.1:5432; under CI
(``CI`` set) a missing server fails them instead of skipping them.
"""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

# The suite shares two cores with real daemons: time limits would only flake.
settings.register_profile(
    "elektra-web", deadline=None, suppress_health_check=[HealthCheck.too_slow]
)
settings.load_profile("elektra-web")

POSTGRES_ADMIN_URL = os.environ.get(
    "ELEKTRA_WEB_TEST_POSTGRES", "postgres://postgres@127.0.0.1:5432/postgres"
)


def _postgres(statement: str) -> None:
    import asyncpg

    async def run() -> None:
        connection = await asyncpg.connect(POSTGRES_ADMIN_URL, timeout=5)
        try:
            await connection.execute(statement)
        finally:
            await connection.close()

    asyncio.run(run())


@pytest.fixture(params=["sqlite", "postgres"])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty clusterd database: an SQLite file, or a new PostgreSQL
    database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite://{tmp_path / 'clusterd.sqlite3'}"
        return
    yield from _fresh_postgres()


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database, for what only PostgreSQL does (replicas)."""
    yield from _fresh_postgres()


@pytest.fixture
def second_postgres_url() -> Iterator[str]:
    """Another fresh PostgreSQL database (a backup restored from one into another)."""
    yield from _fresh_postgres()


def _fresh_postgres() -> Iterator[str]:
    name = f"ew_test_{uuid.uuid4().hex[:12]}"
    try:
        _postgres(f'CREATE DATABASE "{name}"')
    except (OSError, Exception) as exc:  # asyncpg raises its own and OS errors
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is required under CI and not reachable: {exc}")
        pytest.skip(f"no PostgreSQL at {POSTGRES_ADMIN_URL}: {exc}")
    base = POSTGRES_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        _postgres(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
