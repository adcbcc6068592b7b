"""A key's history in the page, with diffs, and rollback from it: the
dry-run plan first, then the rollback itself, whose result is the elektrads'
values again; on an instance (a write, a change on the machine) and on a
cluster (every member)."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import PHONE, open_client, screenshot
from .ui import (
    eventually,
    expand,
    graphql,
    history_panel,
    make_cluster,
    new_token,
    open_target,
    register,
    select,
    set_in_cluster,
)


def set_on_instance(clusterd: Clusterd, instance_id: str, path: str, value: str) -> str:
    data = graphql(
        clusterd,
        "mutation($i: ID!, $p: String!, $v: String!) "
        "{ setKey(target: {instanceId: $i}, path: $p, value: $v) { operationId } }",
        i=instance_id,
        p=path,
        v=value,
    )
    operation: str = data["setKey"]["operationId"]
    return operation


def test_a_keys_history_and_its_rollback_on_an_instance(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    web = register(clusterd, "web-01", daemon.url)
    set_on_instance(clusterd, web, "user:/app/port", "80")
    set_on_instance(clusterd, web, "user:/app/motd", "hello\nworld")
    second = set_on_instance(clusterd, web, "user:/app/port", "8080")
    set_on_instance(clusterd, web, "user:/app/motd", "hello\nthere\nworld")
    graphql(
        clusterd,
        'mutation($i: ID!) { setMeta(target: {instanceId: $i}, path: "user:/app/port", '
        'key: "check/type", value: "long") { operationId } }',
        i=web,
    )

    page = client
    open_target(page, clusterd.url, "instance", web)
    expand(page, "user:/")
    expand(page, "user:/app")
    select(page, "user:/app/port")
    panel = history_panel(page)
    expect(panel.get_by_label("Of")).to_have_value("user:/app/port")
    groups = panel.locator(".hist-op")
    expect(groups).to_have_count(3)
    # Newest first: the metadata, then 80 → 8080, then its creation.
    meta, changed, created = groups.nth(0), groups.nth(1), groups.nth(2)
    expect(meta.locator(".hist-entry")).to_contain_text("check/type")
    expect(meta.locator(".badge.op")).to_have_text("metadata")
    expect(changed).to_have_attribute("data-operation", second)
    expect(changed.locator(".diff del")).to_have_text("80")  # "80" struck…
    expect(changed.locator(".diff ins")).to_have_text("8080")  # …"8080" added
    expect(changed.locator(".badge.origin")).to_have_text("through clusterd")
    expect(changed.locator(".actor")).not_to_be_empty()
    expect(created.locator(".badge.op")).to_have_text("created")

    # A value of several lines: a line diff.
    select(page, "user:/app/motd")
    expect(panel.get_by_label("Of")).to_have_value("user:/app/motd")
    lines = panel.locator(".hist-op").first.locator("pre.diff.lines")
    expect(lines.locator("ins")).to_have_text(["+ there"])
    expect(lines.locator("del")).to_have_count(0)

    # Roll back to before the second write: the plan first, nothing written yet.
    select(page, "user:/app/port")
    changed.get_by_role("button", name="Roll back to before this").click()
    box = changed.locator(".rollback")
    plan = box.locator("li.plan-change")
    expect(plan).to_have_count(1)
    expect(plan).to_contain_text("user:/app/port")
    expect(plan.locator("del")).to_contain_text("80")
    expect(plan.locator("ins")).to_have_text("80")
    assert daemon.value("user:/app/port") == "8080"
    screenshot(page, "history-rollback-plan", full_page=True)
    box.get_by_role("button", name="Roll back").click()
    expect(box.locator(".rollback-done")).to_contain_text("Rolled back: 1 change")
    assert daemon.value("user:/app/port") == "80"
    # The page follows: the value shown, the history read again (the rollback on top).
    expect(page.locator("#value-input")).to_have_value("80")
    expect(groups).to_have_count(4)
    expect(groups.first.locator(".diff ins")).to_have_text("80")

    # Rolled back already: the plan is empty.
    rolled = panel.locator(f'.hist-op[data-operation="{second}"]')
    rolled.get_by_role("button", name="Roll back to before this").click()
    expect(rolled.locator(".rollback .plan-empty")).to_contain_text("Already as it was")

    # A change on the machine: that key goes back to before it (it did not exist: deleted).
    httpx.put(f"{daemon.url}/kdb/user:/app/host", content=b"example.org").raise_for_status()
    select(page, "user:/app")
    machine = panel.locator(".hist-op.on-machine")
    expect(machine).to_have_count(1)
    expect(machine.locator(".badge.origin")).to_have_text("on the machine")
    expect(machine.locator(".actor")).to_have_count(0)  # said once, by the badge
    panel.scroll_into_view_if_needed()
    screenshot(page, "history")
    machine.get_by_role("button", name="Roll back to before this").click()
    item = machine.locator(".rollback li.plan-change")
    expect(item).to_have_attribute("data-op", "DELETE")
    expect(item).to_contain_text("deleted")
    machine.locator(".rollback").get_by_role("button", name="Roll back").click()
    expect(machine.locator(".rollback-done")).to_be_visible()
    assert daemon.value("user:/app/host") is None
    assert daemon.value("user:/app/port") == "80"


def test_history_pages_back_with_older(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    web = register(clusterd, "web-01", daemon.url)
    for n in range(55):
        set_on_instance(clusterd, web, "user:/app/counter", str(n))

    page = client
    page.goto(f"{clusterd.url}/#/instance/{web}?path=user:/app/counter")
    panel = history_panel(page)
    groups = panel.locator(".hist-op")
    expect(groups).to_have_count(50)
    expect(groups.first.locator(".diff ins")).to_have_text("54")
    older = panel.get_by_role("button", name="Older")
    older.click()
    expect(groups).to_have_count(55)
    expect(groups.last.locator(".badge.op")).to_have_text("created")
    expect(older).to_be_hidden()

    # A write on the page: the history is read again, the older entries kept.
    page.locator("#value-input").fill("done")
    page.locator("#value-input").press("Enter")
    expect(groups).to_have_count(56)
    expect(groups.first.locator(".diff ins")).to_have_text("done")


def test_a_cluster_rolls_back_on_every_member(
    new_page: Callable[..., Page],
    clusterd: Clusterd,
    token: str | None,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    daemons = elektrads(2)
    ids = [register(clusterd, f"web-0{n + 1}", d.url) for n, d in enumerate(daemons)]
    prod = make_cluster(clusterd, "prod", *ids)
    set_in_cluster(clusterd, prod, "user:/app/port", "80")
    set_in_cluster(clusterd, prod, "user:/app/port", "8080")
    for daemon in daemons:
        eventually(lambda d=daemon: d.value("user:/app/port"), "8080")

    for viewport, name in [(None, "history-cluster"), (PHONE, "phone-history")]:
        page = new_page(viewport=viewport)
        open_client(page, clusterd.url, token)
        page.goto(f"{clusterd.url}/#/cluster/{prod}?path=user:/app/port")
        panel = history_panel(page)
        expect(panel.locator(".hist-op")).to_have_count(2)
        newest = panel.locator(".hist-op").first
        newest.get_by_role("button", name="Roll back to before this").click()
        expect(newest.locator(".rollback li.plan-change")).to_have_count(1)
        newest.scroll_into_view_if_needed()
        screenshot(page, name, full_page=viewport is None)
        if viewport is None:
            rollback_page = page

    page = rollback_page
    newest = history_panel(page).locator(".hist-op").first
    newest.get_by_role("button", name="Roll back", exact=True).click()
    done = newest.locator(".rollback-done")
    expect(done).to_contain_text("Rolled back: 1 change")
    for daemon in daemons:
        eventually(lambda d=daemon: d.value("user:/app/port"), "80")
    # The cluster's progress list shows the write, as any cluster write.
    expect(page.locator(".progress-card").first).to_contain_text("roll back user:/app/port")
    expect(page.locator(".progress-card").first).to_contain_text("all 2 members applied")


def test_a_viewer_reads_the_history_and_exports_but_is_offered_no_rollback_or_import(
    new_page: Callable[..., Page], clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    web = register(clusterd, "web-01", daemon.url)
    set_on_instance(clusterd, web, "user:/app/port", "80")
    page = new_page()
    open_client(page, clusterd.url, new_token(clusterd, "vera", "VIEWER"))
    expect(page.locator("#who")).to_contain_text("viewer")
    page.goto(f"{clusterd.url}/#/instance/{web}?path=user:/app/port")
    panel = history_panel(page)
    expect(panel.locator(".hist-op")).to_have_count(1)
    expect(panel.locator(".hist-op .actor")).to_contain_text("admin")
    expect(panel.get_by_role("button", name="Roll back to before this")).to_have_count(0)
    transfer = page.locator("section.transfer")
    expect(transfer.locator("form.export-form")).to_be_visible()
    expect(transfer.locator("form.import-form")).to_have_count(0)


def test_an_empty_history_fills_after_a_write_on_the_page(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    # Set before clusterd knew the instance: no history of it.
    httpx.put(f"{daemon.url}/kdb/user:/app/port", content=b"80").raise_for_status()
    web = register(clusterd, "web-01", daemon.url)
    page = client
    page.goto(f"{clusterd.url}/#/instance/{web}?path=user:/app/port")
    panel = history_panel(page)
    expect(panel.locator(".hist-empty")).to_have_text("No changes of user:/app/port recorded yet.")
    page.locator("#value-input").fill("8080")
    page.locator("#value-input").press("Enter")
    expect(panel.locator(".hist-op")).to_have_count(1)
    expect(panel.locator(".hist-op .diff del")).to_have_text("80")
    expect(panel.locator(".hist-op .diff ins")).to_have_text("8080")
