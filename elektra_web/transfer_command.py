"""``elektra-web export`` and ``elektra-web import``: a subtree of keys, with
metadata, as JSON, TOML or INI text, through clusterd's API.

``export`` prints the text to stdout (or ``--output``); ``import`` reads it
from a file or stdin (``-``) and makes it one write (``--dry-run``: prints
what would change, writes nothing). The target is ``instance:ID`` or
``cluster:ID`` (an id or a name). clusterd's URL and the token are found as
``elektra-web watch`` finds them (``--url``, ``--token-file`` or
``ELEKTRA_WEB_TOKEN``).

Exit status: 0 done, 1 an error (clusterd unreachable or refusing, a member
refused the import), 2 bad usage or input (no such target, a bad path, content
that does not parse: the message says where), 3 bad credentials.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import sys
from typing import TYPE_CHECKING, Any, TextIO

from .formats import ConfigFormat

if TYPE_CHECKING:
    from .apiclient import ClusterdClient

__all__ = ["EXIT_CREDENTIALS", "EXIT_ERROR", "EXIT_USAGE", "add_parsers", "run"]

EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_CREDENTIALS = 3

#: API errors that are the caller's input, not a failure of clusterd.
_USAGE_ERRORS = {"NOT_FOUND", "INVALID_KEY_NAME", "BAD_INPUT", "KEY_LOCKED", "VALIDATION_FAILED"}

EXPORT = """query Export($target: Target!, $path: String!, $format: ConfigFormat!) {
  exportConfig(target: $target, pathPrefix: $path, format: $format) { content keys }
}"""

IMPORT = """mutation Import($target: Target!, $path: String!, $format: ConfigFormat!,
    $content: String!, $mode: ImportMode!, $dryRun: Boolean!, $force: Boolean!) {
  importConfig(target: $target, pathPrefix: $path, format: $format, content: $content,
      mode: $mode, dryRun: $dryRun, force: $force) {
    dryRun operationId
    changes { path before { value meta { key value } } after { value meta { key value } } }
    results { instance { name } delivery error }
    members { instance { name } outcome reason error changes { path } }
  }
}"""


class TransferFailed(Exception):
    """Stop with ``status``; ``message`` goes to stderr."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def add_parsers(commands: Any, common: argparse.ArgumentParser, url: str) -> None:
    """The ``export`` and ``import`` subcommands; ``url``: clusterd's default."""
    export = commands.add_parser(
        "export",
        parents=[common],
        help="print a subtree of keys, with metadata, as JSON, TOML or INI",
        description="Print the keys at and below --path of an instance or a cluster (its own "
        "config), with their metadata, as text that 'elektra-web import' takes back. "
        "Exit status: 0 done, 1 error, 2 bad usage, 3 bad credentials.",
    )
    _add_common(export, url)
    export.add_argument(
        "--output", "-o", metavar="FILE", help="write the text to FILE instead of stdout"
    )
    imp = commands.add_parser(
        "import",
        parents=[common],
        help="make a subtree of keys what an export says, as one write",
        description="Make the keys at and below --path of an instance or a cluster what the "
        "text says (from FILE, or stdin), as one write. --mode merge keeps the other keys and "
        "metadata, replace removes them. A cluster import that some members' check/* "
        "validation would refuse is refused before anything is written, unless --force. "
        "Exit status: 0 done, 1 error (also: a member refused it; with --dry-run: a member "
        "would refuse it), 2 bad usage or content, 3 bad credentials.",
    )
    _add_common(imp, url)
    imp.add_argument(
        "--mode", choices=("merge", "replace"), required=True, help="keep or remove the rest"
    )
    imp.add_argument(
        "--dry-run",
        action="store_true",
        help="print what would change, and on which instance, write nothing",
    )
    imp.add_argument(
        "--force",
        action="store_true",
        help="write to a cluster even when some members' validation would refuse it "
        "(their deliveries fail)",
    )
    imp.add_argument("file", nargs="?", default="-", help="the text (default: - for stdin)")


def _add_common(parser: argparse.ArgumentParser, url: str) -> None:
    parser.add_argument(
        "--url",
        default=url,
        help="clusterd's base URL (default %(default)s)",
    )
    parser.add_argument(
        "--target",
        required=True,
        metavar="KIND:ID",
        help="instance:ID or cluster:ID (an id or a name)",
    )
    parser.add_argument("--path", required=True, metavar="PATH", help="e.g. user:/app")
    parser.add_argument(
        "--format",
        type=str.upper,
        choices=[f.value for f in ConfigFormat],
        default=ConfigFormat.JSON.value,
        help="json (default), toml or ini",
    )
    parser.add_argument(
        "--token-file", help="send the token in this file (or set ELEKTRA_WEB_TOKEN)"
    )


def run(args: argparse.Namespace) -> int:
    """The ``export`` or ``import`` command: its exit status."""
    # Here, not at the top: the daemons' start-up does not load the client.
    from .apiclient import ClusterdClient
    from .watch import WatchFailed, read_token

    try:
        token = read_token(args.token_file)
        client = ClusterdClient(args.url, token=token)
    except WatchFailed as exc:
        return _fail(TransferFailed(exc.status, exc.message))
    except ValueError as exc:  # a URL that is not http(s)
        return _fail(TransferFailed(EXIT_USAGE, f"--url: {exc}"))
    try:
        if args.command == "export":
            _write(args.output, asyncio.run(_main(client, args, None)))
            return 0
        content = _read(args.file)
        return int(asyncio.run(_main(client, args, content)))
    except TransferFailed as exc:
        return _fail(exc)


