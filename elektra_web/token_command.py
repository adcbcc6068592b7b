"""``elektra-web token create|list|revoke``: manage clusterd's API tokens
directly in its database (so the first admin can be made before anyone can
sign in). A running clusterd sees the change at once: it checks tokens on
every request and closes a revoked token's websockets within a second.
"""

from __future__ import annotations

import argparse
import asyncio
import getpass
import json
import socket
import sys
from typing import Any

__all__ = ["add_parser", "run"]

ROLES = ("viewer", "editor", "admin")


def add_parser(commands: Any, common: argparse.ArgumentParser) -> None:
    token = commands.add_parser(
        "token",
        parents=[common],
        help="create, list and revoke clusterd's API tokens",
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
    create.add_argument("--role", required=True, choices=ROLES)
    create.add_argument("--name", default=None, help="whose or what for (default: the role)")
    listing = actions.add_parser("list", help="all tokens, revoked ones too")
    listing.add_argument("--json", action="store_true", help="one JSON object per line")
    revoke = actions.add_parser("revoke", help="revoke a token by id (see 'list')")
    revoke.add_argument("id", type=int)


def run(args: argparse.Namespace) -> int:
    from .clusterd.database import default_database_url

    return asyncio.run(_run(args, args.database or default_database_url()))


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
    token, secret = await create_token(operator, name, role)
    await audit.record(operator, "token create", {"name": name, "role": role})
    print(f"token {token.id} ({name}, {args.role}); its secret, shown only now:", file=sys.stderr)
    print(secret)
    return 0


async def _list(args: argparse.Namespace) -> int:
    from .resolvers.tokens import list_tokens, role_of

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
        }
        if args.json:
            print(json.dumps(row))
        else:
            state = f"revoked {row['revoked']}" if token.revoked_at else "active"
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
    await audit.record(operator, "token revoke", {"id": args.id})
    print(f"token {token.id} ({token.name}) is revoked", file=sys.stderr)
    return 0


def _time(value: Any) -> str | None:
    return value.isoformat(timespec="seconds") if value is not None else None
