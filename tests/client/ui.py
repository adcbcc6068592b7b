"""Driving the web client as a person does: helpers shared by the tests."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence
from typing import Any

from playwright.sync_api import Locator, Page, expect

from ..clusterd.conftest import Clusterd, Elektrad


def register(clusterd: Clusterd, name: str, url: str) -> str:
    """Register an instance through the API (set-up, not what a test checks)."""
    data = clusterd.ok(
        "mutation($n: String!, $h: String!) { addInstance(input: {name: $n, host: $h}) { id } }",
        n=name,
        h=url,
    )
    instance_id: str = data["addInstance"]["id"]
    return instance_id


def graphql(clusterd: Clusterd, document: str, **variables: Any) -> dict[str, Any]:
    return clusterd.ok(document, **variables)


def add_instance(page: Page, name: str, url: str) -> None:
    form = page.locator("form.add-instance")
    form.get_by_label("Name").fill(name)
    form.get_by_label("elektrad URL").fill(url)
    form.get_by_role("button", name="Add instance").click()


def row(page: Page, path: str) -> Locator:
    """The tree row of a key."""
    return page.locator(f'ul.tree li[data-path="{path}"] > .row')


def expand(page: Page, path: str) -> None:
    """Open a key in the tree (if it is closed) and wait for its children."""
    twisty = row(page, path).locator("button.twisty")
    if twisty.get_attribute("aria-expanded") != "true":
        twisty.click()
    expect(twisty).to_have_attribute("aria-expanded", "true")


def select(page: Page, path: str) -> Locator:
    """Choose a key in the tree; the detail pane once it shows that key."""
    row(page, path).locator("button.keyname").click()
    detail = page.locator("#detail")
    expect(detail.locator("h2.key-path")).to_have_text(path)
    return detail


def open_target(page: Page, clusterd_url: str, kind: str, target_id: str) -> None:
    """Go to an instance's or a cluster's configuration (the page is open already)."""
    page.goto(f"{clusterd_url}/#/{kind}/{target_id}")
    expect(page.locator(f'.target[data-kind="{kind}"][data-id="{target_id}"]')).to_be_visible()
    expect(page.locator('ul.tree li[data-path="user:/"]')).to_be_visible()


def manage(cluster: Locator) -> Locator:
    """Open a cluster's management panel on the overview (if closed)."""
    panel = cluster.locator(":scope > details.manage")
    if panel.get_attribute("open") is None:
        panel.locator(":scope > summary").click()
    expect(panel).to_have_attribute("open", "")
    return panel


def new_token(clusterd: Clusterd, name: str, role: str) -> str:
    """A new API token of ``role``, made through the API; its secret."""
    data = clusterd.ok(
        "mutation($n: String!, $r: Role!) { createToken(input: {name: $n, role: $r}) { secret } }",
        n=name,
        r=role,
    )
    secret: str = data["createToken"]["secret"]
    return secret


def eventually(read: Callable[[], Any], expected: Any, timeout: float = 10.0) -> None:
    """Wait until ``read()`` answers ``expected`` (a delivery landing, say)."""
    deadline = time.monotonic() + timeout
    while True:
        got = read()
        if got == expected:
            return
        if time.monotonic() > deadline:
            raise AssertionError(f"still {got!r}, not {expected!r}, after {timeout} s")
        time.sleep(0.1)


def history_panel(page: Page) -> Locator:
    """The History panel of an instance's or a cluster's page."""
    return page.locator("section.history-view")


def confirm_cluster_write(page: Page, button: str | None = None) -> Locator:
    """Confirm the preview shown before a cluster write from its page (its
    "Write to N members" or "Write anyway" button, ``button`` if given);
    the dialog, gone once confirmed."""
    dialog = page.locator("dialog.write-preview")
    confirm = dialog.locator("#confirm-write")
    if button is not None:
        expect(confirm).to_have_text(button)
    confirm.click()
    expect(dialog).to_have_count(0)
    return dialog


def make_cluster(clusterd: Clusterd, name: str, *instance_ids: str) -> str:
    cluster_id: str = graphql(
        clusterd, "mutation($n: String!) { createCluster(input: {name: $n}) { id } }", n=name
    )["createCluster"]["id"]
    for instance_id in instance_ids:
        graphql(
            clusterd,
            "mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }",
            c=cluster_id,
            i=instance_id,
        )
    return cluster_id


def set_in_cluster(clusterd: Clusterd, cluster_id: str, path: str, value: str) -> None:
    graphql(
        clusterd,
        "mutation($c: ID!, $p: String!, $v: String!) "
        "{ setKey(target: {clusterId: $c}, path: $p, value: $v) { operationId } }",
        c=cluster_id,
        p=path,
        v=value,
    )


def prod_of(
    clusterd: Clusterd, daemons: Sequence[Elektrad], keys: dict[str, str]
) -> tuple[str, list[str]]:
    """A cluster "prod" of the daemons, registered as web-01, web-02, ...,
    with ``keys`` (``{"user:/app/port": "80"}``, in order) set in it and
    landed on every member; its id and theirs."""
    ids = [register(clusterd, f"web-{n + 1:02}", d.url) for n, d in enumerate(daemons)]
    prod = make_cluster(clusterd, "prod", *ids)
    for path, value in keys.items():
        set_in_cluster(clusterd, prod, path, value)
    for daemon in daemons:
        for path, value in keys.items():
            eventually(lambda d=daemon, p=path: d.value(p), value)
    return prod, ids
