"""``elektra-web watch``: every configuration change, as one JSON line each.

Subscribes to clusterd's ``configChanged`` (filtered by cluster or instance,
and by path prefix) and prints each change to stdout as it happens, flushed,
so that ``elektra-web watch | jq`` or a script reading lines sees it at once.
Notes about the connection go to stderr, never to stdout. When the connection
breaks (clusterd restarts, the network goes away) it connects again by itself,
waiting a little longer after each failed try; changes made while it was
disconnected are not shown (the API cannot replay them).

Exit status: 0 on Ctrl-C or SIGTERM, 1 on an unexpected error, 2 for a bad
filter or usage (no such cluster or instance, an invalid path), 3 when clusterd
refuses the credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import os
import random
import signal
import sys
from typing import Any, TextIO

from .apiclient import ApiError, BadCredentials, ClientError, ClusterdClient, ConnectionLost

__all__ = ["EXIT_CREDENTIALS", "EXIT_ERROR", "EXIT_USAGE", "Backoff", "WatchFailed", "run", "watch"]

PROG = "elektra-web watch"
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CREDENTIALS = 3

CHANGES = """subscription Watch($instanceId: ID, $clusterId: ID, $pathPrefix: String) {
  configChanged(instanceId: $instanceId, clusterId: $clusterId, pathPrefix: $pathPrefix) {
    operationId op path value previous meta origin at
    instance { id name }
    cluster { id name }
  }
}"""

#: Errors of a subscription that mean its filter is wrong: exit, do not retry.
_FILTER_ERRORS = {"NOT_FOUND", "INVALID_KEY_NAME", "BAD_INPUT"}


class WatchFailed(Exception):
    """Stop watching with ``status`` and ``message`` for stderr."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class Backoff:
    """Growing waits between tries to connect: ``initial`` doubling up to
    ``maximum``, each shortened by a random part so that many watchers of one
    restarted clusterd do not all come back at the same instant."""

    def __init__(self, initial: float = 0.25, maximum: float = 10.0) -> None:
        self.initial = initial
        self.maximum = maximum
        self._next = initial

    def reset(self) -> None:
        self._next = self.initial

    def delay(self) -> float:
        """The wait before the next try (and lengthen the one after)."""
        delay = self._next * random.uniform(0.75, 1.0)
        self._next = min(self._next * 2, self.maximum)
        return delay


async def watch(
    client: ClusterdClient,
    *,
    cluster: str | None = None,
    instance: str | None = None,
    path: str | None = None,
    out: TextIO,
    notes: TextIO,
    backoff: Backoff | None = None,
) -> None:
    """Print each change to ``out`` until cancelled; connection notes go to
    ``notes``. Raises ``WatchFailed`` when watching cannot go on."""
    backoff = backoff or Backoff()
    variables: dict[str, Any] | None = None
    connected = lost = False
    while True:
        try:
            if variables is None:
                variables = await _filters(client, cluster, instance, path)
            async with client.subscription(CHANGES, **variables) as changes:
                backoff.reset()
                if connected:
                    _note(notes, "reconnected (changes made meanwhile are not shown)")
                else:
                    _note(notes, f"watching {_describe(client.url, cluster, instance, path)}")
                connected, lost = True, False
                async for data in changes:
                    _emit(out, data["configChanged"])
            reason = "clusterd ended the subscription"
        except ConnectionLost as exc:
            reason = str(exc)
        except BadCredentials as exc:
            raise WatchFailed(EXIT_CREDENTIALS, _credentials_message(exc, client)) from exc
        except ApiError as exc:
            if exc.code == "INVALID_KEY_NAME":
                raise WatchFailed(EXIT_USAGE, f"--path: {exc.message}") from exc
            if exc.code in _FILTER_ERRORS:
                raise WatchFailed(EXIT_USAGE, exc.message) from exc
            raise WatchFailed(EXIT_ERROR, f"clusterd answered: {exc}") from exc
        except ClientError as exc:
            raise WatchFailed(EXIT_ERROR, str(exc)) from exc
        delay = backoff.delay()
        if lost or not connected:
            _note(notes, f"{reason}; trying again in {delay:.1f}s")
        else:
            _note(notes, f"disconnected: {reason}; reconnecting in {delay:.1f}s")
        lost = True
        await asyncio.sleep(delay)


