"""The daemons' settings from flags, the environment and a TOML file.

Every option of ``elektra-web clusterd``, ``elektrad`` and ``up`` can come from
four places; the first that has it wins:

1. the command line: ``--port 4000``;
2. the environment: ``ELEKTRA_WEB_<COMMAND>_<OPTION>``, the option's name in
   capitals with ``_`` for ``-`` (``ELEKTRA_WEB_CLUSTERD_PORT=4000``,
   ``ELEKTRA_WEB_ELEKTRAD_DATA_DIR=/srv/kdb``); an empty variable counts as
   unset. The older names ``ELEKTRAD_TOKEN`` (elektrad's ``--token``) and
   ``ELEKTRA_WEB_ADMIN_TOKEN`` (clusterd's ``--admin-token``) still work;
3. the TOML file: ``--config FILE`` (or ``ELEKTRA_WEB_<COMMAND>_CONFIG``), else
   the first that exists of ``$XDG_CONFIG_HOME/elektra-web/<command>.toml``
   (``~/.config/...``) and ``/etc/elektra-web/<command>.toml``. Its keys are
   the options' names: ``port = 4000``, ``data-dir = "/srv/kdb"``;
4. the option's default.

The names, keys and types come from the argparse definitions, so an option
added there can come from the environment and the file at once: values are
converted by the option's own ``type=`` and checked against its ``choices``.
In the file an ``int`` option takes a TOML integer, a ``float`` one a number,
any other a string; a switch (``--flag`` without a value) takes ``true`` or
``false``; a repeatable option (``--mount``) takes an array and replaces the
whole list of a lower place. In the environment a repeatable option takes one
value, or several as a TOML array (``'["10.0.0.0/8", "fd00::/8"]'``), and a
switch takes 1/0, true/false, yes/no or on/off.

A key or variable that is not an option, or a value of the wrong type, stops
the command with exit status 2 (like a bad flag), naming the file and line or
the variable. ``elektra-web config show COMMAND`` prints what a command would
run with and where each value came from (:func:`show`), secrets masked.
"""

from __future__ import annotations

import argparse
import difflib
import os
import re
import tomllib
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import platformdirs
import tomlkit

__all__ = [
    "COMMANDS",
    "SYSTEM_DIRECTORY",
    "ConfigError",
    "Option",
    "Resolved",
    "Setting",
    "add_config_option",
    "apply",
    "default_files",
    "env_name",
    "mask",
    "options",
    "resolve",
    "show",
]

#: The commands whose options may come from the environment and a file.
COMMANDS = ("clusterd", "elektrad", "up")

#: Names the environment had before the scheme, by (command, option key).
_ALIASES: dict[tuple[str, str], tuple[str, ...]] = {
    ("elektrad", "token"): ("ELEKTRAD_TOKEN",),
    ("clusterd", "admin-token"): ("ELEKTRA_WEB_ADMIN_TOKEN",),
    ("up", "admin-token"): ("ELEKTRA_WEB_ADMIN_TOKEN",),
}
#: Where the system's files are: ``/etc/elektra-web/<command>.toml``.
SYSTEM_DIRECTORY = Path("/etc/elektra-web")
# Options whose values are secrets in themselves (a *-file option names a
# file, which is not).
_SECRET_OPTION = re.compile(r"(^|-)(token|password|secret)$")
# The password in a URL: scheme://user:PASSWORD@host.
_URL_PASSWORD = re.compile(r"(\b[A-Za-z][A-Za-z0-9+.-]*://[^/:@\s]*:)[^@\s]*@")
_SECRET_MARK = "***"
_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")

Source = Literal["flag", "env", "file", "default"]
Kind = Literal["value", "list", "switch"]


class ConfigError(Exception):
    """A setting that cannot be used; the message names where it came from."""


@dataclass(frozen=True)
class Option:
    """One option of a command, as argparse defines it."""

    #: The flag's name without dashes: the key in the file.
    key: str
    #: The environment variables that set it, the scheme's name first.
    env: tuple[str, ...]
    action: argparse.Action
    kind: Kind

    @property
    def dest(self) -> str:
        """The attribute of the parsed arguments."""
        return self.action.dest

    @property
    def flag(self) -> str:
        """The option as written on the command line."""
        return f"--{self.key}"

    @property
    def secret(self) -> bool:
        """Whether its value must never be shown."""
        return _SECRET_OPTION.search(self.key) is not None


@dataclass
class Setting:
    """An option's value and where it came from."""

    option: Option
    value: Any
    source: Source
    #: The flag, the variable's name or the file and line; "" for a default.
    origin: str = ""


