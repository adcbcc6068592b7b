from __future__ import annotations

import threading
import time
from collections.abc import Callable

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from elektra_web.elektrad.exceptions import ValidationError
from elektra_web.elektrad.validation import TYPES, validate, validate_meta

from .conftest import Elektrad

NAME = "user:/app/port"


def refusal(value: str, meta: dict[str, str]) -> str:
    with pytest.raises(ValidationError) as info:
        validate(value, meta, NAME)
    return info.value.message


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("long", "0"),
        ("long", "-5"),
        ("long", "2147483647"),
        ("long", "-2147483648"),
        ("long_long", "9223372036854775807"),
        ("long_long", "-9223372036854775808"),
        ("unsigned_long", "4294967295"),
        ("unsigned_long_long", "18446744073709551615"),
        ("short", "-32768"),
        ("unsigned_short", "65535"),
        ("double", "1.5"),
        ("double", "-2"),
        ("double", ".5"),
        ("double", "1."),
        ("double", "1e10"),
        ("double", "+3.0E-2"),
        ("float", "3.4e38"),
        ("long_double", "1e400"),
        ("boolean", "1"),
        ("boolean", "0"),
        ("boolean", "true"),
        ("boolean", "FALSE"),
        ("boolean", "Yes"),
        ("boolean", "no"),
        ("boolean", "on"),
        ("boolean", "off"),
        ("boolean", "enable"),
        ("boolean", "disable"),
        ("boolean", "enabled"),
        ("boolean", "Disabled"),
        ("string", ""),
        ("string", "anything at all\n"),
        ("any", "x"),
        ("char", "x"),
        ("char", "ä"),
        ("wchar", "ä"),
        ("octet", "x"),
    ],
)
def test_type_accepts(kind: str, value: str) -> None:
    validate(value, {"check/type": kind}, NAME)


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("long", "abc"),
        ("long", ""),
        ("long", "2147483648"),
        ("long", "-2147483649"),
        ("long", "1.0"),
        # Elektra converts back and compares: only the plain spelling is a long
        ("long", "+5"),
        ("long", "05"),
        ("long", "-0"),
        ("long", " 5"),
        ("long", "5\n"),
        ("long", "1_000"),
        ("long", "٣"),
        ("long", "9" * 5000),
        ("long_long", "9223372036854775808"),
        ("unsigned_long", "-1"),
        ("unsigned_long", "4294967296"),
        ("unsigned_long_long", "18446744073709551616"),
        ("short", "32768"),
        ("unsigned_short", "-1"),
        ("double", "abc"),
        ("double", ""),
        ("double", "nan"),
        ("double", "inf"),
        ("double", "1e400"),
        ("double", "0x10"),
        ("double", "1,5"),
        ("float", "3.5e38"),
        ("boolean", "maybe"),
        ("boolean", ""),
        ("boolean", "2"),
        ("boolean", "y"),
        ("char", ""),
        ("char", "ab"),
    ],
)
def test_type_refuses(kind: str, value: str) -> None:
    message = refusal(value, {"check/type": kind})
    assert message.startswith(f"{NAME}: ")
    assert f" {kind} (check/type)" in message


def test_type_message_names_key_value_and_rule() -> None:
    assert refusal("abc", {"check/type": "long"}) == (
        'user:/app/port: "abc" is not a long (check/type)'
    )
    assert refusal("x", {"check/type": "unsigned_long"}) == (
        'user:/app/port: "x" is not an unsigned_long (check/type)'
    )


def test_long_value_is_shortened_in_the_message() -> None:
    message = refusal("x" * 1000, {"check/type": "long"})
    assert len(message) < 150
    assert "…" in message


def test_custom_boolean_pair_replaces_the_default_spellings() -> None:
    meta = {"check/type": "boolean", "check/boolean/true": "Ja", "check/boolean/false": "Nein"}
    for value in ("ja", "NEIN", "1", "0"):
        validate(value, meta, NAME)
    assert "is not a boolean" in refusal("yes", meta)


def test_half_a_custom_boolean_pair_is_refused() -> None:
    meta = {"check/type": "boolean", "check/boolean/true": "ja"}
    assert "go together" in refusal("1", meta)


