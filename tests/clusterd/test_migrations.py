"""The models and the migrations in the repository describe the same schema."""

from __future__ import annotations

import asyncio
import copy

from tortoise import Tortoise
from tortoise.context import TortoiseContext
from tortoise.migrations.api import migrate
from tortoise.migrations.autodetector import MigrationAutodetector

from elektra_web.clusterd.database import MIGRATIONS_CONFIG, tortoise_config


def test_every_model_change_has_a_migration() -> None:
    async def pending_changes() -> list[str]:
        config = copy.deepcopy(MIGRATIONS_CONFIG)
        async with TortoiseContext() as ctx:
            await ctx.init(config=config)
            assert ctx.apps is not None
            writers = await MigrationAutodetector(ctx.apps, config["apps"]).changes()
        return [writer.name for writer in writers]

    assert asyncio.run(pending_changes()) == [], (
        "models changed without a migration: run "
        "`.venv/bin/tortoise -c elektra_web.clusterd.database.MIGRATIONS_CONFIG makemigrations`"
    )


def test_a_database_with_rows_upgrades_from_the_first_migration(database_url: str) -> None:
    """Columns added later need a value for the rows already there (0002 and
    0004 failed with "Cannot add a NOT NULL column" on a database in use)."""

    async def upgrade() -> tuple[tuple[object, ...], ...]:
        config = tortoise_config(database_url)
        await migrate(config=config, target="clusterd.0001_initial", direction="forward")
        connection = Tortoise.get_connection(database_url.split(":", 1)[0])
        await connection.execute_script(
            "INSERT INTO cluster (name, created_at) VALUES ('prod', '2026-01-01T00:00:00');"
            "INSERT INTO cluster_key (cluster_id, path, value, meta) "
            "VALUES (1, 'user:/app/port', '8080', '{}');"
        )
        await Tortoise.close_connections()
        await migrate(config=config)
        connection = Tortoise.get_connection(database_url.split(":", 1)[0])
        _, rows = await connection.execute_query(
            "SELECT cluster.name, cluster.drift_policy, cluster_key.path, cluster_key.revision "
            "FROM cluster JOIN cluster_key ON cluster_key.cluster_id = cluster.id"
        )
        await Tortoise.close_connections()
        return tuple(tuple(row.values()) if hasattr(row, "values") else tuple(row) for row in rows)

    assert asyncio.run(upgrade()) == (("prod", "REPORT", "user:/app/port", 0),)