async def _main(client: ClusterdClient, args: argparse.Namespace, content: str | None) -> Any:
    """Export: the text; import (``content`` given): the exit status."""
    from .apiclient import ApiError, BadCredentials, ClientError

    async with client:
        try:
            target = await _target(client, args.target)
            if content is None:
                return await _export(client, args, target)
            return await _import(client, args, target, content, sys.stdout)
        except BadCredentials as exc:
            raise TransferFailed(EXIT_CREDENTIALS, f"bad credentials: {exc.message}") from exc
        except ApiError as exc:
            status = EXIT_USAGE if exc.code in _USAGE_ERRORS else EXIT_ERROR
            raise TransferFailed(status, f"{exc.code}: {exc.message}") from exc
        except ClientError as exc:
            raise TransferFailed(EXIT_ERROR, str(exc)) from exc


async def _target(client: ClusterdClient, given: str) -> dict[str, str]:
    """``instance:ID`` or ``cluster:ID`` as the API's Target (a name is
    looked up: the lists are small, one entry per machine)."""
    kind, _, which = given.partition(":")
    if kind not in ("instance", "cluster") or not which:
        raise TransferFailed(
            EXIT_USAGE, f"--target: expected instance:ID or cluster:ID, not {given!r}"
        )
    field = f"{kind}s"
    data = await client.query(f"{{ {field} {{ id name }} }}")
    for item in data[field]:
        if which in (item["id"], item["name"]):
            return {f"{kind}Id": item["id"]}
    raise TransferFailed(EXIT_USAGE, f"--target: no {kind} with the id or name {which!r}")


async def _export(client: ClusterdClient, args: argparse.Namespace, target: dict[str, str]) -> str:
    data = await client.query(EXPORT, target=target, path=args.path, format=args.format)
    content: str = data["exportConfig"]["content"]
    return content


def _write(output: str | None, content: str) -> None:
    if output is None:
        # UTF-8 whatever the locale says, as the files are.
        sys.stdout.flush()
        sys.stdout.buffer.write(content.encode("utf-8"))
        sys.stdout.buffer.flush()
        return
    try:
        with open(output, "w", encoding="utf-8") as file:
            file.write(content)
    except OSError as exc:
        raise TransferFailed(EXIT_ERROR, f"cannot write {output}: {exc.strerror}") from exc


async def _import(
    client: ClusterdClient,
    args: argparse.Namespace,
    target: dict[str, str],
    content: str,
    out: TextIO,
) -> int:
    data = await client.query(
        IMPORT,
        target=target,
        path=args.path,
        format=args.format,
        content=content,
        mode=args.mode.upper(),
        dryRun=args.dry_run,
        force=args.force,
    )
    result = data["importConfig"]
    for change in result["changes"]:
        out.write(_describe(change) + "\n")
    count = len(result["changes"])
    if result["dryRun"]:
        refused = False
        for plan in result["members"]:
            out.write(_describe_plan(plan) + "\n")
            refused = refused or plan["outcome"] == "REFUSE"
        out.write(f"dry run: {count} keys would change; nothing written\n")
        return EXIT_ERROR if refused else 0
    if result["operationId"] is None:
        out.write("nothing to change\n")
        return 0
    out.write(f"{count} keys changed (operation {result['operationId']})\n")
    failed = False
    for item in result["results"]:
        error = f": {item['error']}" if item["error"] else ""
        out.write(f"  {item['instance']['name']}: {item['delivery']}{error}\n")
        failed = failed or item["delivery"] == "FAILED"
    return EXIT_ERROR if failed else 0


def _read(path: str) -> str:
    try:
        if path == "-":
            return sys.stdin.buffer.read().decode("utf-8")
        with open(path, encoding="utf-8") as file:
            return file.read()
    except (OSError, UnicodeDecodeError) as exc:
        why = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
        where = "stdin" if path == "-" else path
        raise TransferFailed(EXIT_USAGE, f"cannot read {where}: {why}") from exc


def _describe(change: dict[str, Any]) -> str:
    """One planned change as a line: ``+`` created, ``-`` deleted, ``~`` changed."""
    before, after = change["before"], change["after"]
    if after is None:
        return f"- {change['path']}"
    shown = json.dumps(_plain(after), ensure_ascii=False)
    if before is None:
        return f"+ {change['path']} {shown}"
    return f"~ {change['path']} {json.dumps(_plain(before), ensure_ascii=False)} -> {shown}"


def _describe_plan(plan: dict[str, Any]) -> str:
    """What the import would do on one instance, as a line."""
    name, outcome = plan["instance"]["name"], plan["outcome"]
    if outcome == "APPLY":
        count = len(plan["changes"])
        return f"  {name}: would change {count} key{'' if count == 1 else 's'}"
    if outcome == "UNCHANGED":
        return f"  {name}: holds it already"
    verb = "would refuse" if outcome == "REFUSE" else "would wait"
    return f"  {name}: {verb} ({plan['reason']}): {plan['error']}"


def _plain(state: dict[str, Any]) -> dict[str, Any]:
    plain: dict[str, Any] = {"value": state["value"]}
    if state["meta"]:
        plain["meta"] = {m["key"]: m["value"] for m in state["meta"]}
    return plain


def _fail(exc: TransferFailed) -> int:
    print(f"elektra-web: {exc.message}", file=sys.stderr)
    return exc.status