def test_no_check_metadata_accepts_anything() -> None:
    validate("", {}, NAME)
    validate("x", {"description": "not a check", "type": "long"}, NAME)


# -- check/enum -----------------------------------------------------------

ENUM = {
    "check/enum": "#2",
    "check/enum/#0": "low",
    "check/enum/#1": "middle",
    "check/enum/#2": "high",
}


@pytest.mark.parametrize("value", ["low", "middle", "high"])
def test_enum_accepts_listed_value(value: str) -> None:
    validate(value, ENUM, NAME)
    validate(value, {**ENUM, "check/type": "enum"}, NAME)


@pytest.mark.parametrize("value", ["", "LOW", "huge", "low ", "#0"])
def test_enum_refuses_other_value(value: str) -> None:
    message = refusal(value, ENUM)
    assert message.endswith('is not one of "low", "middle", "high" (check/enum)')


def test_enum_applies_whatever_the_type() -> None:
    validate("low", {**ENUM, "check/type": "string"}, NAME)
    assert "(check/enum)" in refusal("huge", {**ENUM, "check/type": "string"})


def test_enum_without_last_index_is_still_checked() -> None:
    meta = {"check/enum/#0": "a", "check/enum/#1": "b"}
    validate("b", meta, NAME)
    assert "(check/enum)" in refusal("c", meta)


def test_enum_reads_entries_beyond_ten() -> None:
    meta = {f"check/enum/#{'_' * (len(str(i)) - 1)}{i}": f"v{i}" for i in range(12)}
    validate("v11", meta, NAME)
    assert "(check/enum)" in refusal("v12", meta)


def test_enum_type_without_values_refuses_everything() -> None:
    assert "no check/enum/# values" in refusal("x", {"check/type": "enum"})


def test_enum_plugin_list_syntax() -> None:
    meta = {"check/enum": "'low', 'middle',  'high'"}
    validate("middle", meta, NAME)
    assert "(check/enum)" in refusal("huge", meta)


@pytest.mark.parametrize("separator", ["check/enum/delimiter", "check/enum/multi"])
def test_enum_separator_allows_several_values(separator: str) -> None:
    meta = {**ENUM, separator: "_"}
    validate("low_high", meta, NAME)
    validate("middle", meta, NAME)
    assert "(check/enum)" in refusal("low_huge", meta)


# -- check/range ----------------------------------------------------------


@pytest.mark.parametrize(
    ("ranges", "value"),
    [
        ("1-10", "1"),
        ("1-10", "10"),
        ("1-10", "5"),
        ("-5-5", "-5"),
        ("-5-5", "0"),
        ("0.5-2.5", "2.5"),
        ("0.5-2.5", "1.75"),
        ("-10--1", "-1"),
        ("1-3,7-9", "8"),
        ("1-3, 7-9", "2"),
        ("5", "5"),
        ("5", "5.0"),
        ("1,2,4,8", "4"),
        ("10-1", "3"),  # the range plugin swaps reversed bounds
        (" 1 - 10 ", "7"),
        ("0-18446744073709551615", "18446744073709551615"),
    ],
)
def test_range_accepts(ranges: str, value: str) -> None:
    validate(value, {"check/range": ranges}, NAME)


@pytest.mark.parametrize(
    ("ranges", "value"),
    [
        ("1-10", "0"),
        ("1-10", "11"),
        ("1-10", "10.5"),
        ("-5-5", "-6"),
        ("0.5-2.5", "0.49"),
        ("-10--1", "0"),
        ("1-3,7-9", "5"),
        ("5", "6"),
        ("1,2,4,8", "3"),
        ("0-18446744073709551614", "18446744073709551615"),
    ],
)
def test_range_refuses_number_outside(ranges: str, value: str) -> None:
    assert refusal(value, {"check/range": ranges}) == (
        f'{NAME}: "{value}" is not within {ranges} (check/range)'
    )


@pytest.mark.parametrize("value", ["abc", "", "1-2", "nan", "1e99999999999999999999999"])
def test_range_refuses_what_is_not_a_number(value: str) -> None:
    assert refusal(value, {"check/range": "1-10"}).endswith("is not a number (check/range)")


