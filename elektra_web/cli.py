"""The ``elektra-web`` command: one entry point for every daemon and tool.

elektra-web up          start Elektra Web on this machine
elektra-web elektrad    serve this machine's key database over REST
"""

from __future__ import annotations

import argparse
import ipaddress
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

import platformdirs

from . import __version__
from .elektrad.mounts import MountSpec

__all__ = ["main"]

DEFAULT_ELEKTRAD_PORT = 33333


def default_data_dir() -> Path:
    return platformdirs.user_data_path("elektra-web") / "elektrad"


def _mount(text: str) -> MountSpec:
    try:
        return MountSpec.parse(text)
    except Exception as exc:  # InvalidKeyName or ValueError: both are usage errors
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _add_elektrad_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument("--port", type=int, default=DEFAULT_ELEKTRAD_PORT)
    parser.add_argument(
        "--data-dir", type=Path, default=None, help=f"key database (default {default_data_dir()})"
    )
    parser.add_argument(
        "--mount",
        type=_mount,
        action="append",
        default=[],
        metavar="PREFIX=FILE",
        help="mount a configuration file at a key prefix, e.g. user:/app=/etc/app.ini "
        "(format by suffix: .ini .cfg .conf .json .toml; or PREFIX=FORMAT:FILE)",
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        help="require 'Authorization: Bearer TOKEN' with the token in this file "
        "(or set ELEKTRAD_TOKEN)",
    )
    parser.add_argument("--max-body", type=int, default=1024 * 1024, help="bytes")
    parser.add_argument(
        "--watch-interval",
        type=float,
        default=1.0,
        help="seconds between checks of mounted files for edits by other programs",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="elektra-web", description=__doc__.splitlines()[0])
    parser.add_argument("--version", action="version", version=f"elektra-web {__version__}")
    parser.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", help="start Elektra Web on this machine")
    _add_elektrad_options(up)
    elektrad = commands.add_parser("elektrad", help="serve this machine's key database")
    _add_elektrad_options(elektrad)
    return parser


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _token(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str | None:
    token = os.environ.get("ELEKTRAD_TOKEN") or None
    if args.token_file is not None:
        try:
            token = args.token_file.read_text().strip()
        except OSError as exc:
            parser.error(f"cannot read --token-file: {exc.strerror}")
        if not token:
            parser.error(f"--token-file {args.token_file} is empty")
    if token is None and not _is_loopback(args.host):
        parser.error(
            f"refusing to listen on {args.host} without a token: anyone who can reach it "
            "could change this machine's configuration (use --token-file, or a loopback address)"
        )
    return token


def run_elektrad(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .elektrad.app import ElektradConfig
    from .elektrad.server import serve

    config = ElektradConfig(
        data_dir=args.data_dir or default_data_dir(),
        mounts=args.mount,
        token=_token(args, parser),
        max_body=args.max_body,
        watch_interval=args.watch_interval,
    )
    return serve(config, args.host, args.port, log_level=args.log_level)


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = parser.parse_args(argv)
    logging.basicConfig(
        level=args.log_level.upper(),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    # Until clusterd exists, "up" runs this machine's elektrad.
    return run_elektrad(args, parser)


if __name__ == "__main__":
    sys.exit(main())
