from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from elektra_web.elektrad.storage import (
    FileFormat,
    FormatError,
    IniFormat,
    JsonFormat,
    TomlFormat,
    UnsupportedKey,
    format_for,
)
from elektra_web.elektrad.storage.base import Parts, array_index, array_part

INI = """\
# Application settings
; edited by hand, keep the comments

[server]
# the port to listen on
port = 8080
host=localhost
name   :   Example App
verbose
paths = /usr/lib
    /usr/local/lib

[log]
level = info
file = /var/log/app.log

[data/dirs]
cache/dir = /var/cache
"""

JSON = """\
{
    "name": "Example App",
    "version": 1.10,
    "limit": 1e3,
    "debug": false,
    "owner": null,
    "greeting": "grüß dich",
    "escaped": "caf\\u00e9",
    "server": {
        "host": "localhost",
        "port": 8080
    },
    "tags": ["a", "b", "c"],
    "empty": {}
}
"""

TOML = """\
# Application settings
title = "Example App"  # shown in the title bar

[server]
host = "localhost"
port = 8080  # the port to listen on
ratio = 1.50
mask = 0xFF
debug = false
started = 1979-05-27T07:32:00Z
tags = ["a", "b", "c"]
limits = { cpu = 2, memory = "1G" }
site.url = "https://example.org"

[database.primary]
url = "postgres://db/app"

[[plugins]]
name = "auth"

[[plugins]]
name = "cache"
"""


def edited(fmt: FileFormat, text: str, *edits: tuple[Parts, str | None]) -> str:
    document = fmt.parse(text)
    for parts, value in edits:
        document.set(parts, value)
    return document.dump()


def without(fmt: FileFormat, text: str, *deleted: Parts) -> str:
    document = fmt.parse(text)
    for parts in deleted:
        document.delete(parts)
    return document.dump()


# --- choosing the format ----------------------------------------------------


def test_format_is_chosen_by_suffix_or_by_name() -> None:
    assert isinstance(format_for(Path("/etc/app.ini")), IniFormat)
    assert isinstance(format_for(Path("/etc/app.conf")), IniFormat)
    assert isinstance(format_for(Path("app.CFG")), IniFormat)
    assert isinstance(format_for(Path("app.json")), JsonFormat)
    assert isinstance(format_for(Path("app.toml")), TomlFormat)
    assert isinstance(format_for(Path("app.conf"), "toml"), TomlFormat)


def test_unknown_suffix_or_name_is_refused_with_the_supported_ones() -> None:
    with pytest.raises(ValueError, match=r"\.ini.*\.json.*\.toml"):
        format_for(Path("app.yaml"))
    with pytest.raises(ValueError, match="ini, json, toml"):
        format_for(Path("app.ini"), "yaml")


# --- INI --------------------------------------------------------------------


def test_ini_file_round_trips_unchanged() -> None:
    assert IniFormat().parse(INI).dump() == INI


def test_ini_keys_are_sections_and_their_options() -> None:
    assert list(IniFormat().parse(INI).keys().items()) == [
        ((), None),
        (("server",), None),
        (("server", "port"), "8080"),
        (("server", "host"), "localhost"),
        (("server", "name"), "Example App"),
        (("server", "verbose"), None),
        (("server", "paths"), "/usr/lib\n/usr/local/lib"),
        (("log",), None),
        (("log", "level"), "info"),
        (("log", "file"), "/var/log/app.log"),
        (("data/dirs",), None),
        (("data/dirs", "cache/dir"), "/var/cache"),
    ]


def test_ini_set_changes_only_the_line_of_the_option() -> None:
    text = edited(IniFormat(), INI, (("server", "port"), "9090"))
    assert text == INI.replace("port = 8080", "port = 9090")


def test_ini_set_keeps_the_spacing_around_the_delimiter() -> None:
    text = edited(
        IniFormat(), INI, (("server", "host"), "example.org"), (("server", "name"), "Other")
    )
    expected = INI.replace("host=localhost", "host=example.org")
    assert text == expected.replace("name   :   Example App", "name   :   Other")


def test_ini_option_names_keep_their_case() -> None:
    document = IniFormat().parse("[a]\nKey = 1\nkey = 2\n")
    assert document.keys()[("a", "Key")] == "1"
    assert document.keys()[("a", "key")] == "2"