@dataclass
class Resolved:
    """A command's settings, after flags, environment, file and defaults."""

    command: str
    #: The configuration file read (None: none).
    file: Path | None
    #: Why that file (or none) was read, for people.
    file_note: str
    settings: dict[str, Setting] = field(default_factory=dict)


def env_prefix(command: str) -> str:
    """``ELEKTRA_WEB_CLUSTERD_`` for ``clusterd``."""
    return f"ELEKTRA_WEB_{command.upper()}_"


def env_name(command: str, key: str) -> str:
    """The environment variable of option ``key`` (``data-dir``) of ``command``."""
    return env_prefix(command) + key.upper().replace("-", "_")


def default_files(command: str) -> list[Path]:
    """Where ``command`` looks for its file without ``--config``, in order:
    the user's own, then the system's."""
    name = f"{command}.toml"
    return [platformdirs.user_config_path("elektra-web") / name, SYSTEM_DIRECTORY / name]


def add_config_option(parser: argparse.ArgumentParser, command: str) -> None:
    """Add ``--config FILE`` to ``command``'s parser."""
    user, system = default_files(command)
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=f"settings in TOML, keys named like the options (default: the first of {user} "
        f"and {system} that exists); each option can also be set in the environment as "
        f"{env_prefix(command)}<OPTION>. Flags win over the environment, which wins over "
        "the file",
    )


def options(parser: argparse.ArgumentParser, command: str) -> list[Option]:
    """The options of ``command``'s parser that may come from the environment
    and the file (all but --help and --config), in their order."""
    found: list[Option] = []
    for action in parser._actions:
        if not action.option_strings or action.dest in ("help", "config"):
            continue
        if isinstance(action, argparse._HelpAction | argparse._VersionAction):
            continue
        long = [s for s in action.option_strings if s.startswith("--")]
        if not long:
            raise TypeError(f"{action.option_strings}: an option needs a --long name")
        key = long[0][2:]
        env = (env_name(command, key), *_ALIASES.get((command, key), ()))
        found.append(Option(key, env, action, _kind(action)))
    return found


def _kind(action: argparse.Action) -> Kind:
    if isinstance(action, argparse._AppendAction):
        return "list"
    if action.nargs == 0 or isinstance(action, argparse.BooleanOptionalAction):
        return "switch"
    if isinstance(action, argparse._StoreAction):
        return "value" if action.nargs in (None, "?") else "list"
    raise TypeError(f"{action.option_strings[0]}: cannot come from a file or the environment")


def apply(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    environ: Mapping[str, str] | None = None,
) -> Resolved | None:
    """Fill ``args`` (parsed from ``argv`` by ``parser``) with the settings
    from the environment and the file where no flag gave them; exits with
    status 2 (a usage error) on a bad setting. None for commands without."""
    if args.command not in COMMANDS:
        return None
    sub = subparser(parser, args.command)
    try:
        resolved = resolve(parser, args, argv, os.environ if environ is None else environ)
    except ConfigError as exc:
        sub.error(str(exc))
    for dest, setting in resolved.settings.items():
        setattr(args, dest, setting.value)
    return resolved


def subparser(parser: argparse.ArgumentParser, command: str) -> argparse.ArgumentParser:
    """The parser of ``command``."""
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            found: argparse.ArgumentParser = action.choices[command]
            return found
    raise KeyError(command)


def resolve(
    parser: argparse.ArgumentParser,
    args: argparse.Namespace,
    argv: Sequence[str] | None,
    environ: Mapping[str, str],
) -> Resolved:
    """The settings of ``args.command``: each from its flag in ``argv``, the
    environment, the file, or its default (as in ``args``, parsed by
    ``parser``). Raises :class:`ConfigError`."""
    command = args.command
    sub = subparser(parser, command)
    known = options(sub, command)
    given = _given(parser, sub, argv)
    from_env = _from_environment(sub, command, known, environ)
    path, note, explicit = _config_file(command, args, "config" in given, environ)
    from_file = _from_file(sub, command, known, path, explicit) if path else {}
    resolved = Resolved(command, path if from_file is not None else None, note)
    for option in known:
        if option.dest in given:
            value = getattr(args, option.dest)
            resolved.settings[option.dest] = Setting(option, value, "flag", option.flag)
        elif option.dest in from_env:
            resolved.settings[option.dest] = from_env[option.dest]
        elif from_file and option.dest in from_file:
            resolved.settings[option.dest] = from_file[option.dest]
        else:
            resolved.settings[option.dest] = Setting(option, getattr(args, option.dest), "default")
    return resolved


