"""The overview: instances and clusters, as a sysadmin manages them."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from playwright.sync_api import Page, expect

from elektra_web.elektrad.app import ElektradConfig

from ..clusterd.conftest import Clusterd, Elektrad
from ..elektrad.conftest import serve_in_thread
from .ui import add_instance, manage, register


def test_add_instances_and_a_refused_duplicate(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    web1, web2 = elektrads(2)
    page = client
    expect(page.locator("#instances-list")).to_contain_text("No instances yet")
    add_instance(page, "web-01", web1.url)
    row = page.locator('li.instance[data-name="web-01"]')
    expect(row).to_have_attribute("data-status", "ONLINE")
    expect(row).to_contain_text("Elektra 0.11.0")
    # The same elektrad under another spelling of its URL: refused, readably.
    add_instance(page, "web-01-again", web1.url.replace("127.0.0.1", "127.0.0.1") + "/")
    error = page.locator("form.add-instance .form-error")
    expect(error).to_be_visible()
    expect(error).to_contain_text("already registered as web-01")
    expect(error).not_to_contain_text("INSTANCE_EXISTS")
    add_instance(page, "web-02", web2.url)
    expect(page.locator('li.instance[data-name="web-02"]')).to_be_visible()
    expect(error).to_be_hidden()
    # Not a URL clusterd may reach.
    add_instance(page, "weird", "ftp://example")
    expect(error).to_contain_text("Not a URL clusterd may reach")


def test_rename_nest_unassign_and_delete_clusters(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    web_id = register(clusterd, "web-01", web.url)
    ids = {}
    for name in ("prod", "eu"):
        ids[name] = clusterd.ok(
            "mutation($n: String!) { createCluster(input: {name: $n}) { id } }", n=name
        )["createCluster"]["id"]
    # Both set the same key: eu cannot go inside prod (rule 3), readably.
    for name in ("prod", "eu"):
        clusterd.ok(
            'mutation($c: ID!) { setKey(target: {clusterId: $c}, path: "user:/app/x", '
            'value: "1") { operationId } }',
            c=ids[name],
        )
    clusterd.ok(
        "mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }",
        c=ids["eu"],
        i=web_id,
    )
    page = client
    page.reload()
    eu = page.locator(f'li.cluster[data-id="{ids["eu"]}"]')
    manage(eu)
    eu.get_by_label("Inside").select_option(label="prod")
    eu.get_by_role("button", name="Save").click()
    error = eu.locator(".form-error").last
    expect(error).to_contain_text("Locked by a cluster: user:/app/x is set by prod")
    # prod is not offered as a place inside itself.
    prod = page.locator(f'li.cluster[data-id="{ids["prod"]}"]')
    manage(prod)
    expect(prod.get_by_label("Inside").locator("option")).to_have_text(["(top level)", "eu"])

    # Rename, then nest once the overlap is gone.
    clusterd.ok(
        'mutation($c: ID!) { deleteKey(target: {clusterId: $c}, path: "user:/app/x") '
        "{ operationId } }",
        c=ids["eu"],
    )
    eu.get_by_label("Name").fill("europe")
    eu.get_by_label("Inside").select_option(label="prod")
    eu.get_by_role("button", name="Save").click()
    nested = prod.locator('li.cluster[data-name="europe"]')
    expect(nested).to_be_visible()
    expect(nested.locator('li.member[data-name="web-01"]')).to_be_visible()
    expect(page.locator('li.instance[data-name="web-01"]')).to_contain_text("cluster europe")

    # prod has a sub-cluster: deleting it is refused, and says why.
    delete = prod.locator(":scope > details.manage .delete-cluster")
    delete.click()
    delete.click()  # the second click confirms
    expect(prod.locator(":scope > .form-error")).to_contain_text("has sub-clusters (europe)")

    # Unassign, delete the nested cluster, remove the instance.
    nested.get_by_role("button", name="Unassign web-01 from europe").click()
    expect(nested).to_contain_text("0 members")
    expect(page.locator('li.instance[data-name="web-01"]')).to_contain_text("no cluster")
    manage(nested)
    nested_delete = nested.locator(":scope > details.manage .delete-cluster")
    nested_delete.click()
    expect(nested_delete).to_contain_text("Really delete europe?")
    nested_delete.click()
    expect(page.locator('li.cluster[data-name="europe"]')).to_have_count(0)
    remove = page.get_by_role("button", name="Remove web-01")
    remove.click()
    remove.click()
    expect(page.locator("#instances-list")).to_contain_text("No instances yet")


def test_an_instance_whose_elektrad_wants_a_token_is_registered_with_it(
    client: Page, clusterd: Clusterd, tmp_path: Path
) -> None:
    config = ElektradConfig(data_dir=tmp_path / "guarded", token="machine-secret")
    with serve_in_thread(config) as url:
        page = client
        add_instance(page, "guarded", url)
        error = page.locator("form.add-instance .form-error")
        expect(error).to_contain_text("give the token it requires")
        form = page.locator("form.add-instance")
        form.get_by_label("Name").fill("guarded")
        form.get_by_label("elektrad URL").fill(url)
        form.get_by_label("elektrad token").fill("machine-secret")
        form.get_by_role("button", name="Add instance").click()
        row = page.locator('li.instance[data-name="guarded"]')
        expect(row).to_have_attribute("data-status", "ONLINE")
        expect(form.get_by_label("elektrad token")).to_have_value("")  # not kept in the page
        assert "machine-secret" not in page.content()