def test_ini_new_option_follows_the_last_option_of_its_section() -> None:
    text = edited(IniFormat(), INI, (("log", "rotate"), "daily"))
    assert text == INI.replace(
        "file = /var/log/app.log\n", "file = /var/log/app.log\nrotate = daily\n"
    )


def test_ini_new_section_is_added_at_the_end() -> None:
    text = edited(IniFormat(), INI, (("cache", "size"), "10"), (("empty",), None))
    assert text == INI + "\n[cache]\nsize = 10\n\n[empty]\n"


def test_ini_option_in_an_empty_section_follows_its_header() -> None:
    text = edited(IniFormat(), "[a]\n\n[b]\n", (("a", "x"), "1"))
    assert text == "[a]\nx = 1\n\n[b]\n"


def test_ini_option_without_a_value() -> None:
    text = edited(IniFormat(), INI, (("server", "verbose"), "yes"), (("log", "quiet"), None))
    expected = INI.replace("verbose\n", "verbose = yes\n")
    assert text == expected.replace("app.log\n", "app.log\nquiet\n")
    assert IniFormat().parse(text).keys()[("log", "quiet")] is None


def test_ini_multi_line_values_are_written_as_indented_continuation_lines() -> None:
    text = edited(IniFormat(), "[a]\nx = 1\n", (("a", "x"), "one\ntwo"), (("a", "y"), "\n3\n4"))
    assert text == "[a]\nx = one\n    two\ny =\n    3\n    4\n"
    assert IniFormat().parse(text).keys()[("a", "y")] == "\n3\n4"


def test_ini_delete_option_section_and_everything() -> None:
    ini = IniFormat()
    assert without(ini, INI, ("log", "level")) == INI.replace("level = info\n", "")
    assert without(ini, INI, ("data/dirs",)) == INI.split("[data/dirs]")[0]
    assert without(ini, INI, ("nope",), ("log", "nope"), ("server", "port", "x")) == INI
    assert without(ini, INI, ()) == ""


@pytest.mark.parametrize(
    ("parts", "value"),
    [
        ((), "x"),  # a value on the file
        (("server",), "x"),  # a value on a section
        (("server", "port", "deeper"), "1"),
        (("server", "a", "b", "c"), None),
        (("", "x"), "1"),  # an empty section name
        (("a\nb", "x"), "1"),
        (("server", ""), "1"),
        (("server", " padded"), "1"),
        (("server", "a=b"), "1"),
        (("server", "a:b"), "1"),
        (("server", "#comment"), "1"),
        (("server", "[x]"), "1"),
        (("server", "x"), " padded"),
        (("server", "x"), "one\n\nthree"),
    ],
)
def test_ini_refuses_keys_it_cannot_hold(parts: Parts, value: str | None) -> None:
    document = IniFormat().parse(INI)
    with pytest.raises(UnsupportedKey):
        document.set(parts, value)
    assert document.dump() == INI


def test_ini_refusal_says_what_an_ini_file_holds() -> None:
    with pytest.raises(UnsupportedKey, match=r"sections.*options"):
        IniFormat().parse(INI).set(("server", "port", "x"), "1")


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("port = 1\n", 1),  # before any section
        ("[a]\nx = 1\n\n= 2\n", 4),
        ("[a]\nx = 1\nx = 2\n", 3),
        ("[a]\n[b]\n[a]\n", 3),
    ],
)
def test_ini_invalid_text_is_a_format_error_with_its_line(text: str, line: int) -> None:
    with pytest.raises(FormatError) as caught:
        IniFormat().parse(text)
    assert caught.value.line == line


def test_ini_empty_text_is_an_empty_document() -> None:
    document = IniFormat().parse("")
    assert dict(document.keys()) == {(): None}
    assert document.dump() == ""
    document.set(("a", "b"), "c")
    assert document.dump() == "[a]\nb = c\n"


# --- JSON -------------------------------------------------------------------


