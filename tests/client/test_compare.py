"""Compare and the fleet matrix in the page: the compare page lists exactly
the keys that differ between an instance and its cluster; a cluster's page
shows its members' values side by side, the odd one and an offline member
marked."""

from __future__ import annotations

from collections.abc import Callable

import httpx
from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import screenshot
from .ui import graphql, make_cluster, open_target, register, set_in_cluster


def set_on_instance(clusterd: Clusterd, instance_id: str, path: str, value: str) -> None:
    graphql(
        clusterd,
        "mutation($i: ID!, $p: String!, $v: String!) "
        "{ setKey(target: {instanceId: $i}, path: $p, value: $v) { operationId } }",
        i=instance_id,
        p=path,
        v=value,
    )


def test_the_compare_page_lists_what_differs(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    web = register(clusterd, "web-01", daemon.url)
    prod = make_cluster(clusterd, "prod", web)
    set_in_cluster(clusterd, prod, "user:/app/port", "80")
    set_in_cluster(clusterd, prod, "user:/app/host", "example.org")
    set_on_instance(clusterd, web, "user:/app/debug", "on")
    # Changed on the machine, outside clusterd.
    httpx.put(f"{daemon.url}/kdb/user:/app/port", content=b"8080").raise_for_status()

    page = client
    page.goto(f"{clusterd.url}/#/compare?left=instance:{web}&right=cluster:{prod}&path=user:/app")
    table = page.locator("table.compare-table")
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(page.locator(".compare-result h2")).to_have_text("2 keys differ below user:/app")
    expect(table.locator("thead th")).to_have_text(["Key", "web-01", "prod"])
    debug = table.locator('tr[data-name="debug"] td')
    expect(debug).to_have_text(["on", "missing"])
    port = table.locator('tr[data-name="port"] td')
    expect(port).to_have_text(["8080", "80"])
    expect(port.first).to_have_class("differs")
    screenshot(page, "compare")

    # Another path, from the form: the address follows.
    page.get_by_label("Below").fill("user:/app/host")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".compare-same")).to_contain_text("No differences below user:/app/host")
    assert "path=user%3A%2Fapp%2Fhost" in page.url

    # An unknown path is refused in place.
    page.get_by_label("Below").fill("/app")
    page.get_by_role("button", name="Compare").click()
    expect(page.locator(".compare .form-error")).to_contain_text("cascading name")


def test_the_fleet_matrix_marks_the_odd_member_and_an_offline_one(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    daemons = elektrads(3)
    ids = [register(clusterd, f"web-0{n + 1}", d.url) for n, d in enumerate(daemons)]
    prod = make_cluster(clusterd, "prod", *ids)
    set_in_cluster(clusterd, prod, "user:/app/port", "80")
    set_in_cluster(clusterd, prod, "user:/app/host", "example.org")
    # No cluster value: the odd one is the one most members do not hold.
    for instance, count in zip(ids, ["8", "4", "8"], strict=True):
        set_on_instance(clusterd, instance, "user:/app/workers", count)
    httpx.put(f"{daemons[1].url}/kdb/user:/app/port", content=b"8080").raise_for_status()
    daemons[2].stop()

    page = client
    open_target(page, clusterd.url, "cluster", prod)
    matrix = page.locator("section.matrix")
    matrix.get_by_label("Below").fill("user:/app")
    matrix.get_by_role("button", name="Show matrix").click()
    table = matrix.locator("table.matrix-table")
    expect(table.locator("tbody tr")).to_have_count(3)
    expect(matrix.locator(".matrix-summary")).to_have_text(
        "3 keys below user:/app on 3 members; 2 differ."
    )
    # The offline member is a column that says so; its cells are unknown.
    offline = table.locator("thead th.member.unread")
    expect(offline).to_contain_text("web-03")
    expect(offline).to_contain_text("web-03 is unreachable")
    port = table.locator('tr[data-path="user:/app/port"]')
    expect(port).to_have_class("row-differs")
    expect(port.locator("td")).to_have_text(["80", "80", "8080", "unknown"])
    expect(port.locator("td.differs")).to_have_text(["8080"])
    host = table.locator('tr[data-path="user:/app/host"]')
    expect(host).not_to_have_class("row-differs")
    workers = table.locator('tr[data-path="user:/app/workers"]')
    expect(workers).to_have_class("row-differs")
    expect(workers.locator("td")).to_have_text(["not set", "8", "4", "unknown"])
    expect(workers.locator("td.differs")).to_have_text(["4"])
    screenshot(page, "fleet-matrix", full_page=True)

    # Only the keys that differ.
    matrix.get_by_label("only keys that differ").check()
    expect(table.locator("tbody tr")).to_have_count(2)
    expect(matrix.locator('tr[data-path="user:/app/host"]')).to_have_count(0)
