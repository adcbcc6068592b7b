"""Clusters end to end: make one, assign members, write a cluster key and watch
it arrive on every member's page, locked there; a member goes offline and
gets the write when it comes back; undo."""

from __future__ import annotations

import re
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import open_client, screenshot
from .ui import confirm_cluster_write, expand, open_target, register, row, select


def test_cluster_keys_reach_members_live_and_are_locked_there(
    client: Page,
    clusterd: Clusterd,
    token: str | None,
    new_page: Callable[..., Page],
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    web1, web2 = elektrads(2)
    for daemon in (web1, web2):
        httpx.put(f"{daemon.url}/kdb/user:/app/own", content="mine").raise_for_status()
    id1 = register(clusterd, "web-01", web1.url)
    id2 = register(clusterd, "web-02", web2.url)
    page = client
    page.reload()

    # Make a cluster and assign both instances, as a person does.
    form = page.locator("form.create-cluster")
    form.get_by_label("Name").fill("prod")
    form.get_by_label("Description").fill("the web servers")
    form.get_by_label("Description").press("Enter")  # Enter submits
    cluster = page.locator('li.cluster[data-name="prod"]')
    expect(cluster).to_contain_text("0 members")
    cluster.locator("summary").click()
    for name in ("web-01", "web-02"):
        cluster.get_by_label("Add member").select_option(label=name)
        cluster.get_by_role("button", name="Add", exact=True).click()
        expect(cluster.locator(f'li.member[data-name="{name}"]')).to_be_visible()
    expect(cluster).to_contain_text("2 members")
    expect(page.locator('li.instance[data-name="web-01"]')).to_contain_text("cluster prod")
    cluster_id = cluster.get_attribute("data-id")
    assert cluster_id

    # A cluster nested in prod offers web-01 only as "in cluster prod", not silently.
    cluster.locator("summary").click()  # close prod's panel
    form.get_by_label("Name").fill("canary")
    form.get_by_label("Inside").select_option(label="prod")
    form.get_by_role("button", name="Create cluster").click()
    canary = cluster.locator('li.cluster[data-name="canary"]')  # shown inside prod
    expect(canary).to_contain_text("0 members")
    canary.locator("summary").click()
    option = canary.get_by_label("Add member").locator("option", has_text="web-01")
    expect(option).to_have_text("web-01 (in cluster prod)")
    expect(option).to_be_disabled()
    canary.locator("summary").click()
    screenshot(page, "overview")

    # Both members' pages are open, their user:/app expanded.
    members: dict[str, Page] = {}
    for instance_id in (id1, id2):
        member = new_page()
        open_client(member, clusterd.url, token)
        open_target(member, clusterd.url, "instance", instance_id)
        expand(member, "user:/")
        expand(member, "user:/app")
        members[instance_id] = member

    # Set a cluster key on the cluster's page.
    open_target(page, clusterd.url, "cluster", cluster_id)
    new_key = page.locator("form.new-key")
    new_key.get_by_label("Key").fill("user:/app/motd")
    new_key.get_by_label("Value").fill("hello")
    new_key.get_by_role("button", name="Add key").click()
    confirm_cluster_write(page, "Write to 2 members")
    card = page.locator(".progress-card").first
    expect(card).to_contain_text("all 2 members applied")
    expect(card.locator(".delivery.applied")).to_have_count(2)

    # It arrives on both members' pages without a reload, locked.
    for member in members.values():
        motd = row(member, "user:/app/motd")
        expect(motd).to_contain_text("hello")
        expect(motd.locator(".lock")).to_contain_text("prod")
    member = members[id1]
    detail = select(member, "user:/app/motd")
    expect(detail.locator(".locked-note")).to_contain_text("set by cluster prod")
    expect(detail.locator("#value-input")).to_have_count(0)  # no edit offered
    expect(detail.get_by_role("button", name="Delete key…")).to_have_count(0)
    screenshot(member, "key-tree-locked")
    # A parent whose subtree holds a locked key: deleting it is not offered either.
    detail = select(member, "user:/app")
    detail.get_by_role("button", name="Delete subtree…").click()
    expect(detail.locator(".confirm")).to_contain_text("user:/app/motd is set by cluster prod")
    expect(detail.locator("#confirm-delete")).to_have_count(0)
    # The link edits it in the cluster.
    select(member, "user:/app/motd").get_by_role("link", name="Edit it in cluster prod").click()
    expect(member.locator("#detail h2.key-path")).to_have_text("user:/app/motd")
    expect(member.locator("#value-input")).to_have_value("hello")
    open_target(member, clusterd.url, "instance", id1)
    expand(member, "user:/")
    expand(member, "user:/app")

    # A member's own key stays editable there.
    detail = select(member, "user:/app/own")
    detail.locator("#value-input").fill("changed here")
    detail.locator("#value-input").press("Enter")
    expect(row(member, "user:/app/own").locator(".val")).to_have_text("changed here")
    assert web1.value("user:/app/own") == "changed here"

    # Changes made elsewhere appear live: on the machine itself, and by another API client.
    httpx.put(f"{web1.url}/kdb/user:/app/from-the-machine", content="direct").raise_for_status()
    expect(row(member, "user:/app/from-the-machine").locator(".val")).to_have_text("direct")
    expect(row(member, "user:/app/from-the-machine")).to_have_class(re.compile(r"\bflash\b"))
    clusterd.ok(
        'mutation($i: ID!) { setKey(target: {instanceId: $i}, path: "user:/app/own", '
        'value: "by a script") { operationId } }',
        i=id1,
    )
    expect(row(member, "user:/app/own").locator(".val")).to_have_text("by a script")
    expect(member.locator("#value-input")).to_have_value("by a script")

    # web-02 goes offline: its dot turns red on the cluster's page.
    web2.stop()
    expect(page.locator(f'.side-info li.member[data-id="{id2}"]')).to_have_attribute(
        "data-status", "OFFLINE"
    )
    expect(page.locator(f'.side-info li.member[data-id="{id2}"] .dot')).to_have_class("dot offline")
    # A cluster write now: web-01 applies, web-02's delivery stays pending.
    expand(page, "user:/")
    expand(page, "user:/app")
    detail = select(page, "user:/app/motd")
    detail.locator("#value-input").fill("maintenance tonight")
    detail.get_by_role("button", name="Save").click()
    confirm_cluster_write(page, "Write to 2 members")  # web-02 would wait
    card = page.locator(".progress-card").first
    expect(card).to_contain_text("1 of 2 members applied, 1 pending")
    expect(card.locator(f'.delivery.pending[data-instance="{id2}"]')).to_be_visible()
    expect(card.locator(f'.delivery.applied[data-instance="{id1}"]')).to_be_visible()
    expect(row(members[id1], "user:/app/motd")).to_contain_text("maintenance tonight")
    # web-02's page shows it offline, with the delivery waiting for it.
    offline = members[id2]
    expect(offline.locator("h1.target-title")).to_have_attribute("data-status", "OFFLINE")
    expect(offline.locator(".pending-write")).to_contain_text("user:/app/motd")
    # Nothing is offered there that an offline instance would refuse.
    expect(offline.locator(".offline-note")).to_be_visible()
    expect(offline.locator("form.new-key")).to_be_hidden()
    detail = select(offline, "user:/app/own")
    expect(detail).to_contain_text("The instance cannot be reached right now")
    expect(detail.locator("#value-input")).to_have_count(0)
    screenshot(page, "cluster-write-pending")
    screenshot(offline, "instance-offline-pending")

    # It comes back: the delivery lands, the card and the member's page say so.
    web2.start()
    expect(card).to_contain_text("all 2 members applied", timeout=20_000)
    expect(offline.locator("h1.target-title")).to_have_attribute("data-status", "ONLINE")
    expect(row(offline, "user:/app/motd").locator(".val")).to_have_text("maintenance tonight")
    expect(offline.locator(".pending-write")).to_have_count(0, timeout=20_000)
    assert web2.value("user:/app/motd") == "maintenance tonight"

    # Undo the cluster edit: both members get the old value back.
    page.get_by_role("button", name="Undo: set user:/app/motd = maintenance tonight").click()
    confirm_cluster_write(page)
    expect(row(page, "user:/app/motd").locator(".val")).to_have_text("hello")
    for member in members.values():
        expect(row(member, "user:/app/motd").locator(".val")).to_have_text("hello")
    # ... and redo it.
    page.get_by_role("button", name="Redo: set user:/app/motd = maintenance tonight").click()
    confirm_cluster_write(page)
    expect(row(members[id2], "user:/app/motd")).to_contain_text("maintenance tonight")

    # Someone edits the cluster's key on web-01 itself: drift, shown on both pages.
    httpx.put(f"{web1.url}/kdb/user:/app/motd", content="hacked").raise_for_status()
    member = members[id1]
    drift = member.locator('.drift-item[data-path="user:/app/motd"]')
    expect(drift).to_contain_text('is "hacked" here, the cluster sets "maintenance tonight"')
    expect(page.locator('.drift-item[data-path="user:/app/motd"]')).to_contain_text("web-01")
    screenshot(member, "drift")
    drift.get_by_role("button", name="Put the cluster's value back").click()
    expect(drift).to_have_count(0)
    expect(page.locator(".drift-item")).to_have_count(0)
    expect(row(member, "user:/app/motd").locator(".val")).to_have_text("maintenance tonight")
    assert web1.value("user:/app/motd") == "maintenance tonight"
