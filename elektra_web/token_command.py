"""``elektra-web token create|list|revoke|rotate``: manage clusterd's API tokens
directly in its database (so the first admin can be made before anyone can
sign in). A running clusterd sees the change at once: it checks tokens on
every request and closes a revoked or expired token's websockets within a second.
Each command says which database it uses (on stderr), and refuses one that does
not exist: clusterd makes it on its first start ('create --create-database' makes
a new one).
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import re
import socket
import sys
from pathlib import Path
from typing import Any

from .exceptions import NoDatabase, NotADatabase

__all__ = ["add_parser", "duration", "run"]

ROLES = ("viewer", "editor", "admin")
_UNITS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}


def duration(text: str) -> int:
    """Seconds in a duration such as ``90m``, ``12h``, ``30d``, ``2w`` or ``45``
    (seconds); for argparse."""
    match = re.fullmatch(r"\s*(\d{1,9})\s*([smhdw]?)\s*", text.lower())
    if match is None:
        raise argparse.ArgumentTypeError(
            f"not a duration: {text!r} (a number and s, m, h, d or w, e.g. 30d)"
        )
    return int(match[1]) * _UNITS[match[2] or "s"]


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    token = commands.add_parser(
        "token",
        parents=[common],
        help="create, list, revoke and rotate clusterd's API tokens",
        description=__doc__,
    )
    token.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="clusterd's database (default: the SQLite file 'elektra-web clusterd' uses)",
    )
    actions = token.add_subparsers(dest="action", required=True)
    create = actions.add_parser(
        "create", help="make a token; prints its secret (shown only this once) on stdout"
    )
    create.add_argument(
        "--role", required=True, choices=ROLES, help="what the token may do (required)"
    )
    create.add_argument("--name", default=None, help="whose or what for (default: the role)")
    create.add_argument(
        "--create-database",
        action="store_true",
        help="make the database if it does not exist (for a first admin before clusterd's "
        "first start); else a missing database is refused",
    )
    create.add_argument(
        "--expires-in",
        type=duration,
        default=None,
        metavar="DURATION",
        help="refused after this long, e.g. 90m, 12h, 30d (default: never expires)",
    )
    listing = actions.add_parser("list", help="all tokens, revoked ones too")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    revoke = actions.add_parser("revoke", help="revoke a token by id (see 'list')")
    revoke.add_argument("id", type=int, help="the token's id")
    rotate = actions.add_parser(
        "rotate",
        help="a new secret for a token (a new token, same name, role and expiry); prints "
        "it once; the old secret stays valid for --grace",
    )
    rotate.add_argument("id", type=int, help="the token's id")
    rotate.add_argument(
        "--grace",
        type=duration,
        default=0,
        metavar="DURATION",
        help="how long the old secret keeps working, e.g. 1h (default: 0, refused at once)",
    )


def run(args: argparse.Namespace) -> int:
    """Run the ``token`` command parsed into ``args``; its exit status."""
    from .clusterd.database import default_database_url

    url = args.database or default_database_url()
    try:
        check_database(url, create=getattr(args, "create_database", False))
    except NoDatabase as exc:
        print(f"elektra-web token: {exc}", file=sys.stderr)
        return 1
    print(f"elektra-web token: database {shown_url(url)}", file=sys.stderr)
    try:
        return asyncio.run(_run(args, url))
    except NotADatabase as exc:
        print(f"elektra-web token: {exc}", file=sys.stderr)
        return 1


def check_database(url: str, *, create: bool = False) -> None:
    """:class:`NoDatabase` if ``url`` is an SQLite file that does not exist
    (unless ``create``): opening it would make a new, empty database, and a
    command run with another HOME (sudo, another user) would silently manage
    tokens nobody uses."""
    if not url.startswith("sqlite://") or url == "sqlite://:memory:" or create:
        return
    path = Path(url.removeprefix("sqlite://"))
    if path.exists():
        return
    raise NoDatabase(
        f"there is no clusterd database at {path} (nothing was created). clusterd makes it "
        "on its first start; to use the database of a clusterd that runs as another user or "
        "with other settings, pass its URL: --database sqlite:///path/to/clusterd.sqlite3 "
        "(or postgres://...) before the action, e.g. 'elektra-web token --database URL list'. "
        "'token create --create-database' makes a new one"
    )


def shown_url(url: str) -> str:
    """``url`` as it may be shown: without a password."""
    return re.sub(r"(://[^/@:]*:)[^/@]*@", r"\1***@", url)


async def _run(args: argparse.Namespace, database_url: str) -> int:
    from tortoise import Tortoise

    from .clusterd.database import migrate, tortoise_config
    from .exceptions import ClusterdError

    await migrate(database_url)
    await Tortoise.init(config=tortoise_config(database_url))
    try:
        if args.action == "create":
            return await _create(args)
        if args.action == "list":
            return await _list(args)
        if args.action == "rotate":
            return await _rotate(args)
        return await _revoke(args)
    except ClusterdError as exc:
        print(f"elektra-web token: {exc.message}", file=sys.stderr)
        return 1
    finally:
        await Tortoise.close_connections()


def _operator() -> Any:
    from .resolvers.auth import Caller, Role

    # Whoever can open the database is its administrator already.
    return Caller(f"{getpass.getuser()}@{socket.gethostname()} (command line)", Role.ADMIN)


async def _create(args: argparse.Namespace) -> int:
    from .resolvers import audit
    from .resolvers.auth import Role
    from .resolvers.tokens import create_token

    operator = _operator()
    role = Role[args.role.upper()]
    name = args.name or args.role
    token, secret = await create_token(operator, name, role, expires_in=args.expires_in)
    await audit.record(
        operator, "token create", {"name": name, "role": role, "expires_in": args.expires_in}
    )
    expiry = f", expires {_time(token.expires_at)}" if token.expires_at else ""
    print(
        f"token {token.id} ({name}, {args.role}{expiry}); its secret, shown only now:",
        file=sys.stderr,
    )
    print(secret)
    return 0


async def _rotate(args: argparse.Namespace) -> int:
    from .resolvers import audit
    from .resolvers.tokens import rotate_token

    operator = _operator()
    token, old, secret = await rotate_token(None, operator, args.id, args.grace)
    await audit.record(
        operator, "token rotate", {"id": args.id, "name": old.name, "grace_period": args.grace}
    )
    print(
        f"token {old.id} ({old.name}) rotated to token {token.id}; the old secret is refused "
        f"from {_time(old.expires_at)}; the new secret, shown only now:",
        file=sys.stderr,
    )
    print(secret)
    return 0


async def _list(args: argparse.Namespace) -> int:
    from .resolvers.tokens import is_expired, list_tokens, role_of

    for token in await list_tokens(_operator()):
        row = {
            "id": token.id,
            "name": token.name,
            "role": role_of(token).name.lower(),
            "prefix": token.prefix,
            "created": _time(token.created_at),
            "created_by": token.created_by,
            "last_used": _time(token.last_used_at),
            "revoked": _time(token.revoked_at),
            "expires": _time(token.expires_at),
            "rotated_from": token.rotated_from,
        }
        if args.json:
            print(json.dumps(row))
        else:
            if token.revoked_at:
                state = f"revoked {row['revoked']}"
            elif is_expired(token):
                state = f"expired {row['expires']}"
            elif token.expires_at:
                state = f"active, expires {row['expires']}"
            else:
                state = "active"
            print(
                f"{token.id:>4}  {row['role']:<6}  {token.prefix}…  {token.name}  "
                f"(created {row['created']} by {token.created_by}; "
                f"last used {row['last_used'] or 'never'}; {state})"
            )
    return 0


async def _revoke(args: argparse.Namespace) -> int:
    from .resolvers import audit
    from .resolvers.tokens import revoke_token

    operator = _operator()
    token = await revoke_token(None, operator, args.id)
    await audit.record(operator, "token revoke", {"id": args.id, "name": token.name})
    print(f"token {token.id} ({token.name}) is revoked", file=sys.stderr)
    return 0


def _time(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
