"""The ``elektra-web`` command: one entry point for every daemon and tool.

elektra-web up          elektrad and clusterd on this machine, registered
elektra-web clusterd    the GraphQL API for instances and clusters
elektra-web elektrad    serve this machine's key database over REST
elektra-web schema      print clusterd's GraphQL schema (SDL)
elektra-web watch       print each configuration change as a JSON line
elektra-web token       create, list and revoke clusterd's API tokens
elektra-web backup      a consistent snapshot of clusterd's database or elektrad's keys
elektra-web restore     a backup into a new, empty database or data directory
elektra-web export      a subtree of keys, with metadata, as JSON, TOML or INI
elektra-web import      make a subtree what an export says, as one write
elektra-web config show the settings a daemon runs with, and where each came from
elektra-web print-systemd-unit   a hardened systemd unit for elektrad or clusterd

The options of ``up``, ``clusterd`` and ``elektrad`` can also come from the
environment and a TOML file (``config.py``).
"""

from __future__ import annotations

import argparse
import ipaddress
import os
import re
import sys
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

import platformdirs

from . import __version__, backup_command, config, logs, token_command, transfer_command
from . import systemd as systemd_units
from .elektrad.mounts import MountSpec

if TYPE_CHECKING:
    from .clusterd.app import ClusterdConfig

__all__ = ["main", "parse_args"]

DEFAULT_ELEKTRAD_PORT = 33333
DEFAULT_CLUSTERD_PORT = 33334


class HelpFormatter(argparse.HelpFormatter):
    """``--help`` as people read it: each option's default is shown (unless
    its help says it already, or there is none to show), and docstrings used
    as descriptions lose their reStructuredText markup (``x`` becomes 'x')."""

    def _get_help_string(self, action: argparse.Action) -> str | None:
        text = action.help or ""
        default = action.default
        if (
            not action.option_strings
            or "default" in text.lower()
            or default is None
            or default is argparse.SUPPRESS
            or default is False
            or default == []
        ):
            return text
        return f"{text} (default: %(default)s)" if text else "default: %(default)s"

    def _format_text(self, text: str) -> str:
        return super()._format_text(_plain(text))

    def _expand_help(self, action: argparse.Action) -> str:
        return _plain(super()._expand_help(action))


def _plain(text: str) -> str:
    """``text`` without reStructuredText's inline literals: ``x`` as 'x'."""
    return re.sub(r"``(.+?)``", r"'\1'", text)


class ArgumentParser(argparse.ArgumentParser):
    """argparse's parser with :class:`HelpFormatter`; subcommands' parsers
    are of the same class (``add_subparsers`` uses the parent's), so they
    have it too."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("formatter_class", HelpFormatter)
        super().__init__(*args, **kwargs)


def default_data_dir() -> Path:
    """elektrad's data directory: the service's state directory under
    systemd (``StateDirectory=``), else one in the user's data directory."""
    state = os.environ.get("STATE_DIRECTORY")
    if state:
        return Path(state.split(":")[0])
    return platformdirs.user_data_path("elektra-web") / "elektrad"


def _mount(text: str) -> MountSpec:
    try:
        return MountSpec.parse(text)
    except ValueError as exc:  # InvalidKeyName is a ValueError too
        raise argparse.ArgumentTypeError(str(exc)) from exc


def _common(default: str | None = "info") -> ArgumentParser:
    common = ArgumentParser(add_help=False)
    common.add_argument(
        "--log-level",
        # A subcommand's own default would replace the level given before it
        # ('elektra-web --log-level warning clusterd' ran at info): only the
        # top-level parser has one.
        default=argparse.SUPPRESS if default is None else default,
        choices=["debug", "info", "warning", "error"],
        help="the least important messages shown (default: info): info shows starts, stops "
        "and changes; debug also every request, health check and long poll",
    )
    common.add_argument(
        "--log-format",
        default=argparse.SUPPRESS if default is None else logs.FORMATS[0],
        choices=logs.FORMATS,
        help="text for people (default), or json: one object per line with time, level, "
        "logger, message and the request or operation id",
    )
    return common


