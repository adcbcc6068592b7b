"""The page on a phone (390 px wide) and from the keyboard alone."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import PHONE, open_client, screenshot
from .ui import expand, open_target, register, row, select


def no_sideways_scrolling(page: Page) -> None:
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide on a {PHONE['width']} px screen"


def test_phone_width(
    new_page: Callable[..., Page],
    clusterd: Clusterd,
    token: str | None,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    web1, web2 = elektrads(2)
    httpx.put(f"{web1.url}/kdb/user:/app/server/listen", content="0.0.0.0:8080").raise_for_status()
    httpx.post(
        f"{web1.url}/kdbMeta/user:/app/server/listen",
        json={"key": "description", "value": "where the server listens"},
    ).raise_for_status()
    id1 = register(clusterd, "web-01", web1.url)
    register(clusterd, "web-02", web2.url)
    cluster = clusterd.ok('mutation { createCluster(input: {name: "prod"}) { id } }')
    clusterd.ok(
        "mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }",
        c=cluster["createCluster"]["id"],
        i=id1,
    )
    page = new_page(viewport=PHONE)
    open_client(page, clusterd.url, token)
    expect(page.locator('li.cluster[data-name="prod"] li.member')).to_have_count(1)
    no_sideways_scrolling(page)
    screenshot(page, "phone-overview")
    open_target(page, clusterd.url, "instance", id1)
    expand(page, "user:/")
    expand(page, "user:/app")
    expand(page, "user:/app/server")
    select(page, "user:/app/server/listen")
    # Tree above, detail below: both usable without sideways scrolling.
    tree_box = page.locator(".tree-pane").bounding_box()
    detail_box = page.locator("#detail").bounding_box()
    assert tree_box and detail_box
    assert detail_box["y"] >= tree_box["y"] + tree_box["height"] - 1
    assert detail_box["width"] <= PHONE["width"]
    no_sideways_scrolling(page)
    screenshot(page, "phone-key", full_page=True)


def test_keyboard_only(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    httpx.put(f"{web.url}/kdb/user:/app/port", content="80").raise_for_status()
    page = client
    # Register an instance: Tab between fields, Enter submits.
    page.get_by_label("Name", exact=True).first.focus()
    page.keyboard.type("web-01")
    page.keyboard.press("Tab")
    page.keyboard.type(web.url)
    page.keyboard.press("Enter")
    instance = page.locator('li.instance[data-name="web-01"]')
    expect(instance).to_be_visible()
    # Follow its link with the keyboard.
    instance.get_by_role("link", name="web-01").focus()
    page.keyboard.press("Enter")
    expect(page.locator("ul.tree")).to_be_visible()
    # Open the tree with Enter on the (real) buttons, or with the arrow keys.
    twisty = row(page, "user:/").locator("button.twisty")
    twisty.focus()
    page.keyboard.press("Enter")
    expect(twisty).to_have_attribute("aria-expanded", "true")
    row(page, "user:/").locator("button.keyname").focus()
    page.keyboard.press("ArrowDown")
    expect(row(page, "user:/app").locator("button.keyname")).to_be_focused()
    page.keyboard.press("ArrowRight")
    expect(row(page, "user:/app").locator("button.twisty")).to_have_attribute(
        "aria-expanded", "true"
    )
    page.keyboard.press("ArrowDown")
    name = row(page, "user:/app/port").locator("button.keyname")
    expect(name).to_be_focused()
    # A visible focus style on the focused control.
    outline = name.evaluate("el => getComputedStyle(el).outlineStyle")
    assert outline not in ("none", ""), outline
    page.keyboard.press("Enter")
    value = page.locator("#value-input")
    expect(value).to_have_value("80")
    value.focus()
    page.keyboard.press("Control+a")
    page.keyboard.type("8080")
    page.keyboard.press("Enter")
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("8080")
    assert web.value("user:/app/port") == "8080"
    # Ctrl+Z (outside a field) undoes it.
    page.locator("h1.target-title").click()
    page.keyboard.press("Control+z")
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("80")
    assert web.value("user:/app/port") == "80"
