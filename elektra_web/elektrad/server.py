"""Running elektrad under uvicorn."""

from __future__ import annotations

import logging

import uvicorn

from ..logs import quiet_uvicorn, uvicorn_log_config
from .app import ElektradConfig, create_app
from .store import DataDirLocked, check_unlocked

log = logging.getLogger("elektra_web.elektrad")


def serve(
    config: ElektradConfig,
    host: str,
    port: int,
    *,
    log_level: str = "info",
    log_format: str = "text",
) -> int:
    """Serve until SIGINT/SIGTERM; returns the process exit status."""
    try:
        check_unlocked(config.data_dir)
    except DataDirLocked as exc:
        log.error("%s", exc)
        return 1
    for mount in config.mounts:
        log.info("mount %s = %s (%s)", mount.prefix, mount.path, mount.format.name)
    server = uvicorn.Server(
        uvicorn.Config(
            create_app(config),
            host=host,
            port=port,
            log_level=log_level,
            log_config=uvicorn_log_config(log_format),
            access_log=False,  # the app logs one line per request itself
            lifespan="on",
            timeout_graceful_shutdown=5,
        )
    )
    quiet_uvicorn()
    log.info("elektrad serving %s on http://%s:%d", config.data_dir, host, port)
    server.run()
    return 0 if server.started else 1