def _given(
    parser: argparse.ArgumentParser, sub: argparse.ArgumentParser, argv: Sequence[str] | None
) -> set[str]:
    """The options ``argv`` gives: parsed again with no defaults, whatever is
    set was on the command line (``--port 33334`` too, the default's value)."""
    with _no_defaults(parser, sub):
        again = parser.parse_args(argv)
    return set(vars(again))


@contextmanager
def _no_defaults(*parsers: argparse.ArgumentParser) -> Iterator[None]:
    saved = [(a, a.default) for p in parsers for a in p._actions]
    try:
        for action, _ in saved:
            action.default = argparse.SUPPRESS
        yield
    finally:
        for action, default in saved:
            action.default = default


def _config_file(
    command: str, args: argparse.Namespace, flag: bool, environ: Mapping[str, str]
) -> tuple[Path | None, str, bool]:
    """The file to read, why, and whether it was asked for (then it must exist)."""
    if flag:
        return args.config, "--config", True
    variable = env_name(command, "config")
    if environ.get(variable):
        return Path(environ[variable]), variable, True
    candidates = default_files(command)
    for candidate in candidates:
        if _exists(candidate):
            return candidate, "default", False
    return None, "none of " + ", ".join(map(str, candidates)) + " exists", False


def _exists(path: Path) -> bool:
    # Under ProtectHome= a home directory may not even be searchable: that
    # is "no file there", not an error.
    try:
        return path.is_file()
    except OSError:
        return False


def _from_environment(
    sub: argparse.ArgumentParser, command: str, known: list[Option], environ: Mapping[str, str]
) -> dict[str, Setting]:
    prefix = env_prefix(command)
    names = {name for option in known for name in option.env} | {env_name(command, "config")}
    unknown = sorted(n for n in environ if n.startswith(prefix) and n not in names)
    if unknown:
        name = unknown[0]
        raise ConfigError(
            f"the environment variable {name} is not a setting of {command}"
            + _did_you_mean(name, sorted(names))
        )
    found: dict[str, Setting] = {}
    for option in known:
        for name in option.env:
            text = environ.get(name)
            if not text:
                continue
            try:
                value = _from_text(sub, option, text)
            except ConfigError as exc:
                raise ConfigError(f"the environment variable {name}: {exc}") from None
            found[option.dest] = Setting(option, value, "env", name)
            break
    return found


def _from_text(sub: argparse.ArgumentParser, option: Option, text: str) -> Any:
    if option.kind == "switch":
        lowered = text.strip().lower()
        if lowered not in _TRUE + _FALSE:
            raise ConfigError(f"expected one of {', '.join(_TRUE + _FALSE)}, not {text!r}")
        return _switch(option, lowered in _TRUE)
    if option.kind == "list":
        if not text.lstrip().startswith("["):
            return [_convert(sub, option, text)]
        try:
            items = tomllib.loads(f"v = {text}")["v"]
        except tomllib.TOMLDecodeError as exc:
            raise ConfigError(f"not a TOML array: {exc}") from None
        return [_convert(sub, option, _checked(option, item)) for item in items]
    return _convert(sub, option, text)


def _from_file(
    sub: argparse.ArgumentParser, command: str, known: list[Option], path: Path, explicit: bool
) -> dict[str, Setting] | None:
    """The settings in ``path``; None when a default file vanished."""
    try:
        text = path.read_bytes().decode()
    except FileNotFoundError:
        if explicit:
            raise ConfigError(f"the configuration file {path} does not exist") from None
        return None
    except (OSError, UnicodeDecodeError) as exc:
        reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8"
        raise ConfigError(f"cannot read the configuration file {path}: {reason}") from None
    try:
        document = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: {exc}") from None
    by_key = {option.key: option for option in known}
    found: dict[str, Setting] = {}
    for key, raw in document.items():
        line = _line_of(text, key)
        where = f"{path}:{line}" if line else str(path)
        option = by_key.get(key)
        if option is None:
            raise ConfigError(
                f"{where}: {key!r} is not a setting of {command}"
                + _did_you_mean(key, sorted(by_key))
            )
        try:
            value = _from_toml(sub, option, raw)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {key}: {exc}") from None
        found[option.dest] = Setting(option, value, "file", where)
    return found