def test_range_and_type_together() -> None:
    meta = {"check/type": "long", "check/range": "1-65535"}
    validate("8080", meta, NAME)
    assert "(check/type)" in refusal("80.5", meta)
    assert "(check/range)" in refusal("70000", meta)


# -- check/validation -----------------------------------------------------


def test_validation_accepts_match() -> None:
    validate("abc", {"check/validation": "^[a-z]+$"}, NAME)


def test_validation_searches_unanchored_like_regexec() -> None:
    validate("x1y", {"check/validation": "[0-9]"}, NAME)


def test_validation_refuses_mismatch() -> None:
    assert refusal("ab1", {"check/validation": "^[a-z]+$"}) == (
        f'{NAME}: "ab1" does not match ^[a-z]+$ (check/validation)'
    )


def test_validation_message_is_shown_on_failure() -> None:
    meta = {"check/validation": "^[a-z]+$", "check/validation/message": "lower-case letters only"}
    assert refusal("AB", meta) == f"{NAME}: lower-case letters only (check/validation)"


def test_validation_ignorecase() -> None:
    meta = {"check/validation": "^[a-z]+$", "check/validation/ignorecase": "1"}
    validate("ABC", meta, NAME)


def test_validation_invert() -> None:
    meta = {"check/validation": "secret", "check/validation/invert": "1"}
    validate("public", meta, NAME)
    assert "matches secret (check/validation)" in refusal("my secret", meta)


@pytest.mark.parametrize(
    ("mode", "value", "ok"),
    [
        ("LINE", "abc", True),
        ("LINE", "12\nabc", True),
        ("line", "abc1", False),
        ("WORD", "12 abc 34", True),
        ("WORD", "12 34", False),
        ("ANY", "1abc2", True),
    ],
)
def test_validation_match_mode(mode: str, value: str, ok: bool) -> None:
    meta = {"check/validation": "[a-z]+", "check/validation/match": mode}
    if ok:
        validate(value, meta, NAME)
    else:
        assert "(check/validation)" in refusal(value, meta)


def test_line_mode_accepts_pattern_with_global_flag() -> None:
    meta = {"check/validation": "(?i)[a-z]+", "check/validation/match": "LINE"}
    validate("ABC", meta, NAME)


def test_rules_are_checked_in_elektras_plugin_order() -> None:
    meta = {"check/type": "long", "check/range": "1-10", "check/validation": "^1"}
    validate("1", meta, NAME)
    assert "(check/type)" in refusal("x", meta)
    assert "(check/range)" in refusal("20", meta)
    assert "(check/validation)" in refusal("2", meta)


# -- malformed metadata ---------------------------------------------------


@pytest.mark.parametrize(
    ("meta_key", "meta_value"),
    [
        *(("check/type", kind) for kind in sorted(TYPES)),
        ("check/enum", "#3"),
        ("check/enum", "#_10"),
        ("check/enum", "'a', 'b'"),
        ("check/enum/#0", "low"),
        ("check/enum/#_10", "x"),
        ("check/enum/#__100", "x"),
        ("check/enum/delimiter", ","),
        ("check/enum/multi", "_"),
        ("check/enum/normalize", "1"),
        ("check/range", "1-10"),
        ("check/range", "-5-5"),
        ("check/range", "0.5-2.5"),
        ("check/range", "-10--1"),
        ("check/range", "1-3,7-9"),
        ("check/range", "5"),
        ("check/range", "1e3-1e4"),
        ("check/validation", "^[a-z]+$"),
        ("check/validation", ""),
        ("check/validation/message", "anything"),
        ("check/validation/ignorecase", ""),
        ("check/validation/invert", "1"),
        ("check/validation/match", "line"),
        ("check/validation/type", "ERE"),
        # other plugins' checks: kept, not enforced
        ("check/path", "/etc"),
        ("check/ipaddr", "ipv4"),
    ],
)
def test_validate_meta_accepts_well_formed(meta_key: str, meta_value: str) -> None:
    validate_meta(meta_key, meta_value)