def _add_elektrad_options(parser: argparse.ArgumentParser, *, with_address: bool) -> None:
    if with_address:
        parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
        parser.add_argument(
            "--port", type=int, default=DEFAULT_ELEKTRAD_PORT, help="elektrad's TCP port"
        )
    parser.add_argument(
        "--data-dir",
        type=Path,
        default=None,
        metavar="DIR",
        help=f"elektrad's key database (default: {default_data_dir()})",
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
    if with_address:
        parser.add_argument(
            "--token",
            help="require 'Authorization: Bearer TOKEN' (other users can read it in the process "
            "list: prefer --token-file or ELEKTRAD_TOKEN)",
        )
        parser.add_argument(
            "--token-file",
            type=Path,
            help="require 'Authorization: Bearer TOKEN' with the token in this file "
            "(or set ELEKTRAD_TOKEN)",
        )
        parser.add_argument(
            "--max-body",
            type=int,
            default=1024 * 1024,
            metavar="BYTES",
            help="the largest request body accepted",
        )
    parser.add_argument(
        "--watch-interval",
        type=float,
        default=1.0,
        help="seconds between checks of mounted files for edits by other programs",
    )


def _add_clusterd_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="address to listen on")
    parser.add_argument(
        "--port",
        type=int,
        default=DEFAULT_CLUSTERD_PORT,
        help="clusterd's TCP port: the web client, GraphQL and GraphiQL",
    )
    parser.add_argument(
        "--database",
        default=None,
        metavar="URL",
        help="sqlite:///path/file.sqlite3 or postgres://user@host/db "
        "(default: an SQLite file in the service's state directory under systemd, "
        "else in the user's data directory)",
    )
    parser.add_argument(
        "--database-url-file",
        type=Path,
        metavar="FILE",
        help="read the database URL from this file instead (it may hold a password)",
    )
    parser.add_argument(
        "--admin-token",
        metavar="SECRET",
        help="an admin token with this secret is created at start unless it exists (others "
        "can read it in the process list: prefer --admin-token-file or ELEKTRA_WEB_ADMIN_TOKEN)",
    )
    parser.add_argument(
        "--admin-token-file",
        type=Path,
        metavar="FILE",
        help="the same with the secret in this file (e.g. a systemd credential)",
    )
    parser.add_argument(
        "--allow-network",
        action="append",
        default=[],
        metavar="CIDR",
        help="instances must be in these networks (repeatable; default: anywhere except "
        "link-local and cloud metadata addresses, which are always refused)",
    )
    parser.add_argument(
        "--allow-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="also let web pages from this origin open websockets (e.g. https://admin.example)",
    )
    monitoring = parser.add_argument_group("monitoring (/healthz and /readyz are always on)")
    monitoring.add_argument(
        "--metrics",
        action=argparse.BooleanOptionalAction,
        default=False,
        help="serve GET /metrics (Prometheus text format) to any valid API token (default: off)",
    )
    monitoring.add_argument(
        "--metrics-instance-labels",
        type=int,
        default=0,
        metavar="N",
        help="give the N instances furthest behind their own feed-lag series "
        "(default 0: no series per instance)",
    )
    history = parser.add_argument_group("history and retention")
    history.add_argument(
        "--history",
        action=argparse.BooleanOptionalAction,
        default=True,
        help="record every change of every instance's and cluster's keys (default: on)",
    )
    history.add_argument(
        "--history-max-age",
        type=float,
        default=90.0,
        metavar="DAYS",
        help="forget entries older than this (default: 90; 0: keep them however old)",
    )
    history.add_argument(
        "--history-max-entries",
        type=int,
        default=0,
        metavar="N",
        help="keep at most the newest N entries (default 0: no limit)",
    )
    history.add_argument(
        "--delivery-max-age",
        type=float,
        default=30.0,
        metavar="DAYS",
        help="forget cluster writes' deliveries that landed (or were replaced) this long ago; "
        "pending and refused ones are kept (default: 30; 0: keep them all)",
    )
    timing = parser.add_argument_group("timing (seconds)")
    timing.add_argument(
        "--health-interval",
        type=float,
        default=10.0,
        help="between health checks of the instances, and looks for feeds to follow",
    )
    timing.add_argument(
        "--write-wait",
        type=float,
        default=5.0,
        help="a cluster write waits this long for its deliveries before it reports PENDING",
    )
    timing.add_argument(
        "--retry-max", type=float, default=60.0, help="longest wait between delivery retries"
    )


def _add_watch_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--url",
        default=f"http://127.0.0.1:{DEFAULT_CLUSTERD_PORT}",
        help="clusterd's base URL (default %(default)s)",
    )
    which = parser.add_mutually_exclusive_group()
    which.add_argument(
        "--cluster",
        metavar="NAME",
        help="only this cluster's changes (its own config and its members', nested ones too)",
    )
    which.add_argument("--instance", metavar="NAME", help="only this instance's changes")
    parser.add_argument(
        "--path", metavar="PREFIX", help="only keys at or below this one, e.g. user:/app"
    )
    parser.add_argument(
        "--token-file", help="send the token in this file (or set ELEKTRA_WEB_TOKEN)"
    )