@pytest.mark.parametrize(
    "text",
    [
        JSON,
        JSON.rstrip("\n"),
        '{"a":1,"b":[1,2.50],"c":{"d":null}}',
        '{\n\t"a": 1,\n\t"b": [\n\t\t1E+2\n\t]\n}\n',
        '[1, "two", {"three": 3}]\n',
        '  "scalar"  ',
    ],
)
def test_json_file_round_trips_unchanged(text: str) -> None:
    assert JsonFormat().parse(text).dump() == text


def test_json_keys_are_objects_arrays_and_their_values() -> None:
    assert list(JsonFormat().parse(JSON).keys().items()) == [
        ((), None),
        (("name",), "Example App"),
        (("version",), "1.10"),
        (("limit",), "1e3"),
        (("debug",), "false"),
        (("owner",), None),
        (("greeting",), "grüß dich"),
        (("escaped",), "café"),
        (("server",), None),
        (("server", "host"), "localhost"),
        (("server", "port"), "8080"),
        (("tags",), None),
        (("tags", "#0"), "a"),
        (("tags", "#1"), "b"),
        (("tags", "#2"), "c"),
        (("empty",), None),
    ]


def test_json_root_array_and_root_scalar() -> None:
    assert dict(JsonFormat().parse('["x"]').keys()) == {(): None, ("#0",): "x"}
    document = JsonFormat().parse("42\n")
    assert dict(document.keys()) == {(): "42"}
    document.set((), "43")
    assert document.dump() == "43\n"


def test_json_set_changes_only_that_value() -> None:
    text = edited(JsonFormat(), JSON, (("server", "host"), "example.org"))
    assert text == JSON.replace('"localhost"', '"example.org"')


def test_json_set_keeps_the_type_of_numbers_and_booleans() -> None:
    text = edited(
        JsonFormat(),
        JSON,
        (("version",), "2.0"),
        (("server", "port"), "-1.5e2"),
        (("debug",), "true"),
        (("limit",), "lots"),
        (("owner",), "me"),
        (("name",), "42"),
    )
    expected = (
        JSON.replace("1.10", "2.0")
        .replace("8080", "-1.5e2")
        .replace("false", "true")
        .replace("1e3", '"lots"')
        .replace("null", '"me"')
        .replace('"Example App"', '"42"')
    )
    assert text == expected


def test_json_set_none_on_a_leaf_writes_null() -> None:
    text = edited(JsonFormat(), JSON, (("name",), None))
    assert text == JSON.replace('"Example App"', "null")


def test_json_writes_non_ascii_as_is() -> None:
    text = edited(JsonFormat(), JSON, (("name",), 'Grüße "ü" \\ \n'))
    assert text == JSON.replace('"Example App"', '"Grüße \\"ü\\" \\\\ \\n"')


def test_json_new_keys_copy_the_layout_of_their_siblings() -> None:
    text = edited(JsonFormat(), JSON, (("server", "tls"), "on"), (("tags", "#3"), "d"))
    expected = JSON.replace('"port": 8080\n', '"port": 8080,\n        "tls": "on"\n')
    assert text == expected.replace('"c"]', '"c", "d"]')


def test_json_new_containers_are_indented_like_the_file() -> None:
    text = edited(JsonFormat(), JSON, (("empty", "list", "#0"), "x"), (("more", "a"), "1"))
    expected = JSON.replace(
        '"empty": {}',
        '"empty": {\n        "list": [\n            "x"\n        ]\n    }',
    )
    assert text == expected.replace(
        "    }\n}\n", '    },\n    "more": {\n        "a": "1"\n    }\n}\n'
    )


def test_json_new_keys_in_tab_indented_and_one_line_files() -> None:
    tabs = '{\n\t"a": {}\n}\n'
    assert edited(JsonFormat(), tabs, (("a", "b"), "c")) == '{\n\t"a": {\n\t\t"b": "c"\n\t}\n}\n'
    compact = '{"a":1,"b":{}}'
    assert edited(JsonFormat(), compact, (("b", "c"), "2"), (("d",), "3")) == (
        '{"a":1,"b":{"c":"2"},"d":"3"}'
    )


