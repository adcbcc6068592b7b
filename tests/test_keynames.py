from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from elektra_web.keynames import NAMESPACES, InvalidKeyName, KeyName, Spelling, escape_part

VALID = [
    # text, canonical, parts
    ("user:/a", "user:/a", ("a",)),
    ("user/a", "user:/a", ("a",)),
    ("system:/app/port", "system:/app/port", ("app", "port")),
    ("spec/app/port", "spec:/app/port", ("app", "port")),
    ("dir:/x", "dir:/x", ("x",)),
    ("default:/x", "default:/x", ("x",)),
    ("/app/port", "/app/port", ("app", "port")),
    # namespace roots
    ("user", "user:/", ()),
    ("user:/", "user:/", ()),
    ("/", "/", ()),
    ("system", "system:/", ()),
    # repeated and trailing slashes
    ("user:/a//b/", "user:/a/b", ("a", "b")),
    ("user///a", "user:/a", ("a",)),
    ("//a///", "/a", ("a",)),
    ("user://", "user:/", ()),
    # . and ..
    ("user:/a/./b", "user:/a/b", ("a", "b")),
    ("user:/a/b/../c", "user:/a/c", ("a", "c")),
    ("/a/..", "/", ()),
    ("user:/a/../..b", "user:/..b", ("..b",)),
    ("user:/.a/a.", "user:/.a/a.", (".a", "a.")),
    # % alone is the empty part; elsewhere it is literal
    ("user:/%", "user:/%", ("",)),
    ("user:/a/%/b", "user:/a/%/b", ("a", "", "b")),
    ("user:/a%b", "user:/a%b", ("a%b",)),
    # escapes
    ("user:/a\\/b", "user:/a\\/b", ("a/b",)),
    ("user:/a\\\\b", "user:/a\\\\b", ("a\\b",)),
    ("user:/\\.", "user:/\\.", (".",)),
    ("user:/\\..", "user:/\\..", ("..",)),
    ("user:/\\%", "user:/\\%", ("%",)),
    # the model keeps unescaped parts, so a literal "#0" is the array part "#0"
    ("user:/\\#0", "user:/#0", ("#0",)),
    ("user:/\\#_10", "user:/#_10", ("#_10",)),
    ("user:/\\#10", "user:/\\#10", ("#10",)),
    ("user:/\\#abc", "user:/#abc", ("#abc",)),
    ("user:/\\\\", "user:/\\\\", ("\\",)),
    # array parts
    ("user:/a/#0", "user:/a/#0", ("a", "#0")),
    ("user:/a/#9", "user:/a/#9", ("a", "#9")),
    ("user:/a/#_10", "user:/a/#_10", ("a", "#_10")),
    ("user:/a/#__100", "user:/a/#__100", ("a", "#__100")),
    ("user:/a/#10", "user:/a/#_10", ("a", "#_10")),
    ("user:/a/#1234", "user:/a/#___1234", ("a", "#___1234")),
    # a # that is not array-like is an ordinary part
    ("user:/#", "user:/#", ("#",)),
    ("user:/#a", "user:/#a", ("#a",)),
    ("user:/a#0", "user:/a#0", ("a#0",)),
    ("user:/ä b", "user:/ä b", ("ä b",)),
]


@pytest.mark.parametrize(("text", "canonical", "parts"), VALID)
def test_valid_name_parses_to_canonical_form_and_parts(
    text: str, canonical: str, parts: tuple[str, ...]
) -> None:
    name = KeyName.parse(text)
    assert str(name) == canonical
    assert name.parts == parts


@pytest.mark.parametrize(
    ("text", "spelling"),
    [
        ("user:/a", Spelling.CANONICAL),
        ("user/a", Spelling.LEGACY),
        ("user:/", Spelling.CANONICAL),
        ("user", Spelling.LEGACY),
        ("/a", Spelling.CANONICAL),
        ("/", Spelling.CANONICAL),
    ],
)
def test_parse_spelled_reports_the_spelling_used(text: str, spelling: Spelling) -> None:
    assert KeyName.parse_spelled(text)[1] is spelling


def test_both_spellings_of_one_key_are_equal() -> None:
    assert KeyName.parse("user/a/b") == KeyName.parse("user:/a/b") == KeyName("user", ("a", "b"))


def test_cascading_name_has_no_namespace() -> None:
    name = KeyName.parse("/app/port")
    assert name.namespace == ""
    assert name.is_cascading