@pytest.mark.parametrize(
    ("meta_key", "meta_value", "message"),
    [
        ("check/type", "integer", 'check/type: "integer" is not a type (use one of any,'),
        ("check/type", "Long", "is not a type"),
        ("check/type", "", "is not a type"),
        ("check/enum", "low", "is neither the last index"),
        ("check/enum", "#10", "is neither the last index"),
        ("check/enum", "", "is neither the last index"),
        ("check/enum", "'a', b", "is neither the last index"),
        ("check/enum/#10", "x", "check/enum/#10 is not an enum value"),
        ("check/enum/#01", "x", "is not an enum value"),
        ("check/enum/#__10", "x", "is not an enum value"),
        ("check/enum/low", "x", "is not an enum value"),
        ("check/enum/delimiter", "", "is not a single character"),
        ("check/enum/delimiter", "::", "is not a single character"),
        ("check/range", "", "is not a range like"),
        ("check/range", "1-", "is not a range like"),
        ("check/range", "a-b", "is not a range like"),
        ("check/range", "1-2-3", "is not a range like"),
        ("check/range", "1-3,,7", "is not a range like"),
        ("check/range", "1--", "is not a range like"),
        ("check/range", "+1-2", "is not a range like"),
        ("check/range", "1e99999999999999999999-2", "is not a range like"),
        ("check/validation", "(", "is not a regular expression RE2 can run: missing )"),
        ("check/validation", "[a-", "is not a regular expression"),
        ("check/validation", "*", "is not a regular expression"),
        ("check/validation/match", "ALL", "is not LINE, WORD or ANY"),
        ("check/validation/flags", "x", "is not a setting of check/validation"),
    ],
)
def test_validate_meta_refuses_malformed(meta_key: str, meta_value: str, message: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_meta(meta_key, meta_value)
    assert message in info.value.message


def test_validate_refuses_value_when_its_metadata_is_malformed() -> None:
    assert refusal("x", {"check/validation": "("}).startswith(
        f'{NAME}: check/validation: "(" is not a regular expression RE2 can run'
    )
    assert "is not a type" in refusal("1", {"check/type": "int"})


meta_keys = st.sampled_from(
    [
        "check/type",
        "check/enum",
        "check/enum/#0",
        "check/enum/#_10",
        "check/enum/delimiter",
        "check/range",
        "check/validation",
        "check/validation/match",
        "check/validation/invert",
        "check/boolean/true",
        "check/boolean/false",
    ]
)
meta_values = st.one_of(st.text(), st.sampled_from([*sorted(TYPES), "1-10", "-5--1,3", "#0"]))


@given(st.text(), st.dictionaries(meta_keys, meta_values, max_size=4))
def test_validate_refuses_only_with_validation_error(value: str, meta: dict[str, str]) -> None:
    try:
        validate(value, meta, NAME)
    except ValidationError as exc:
        assert exc.message.startswith(f"{NAME}: ")


# -- linear-time patterns (RE2) ---------------------------------------------

# The catastrophic patterns of OWASP's ReDoS page, with an input each that
# makes a backtracking engine take exponential time (^(a+)+$ with 28 a's and
# a "!" took Python's re 11.6 s); matched as whole lines, so none matches.
EVIL = "a" * 5000 + "!"
REDOS = [
    "^(a+)+$",
    "([a-zA-Z]+)*",
    "(a|aa)+",
    "(a|a?)+",
    "(.*a){20}",
    "^(([a-z])+.)+[A-Z]([a-z])+$",
]


def set_meta(elektrad: Elektrad, name: str, key: str, value: str) -> httpx.Response:
    return elektrad.http.post(f"/kdbMeta/{name}", json={"key": key, "value": value})


@pytest.mark.parametrize("pattern", REDOS)
def test_redos_patterns_answer_at_once(pattern: str) -> None:
    meta = {"check/validation": pattern, "check/validation/match": "LINE"}
    started = time.perf_counter()
    assert "(check/validation)" in refusal(EVIL, meta)
    # Generous: RE2 takes milliseconds; a backtracking engine would take ages.
    assert time.perf_counter() - started < 1


def test_redos_patterns_on_elektrad_keep_it_responsive(
    start_elektrad: Callable[..., Elektrad],
) -> None:
    elektrad = start_elektrad()
    for number, pattern in enumerate(REDOS):
        assert elektrad.put(f"user:/redos/{number}", "x").status_code == 200
        assert set_meta(elektrad, f"user:/redos/{number}", "check/validation", pattern).is_success
        response = set_meta(elektrad, f"user:/redos/{number}", "check/validation/match", "LINE")
        assert response.is_success
    put_times: dict[str, float] = {}
    answers: list[httpx.Response] = []

    def check_evil_values() -> None:
        # Its own client: httpx.Client is not meant for two threads at once.
        with httpx.Client(base_url=elektrad.url, timeout=30) as http:
            for number, pattern in enumerate(REDOS):
                started = time.perf_counter()
                answers.append(http.put(f"/kdb/user:/redos/{number}", content=EVIL.encode()))
                put_times[pattern] = time.perf_counter() - started

    checker = threading.Thread(target=check_evil_values)
    version_times: list[float] = []
    checker.start()
    # GET /version while the values are checked (and at least a few times).
    while checker.is_alive() or len(version_times) < 3:
        started = time.perf_counter()
        assert elektrad.get("/version").status_code == 200
        version_times.append(time.perf_counter() - started)
    checker.join()
    assert [a.status_code for a in answers] == [400] * len(REDOS)
    assert all(a.json()["name"] == "ValidationError" for a in answers)
    assert max(put_times.values()) < 1, put_times
    for number in range(len(REDOS)):
        assert elektrad.key(f"user:/redos/{number}")["value"] == "x"
    assert max(version_times) < 1, max(version_times)


def test_posix_classes_mean_what_they_mean_in_elektra(elektrad: Elektrad) -> None:
    assert elektrad.put("user:/digits", "1").status_code == 200
    assert set_meta(elektrad, "user:/digits", "check/validation", "^[[:digit:]]+$").is_success
    assert elektrad.put("user:/digits", "123").status_code == 200
    refused = elektrad.put("user:/digits", "12a")
    assert refused.status_code == 400
    assert refused.json()["name"] == "ValidationError"
    assert elektrad.key("user:/digits")["value"] == "123"


def test_posix_semantics_of_dot_and_dollar() -> None:
    # regcomp without REG_NEWLINE: "." matches a newline, "$" only the very end.
    validate("a\nb", {"check/validation": "^a.b$"}, NAME)
    assert "(check/validation)" in refusal("abc\n", {"check/validation": "^abc$"})


@pytest.mark.parametrize(
    ("pattern", "why"),
    [
        (r"(a)\1", "backreferences need backtracking"),
        ("(?=a)", "lookaround needs backtracking"),
        ("(?<!a)b", "lookaround needs backtracking"),
        ("x" * 200_000, "pattern too large"),
        ("a{1001}", "invalid repetition size"),
    ],
)
def test_patterns_re2_cannot_run_are_refused_as_malformed(pattern: str, why: str) -> None:
    with pytest.raises(ValidationError) as info:
        validate_meta("check/validation", pattern)
    assert "is not a regular expression RE2 can run" in info.value.message
    assert why in info.value.message


def test_backreference_is_refused_when_set_and_the_key_is_unchanged(elektrad: Elektrad) -> None:
    assert elektrad.put("user:/app/name", "aa").status_code == 200
    response = set_meta(elektrad, "user:/app/name", "check/validation", r"(a)\1")
    assert response.status_code == 400
    body = response.json()
    assert body["name"] == "ValidationError"
    assert r'"(a)\\1"' in body["message"]
    assert "backreferences" in body["message"]
    key = elektrad.key("user:/app/name")
    assert key["value"] == "aa"
    assert "check/validation" not in key.get("meta", {})


def test_a_stored_pattern_re2_cannot_run_refuses_writes_naming_it() -> None:
    # Kept by an older version (Python's re ran it): writes to the key are
    # refused with the reason, nothing crashes.
    message = refusal("aa", {"check/validation": r"(a)\1"})
    assert message.startswith(f'{NAME}: check/validation: "(a)\\\\1" is not a regular expression')
    assert "backreferences" in message