def _parser() -> argparse.ArgumentParser:
    common = _common(None)
    parser = ArgumentParser(
        prog="elektra-web", description=(__doc__ or "").splitlines()[0], parents=[_common()]
    )
    parser.add_argument("--version", action="version", version=f"elektra-web {__version__}")
    commands = parser.add_subparsers(dest="command", required=True)
    up = commands.add_parser("up", parents=[common], help="start Elektra Web on this machine")
    config.add_config_option(up, "up")
    _add_clusterd_options(up)
    up.add_argument(
        "--elektrad-port",
        type=int,
        default=DEFAULT_ELEKTRAD_PORT,
        help="the TCP port of this machine's elektrad (listening on 127.0.0.1)",
    )
    _add_elektrad_options(up, with_address=False)
    clusterd = commands.add_parser("clusterd", parents=[common], help="the GraphQL API")
    config.add_config_option(clusterd, "clusterd")
    _add_clusterd_options(clusterd)
    elektrad = commands.add_parser(
        "elektrad", parents=[common], help="serve this machine's key database"
    )
    config.add_config_option(elektrad, "elektrad")
    _add_elektrad_options(elektrad, with_address=True)
    commands.add_parser("schema", parents=[common], help="print clusterd's GraphQL SDL")
    watch = commands.add_parser(
        "watch",
        parents=[common],
        help="print each configuration change as a JSON line",
        description="Print each configuration change clusterd sees as one JSON line; "
        "notes go to stderr. Reconnects by itself. Exit status: 0 on Ctrl-C/SIGTERM, "
        "2 for a bad filter, 3 for bad credentials.",
    )
    _add_watch_options(watch)
    token_command.add_parser(commands, common)
    backup_command.add_parsers(commands, common)
    transfer_command.add_parsers(commands, common, f"http://127.0.0.1:{DEFAULT_CLUSTERD_PORT}")
    _add_config_command(commands, common)
    unit = commands.add_parser(
        "print-systemd-unit",
        parents=[common],
        help="print a hardened systemd unit for elektrad or clusterd",
        description="Print a systemd unit for the daemon: install it with "
        "'elektra-web print-systemd-unit elektrad > /etc/systemd/system/elektrad.service'. "
        "Its comments say where the token and the settings go.",
    )
    unit.add_argument("daemon", choices=systemd_units.UNITS, help="the daemon whose unit to print")
    unit.add_argument(
        "--exec",
        metavar="PATH",
        help="the elektra-web to run (default: this one, as an absolute path)",
    )
    return parser


def _add_config_command(commands: Any, common: argparse.ArgumentParser) -> None:
    command = commands.add_parser(
        "config",
        parents=[common],
        help="show the settings a daemon runs with",
        description="Show the settings a daemon runs with, from its flags, the environment "
        "(ELEKTRA_WEB_<DAEMON>_<OPTION>), its TOML file and the defaults, in that order, "
        "as a TOML file with where each came from; secrets are masked.",
    )
    actions = command.add_subparsers(dest="action", required=True)
    show = actions.add_parser(
        "show",
        help="print the effective settings as TOML",
        description="e.g. 'elektra-web config show clusterd --config /etc/elektra-web/"
        "clusterd.toml': the settings 'elektra-web clusterd --config ...' would run with.",
    )
    show.add_argument("daemon", choices=config.COMMANDS, help="whose settings to show")
    show.add_argument(
        "options", nargs=argparse.REMAINDER, help="the daemon's flags (--config FILE, ...)"
    )


def _is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _read_secret(path: Path, flag: str, parser: argparse.ArgumentParser) -> str:
    try:
        secret = path.read_text().strip()
    except OSError as exc:
        parser.error(f"cannot read {flag}: {exc.strerror}")
    if not secret:
        parser.error(f"{flag} {path} is empty")
    return secret


def _token(args: argparse.Namespace, parser: argparse.ArgumentParser) -> str | None:
    # ELEKTRAD_TOKEN, ELEKTRA_WEB_ELEKTRAD_TOKEN and the file's token are in
    # args.token already (config.py).
    token: str | None = args.token or None
    if args.token_file is not None:
        token = _read_secret(args.token_file, "--token-file", parser)
    if token is None and not _is_loopback(args.host):
        parser.error(
            f"refusing to listen on {args.host} without a token: anyone who can reach it "
            "could change this machine's configuration (use --token-file, or a loopback address)"
        )
    return token


