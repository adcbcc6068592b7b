"""The exact JSON of the ``GET /kdb`` views over names that need escaping.

Compared as JSON text, so the order of the fields (``children`` last) is pinned
too, not only the content.
"""

from __future__ import annotations

import json
from typing import Any

import pytest

from elektra_web.elektrad.keyset import Key, KeySet
from elektra_web.elektrad.views import key_view, root_view
from elektra_web.keynames import KeyName, Spelling


def same_json(view: dict[str, Any], expected: dict[str, Any]) -> bool:
    return json.dumps(view) == json.dumps(expected)


@pytest.fixture
def keys() -> KeySet:
    keys = KeySet()
    for name, value, meta in [
        ("user:/app", "root", {}),
        ("user:/app/a\\/b", "1", {"m": "x"}),
        ("user:/app/a\\/b/deep/er", None, {}),
        ("user:/app/\\#10", "2", {}),
        ("user:/app/%", "", {}),
        ("user:/app/x/#_10", "3", {}),
        ("user:/dir\\//k", "4", {}),
        ("system:/s", "5", {}),
    ]:
        keys.put(KeyName.parse(name), Key(value, meta))
    return keys


def view(keys: KeySet, name: str, spelling: Spelling, preload: int) -> dict[str, Any]:
    parsed = KeyName.parse(name)
    return key_view(parsed, list(keys.below(parsed)), spelling, preload)


def test_preload_over_escaped_names(keys: KeySet) -> None:
    below = ["user:/app/a\\/b", "user:/app/a\\/b/deep/er", "user:/app/x/#_10"]
    expected = {
        "exists": True,
        "name": "app",
        "path": "user:/app",
        "ls": ["user:/app", "user:/app/%", "user:/app/\\#10", *below],
        "value": "root",
        "meta": {},
        "children": [
            {
                "exists": True,
                "name": "",
                "path": "user:/app/%",
                "ls": ["user:/app/%"],
                "value": "",
                "meta": {},
                "children": [],
            },
            {
                "exists": True,
                "name": "#10",
                "path": "user:/app/\\#10",
                "ls": ["user:/app/\\#10"],
                "value": "2",
                "meta": {},
                "children": [],
            },
            {
                "exists": True,
                "name": "a/b",
                "path": "user:/app/a\\/b",
                "ls": ["user:/app/a\\/b", "user:/app/a\\/b/deep/er"],
                "value": "1",
                "meta": {"m": "x"},
                "children": [
                    {
                        "exists": False,
                        "name": "deep",
                        "path": "user:/app/a\\/b/deep",
                        "ls": ["user:/app/a\\/b/deep/er"],
                    }
                ],
            },
            {
                "exists": False,
                "name": "x",
                "path": "user:/app/x",
                "ls": ["user:/app/x/#_10"],
                "children": [
                    {
                        "exists": True,
                        "name": "#_10",
                        "path": "user:/app/x/#_10",
                        "ls": ["user:/app/x/#_10"],
                        "value": "3",
                        "meta": {},
                    }
                ],
            },
        ],
    }
    assert same_json(view(keys, "user:/app", Spelling.CANONICAL, 2), expected)


def test_view_of_a_name_ending_in_an_escaped_slash(keys: KeySet) -> None:
    child = {
        "exists": True,
        "name": "k",
        "path": "user/dir\\//k",
        "ls": ["user/dir\\//k"],
        "value": "4",
        "meta": {},
    }
    expected = {
        "exists": False,
        "name": "dir/",
        "path": "user/dir\\/",
        "ls": ["user/dir\\//k"],
        "children": [child],
    }
    assert same_json(view(keys, "user/dir\\/", Spelling.LEGACY, 1), expected)


@pytest.mark.parametrize(
    ("name", "spelling", "path", "children"),
    [
        ("user:/", Spelling.CANONICAL, "user:/", ["user:/app", "user:/dir\\/"]),
        ("user", Spelling.LEGACY, "user", ["user/app", "user/dir\\/"]),
        ("/", Spelling.CANONICAL, "/", ["/app", "/dir\\/", "/s"]),
    ],
)
def test_views_of_a_namespace_root_and_the_cascading_root(
    keys: KeySet, name: str, spelling: Spelling, path: str, children: list[str]
) -> None:
    parsed = KeyName.parse(name)
    if parsed.is_cascading:  # as the database resolves it: every namespace's keys
        entries = sorted(
            ((KeyName("", n.parts), k) for n, k in keys.items()), key=lambda e: e[0].sort_key()
        )
    else:
        entries = list(keys.below(parsed))
    result = key_view(parsed, entries, spelling, 1)
    assert (result["path"], [c["path"] for c in result["children"]]) == (path, children)
    assert result["ls"] == [n.spell(spelling) for n, _ in entries]


def test_root_view_lists_namespaces_in_the_legacy_spelling(keys: KeySet) -> None:
    user_ls = [n.spell(Spelling.LEGACY) for n, _ in keys.below(KeyName("user"))]
    expected = {
        "exists": False,
        "name": "",
        "path": "",
        "ls": [*user_ls, "system/s"],
        "children": [
            {"exists": False, "name": "", "path": "user", "ls": user_ls},
            {"exists": False, "name": "", "path": "system", "ls": ["system/s"]},
        ],
    }
    assert user_ls[-1] == "user/dir\\//k"
    assert same_json(root_view(list(keys.items()), 1), expected)
