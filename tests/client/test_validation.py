"""The page's check/* validation agrees with elektrad's: the same values are
refused before sending that the server would refuse, except check/validation,
which the page leaves to the server (it never runs an untrusted pattern)."""

from __future__ import annotations

from typing import Any

import pytest
from playwright.sync_api import Page

from elektra_web.elektrad.exceptions import ValidationError
from elektra_web.elektrad.validation import validate

CASES: list[tuple[dict[str, str], str]] = [
    ({"check/type": "long"}, "42"),
    ({"check/type": "long"}, "-7"),
    ({"check/type": "long"}, "abc"),
    ({"check/type": "long"}, "+5"),
    ({"check/type": "long"}, "05"),
    ({"check/type": "long"}, "-0"),
    ({"check/type": "long"}, "2147483648"),
    ({"check/type": "unsigned_long"}, "4294967295"),
    ({"check/type": "unsigned_long"}, "-1"),
    ({"check/type": "long_long"}, "9223372036854775807"),
    ({"check/type": "long_long"}, "9223372036854775808"),
    ({"check/type": "double"}, "1.5e3"),
    ({"check/type": "double"}, "1,5"),
    ({"check/type": "char"}, "x"),
    ({"check/type": "char"}, "xy"),
    ({"check/type": "boolean"}, "true"),
    ({"check/type": "boolean"}, "Off"),
    ({"check/type": "boolean"}, "maybe"),
    ({"check/type": "boolean", "check/boolean/true": "ja", "check/boolean/false": "nein"}, "JA"),
    ({"check/type": "boolean", "check/boolean/true": "ja", "check/boolean/false": "nein"}, "yes"),
    ({"check/type": "enum", "check/enum/#0": "low", "check/enum/#1": "high"}, "high"),
    ({"check/type": "enum", "check/enum/#0": "low", "check/enum/#1": "high"}, "huge"),
    ({"check/enum": "'a', 'b'"}, "b"),
    ({"check/enum": "'a', 'b'"}, "c"),
    ({"check/enum/#0": "r", "check/enum/#1": "w", "check/enum/delimiter": ","}, "r,w"),
    ({"check/enum/#0": "r", "check/enum/#1": "w", "check/enum/delimiter": ","}, "r,x"),
    ({"check/range": "1-10,20"}, "20"),
    ({"check/range": "1-10,20"}, "15"),
    ({"check/range": "1-10,20"}, "ten"),
    ({"check/range": "-10--1"}, "-5"),
    ({"check/range": "0.5-2.5"}, "2.6"),
    ({"check/type": "string"}, "anything"),
]

# Patterns the page must not run: the server's verdict differs on some of them,
# and the OWASP ReDoS ones would freeze a backtracking RegExp for ages.
SERVER_ONLY: list[tuple[dict[str, str], str]] = [
    ({"check/validation": "^[a-z]+$"}, "ABC"),
    ({"check/validation": "[0-9]", "check/validation/invert": "1"}, "a1"),
    ({"check/validation": "^x", "check/validation/message": "must start with x"}, "y"),
    ({"check/validation": "^(a+)+$"}, "a" * 40 + "!"),
    ({"check/validation": "(a|a?)+", "check/validation/match": "LINE"}, "a" * 40 + "!"),
    ({"check/validation": "^(([a-z])+.)+[A-Z]([a-z])+$"}, "a" * 40 + "!"),
    ({"check/type": "long", "check/validation": "^(a+)+$"}, "a" * 40 + "!"),
]


def server_refuses(meta: dict[str, str], value: str) -> bool:
    try:
        validate(value, meta, "user:/k")
    except ValidationError:
        return True
    return False


@pytest.fixture
def validation_page(client: Page) -> Page:
    client.wait_for_selector("#instances-list")
    return client


def test_client_and_server_agree(validation_page: Page) -> None:
    verdicts: list[Any] = validation_page.evaluate(
        """async (cases) => {
            const { validate } = await import('/static/validation.js');
            return cases.map(([meta, value]) => validate(value, meta));
        }""",
        [list(case) for case in CASES],
    )
    disagree = [
        (meta, value, why)
        for (meta, value), why in zip(CASES, verdicts, strict=True)
        if (why is not None) != server_refuses(meta, value)
    ]
    assert not disagree, disagree
    # The client's message names the rule, like the server's.
    assert verdicts[2] == '"abc" is not a long (check/type)'


def test_check_validation_is_left_to_the_server(validation_page: Page) -> None:
    # Every RegExp built while validating is recorded: none may be a key's pattern.
    verdicts, built = validation_page.evaluate(
        """async (cases) => {
            const { validate } = await import('/static/validation.js');
            const built = [];
            const Original = globalThis.RegExp;
            const record = (args) => built.push(String(args[0]));
            globalThis.RegExp = new Proxy(Original, {
                construct(target, args) { record(args); return new target(...args); },
                apply(target, self, args) { record(args); return target(...args); },
            });
            try {
                return [cases.map(([meta, value]) => validate(value, meta)), built];
            } finally {
                globalThis.RegExp = Original;
            }
        }""",
        [list(case) for case in SERVER_ONLY],
    )
    patterns = {meta["check/validation"] for meta, _ in SERVER_ONLY}
    assert not patterns & set(built), built
    # Only the other rules refuse in the page (here check/type); the rest is the server's.
    assert verdicts == [None] * 6 + [f'"{"a" * 40}!" is not a long (check/type)']
    assert all(server_refuses(meta, value) for meta, value in SERVER_ONLY)


def test_the_hint_says_the_pattern_is_checked_by_the_server(validation_page: Page) -> None:
    hint = validation_page.evaluate(
        """async () => {
            const { describeRules } = await import('/static/validation.js');
            return describeRules({'check/type': 'string', 'check/validation': '^[a-z]+$'});
        }"""
    )
    assert hint == "type string; matches ^[a-z]+$ (checked by the server)"