async def _filters(
    client: ClusterdClient, cluster: str | None, instance: str | None, path: str | None
) -> dict[str, Any]:
    """The subscription's variables: the names given, resolved to ids once
    (the subscription keeps following the same cluster if it is renamed)."""
    variables: dict[str, Any] = {"pathPrefix": path}
    if cluster is not None:
        variables["clusterId"] = await _resolve(client, "cluster", cluster)
    if instance is not None:
        variables["instanceId"] = await _resolve(client, "instance", instance)
    return variables


async def _resolve(client: ClusterdClient, kind: str, name: str) -> str:
    # The API has no look-up by name; the lists are small (one entry per machine).
    field = f"{kind}s"
    data = await client.query(f"{{ {field} {{ id name }} }}")
    for item in data[field]:
        if item["name"] == name:
            found: str = item["id"]
            return found
    raise WatchFailed(EXIT_USAGE, f"no {kind} named {name!r}")


def _emit(out: TextIO, change: dict[str, Any]) -> None:
    out.write(json.dumps(change) + "\n")
    out.flush()


def _note(notes: TextIO, message: str) -> None:
    with contextlib.suppress(OSError):  # a closed stderr must not stop the watch
        print(f"{PROG}: {message}", file=notes, flush=True)


def _describe(url: str, cluster: str | None, instance: str | None, path: str | None) -> str:
    what = [f"cluster {cluster!r}"] if cluster else [f"instance {instance!r}"] if instance else []
    if path:
        what.append(f"keys below {path!r}")
    return f"{url}" + (f" ({', '.join(what)})" if what else " (all changes)")


def _credentials_message(exc: BadCredentials, client: ClusterdClient) -> str:
    if exc.code == "FORBIDDEN":
        return f"bad credentials: the token may not watch changes ({exc.message})"
    if client.has_token:
        return f"bad credentials: clusterd refused the token ({exc.message})"
    return (
        f"bad credentials: clusterd needs a token ({exc.message}); "
        "set ELEKTRA_WEB_TOKEN or use --token-file"
    )


def read_token(token_file: str | None) -> str | None:
    """The token from ``token_file``, else from ``ELEKTRA_WEB_TOKEN``, else None."""
    if token_file is None:
        return os.environ.get("ELEKTRA_WEB_TOKEN") or None
    try:
        with open(token_file, encoding="utf-8") as file:
            token = file.read().strip()
    except OSError as exc:
        raise WatchFailed(EXIT_USAGE, f"cannot read --token-file: {exc.strerror}") from exc
    if not token:
        raise WatchFailed(EXIT_USAGE, f"--token-file {token_file} is empty")
    return token


def run(args: argparse.Namespace) -> int:
    """The ``watch`` command: its exit status."""
    try:
        token = read_token(args.token_file)
        client = ClusterdClient(args.url, token=token)
    except WatchFailed as exc:
        return _fail(exc)
    except ValueError as exc:  # a URL that is not http(s)
        return _fail(WatchFailed(EXIT_USAGE, f"--url: {exc}"))
    try:
        return asyncio.run(
            _main(client, cluster=args.cluster, instance=args.instance, path=args.path)
        )
    except KeyboardInterrupt:  # where signal handlers cannot be installed (Windows)
        return 0


async def _main(
    client: ClusterdClient, *, cluster: str | None, instance: str | None, path: str | None
) -> int:
    task = asyncio.current_task()
    assert task is not None
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGINT, signal.SIGTERM):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(signum, task.cancel)
    try:
        async with client:
            await watch(
                client,
                cluster=cluster,
                instance=instance,
                path=path,
                out=sys.stdout,
                notes=sys.stderr,
            )
    except asyncio.CancelledError:  # Ctrl-C or SIGTERM: the normal way to stop
        task.uncancel()
        return 0
    except WatchFailed as exc:
        return _fail(exc)
    except BrokenPipeError:
        # The reader went away (`watch | head -1`): nothing left to print to.
        # Point stdout at /dev/null so that flushing at exit does not fail too.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
        return 0
    return 0  # watch() ends only by an exception; this keeps the type checker sure


def _fail(exc: WatchFailed) -> int:
    _note(sys.stderr, exc.message)
    return exc.status