def _from_toml(sub: argparse.ArgumentParser, option: Option, raw: Any) -> Any:
    if option.kind == "switch":
        if not isinstance(raw, bool):
            raise ConfigError(f"expected true or false, not {_describe(raw)}")
        return _switch(option, raw)
    if option.kind == "list":
        if not isinstance(raw, list):
            raise ConfigError(
                f"expected an array of {_expected(option)}s, not {_describe(raw)}"
                f" (e.g. {option.key} = [{_example(option)}])"
            )
        return [_convert(sub, option, _checked(option, item)) for item in raw]
    return _convert(sub, option, _checked(option, raw))


def _expected(option: Option) -> str:
    if option.action.type is int:
        return "integer"
    if option.action.type is float:
        return "number"
    return "string"


def _example(option: Option) -> str:
    return {"integer": "1", "number": "1.5"}.get(_expected(option), '"..."')


def _checked(option: Option, raw: Any) -> str:
    """A TOML value of the type the option takes, as text for its ``type``."""
    expected = _expected(option)
    fits = {
        "integer": isinstance(raw, int) and not isinstance(raw, bool),
        "number": isinstance(raw, int | float) and not isinstance(raw, bool),
        "string": isinstance(raw, str),
    }[expected]
    if not fits:
        raise ConfigError(f"expected {_article(expected)} {expected}, not {_describe(raw)}")
    return str(raw)


def _convert(sub: argparse.ArgumentParser, option: Option, text: str) -> Any:
    # argparse's own conversion and check: the same type= callable, the same
    # messages ("invalid int value: 'x'", "invalid choice: ...").
    try:
        value = sub._get_value(option.action, text)
        sub._check_value(option.action, value)
    except argparse.ArgumentError as exc:
        raise ConfigError(exc.message) from None
    return value


def _switch(option: Option, on: bool) -> Any:
    if isinstance(option.action, argparse.BooleanOptionalAction):
        return on
    return option.action.const if on else option.action.default


def _describe(raw: Any) -> str:
    """What a TOML value is, for a message: 'a string ("4000")'."""
    if isinstance(raw, dict):
        return "a table"
    kinds = {bool: "a boolean", int: "an integer", float: "a number", str: "a string"}
    kind = kinds.get(type(raw), "an array" if isinstance(raw, list) else "a date or time")
    return f"{kind} ({_toml(raw)})"


def _article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _line_of(text: str, key: str) -> int | None:
    """The line where ``key`` is set (tomllib reports lines only for syntax
    errors): ``key =``, a quoted or dotted key, or a table of that name."""
    name = rf"""(?:{re.escape(key)}|"{re.escape(key)}"|'{re.escape(key)}')"""
    pattern = re.compile(rf"^\s*(?:{name}\s*[=.]|\[\[?\s*{name}\s*[\].])")
    for number, line in enumerate(text.splitlines(), 1):
        if pattern.match(line):
            return number
    return None


def _did_you_mean(word: str, choices: list[str]) -> str:
    close = difflib.get_close_matches(word, choices, n=1, cutoff=0.6)
    return f" (did you mean {close[0]!r}?)" if close else ""


def mask(text: str) -> str:
    """``text`` with the passwords of URLs in it replaced by ``***``."""
    return _URL_PASSWORD.sub(r"\1***@", text)


def show(resolved: Resolved, unset: Mapping[str, str] | None = None) -> str:
    """The settings as a TOML file (one a line, with where it came from as a
    comment), secrets masked. Unset options are comments, with what the
    daemon uses instead where ``unset`` (by dest) says."""
    lines = [f"# elektra-web {resolved.command}: the settings it runs with"]
    if resolved.file is not None:
        lines.append(f"# configuration file: {resolved.file} ({resolved.file_note})")
    else:
        lines.append(f"# configuration file: none ({resolved.file_note})")
    for setting in resolved.settings.values():
        option = setting.option
        origin = setting.source + (f" {setting.origin}" if setting.origin else "")
        if setting.value is None:
            instead = (unset or {}).get(option.dest)
            using = f", so {mask(instead)}" if instead else ""
            lines.append(f"# {option.key}: not set{using} ({origin})")
            continue
        value = _plain(setting.value)
        if option.secret:
            value = [_SECRET_MARK for _ in value] if isinstance(value, list) else _SECRET_MARK
        lines.append(f"{option.key} = {mask(_toml(value))}  # {origin}")
    return "\n".join(lines) + "\n"


def _plain(value: Any) -> Any:
    """A value as TOML can hold it (paths and parsed options as their text)."""
    if isinstance(value, bool | int | float | str):
        return value
    if isinstance(value, list | tuple):
        return [_plain(item) for item in value]
    return str(value)


def _toml(value: Any) -> str:
    text: str = tomlkit.item(value).as_string()
    return text