@pytest.mark.parametrize(
    ("name", "legacy"),
    [
        (KeyName("user", ("a", "b")), "user/a/b"),
        (KeyName("user"), "user"),
        (KeyName("", ("a",)), "/a"),
        (KeyName(""), "/"),
        (KeyName("system", ("a/b", "")), "system/a\\/b/%"),
    ],
)
def test_legacy_spelling(name: KeyName, legacy: str) -> None:
    assert name.spell(Spelling.LEGACY) == legacy


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "the name is empty"),
        ("usr:/a", "'usr' is not a namespace"),
        ("usr/a", "'usr' is not a namespace"),
        ("proc:/a", "'proc' is not a namespace"),
        ("user:/..", "'..' goes above the root"),
        ("user:/a/../..", "'..' goes above the root"),
        ("/..", "'..' goes above the root"),
        ("user:/a\\", "lone backslash"),
        ("user:/\\", "lone backslash"),
        ("user:/a\\x", "invalid escape '\\x'"),
        ("user:/a\\.", "invalid escape '\\.'"),
        ("user:/a\\#", "invalid escape '\\#'"),
        ("user:/\\#\\x", "invalid escape '\\x'"),
        ("user:/#01", "'#01' is not an array part"),
        ("user:/#00", "'#00' is not an array part"),
        ("user:/#__10", "'#__10' is not an array part"),
        ("user:/#_1", "'#_1' is not an array part"),
        ("user:/#_100", "'#_100' is not an array part"),
        ("user:", "expected '/' after 'user:'"),
        ("user:a", "is not a namespace"),
        (":/a", "'' is not a namespace"),
    ],
)
def test_invalid_name_is_refused_with_a_helpful_message(text: str, message: str) -> None:
    with pytest.raises(InvalidKeyName) as info:
        KeyName.parse(text)
    assert message in str(info.value)
    assert repr(text) in str(info.value)


@pytest.mark.parametrize(
    ("part", "escaped"),
    [
        ("", "%"),
        ("%", "\\%"),
        (".", "\\."),
        ("..", "\\.."),
        ("a/b", "a\\/b"),
        ("a\\b", "a\\\\b"),
        ("#_10", "#_10"),
        # not canonical, so unescaped it would be read as another array part or refused
        ("#10", "\\#10"),
        ("#01", "\\#01"),
        ("#__10", "\\#__10"),
        ("#", "#"),
        ("#a", "#a"),
    ],
)
def test_escape_part(part: str, escaped: str) -> None:
    assert escape_part(part) == escaped


# -- properties -----------------------------------------------------------

namespaces = st.sampled_from(("", *NAMESPACES))
parts = st.one_of(
    st.sampled_from(
        ["", "%", ".", "..", "#", "#0", "#10", "#_10", "#01", "#__10", "\\#1", "a/b", "a\\", "\\"]
    ),
    st.from_regex(r"#_*[0-9]+", fullmatch=True),
    st.text(),
    st.text(alphabet="#_0123456789/\\.%a"),
)
names = st.builds(KeyName, namespaces, st.lists(parts, max_size=5).map(tuple))


@given(names)
def test_canonical_spelling_parses_back_to_the_same_name(name: KeyName) -> None:
    # Exact for every part: escape_part writes "\#" before an array-like part
    # that is not canonical ("#10", "#01"), so it is read back literally rather
    # than as array part "#_10" or refused; a canonical array part is itself.
    assert KeyName.parse(str(name)) == name


@given(names)
def test_legacy_spelling_parses_back_to_the_same_name(name: KeyName) -> None:
    assert KeyName.parse_spelled(name.spell(Spelling.LEGACY)) == (
        name,
        Spelling.CANONICAL if name.is_cascading else Spelling.LEGACY,
    )


name_like_text = st.one_of(
    st.text(),
    st.text(alphabet="/\\.%#_0:1a"),
    st.builds(
        lambda ns, rest: ns + rest,
        st.sampled_from(["user:/", "user/", "system:/", "/", "spec", "user:", ""]),
        st.text(alphabet="/\\.%#_01a"),
    ),
)


@given(name_like_text)
def test_parse_refuses_only_with_invalid_key_name_and_canonical_form_is_a_fixed_point(
    text: str,
) -> None:
    try:
        name = KeyName.parse(text)
    except InvalidKeyName:
        return
    assert str(KeyName.parse(str(name))) == str(name)
    assert KeyName.parse(str(name)) == name


@given(st.lists(names, max_size=12), names)
def test_sorting_keeps_each_subtree_contiguous(others: list[KeyName], root: KeyName) -> None:
    # Make sure the subtree is not trivially empty.
    family = [root, root.child("a"), root.child("a", "b"), root.child(""), root.child("#0")]
    ordered = sorted(others + family, key=KeyName.sort_key)
    inside = [i for i, n in enumerate(ordered) if n.is_below_or_same(root)]
    first = ordered.index(root)
    assert inside == list(range(first, first + len(inside)))
    # The root itself comes first in its subtree.
    assert inside[0] == first


def test_cascading_names_sort_before_namespaces_in_elektras_order() -> None:
    texts = ["default:/a", "system:/a", "user:/a", "dir:/a", "spec:/a", "/a"]
    ordered = sorted(KeyName.parse(t) for t in texts)
    assert [str(n) for n in ordered] == list(reversed(texts))


def test_child_sorts_before_a_sibling_sharing_its_prefix() -> None:
    # Part-wise, not character-wise: "a/b" < "a!" although "/" > "!".
    assert KeyName.parse("user:/a/b") < KeyName.parse("user:/a!")


def test_array_parts_sort_by_index() -> None:
    # The underscores make the canonical spelling sort like the number.
    texts = ["user:/a/#__100", "user:/a/#_99", "user:/a/#9", "user:/a/#_10", "user:/a/#0"]
    ordered = sorted(KeyName.parse(t) for t in texts)
    assert [n.base_name for n in ordered] == ["#0", "#9", "#_10", "#_99", "#__100"]
