"""The daemons' settings: flags, then the environment, then the TOML file,
then the defaults (``elektra_web/config.py``), and ``elektra-web config show``."""

from __future__ import annotations

import argparse
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest

from elektra_web import cli, config
from elektra_web.elektrad.mounts import MountSpec


@pytest.fixture(autouse=True)
def no_default_files(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Neither the user's files nor the system's are read unless a test puts
    one there."""
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "user-config"))
    monkeypatch.setattr(config, "SYSTEM_DIRECTORY", tmp_path / "etc")


def write(path: Path, text: str) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)
    return path


def usage_error(capsys: pytest.CaptureFixture[str], *argv: str, **environ: str) -> str:
    """What ``elektra-web ARGV`` says on stderr when it stops with status 2."""
    with pytest.raises(SystemExit) as stopped:
        cli.parse_args(argv, environ)
    assert stopped.value.code == 2
    return capsys.readouterr().err


def test_clusterd_takes_a_flag_then_the_environment_then_the_file_then_the_default(
    tmp_path: Path,
) -> None:
    file = write(
        tmp_path / "clusterd.toml",
        "port = 4000\nwrite-wait = 2.5\nhealth-interval = 3\n"
        'allow-network = ["10.0.0.0/8"]\ndatabase = "sqlite:///srv/c.sqlite3"\n',
    )
    environ = {
        "ELEKTRA_WEB_CLUSTERD_PORT": "4001",
        "ELEKTRA_WEB_CLUSTERD_WRITE_WAIT": "1.5",
        "ELEKTRA_WEB_CLUSTERD_CONFIG": str(file),
    }
    args = cli.parse_args(["clusterd", "--port", "4002"], environ)
    assert args.port == 4002  # flag over environment and file
    assert args.write_wait == 1.5  # environment over file
    assert args.health_interval == 3.0  # file (an integer for a float option)
    assert args.allow_network == ["10.0.0.0/8"]
    assert args.database == "sqlite:///srv/c.sqlite3"
    assert args.retry_max == 60.0  # default
    assert args.host == "127.0.0.1"


def test_elektrad_takes_a_flag_then_the_environment_then_the_file_then_the_default(
    tmp_path: Path,
) -> None:
    file = write(
        tmp_path / "elektrad.toml",
        'host = "::1"\nport = 4000\ndata-dir = "/srv/kdb"\nmax-body = 100\nwatch-interval = 0.5\n',
    )
    environ = {"ELEKTRA_WEB_ELEKTRAD_PORT": "4001", "ELEKTRA_WEB_ELEKTRAD_MAX_BODY": "200"}
    args = cli.parse_args(["elektrad", "--config", str(file), "--port", "4002"], environ)
    assert args.port == 4002
    assert args.max_body == 200
    assert args.data_dir == Path("/srv/kdb")  # converted by the option's own type=
    assert args.watch_interval == 0.5
    assert args.host == "::1"
    assert args.token is None


def test_repeated_mounts_from_a_higher_place_replace_the_whole_list(tmp_path: Path) -> None:
    file = write(
        tmp_path / "elektrad.toml",
        'mount = ["user:/a=/etc/a.ini", "user:/b=/etc/b.json"]\n',
    )
    from_env = {"ELEKTRA_WEB_ELEKTRAD_MOUNT": '["user:/c=/etc/c.toml", "user:/d=ini:/etc/d"]'}
    one_from_env = {"ELEKTRA_WEB_ELEKTRAD_MOUNT": "user:/e=/etc/e.ini"}
    flags = ["--mount", "user:/f=/etc/f.ini", "--mount", "user:/g=/etc/g.ini"]

    def mounts(argv: list[str], environ: dict[str, str]) -> list[str]:
        args = cli.parse_args(["elektrad", "--config", str(file), *argv], environ)
        assert all(isinstance(m, MountSpec) for m in args.mount)
        return [str(m.prefix) for m in args.mount]

    assert mounts([], {}) == ["user:/a", "user:/b"]
    assert mounts([], from_env) == ["user:/c", "user:/d"]
    assert mounts([], one_from_env) == ["user:/e"]
    assert mounts(flags, from_env) == ["user:/f", "user:/g"]


def test_a_flag_equal_to_its_default_still_wins(tmp_path: Path) -> None:
    file = write(tmp_path / "clusterd.toml", "port = 4000\n")
    args = cli.parse_args(["clusterd", "--config", str(file), "--port", "33334"], {})
    assert args.port == 33334


def test_a_log_level_before_the_command_wins_over_the_file(tmp_path: Path) -> None:
    file = write(tmp_path / "clusterd.toml", 'log-level = "debug"\nlog-format = "json"\n')
    args = cli.parse_args(["--log-level", "warning", "clusterd", "--config", str(file)], {})
    assert (args.log_level, args.log_format) == ("warning", "json")
    assert cli.parse_args(["clusterd", "--config", str(file)], {}).log_level == "debug"


def test_the_older_token_variables_still_work_below_the_new_names() -> None:
    assert cli.parse_args(["elektrad"], {"ELEKTRAD_TOKEN": "old"}).token == "old"
    both = {"ELEKTRAD_TOKEN": "old", "ELEKTRA_WEB_ELEKTRAD_TOKEN": "new"}
    assert cli.parse_args(["elektrad"], both).token == "new"
    admin = {"ELEKTRA_WEB_ADMIN_TOKEN": "admin-secret-0123456789"}
    assert cli.parse_args(["clusterd"], admin).admin_token == "admin-secret-0123456789"
    assert cli.parse_args(["up"], admin).admin_token == "admin-secret-0123456789"
    assert cli.parse_args(["elektrad"], {"ELEKTRAD_TOKEN": ""}).token is None  # empty: unset


def test_without_config_the_users_file_then_the_systems_is_read(tmp_path: Path) -> None:
    system = write(tmp_path / "etc" / "elektrad.toml", "port = 4000\n")
    assert cli.parse_args(["elektrad"], {}).port == 4000
    write(tmp_path / "user-config" / "elektra-web" / "elektrad.toml", "port = 4001\n")
    assert cli.parse_args(["elektrad"], {}).port == 4001
    system.unlink()
    assert cli.parse_args(["clusterd"], {}).port == 33334  # no file at all: fine


def test_a_missing_config_file_that_was_asked_for_is_an_error(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "nope.toml"
    said = usage_error(capsys, "clusterd", "--config", str(missing))
    assert f"the configuration file {missing} does not exist" in said
    said = usage_error(capsys, "elektrad", ELEKTRA_WEB_ELEKTRAD_CONFIG=str(missing))
    assert f"the configuration file {missing} does not exist" in said


def test_an_unknown_key_names_the_file_and_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "clusterd.toml", '# settings\nhost = "::1"\n\nprot = 4000\n')
    said = usage_error(capsys, "clusterd", "--config", str(file))
    assert f"{file}:4: 'prot' is not a setting of clusterd (did you mean 'port'?)" in said
    table = write(tmp_path / "elektrad.toml", "port = 1\n[server]\nport = 2\n")
    said = usage_error(capsys, "elektrad", "--config", str(table))
    assert f"{table}:2: 'server' is not a setting of elektrad" in said


@pytest.mark.parametrize(
    ("command", "text", "message"),
    [
        ("clusterd", 'port = "4000"', 'port: expected an integer, not a string ("4000")'),
        ("clusterd", "port = 4000.5", "port: expected an integer, not a number (4000.5)"),
        ("clusterd", "write-wait = true", "write-wait: expected a number, not a boolean (true)"),
        ("clusterd", 'allow-network = "10.0.0.0/8"', "allow-network: expected an array of "),
        ("clusterd", "database = 5", "database: expected a string, not an integer (5)"),
        ("elektrad", 'log-level = "loud"', "log-level: invalid choice: 'loud'"),
        ("elektrad", 'mount = "user:/a=/a.ini"', "mount: expected an array of strings"),
        ("elektrad", 'mount = ["user:/a=/a.yaml"]', "mount: cannot tell the format of"),
        ("elektrad", "mount = [1]", "mount: expected a string, not an integer (1)"),
        ("up", 'elektrad-port = "x"', "elektrad-port: expected an integer"),
    ],
)
def test_a_value_of_the_wrong_type_names_the_file_and_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], command: str, text: str, message: str
) -> None:
    file = write(tmp_path / "settings.toml", f"# first line\n\n{text}\n")
    said = usage_error(capsys, command, "--config", str(file))
    assert f"{file}:3: {message}" in said


def test_a_toml_syntax_error_names_the_file_and_its_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(tmp_path / "clusterd.toml", "port = 1\nhost = \n")
    said = usage_error(capsys, "clusterd", "--config", str(file))
    assert f"{file}: " in said and "line 2" in said


def test_a_bad_environment_variable_is_a_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    said = usage_error(capsys, "clusterd", ELEKTRA_WEB_CLUSTERD_PROT="1")
    assert "ELEKTRA_WEB_CLUSTERD_PROT is not a setting of clusterd" in said
    assert "did you mean 'ELEKTRA_WEB_CLUSTERD_PORT'" in said
    said = usage_error(capsys, "clusterd", ELEKTRA_WEB_CLUSTERD_PORT="many")
    assert "ELEKTRA_WEB_CLUSTERD_PORT: invalid int value: 'many'" in said
    said = usage_error(capsys, "elektrad", ELEKTRA_WEB_ELEKTRAD_MOUNT="[1")
    assert "ELEKTRA_WEB_ELEKTRAD_MOUNT: not a TOML array" in said


def test_a_bad_file_stops_the_daemon_with_status_2(tmp_path: Path) -> None:
    file = write(tmp_path / "elektrad.toml", "port = 1\ndata_dir = '/srv'\n")
    result = subprocess.run(
        [sys.executable, "-m", "elektra_web", "elektrad", "--config", str(file)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2
    assert f"{file}:2: 'data_dir' is not a setting of elektrad (did you mean 'data-dir'?)" in (
        result.stderr
    )


def test_an_option_added_to_a_parser_comes_from_the_environment_and_the_file_too(
    tmp_path: Path,
) -> None:
    """A flag another part of the program adds needs nothing in config.py."""
    parser = argparse.ArgumentParser(prog="elektra-web")
    commands = parser.add_subparsers(dest="command", required=True)
    clusterd = commands.add_parser("clusterd")
    config.add_config_option(clusterd, "clusterd")
    clusterd.add_argument("--metrics", action="store_true")
    clusterd.add_argument("--tls", action=argparse.BooleanOptionalAction, default=True)
    clusterd.add_argument("--metrics-labels", type=int, default=0)
    clusterd.add_argument("--peer", action="append", default=[])
    file = write(tmp_path / "c.toml", 'metrics = true\ntls = false\npeer = ["a", "b"]\n')
    argv = ["clusterd", "--config", str(file)]
    environ = {"ELEKTRA_WEB_CLUSTERD_METRICS_LABELS": "7", "ELEKTRA_WEB_CLUSTERD_TLS": "yes"}
    args = parser.parse_args(argv)
    resolved = config.apply(parser, args, argv, environ)
    assert (args.metrics, args.tls, args.metrics_labels, args.peer) == (True, True, 7, ["a", "b"])
    assert resolved is not None
    sources = {s.option.key: s.source for s in resolved.settings.values()}
    assert sources == {"metrics": "file", "tls": "env", "metrics-labels": "env", "peer": "file"}


def test_config_show_masks_secrets_and_says_where_each_value_came_from(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    file = write(
        tmp_path / "clusterd.toml",
        'database = "postgres://app:hunter2@db.example/elektra"\nwrite-wait = 2.5\n',
    )
    monkeypatch.setenv("ELEKTRA_WEB_ADMIN_TOKEN", "s3cret-admin-token-0123")
    monkeypatch.setenv("ELEKTRA_WEB_CLUSTERD_HEALTH_INTERVAL", "3")
    assert cli.main(["config", "show", "clusterd", "--config", str(file), "--port", "5"]) == 0
    shown = capsys.readouterr().out
    assert "hunter2" not in shown and "s3cret" not in shown
    settings = tomllib.loads(shown)  # a TOML file, to start one's own from
    assert settings["database"] == "postgres://app:***@db.example/elektra"
    assert settings["admin-token"] == "***"
    assert (settings["port"], settings["health-interval"], settings["write-wait"]) == (5, 3.0, 2.5)
    assert settings["retry-max"] == 60.0
    lines = shown.splitlines()
    assert f"# configuration file: {file} (--config)" in lines
    assert "port = 5  # flag --port" in lines
    assert "health-interval = 3.0  # env ELEKTRA_WEB_CLUSTERD_HEALTH_INTERVAL" in lines
    assert f"write-wait = 2.5  # file {file}:2" in lines
    assert 'admin-token = "***"  # env ELEKTRA_WEB_ADMIN_TOKEN' in lines
    assert "retry-max = 60.0  # default" in lines


def test_config_show_masks_elektrads_token_and_shows_its_mounts(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("ELEKTRAD_TOKEN", "t0ken-of-elektrad")
    monkeypatch.setenv("ELEKTRA_WEB_ELEKTRAD_MOUNT", "user:/app=/etc/app.ini")
    assert cli.main(["config", "show", "elektrad"]) == 0
    shown = capsys.readouterr().out
    assert "t0ken" not in shown
    settings = tomllib.loads(shown)
    assert settings["token"] == "***"
    assert settings["mount"] == ["user:/app=ini:/etc/app.ini"]  # what --mount reads back
    assert "# data-dir: not set, so " in shown


def test_url_passwords_are_masked_wherever_they_are() -> None:
    assert config.mask("postgres://u:p@h/d and redis://:pw@h:6379") == (
        "postgres://u:***@h/d and redis://:***@h:6379"
    )
    assert config.mask("postgres://u@h/d sqlite:///x") == "postgres://u@h/d sqlite:///x"


def test_history_retention_comes_from_flags_the_environment_or_the_file(tmp_path: Path) -> None:
    file = write(
        tmp_path / "clusterd.toml", "history-max-age = 30\nhistory = false\ndelivery-max-age = 7\n"
    )
    environ = {
        "ELEKTRA_WEB_CLUSTERD_HISTORY_MAX_ENTRIES": "1000000",
        "ELEKTRA_WEB_CLUSTERD_CONFIG": str(file),
    }
    settings = cli._clusterd_config(
        cli.parse_args(["clusterd", "--database", "sqlite:///x.sqlite3"], environ),
        None,  # type: ignore[arg-type]
    ).settings
    assert settings.history_enabled is False
    assert settings.history_max_age == 30.0
    assert settings.history_max_entries == 1_000_000
    assert settings.delivery_max_age == 7.0
    defaults = cli._clusterd_config(
        cli.parse_args(["clusterd", "--history-max-age", "0"], {}),
        None,  # type: ignore[arg-type]
    ).settings
    # 0: no limit; the count is unlimited unless asked.
    assert (defaults.history_enabled, defaults.history_max_age) == (True, None)
    assert defaults.history_max_entries is None
    assert defaults.delivery_max_age == 30.0