def test_json_delete_a_leaf_a_container_and_an_array_element() -> None:
    json = JsonFormat()
    assert without(json, JSON, ("debug",)) == JSON.replace('    "debug": false,\n', "")
    assert without(json, JSON, ("server",)) == JSON.replace(
        '    "server": {\n        "host": "localhost",\n        "port": 8080\n    },\n', ""
    )
    assert without(json, JSON, ("empty",)) == JSON.replace(',\n    "empty": {}', "")
    assert without(json, JSON, ("server", "host"), ("server", "port")) == JSON.replace(
        '{\n        "host": "localhost",\n        "port": 8080\n    }', "{}"
    )
    assert without(json, JSON, ("nope", "x"), ("tags", "x"), ("name", "x")) == JSON
    assert without(json, JSON, ()) == "{}\n"


def test_json_deleting_an_array_element_shifts_the_later_ones() -> None:
    document = JsonFormat().parse(JSON)
    document.delete(("tags", "#1"))
    assert document.dump() == JSON.replace('"a", "b", "c"', '"a", "c"')
    assert document.keys()[("tags", "#1")] == "c"
    assert ("tags", "#2") not in document.keys()


def test_json_array_of_more_than_ten_uses_canonical_array_parts() -> None:
    document = JsonFormat().parse(str(list(range(12))))
    assert document.keys()[("#_11",)] == "11"
    document.set(("#_12",), "x")
    assert document.keys()[("#_12",)] == "x"


@pytest.mark.parametrize(
    ("parts", "value"),
    [
        ((), "x"),  # a value on the root object
        (("server",), "x"),  # a value on an object
        (("tags",), "x"),  # a value on an array
        (("name", "x"), "1"),  # a child under a string
        (("owner", "x"), "1"),  # a child under null
        (("tags", "#4"), "x"),  # past the end
        (("tags", "first"), "x"),  # not an array part
        (("tags", "#00"), "x"),  # not canonical
        (("tags", "#3", "#1"), "x"),  # past the end of a new array
    ],
)
def test_json_refuses_keys_it_cannot_hold(parts: Parts, value: str | None) -> None:
    document = JsonFormat().parse(JSON)
    with pytest.raises(UnsupportedKey):
        document.set(parts, value)
    assert document.dump() == JSON


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ('{\n  "a": 1,\n}\n', 3),
        ('{\n  "a": 1\n', 3),
        ('{\n  "a": NaN\n}', 2),
        ('{\n  "a": 1,\n  "a": 2\n}', 3),
        ("nonsense", 1),
    ],
)
def test_json_invalid_text_is_a_format_error_with_its_line(text: str, line: int) -> None:
    with pytest.raises(FormatError) as caught:
        JsonFormat().parse(text)
    assert caught.value.line == line


def test_json_empty_text_is_an_empty_object() -> None:
    document = JsonFormat().parse("")
    assert dict(document.keys()) == {(): None}
    assert document.dump() == ""
    document.set(("a",), "b")
    assert document.dump() == '{\n  "a": "b"\n}\n'


# --- TOML -------------------------------------------------------------------


def test_toml_file_round_trips_unchanged() -> None:
    assert TomlFormat().parse(TOML).dump() == TOML


def test_toml_keys_are_tables_arrays_and_their_values() -> None:
    assert list(TomlFormat().parse(TOML).keys().items()) == [
        ((), None),
        (("title",), "Example App"),
        (("server",), None),
        (("server", "host"), "localhost"),
        (("server", "port"), "8080"),
        (("server", "ratio"), "1.50"),
        (("server", "mask"), "0xFF"),
        (("server", "debug"), "false"),
        (("server", "started"), "1979-05-27T07:32:00Z"),
        (("server", "tags"), None),
        (("server", "tags", "#0"), "a"),
        (("server", "tags", "#1"), "b"),
        (("server", "tags", "#2"), "c"),
        (("server", "limits"), None),
        (("server", "limits", "cpu"), "2"),
        (("server", "limits", "memory"), "1G"),
        (("server", "site"), None),
        (("server", "site", "url"), "https://example.org"),
        (("database",), None),
        (("database", "primary"), None),
        (("database", "primary", "url"), "postgres://db/app"),
        (("plugins",), None),
        (("plugins", "#0"), None),
        (("plugins", "#0", "name"), "auth"),
        (("plugins", "#1"), None),
        (("plugins", "#1", "name"), "cache"),
    ]


