"""The preview before a cluster write from its page: the write is sent as a
dry run first, the dialog says how many members it changes and names the
member that would refuse it (and why); Cancel writes nothing and keeps what
was typed, "Write anyway" forces it, and a write every member takes is
confirmed with "Write to N members". A write to an instance has no preview.
Rollback and import show the same summary in their dry runs."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import PHONE, open_client, screenshot
from .ui import (
    eventually,
    expand,
    history_panel,
    make_cluster,
    open_target,
    prod_of,
    register,
    select,
    set_in_cluster,
)


def test_a_cluster_write_is_previewed_and_names_the_member_that_would_refuse(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    web1, web2 = elektrads(2)
    prod, ids = prod_of(clusterd, (web1, web2), {"user:/app/port": "80"})
    # web-01's own rules: its port is a long.
    httpx.post(
        f"{web1.url}/kdbMeta/user:/app/port", json={"key": "check/type", "value": "long"}
    ).raise_for_status()

    page = client
    writes: list[str] = []
    page.on(
        "request",
        lambda r: writes.append(r.post_data or "") if "setKey" in (r.post_data or "") else None,
    )
    open_target(page, clusterd.url, "cluster", prod)
    expand(page, "user:/")
    expand(page, "user:/app")
    detail = select(page, "user:/app/port")
    field = detail.locator("#value-input")
    field.fill("abc")
    field.press("Enter")
    dialog = page.locator("dialog.write-preview")
    expect(dialog).to_be_visible()
    expect(dialog.locator("h2")).to_have_text("Preview: set user:/app/port = abc")
    expect(dialog.locator(".preview-line")).to_have_text("This changes 1 member; 1 would refuse:")
    refusing = dialog.locator(f'.member-plan.refuse[data-instance="{ids[0]}"]')
    expect(refusing).to_contain_text("web-01")
    expect(refusing).to_contain_text("check/* rules")
    expect(dialog.locator(".member-plan")).to_have_count(1)
    expect(dialog.get_by_role("button", name="Write anyway")).to_be_visible()
    screenshot(page, "write-preview")

    # Cancel: nothing written, the draft kept, no error shown.
    dialog.get_by_role("button", name="Cancel").click()
    expect(dialog).to_have_count(0)
    expect(field).to_have_value("abc")
    expect(detail.locator("form.value-form .form-error")).to_be_hidden()
    assert web2.value("user:/app/port") == "80"
    assert [json.loads(w)["variables"]["dry"] for w in writes] == [True], writes

    # Write anyway: forced; web-01 refuses it as before, web-02 takes it.
    field.press("Enter")
    dialog.get_by_role("button", name="Write anyway").click()
    card = page.locator(".progress-card").first
    expect(card).to_contain_text("set user:/app/port = abc")
    eventually(lambda: web2.value("user:/app/port"), "abc")
    expect(card).to_contain_text("1 of 2 members failed")
    assert web1.value("user:/app/port") == "80"

    # A value every member takes: "Write to 2 members".
    field.fill("8080")
    field.press("Enter")
    expect(dialog.locator(".preview-line")).to_have_text("This changes 2 members.")
    dialog.get_by_role("button", name="Write to 2 members").click()
    for daemon in (web1, web2):
        eventually(lambda d=daemon: d.value("user:/app/port"), "8080")


def test_the_preview_on_a_phone_and_in_a_rollback(
    new_page: Callable[..., Page],
    clusterd: Clusterd,
    token: str | None,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    web1, web2 = elektrads(2)
    ids = [register(clusterd, f"web-0{n + 1}", d.url) for n, d in enumerate((web1, web2))]
    prod = make_cluster(clusterd, "prod", *ids)
    set_in_cluster(clusterd, prod, "user:/app/port", "abc")
    set_in_cluster(clusterd, prod, "user:/app/port", "80")
    for daemon in (web1, web2):
        eventually(lambda d=daemon: d.value("user:/app/port"), "80")
    httpx.post(
        f"{web1.url}/kdbMeta/user:/app/port", json={"key": "check/type", "value": "long"}
    ).raise_for_status()

    page = new_page(viewport=PHONE)
    open_client(page, clusterd.url, token)
    open_target(page, clusterd.url, "cluster", prod)
    new_key = page.locator("form.new-key")
    new_key.get_by_label("Key").fill("user:/app/workers")
    new_key.get_by_label("Value").fill("4")
    new_key.get_by_role("button", name="Add key").click()
    dialog = page.locator("dialog.write-preview")
    expect(dialog.locator(".preview-line")).to_have_text("This changes 2 members.")
    screenshot(page, "phone-write-preview")
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width
    dialog.get_by_role("button", name="Write to 2 members").click()
    for daemon in (web1, web2):
        eventually(lambda d=daemon: d.value("user:/app/workers"), "4")
    expect(new_key.get_by_label("Key")).to_have_value("")

    # Rolling port back to "abc": web-01 would refuse; the rollback's dry run says so.
    select(page, "user:/app/port")
    panel = history_panel(page)
    newest = panel.locator(".hist-op").first
    expect(newest.locator(".diff ins")).to_have_text("80")
    newest.get_by_role("button", name="Roll back to before this").click()
    summary = newest.locator(".rollback .preview-summary")
    expect(summary.locator(".preview-line")).to_have_text("This changes 1 member; 1 would refuse:")
    expect(summary.locator(".member-plan.refuse")).to_contain_text("web-01")
    newest.get_by_role("button", name="Roll back anyway").click()
    eventually(lambda: web2.value("user:/app/port"), "abc")
    assert web1.value("user:/app/port") == "80"


def test_an_instance_write_has_no_preview(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    web = register(clusterd, "web-01", daemon.url)
    httpx.put(f"{daemon.url}/kdb/user:/app/port", content=b"80").raise_for_status()
    page = client
    open_target(page, clusterd.url, "instance", web)
    expand(page, "user:/")
    expand(page, "user:/app")
    detail = select(page, "user:/app/port")
    detail.locator("#value-input").fill("8080")
    detail.locator("#value-input").press("Enter")
    eventually(lambda: daemon.value("user:/app/port"), "8080")
    expect(page.locator("dialog.write-preview")).to_have_count(0)


def test_deleting_a_cluster_subtree_is_previewed_per_member(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    web1, web2 = elektrads(2)
    prod, ids = prod_of(
        clusterd, (web1, web2), {"user:/app/port": "80", "user:/app/host": "example.org"}
    )

    page = client
    open_target(page, clusterd.url, "cluster", prod)
    expand(page, "user:/")
    detail = select(page, "user:/app")
    detail.get_by_role("button", name="Delete subtree…").click()
    detail.locator("#confirm-delete").click()
    dialog = page.locator("dialog.write-preview")
    expect(dialog.locator("h2")).to_have_text("Preview: delete user:/app and 2 keys below")
    expect(dialog.locator(".preview-line")).to_have_text("This changes 2 members.")
    dialog.locator("summary").click()
    member = dialog.locator(f'.member-change[data-instance="{ids[1]}"]')
    expect(member.locator("h3")).to_have_text("web-02")
    expect(member.locator('li[data-path="user:/app/host"]')).to_have_attribute(
        "data-kind", "deleted"
    )
    screenshot(page, "write-preview-delete")
    # Escape cancels: nothing is deleted, the confirmation is still there.
    page.keyboard.press("Escape")
    expect(dialog).to_have_count(0)
    expect(detail.locator("#confirm-delete")).to_be_enabled()
    assert web2.value("user:/app/host") == "example.org"
    detail.locator("#confirm-delete").click()
    dialog.get_by_role("button", name="Write to 2 members").click()
    for daemon in (web1, web2):
        eventually(lambda d=daemon: d.value("user:/app/host"), None)


def test_adopting_a_members_drift_is_previewed(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    web1, web2 = elektrads(2)
    prod, _ids = prod_of(clusterd, (web1, web2), {"user:/app/port": "80"})
    # Changed on web-01's machine: drift.
    httpx.put(f"{web1.url}/kdb/user:/app/port", content=b"8080").raise_for_status()

    page = client
    open_target(page, clusterd.url, "cluster", prod)
    drift = page.locator('.drift-item[data-path="user:/app/port"]')
    drift.get_by_role("button", name="Make it prod's value").click()
    dialog = page.locator("dialog.write-preview")
    title = 'Preview: make user:/app/port = "8080" on every member'
    expect(dialog.locator("h2")).to_have_text(title)
    line = "This changes 1 member; 1 already holds it."
    expect(dialog.locator(".preview-line")).to_have_text(line)
    dialog.get_by_role("button", name="Cancel").click()
    expect(drift.locator(".form-error")).to_be_hidden()
    assert web2.value("user:/app/port") == "80"
    drift.get_by_role("button", name="Make it prod's value").click()
    dialog.get_by_role("button", name="Write to 1 member").click()
    eventually(lambda: web2.value("user:/app/port"), "8080")
    expect(drift).to_have_count(0)


def test_undoing_a_cluster_edit_is_previewed(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web1,) = elektrads(1)
    prod = make_cluster(clusterd, "prod", register(clusterd, "web-01", web1.url))
    set_in_cluster(clusterd, prod, "user:/app/port", "80")
    eventually(lambda: web1.value("user:/app/port"), "80")
    page = client
    open_target(page, clusterd.url, "cluster", prod)
    expand(page, "user:/")
    expand(page, "user:/app")
    detail = select(page, "user:/app/port")
    detail.locator("#value-input").fill("8080")
    detail.locator("#value-input").press("Enter")
    dialog = page.locator("dialog.write-preview")
    dialog.get_by_role("button", name="Write to 1 member").click()
    eventually(lambda: web1.value("user:/app/port"), "8080")
    undo = page.get_by_role("button", name="Undo: set user:/app/port = 8080")
    undo.click()
    expect(dialog.locator("h2")).to_have_text("Preview: undo set user:/app/port = 8080")
    dialog.get_by_role("button", name="Cancel").click()
    expect(page.locator(".history .form-error")).to_be_hidden()
    assert web1.value("user:/app/port") == "8080"
    undo.click()
    dialog.get_by_role("button", name="Write to 1 member").click()
    eventually(lambda: web1.value("user:/app/port"), "80")