def _elektrad(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .elektrad.app import ElektradConfig
    from .elektrad.server import serve

    elektrad_config = ElektradConfig(
        data_dir=args.data_dir or default_data_dir(),
        mounts=args.mount,
        token=_token(args, parser),
        max_body=args.max_body,
        watch_interval=args.watch_interval,
    )
    return serve(
        elektrad_config,
        args.host,
        args.port,
        log_level=args.log_level,
        log_format=args.log_format,
    )


def _clusterd_config(args: argparse.Namespace, parser: argparse.ArgumentParser) -> ClusterdConfig:
    from .clusterd.app import ClusterdConfig
    from .clusterd.database import default_database_url
    from .connector.hosts import parse_networks
    from .engine.services import Settings

    try:
        parse_networks(args.allow_network)
    except ValueError as exc:
        raise SystemExit(f"elektra-web: --allow-network: {exc}") from exc
    settings = Settings(
        allowed_networks=tuple(args.allow_network),
        allowed_origins=tuple(args.allow_origin),
        health_interval=args.health_interval,
        follow_supervise_interval=min(args.health_interval, 5.0),
        write_wait=args.write_wait,
        retry_max=args.retry_max,
        history_enabled=args.history,
        history_max_age=args.history_max_age if args.history_max_age > 0 else None,
        history_max_entries=args.history_max_entries if args.history_max_entries > 0 else None,
        delivery_max_age=args.delivery_max_age if args.delivery_max_age > 0 else None,
    )
    # ELEKTRA_WEB_ADMIN_TOKEN and the file's admin-token are in args.admin_token.
    admin_token: str | None = args.admin_token or None
    if args.admin_token_file is not None:
        admin_token = _read_secret(args.admin_token_file, "--admin-token-file", parser)
    database: str | None = args.database
    if args.database_url_file is not None:
        database = _read_secret(args.database_url_file, "--database-url-file", parser)
    return ClusterdConfig(
        database_url=database or default_database_url(),
        settings=settings,
        admin_token=admin_token,
        metrics=args.metrics,
        metrics_instance_labels=max(0, args.metrics_instance_labels),
        quiet_gc=True,
    )


def _clusterd(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .clusterd.server import serve

    return serve(
        _clusterd_config(args, parser),
        args.host,
        args.port,
        log_level=args.log_level,
        log_format=args.log_format,
    )


def _up(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .clusterd.server import up

    # Everything the child elektrad runs with comes from up's own settings:
    # not from elektrad's file (os.devnull: an empty one) or environment.
    elektrad_args = ["--config", os.devnull]
    elektrad_args += ["--data-dir", str(args.data_dir or default_data_dir())]
    elektrad_args += ["--watch-interval", str(args.watch_interval)]
    for mount in args.mount:
        elektrad_args += ["--mount", str(mount)]
    return up(
        _clusterd_config(args, parser),
        args.host,
        args.port,
        elektrad_args,
        args.elektrad_port,
        log_level=args.log_level,
        log_format=args.log_format,
    )


def _config_show(args: argparse.Namespace, parser: argparse.ArgumentParser) -> int:
    from .clusterd.database import default_database_url

    argv = [args.daemon, *args.options]
    resolved = config.apply(parser, parser.parse_args(argv), argv)
    assert resolved is not None
    unset = {"data_dir": str(default_data_dir()), "database": default_database_url()}
    print(config.show(resolved, unset), end="")
    return 0


def _print_systemd_unit(args: argparse.Namespace) -> int:
    print(systemd_units.unit(args.daemon, args.exec), end="")
    return 0


def _schema() -> int:
    from .schema.root import schema

    print(schema.as_str())
    return 0


def parse_args(
    argv: Sequence[str] | None = None, environ: Mapping[str, str] | None = None
) -> argparse.Namespace:
    """The arguments of ``argv`` (default: the command line's); a daemon's
    (``up``, ``clusterd``, ``elektrad``) completed from ``environ`` (default:
    this process's) and its configuration file: flags, then the environment,
    then the file, then the defaults. Exits on a usage error."""
    return _parse_args(_parser(), argv, environ)


def _parse_args(
    parser: argparse.ArgumentParser,
    argv: Sequence[str] | None,
    environ: Mapping[str, str] | None = None,
) -> argparse.Namespace:
    args = parser.parse_args(argv)
    config.apply(parser, args, argv, environ)
    return args


def main(argv: Sequence[str] | None = None) -> int:
    parser = _parser()
    args = _parse_args(parser, argv)
    logs.setup(args.log_level, args.log_format)
    if args.command == "elektrad":
        return _elektrad(args, parser)
    if args.command == "clusterd":
        return _clusterd(args, parser)
    if args.command == "up":
        return _up(args, parser)
    if args.command == "config":
        return _config_show(args, parser)
    if args.command == "print-systemd-unit":
        return _print_systemd_unit(args)
    if args.command == "watch":
        from .watch import run

        return run(args)
    if args.command == "token":
        return token_command.run(args)
    if args.command in ("backup", "restore"):
        return backup_command.run(args)
    if args.command in ("export", "import"):
        return transfer_command.run(args)
    return _schema()


if __name__ == "__main__":
    sys.exit(main())
