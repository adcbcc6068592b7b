"""The export format: every entry round-trips exactly in each format, and
malformed text is refused with where it is wrong."""

from __future__ import annotations

import pytest

from elektra_web.formats import ConfigFormat, Entry, FormatError, decode, encode

AWKWARD = {
    "": Entry("root"),
    "a/b\\/c": Entry(' x=1; #y\n\nz\u2028 "q" \\ \x7f\x00 ü\r\n', {"check/type": "long"}),
    "c=d;e #f": Entry("", {"we:ird= name\n": " v;#\n", "": "empty name"}),
    "container": Entry(None, {"note": "no value"}),
    "[x]": Entry("]["),
}


@pytest.mark.parametrize("fmt", list(ConfigFormat))
def test_every_entry_round_trips_exactly(fmt: ConfigFormat) -> None:
    text = encode(fmt, AWKWARD)
    assert decode(fmt, text) == AWKWARD
    assert encode(fmt, decode(fmt, text)) == text
    assert list(decode(fmt, text)) == list(AWKWARD)


@pytest.mark.parametrize("fmt", list(ConfigFormat))
def test_nothing_is_an_empty_export(fmt: ConfigFormat) -> None:
    assert decode(fmt, encode(fmt, {})) == {}


@pytest.mark.parametrize(
    ("fmt", "text", "where"),
    [
        (ConfigFormat.JSON, '{\n "a": {"value": "x",}}', "line 2, column 21"),
        (ConfigFormat.JSON, '{"a": {"value": "x"}, "a": {"value": "y"}}', "appears twice"),
        (ConfigFormat.JSON, '{"a": {"value": 1}}', "entry 'a'"),
        (ConfigFormat.JSON, '{"a": {"value": "1", "other": 2}}', "unknown field 'other'"),
        (ConfigFormat.JSON, "[]", "object of entries"),
        (ConfigFormat.TOML, '["a"]\nvalue = x', "line 2, column 9"),
        (ConfigFormat.TOML, "[a.b]\nvalue = 'x'", "entry 'a'"),
        (ConfigFormat.TOML, '["a"]\nvalue = "x"\nmeta = { n = 1 }', "metadata 'n'"),
        (ConfigFormat.INI, '["a"]\nvalue = "x', "line 2, column 9"),
        (ConfigFormat.INI, '["a"]\n  value = x', "line 2, column 11"),
        (ConfigFormat.INI, "[a]", "line 1, column 2"),
        (ConfigFormat.INI, 'value = "x"', "line 1, column 1"),
        (ConfigFormat.INI, '["a"]\nvalue = "x"\nvalue = "y"', "line 3"),
        (ConfigFormat.INI, '["a"]\n["a"]', "line 2"),
        (ConfigFormat.INI, '["a"]\nnonsense', "line 2, column 1"),
    ],
)
def test_malformed_text_is_refused_saying_where(fmt: ConfigFormat, text: str, where: str) -> None:
    with pytest.raises(FormatError, match=None) as raised:
        decode(fmt, text)
    assert where in str(raised.value)
