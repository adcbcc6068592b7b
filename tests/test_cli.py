"""The ``elektra-web`` command line as an operator meets it: ``--help`` of
every subcommand, and the ``token`` commands' database."""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from elektra_web import cli


def _parsers(
    parser: argparse.ArgumentParser, name: str = "elektra-web"
) -> Iterator[tuple[str, argparse.ArgumentParser]]:
    yield name, parser
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for command, sub in action.choices.items():
                yield from _parsers(sub, f"{name} {command}")


PARSERS = dict(_parsers(cli._parser()))


@pytest.mark.parametrize("command", sorted(PARSERS))
def test_every_option_has_help_and_shows_its_default_without_markup(command: str) -> None:
    parser = PARSERS[command]
    text = parser.format_help()
    assert "``" not in text
    for action in parser._actions:
        if isinstance(action, argparse._HelpAction | argparse._SubParsersAction):
            continue
        if isinstance(action, argparse._VersionAction):
            continue
        assert action.help, f"{command} {action.option_strings or action.dest} has no help"
        shown = " ".join(parser._get_formatter()._expand_help(action).split())
        default = action.default
        if action.option_strings and default not in (None, False, [], argparse.SUPPRESS):
            assert "default" in shown, f"{command} {action.option_strings}: {shown}"


def test_ports_show_their_defaults_in_help() -> None:
    text = " ".join(PARSERS["elektra-web up"].format_help().split())
    assert "clusterd's TCP port: the web client, GraphQL and GraphiQL (default: 33334)" in text
    assert "(default: 33333)" in text
    # The real command prints it too (the formatter is every subcommand's).
    done = subprocess.run(
        [sys.executable, "-m", "elektra_web", "token", "--help"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    assert "``" not in done.stdout and "'elektra-web token create|list" in done.stdout


def _token(home: Path, *args: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "STATE_DIRECTORY"))}
    return subprocess.run(
        [sys.executable, "-m", "elektra_web", "token", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env={**env, "HOME": str(home)},
    )


def test_token_commands_refuse_a_database_that_does_not_exist(tmp_path: Path) -> None:
    default = tmp_path / ".local" / "share" / "elektra-web" / "clusterd.sqlite3"
    for args in (("list",), ("revoke", "1"), ("create", "--role", "admin")):
        refused = _token(tmp_path, *args)
        assert refused.returncode == 1
        assert f"there is no clusterd database at {default}" in refused.stderr
        assert "--database sqlite:///path/to/clusterd.sqlite3" in refused.stderr
        assert refused.stdout == ""
    elsewhere = tmp_path / "elsewhere.sqlite3"
    refused = _token(tmp_path, "--database", f"sqlite://{elsewhere}", "list")
    assert refused.returncode == 1 and str(elsewhere) in refused.stderr
    assert not default.exists() and not elsewhere.exists()  # nothing was made


def test_token_commands_say_which_database_they_use(tmp_path: Path) -> None:
    database = f"sqlite://{tmp_path / 'c.sqlite3'}"
    created = _token(
        tmp_path, "--database", database, "create", "--role", "admin", "--create-database"
    )
    assert created.returncode == 0, created.stderr
    listed = _token(tmp_path, "--database", database, "list")
    assert listed.returncode == 0, listed.stderr
    for done in (created, listed):
        assert done.stderr.splitlines()[0] == f"elektra-web token: database {database}"
        assert "Tortoise-ORM shutdown" not in done.stderr
    assert " admin " in listed.stdout


def test_a_database_url_is_shown_without_its_password() -> None:
    from elektra_web.token_command import shown_url

    assert shown_url("postgres://web:s3cret@db/clusterd") == "postgres://web:***@db/clusterd"
    assert shown_url("postgres://web@db/clusterd") == "postgres://web@db/clusterd"


def test_clusterd_with_its_port_in_use_fails_at_once_and_makes_no_database(
    tmp_path: Path,
) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "ELEKTRA_WEB_"))}
        done = subprocess.run(
            [sys.executable, "-m", "elektra_web", "clusterd", "--port", str(port)],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
            env={**env, "HOME": str(tmp_path)},
        )
    assert done.returncode == 1
    assert f"port {port} is in use; use --port to pick another" in done.stderr
    assert not (tmp_path / ".local").exists()  # no database made, no migration run


def test_token_commands_refuse_a_file_that_is_no_database_and_exit(tmp_path: Path) -> None:
    # A broken (or wrong) file: refused at once, untouched; it used to hang the
    # command forever on the lock of Tortoise's failed connection.
    garbage = tmp_path / "clusterd.sqlite3"
    garbage.write_bytes(b"not a database, " * 300)
    refused = _token(tmp_path, "--database", f"sqlite://{garbage}", "list")
    assert refused.returncode == 1
    assert f"{garbage} is not an SQLite database" in refused.stderr
    assert "Traceback" not in refused.stderr
    assert garbage.read_bytes() == b"not a database, " * 300
