"""clusterd's database connection: Tortoise configuration and migrations."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import platformdirs

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
    """Bring the database's schema up to date (idempotent)."""
    from tortoise.migrations.api import migrate as run_migrations

    await run_migrations(config=tortoise_config(url))


#: For Tortoise's command line (``tortoise -c ... makemigrations``): the models
#: and the migrations package; no database is touched to write a migration.
MIGRATIONS_CONFIG = tortoise_config("sqlite://:memory:")
