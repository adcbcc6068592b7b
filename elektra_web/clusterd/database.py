"""clusterd's database connection: Tortoise configuration and migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs

from ..exceptions import NotADatabase

__all__ = ["default_database_url", "migrate", "tortoise_config"]

APP = "clusterd"


def default_database_url() -> str:
    """An SQLite file in the service's state directory under systemd
    (``StateDirectory=``), else in the user's data directory."""
    state = os.environ.get("STATE_DIRECTORY")
    directory = Path(state.split(":")[0]) if state else platformdirs.user_data_path("elektra-web")
    return f"sqlite://{directory / 'clusterd.sqlite3'}"


def tortoise_config(url: str) -> dict[str, Any]:
    """The Tortoise configuration for ``url`` (``sqlite:///path`` or
    ``postgres://user@host/db``)."""
    if url.startswith("sqlite://") and url != "sqlite://:memory:":
        Path(url.removeprefix("sqlite://")).parent.mkdir(parents=True, exist_ok=True)
    # Tortoise caches prepared INSERTs per connection *name*, not per dialect:
    # naming the connection after its dialect keeps one process (the tests)
    # from sending SQLite's SQL to PostgreSQL after switching databases.
    connection = url.split(":", 1)[0]
    return {
        "connections": {connection: url},
        "apps": {
            APP: {
                "models": ["elektra_web.models"],
                "migrations": "elektra_web.models.migrations",
                "default_connection": connection,
            }
        },
        "use_tz": True,
        "timezone": "UTC",
    }


async def migrate(url: str) -> None:
    """Bring the database's schema up to date (idempotent).

    :class:`NotADatabase` for an SQLite file that is not one (Tortoise would
    wait forever on the lock its failed connection left held)."""
    from tortoise import Tortoise
    from tortoise.migrations.api import migrate as run_migrations

    _check_sqlite_file(url)
    try:
        await run_migrations(config=tortoise_config(url))
    except BaseException:
        # A failed migration leaves its connection open, and SQLite's worker
        # thread then keeps the process alive after the error is reported.
        await Tortoise.close_connections()
        raise


_SQLITE_HEADER = b"SQLite format 3\x00"


def _check_sqlite_file(url: str) -> None:
    if not url.startswith("sqlite://") or url == "sqlite://:memory:":
        return
    path = Path(url.removeprefix("sqlite://"))
    try:
        with path.open("rb") as file:
            head = file.read(len(_SQLITE_HEADER))
    except FileNotFoundError:
        return  # a new database
    except OSError as exc:
        raise NotADatabase(f"cannot read the database file {path}: {exc.strerror}") from exc
    if head and head != _SQLITE_HEADER:  # an empty file becomes a database
        raise NotADatabase(
            f"{path} is not an SQLite database (it does not start with SQLite's header): "
            "a wrong --database, or a damaged file (restore it from a backup)"
        )


#: For Tortoise's command line (``tortoise -c ... makemigrations``): the models
#: and the migrations package; no database is touched to write a migration.
MIGRATIONS_CONFIG = tortoise_config("sqlite://:memory:")
