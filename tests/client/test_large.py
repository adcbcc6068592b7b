"""10,000 keys under one parent stay responsive: the tree reads them in one
request and shows them a page at a time."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import screenshot
from .ui import expand, open_target, register, row, select

COUNT = 10_000


def test_ten_thousand_children_stay_responsive(
    client: Page,
    clusterd: Clusterd,
    elektrads: Callable[..., list[Elektrad]],
    tmp_path: Path,
) -> None:
    # The fast way to 10,000 keys: a mounted JSON file, written before elektrad starts.
    big = tmp_path / "big.json"
    big.write_text(json.dumps({f"k{i:05d}": f"value {i}" for i in range(COUNT)}))
    (web,) = elektrads(1, mounts=[f"user:/big={big}"])
    web_id = register(clusterd, "big-01", web.url)
    page = client
    open_target(page, clusterd.url, "instance", web_id)
    expand(page, "user:/")
    expect(row(page, "user:/big").locator(".count")).to_have_text(str(COUNT))

    started = time.perf_counter()
    row(page, "user:/big").locator("button.twisty").click()
    more = page.get_by_role("button", name="Show 200 more (9,800 not shown)")
    expect(more).to_be_visible(timeout=30_000)
    expand_s = time.perf_counter() - started
    expect(row(page, "user:/big/k00199")).to_contain_text("value 199")
    expect(page.locator('li[data-path="user:/big"] > ul > li[role="treeitem"]')).to_have_count(200)
    more.scroll_into_view_if_needed()
    screenshot(page, "large-subtree")

    started = time.perf_counter()
    more.click()
    expect(row(page, "user:/big/k00399")).to_be_visible()
    more_s = time.perf_counter() - started

    started = time.perf_counter()
    select(page, "user:/big/k00123")
    select_s = time.perf_counter() - started

    # Find the last one: the tree opens down to it.
    started = time.perf_counter()
    page.get_by_label("Find keys").fill("k09999")
    page.get_by_label("Find keys").press("Enter")
    page.locator(".find-results").get_by_role("button", name="user:/big/k09999").click()
    expect(page.locator("#detail h2.key-path")).to_have_text("user:/big/k09999")
    expect(row(page, "user:/big/k09999")).to_be_in_viewport()
    reveal_s = time.perf_counter() - started

    print(
        f"\n{COUNT} children: expand {expand_s:.2f} s, next 200 {more_s:.2f} s, "
        f"select one {select_s:.2f} s, find and reveal the last {reveal_s:.2f} s"
    )
    # Generous bounds: a shared 2-core machine, Chromium and both daemons on it.
    assert expand_s < 15
    assert more_s < 5
    assert select_s < 5
    assert reveal_s < 20