def test_toml_set_changes_only_that_value_and_keeps_its_comment() -> None:
    text = edited(TomlFormat(), TOML, (("server", "port"), "9090"))
    assert text == TOML.replace("port = 8080", "port = 9090")


def test_toml_set_keeps_the_type_of_numbers_booleans_and_dates() -> None:
    text = edited(
        TomlFormat(),
        TOML,
        (("server", "mask"), "0o17"),
        (("server", "ratio"), "2"),
        (("server", "debug"), "true"),
        (("server", "started"), "2024-01-02"),
        (("server", "limits", "cpu"), "many"),
        (("server", "host"), "42"),
    )
    expected = (
        TOML.replace("0xFF", "0o17")
        .replace("1.50", "2.0")
        .replace("debug = false", "debug = true")
        .replace("1979-05-27T07:32:00Z", '"2024-01-02"')
        .replace("cpu = 2", 'cpu = "many"')
        .replace('"localhost"', '"42"')
    )
    assert text == expected


def test_toml_new_keys_and_tables() -> None:
    text = edited(
        TomlFormat(),
        TOML,
        (("version",), "1"),
        (("server", "tags", "#3"), "d"),
        (("server", "limits", "disk"), "5G"),
        (("database", "primary", "pool"), "4"),
        (("cache", "redis", "url"), "redis://"),
    )
    expected = (
        TOML.replace("bar\n", 'bar\nversion = "1"\n')
        .replace('"c"]', '"c", "d"]')
        .replace('"1G" }', '"1G", disk = "5G"}')
        .replace('"postgres://db/app"\n', '"postgres://db/app"\npool = "4"\n')
    )
    assert text == expected + '\n[cache.redis]\nurl = "redis://"\n'


def test_toml_new_element_of_an_array_of_tables() -> None:
    text = edited(TomlFormat(), TOML, (("plugins", "#2", "name"), "log"))
    assert text == TOML + '\n[[plugins]]\nname = "log"\n'


def test_toml_new_containers_in_arrays_are_inline() -> None:
    text = edited(TomlFormat(), "", (("a", "#0", "b"), "1"), (("a", "#1", "#0"), "2"))
    assert text == 'a = [{b = "1"}, ["2"]]\n'


def test_toml_new_table_below_dotted_keys_stays_there() -> None:
    text = edited(TomlFormat(), TOML, (("server", "site", "auth", "user"), "me"))
    assert text == TOML.replace(
        'site.url = "https://example.org"\n',
        'site.url = "https://example.org"\nsite.auth = {user = "me"}\n',
    )


def test_toml_delete_a_leaf_a_table_and_an_array_element() -> None:
    toml = TomlFormat()
    assert without(toml, TOML, ("server", "debug")) == TOML.replace("debug = false\n", "")
    assert without(toml, TOML, ("database",)) == TOML.replace(
        '\n[database.primary]\nurl = "postgres://db/app"\n', ""
    )
    assert without(toml, TOML, ("nope", "x"), ("server", "tags", "x"), ("title", "x")) == TOML
    assert without(toml, TOML, ()) == ""


def test_toml_deleting_an_array_element_shifts_the_later_ones() -> None:
    document = TomlFormat().parse(TOML)
    document.delete(("server", "tags", "#1"))
    document.delete(("plugins", "#0"))
    assert document.keys()[("server", "tags", "#1")] == "c"
    assert document.keys()[("plugins", "#0", "name")] == "cache"
    assert ("plugins", "#1") not in document.keys()
    assert document.dump() == TOML.replace('"a", "b", "c"', '"a", "c"').replace(
        '[[plugins]]\nname = "auth"\n\n', ""
    )


@pytest.mark.parametrize(
    ("parts", "value"),
    [
        ((), "x"),  # a value on the root table
        (("server",), "x"),  # a value on a table
        (("server", "tags"), "x"),  # a value on an array
        (("plugins",), "x"),  # a value on an array of tables
        (("title",), None),  # TOML has no key without a value
        (("title", "x"), "1"),  # a child under a string
        (("server", "tags", "#4"), "x"),  # past the end
        (("server", "tags", "first"), "x"),  # not an array part
        (("plugins", "#2"), "x"),  # a value in an array of tables
        (("new", "#1"), "x"),  # past the end of a new array
    ],
)
def test_toml_refuses_keys_it_cannot_hold(parts: Parts, value: str | None) -> None:
    document = TomlFormat().parse(TOML)
    with pytest.raises(UnsupportedKey):
        document.set(parts, value)
    assert document.dump() == TOML


