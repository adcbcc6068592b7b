"""The models and the migrations in the repository describe the same schema."""

from __future__ import annotations

import asyncio
import copy

from tortoise.context import TortoiseContext
from tortoise.migrations.autodetector import MigrationAutodetector

from elektra_web.clusterd.database import MIGRATIONS_CONFIG


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
