"""One instance's configuration in the page: validation before sending, the
server's refusals inline, metadata, add, move, copy, delete, find, undo."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Page, Request, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .ui import expand, open_target, register, row, select


def test_edit_validate_and_undo_on_an_instance(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    for path, value in [("user:/app/port", "8080"), ("user:/app/mode", "fast")]:
        httpx.put(f"{web.url}/kdb/{path}", content=value).raise_for_status()
    for path, meta, value in [
        ("user:/app/port", "check/type", "unsigned_long"),
        ("user:/app/port", "check/range", "1-65535"),
        ("user:/app/mode", "check/enum/#0", "fast"),
        ("user:/app/mode", "check/enum/#1", "safe"),
    ]:
        httpx.post(f"{web.url}/kdbMeta/{path}", json={"key": meta, "value": value})
    web_id = register(clusterd, "web-01", web.url)
    page = client
    mutations: list[str] = []

    def note(request: Request) -> None:
        if request.method == "POST" and "mutation" in (request.post_data or ""):
            mutations.append(request.post_data or "")

    page.on("request", note)
    open_target(page, clusterd.url, "instance", web_id)
    expand(page, "user:/")
    expand(page, "user:/app")

    # Refused before sending: not a number, out of range, not in the enum.
    detail = select(page, "user:/app/port")
    expect(detail.locator(".meta")).to_contain_text("check/range")
    expect(detail.locator("#value-rules")).to_contain_text("type unsigned_long; range 1-65535")
    value = detail.locator("#value-input")
    error = detail.locator(".value-form .form-error")
    for bad, why in [("-1", "is not an unsigned_long"), ("70000", "is not within 1-65535")]:
        value.fill(bad)
        expect(error).to_contain_text(why)
        expect(value).to_have_attribute("aria-invalid", "true")
        value.press("Enter")
    detail = select(page, "user:/app/mode")
    detail.locator("#value-input").fill("turbo")
    detail.get_by_role("button", name="Save").click()
    expect(detail.locator(".value-form .form-error")).to_contain_text(
        'is not one of "fast", "safe"'
    )
    assert not mutations, "an invalid value was sent"
    assert web.value("user:/app/port") == "8080"

    # A valid value is saved; undo puts the old one back, redo the new.
    detail = select(page, "user:/app/port")
    detail.locator("#value-input").fill("9090")
    detail.locator("#value-input").press("Enter")
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("9090")
    assert web.value("user:/app/port") == "9090"
    page.locator("#undo").click()
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("8080")
    expect(page.locator("#value-input")).to_have_value("8080")
    assert web.value("user:/app/port") == "8080"
    page.locator("#redo").click()
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("9090")

    # The server's refusal still shows inline (a name that is not a key name).
    new_key = page.locator("form.new-key")
    new_key.get_by_label("Key").fill("not a key")
    new_key.get_by_role("button", name="Add key").click()
    expect(new_key.locator(".form-error")).to_contain_text("Not a valid key name")

    # Metadata: add one, and the rule it makes is checked here at once.
    detail = select(page, "user:/app/mode")
    detail.get_by_label("Metadata name").fill("description")
    detail.locator("#meta-value").fill("how hard to try")
    detail.get_by_role("button", name="Set metadata").click()
    expect(page.locator('#detail tr[data-meta="description"]')).to_contain_text("how hard")
    page.get_by_role("button", name="Remove metadata description").click()
    expect(page.locator('#detail tr[data-meta="description"]')).to_have_count(0)

    # Add a key below, copy it, move the copy, delete the subtree (confirmed).
    detail = select(page, "user:/app")
    detail.locator("#add-name").fill("cache/size")
    detail.locator("#add-value").fill("64")
    detail.get_by_role("button", name="Add key").click()
    expect(page.locator("#detail h2.key-path")).to_have_text("user:/app/cache/size")
    assert web.value("user:/app/cache/size") == "64"
    detail = page.locator("#detail")
    detail.locator("#move-to").fill("user:/app/cache/size2")
    detail.get_by_role("button", name="Copy").click()
    expect(detail.locator("h2.key-path")).to_have_text("user:/app/cache/size2")
    detail.locator("#move-to").fill("user:/app/cache/limit")
    detail.get_by_role("button", name="Move").click()
    expect(detail.locator("h2.key-path")).to_have_text("user:/app/cache/limit")
    assert web.value("user:/app/cache/size2") is None
    assert web.value("user:/app/cache/limit") == "64"
    detail = select(page, "user:/app/cache")
    detail.get_by_role("button", name="Delete subtree…").click()
    expect(detail.locator(".confirm")).to_contain_text(
        "Delete user:/app/cache and the 2 keys below it?"
    )
    detail.locator("#confirm-delete").click()
    expect(page.locator('ul.tree li[data-path="user:/app/cache"]')).to_have_count(0)
    assert web.value("user:/app/cache/size") is None
    # Undo brings the whole subtree back.
    page.locator("#undo").click()
    expect(page.locator('ul.tree li[data-path="user:/app/cache"]')).to_have_count(1)
    assert web.value("user:/app/cache/size") == "64"
    assert web.value("user:/app/cache/limit") == "64"

    # Find by name, then jump to it.
    page.get_by_label("Find keys").fill("lim")
    page.get_by_label("Find keys").press("Enter")
    page.locator(".find-results").get_by_role("button", name="user:/app/cache/limit").click()
    expect(page.locator("#detail h2.key-path")).to_have_text("user:/app/cache/limit")
    expect(row(page, "user:/app/cache/limit")).to_have_class("row selected")
    # ... and by value.
    page.get_by_label("Find keys").fill("fast")
    page.get_by_label("in values too").check()
    page.get_by_role("button", name="Find", exact=True).click()
    found = page.locator(".find-results")
    expect(found).to_contain_text("1 key")
    found.get_by_role("button", name="user:/app/mode").click()
    expect(page.locator("#detail h2.key-path")).to_have_text("user:/app/mode")