@pytest.mark.parametrize(
    ("text", "line"),
    [
        ("a = 1\nb = \n", 2),
        ("[a]\nx = 1\n\n[a]\n", 4),
        ("a = 1\nb = 2\na = 3\n", 3),
        ('a = "unterminated\n', 1),
    ],
)
def test_toml_invalid_text_is_a_format_error_with_its_line(text: str, line: int) -> None:
    with pytest.raises(FormatError) as caught:
        TomlFormat().parse(text)
    assert caught.value.line == line


def test_toml_empty_text_is_an_empty_document() -> None:
    document = TomlFormat().parse("")
    assert dict(document.keys()) == {(): None}
    assert document.dump() == ""
    document.set(("a",), "b")
    assert document.dump() == 'a = "b"\n'


# --- any data survives a write and a read -----------------------------------

KEYS = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=8).filter(
    lambda name: array_index(name) is None
)
TEXTS = st.text(st.characters(codec="utf-8"))
LEAVES = TEXTS | st.integers() | st.booleans()
TREES = st.recursive(
    LEAVES,
    lambda children: st.lists(children, max_size=4) | st.dictionaries(KEYS, children, max_size=4),
    max_leaves=20,
)


def leaf_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def flatten(data: Any, parts: Parts = ()) -> dict[Parts, str | None]:
    """Every key of ``data``, containers included."""
    if isinstance(data, dict):
        children = list(data.items())
    elif isinstance(data, list):
        children = [(array_part(index), value) for index, value in enumerate(data)]
    else:
        return {parts: leaf_text(data)}
    keys: dict[Parts, str | None] = {parts: None}
    for name, value in children:
        keys |= flatten(value, (*parts, name))
    return keys


def assert_built_document_reads_back(fmt: FileFormat, data: dict[str, Any]) -> None:
    expected = flatten(data)
    document = fmt.parse("")
    for parts, value in expected.items():
        # Containers are created on the way to their children; only empty ones
        # need their own call.
        below = [key for key in expected if len(key) > len(parts) and key[: len(parts)] == parts]
        if value is not None or not below:
            document.set(parts, value)
    reread = fmt.parse(document.dump())
    assert list(reread.keys().items()) == list(document.keys().items())
    assert dict(reread.keys()) == expected


@settings(max_examples=200)
@given(st.dictionaries(KEYS, TREES, max_size=5))
def test_json_any_data_set_from_scratch_reads_back(data: dict[str, Any]) -> None:
    assert_built_document_reads_back(JsonFormat(), data)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(KEYS, TREES, max_size=5))
def test_toml_any_data_set_from_scratch_reads_back(data: dict[str, Any]) -> None:
    assert_built_document_reads_back(TomlFormat(), data)


def ini_line(text: str) -> bool:
    return bool(text) and text == text.strip()


INI_TEXT = st.text(st.characters(exclude_categories=("Cc", "Cs")), max_size=12)
INI_SECTIONS = INI_TEXT.filter(bool)
INI_OPTIONS = INI_TEXT.filter(
    lambda name: ini_line(name) and not set(name) & set("=:") and name[0] not in "#;["
)
INI_VALUES = (
    st.none()
    | INI_TEXT.map(str.strip)
    | st.lists(INI_TEXT.filter(ini_line), min_size=2, max_size=3).map("\n".join)
)


@settings(max_examples=200)
@given(st.dictionaries(INI_SECTIONS, st.dictionaries(INI_OPTIONS, INI_VALUES, max_size=4)))
def test_ini_any_sections_set_from_scratch_read_back(data: dict[str, dict[str, str]]) -> None:
    expected: dict[Parts, str | None] = {(): None}
    document = IniFormat().parse("")
    for section, options in data.items():
        expected[(section,)] = None
        document.set((section,), None)
        for option, value in options.items():
            expected[(section, option)] = value
            document.set((section, option), value)
    reread = IniFormat().parse(document.dump())
    assert list(reread.keys().items()) == list(document.keys().items())
    assert dict(reread.keys()) == expected
