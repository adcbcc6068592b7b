"""The overview is live: what another tab (or script) does shows at once,
row by row, without a reload or a poll; the app shell's messages last only
while their cause does; names say each thing once."""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
from playwright.sync_api import Page, Request, WebSocketRoute, expect

from elektra_web.clusterd.app import ClusterdConfig, create_app
from elektra_web.clusterd.server import WS_PROTOCOL

from ..clusterd.conftest import ADMIN_TOKEN, TEST_SETTINGS, Clusterd, Elektrad
from ..support import servers
from .conftest import open_client
from .ui import add_instance, manage, new_token, register

#: What "at once" means here: well under a second on a quiet machine; 5 s of
#: margin for a loaded CI runner, still a third of the old poll's 15 s (and
#: ``Reads`` proves that no poll nor reload showed it).
LIVE = 5_000


class Reads:
    """Counts the overview's full reads, and marks the page so that a reload
    (which would also show the change) is seen."""

    def __init__(self, page: Page) -> None:
        self.full = 0
        page.on("request", self._request)
        page.evaluate("() => { window.notReloaded = true; }")
        self.page = page

    def _request(self, request: Request) -> None:
        if request.method == "POST" and request.url.endswith("/graphql"):
            body = json.loads(request.post_data or "{}")
            if "query Overview" in body.get("query", ""):
                self.full += 1

    def assert_no_reload(self) -> None:
        assert self.page.evaluate("() => window.notReloaded === true"), "the page was reloaded"
        assert self.full == 0, f"{self.full} full reads of the overview"


def test_what_another_tab_does_shows_at_once_row_by_row(
    new_page: Callable[..., Page],
    clusterd: Clusterd,
    token: str | None,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    web1, web2 = elektrads(2)
    register(clusterd, "web-01", web1.url)
    a, b = new_page(), new_page()
    open_client(a, clusterd.url, token)
    open_client(b, clusterd.url, token)
    expect(a.locator('li.instance[data-name="web-01"]')).to_be_visible()
    expect(a.locator("html")).to_have_attribute("data-live", "open")
    reads = Reads(a)

    # Tab B registers an instance.
    add_instance(b, "web-02", web2.url)
    row = a.locator('li.instance[data-name="web-02"]')
    expect(row).to_have_attribute("data-status", "ONLINE", timeout=LIVE)
    expect(row).to_contain_text("Elektra 0.11.0")
    # In name order.
    expect(a.locator("li.instance")).to_have_count(2)
    expect(a.locator("li.instance").nth(1)).to_have_attribute("data-name", "web-02")

    # Tab B creates a cluster, then one inside it.
    form = b.locator("form.create-cluster")
    form.get_by_label("Name").fill("prod")
    form.get_by_role("button", name="Create cluster").click()
    prod = a.locator('li.cluster[data-name="prod"]')
    expect(prod).to_contain_text("0 members", timeout=LIVE)
    form.get_by_label("Name").fill("canary")
    form.get_by_label("Inside").select_option(label="prod")
    form.get_by_role("button", name="Create cluster").click()
    expect(prod.locator('li.cluster[data-name="canary"]')).to_be_visible(timeout=LIVE)
    # Tab A offers the new clusters as places for a cluster of its own.
    expect(a.locator("form.create-cluster").get_by_label("Inside").locator("option")).to_have_text(
        ["(top level)", "canary", "prod"]
    )

    # Tab B assigns web-01 to prod.
    b_prod = b.locator('li.cluster[data-name="prod"]')
    manage(b_prod)
    b_prod.get_by_label("Add member", exact=True).first.select_option(label="web-01")
    b_prod.locator(":scope > details.manage").get_by_role("button", name="Add", exact=True).click()
    expect(prod.locator(':scope > ul.members li.member[data-name="web-01"]')).to_be_visible(
        timeout=LIVE
    )
    expect(prod.locator(":scope > .line")).to_contain_text("1 member")
    expect(a.locator('li.instance[data-name="web-01"]')).to_contain_text(
        "cluster prod", timeout=LIVE
    )
    # Tab A's own choices follow: web-01 is no longer free for canary.
    a_canary = manage(prod.locator('li.cluster[data-name="canary"]'))
    option = a_canary.locator("select.member-choice option", has_text="web-01")
    expect(option).to_have_text("web-01 (in cluster prod)")
    expect(option).to_be_disabled()

    # Tab B renames prod; tab A's rows that name it follow.
    b_panel = b_prod.locator(":scope > details.manage")
    b_panel.locator("form.edit-cluster").get_by_label("Name").fill("production")
    b_panel.get_by_role("button", name="Save").click()
    production = a.locator('li.cluster[data-name="production"]')
    expect(production).to_be_visible(timeout=LIVE)
    expect(a.locator('li.instance[data-name="web-01"]')).to_contain_text(
        "cluster production", timeout=LIVE
    )

    # Tab B unassigns web-01.
    b.locator('li.cluster[data-name="production"]').get_by_role(
        "button", name="Unassign web-01 from production"
    ).first.click()
    expect(a.locator('li.instance[data-name="web-01"]')).to_contain_text("no cluster", timeout=LIVE)
    expect(production.locator(":scope > .line")).to_contain_text("0 members")

    # Tab B removes web-02 (the second click confirms).
    remove = b.get_by_role("button", name="Remove web-02")
    remove.click()
    expect(b.get_by_role("button", name="Really remove web-02?")).to_be_visible()
    b.get_by_role("button", name="Really remove web-02?").click()
    expect(a.locator('li.instance[data-name="web-02"]')).to_have_count(0, timeout=LIVE)

    # Tab B deletes canary.
    b_canary = b.locator('li.cluster[data-name="canary"]')
    manage(b_canary)
    delete = b_canary.locator(":scope > details.manage .delete-cluster")
    delete.click()
    delete.click()
    expect(a.locator('li.cluster[data-name="canary"]')).to_have_count(0, timeout=LIVE)

    # All of it without one reload, or one full read.
    reads.assert_no_reload()


def test_a_script_and_a_health_check_show_at_once_too(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    page = client
    expect(page.locator("#instances-list")).to_contain_text("No instances yet")
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    reads = Reads(page)
    web_id = register(clusterd, "web-01", web.url)
    row = page.locator('li.instance[data-name="web-01"]')
    expect(row).to_have_attribute("data-status", "ONLINE", timeout=LIVE)
    web.stop()
    expect(row).to_have_attribute("data-status", "OFFLINE", timeout=LIVE)
    expect(row.locator(".seen")).to_contain_text("seen ")
    web.start()
    expect(row).to_have_attribute("data-status", "ONLINE", timeout=LIVE)
    # A cluster write waiting for an offline member: its pending count, then none.
    prod = clusterd.ok('mutation { createCluster(input: {name: "prod"}) { id } }')["createCluster"][
        "id"
    ]
    clusterd.ok(
        "mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }",
        c=prod,
        i=web_id,
    )
    web.stop()
    expect(row).to_have_attribute("data-status", "OFFLINE", timeout=LIVE)
    clusterd.ok(
        'mutation($c: ID!) { setKey(target: {clusterId: $c}, path: "user:/a", value: "1") '
        "{ operationId } }",
        c=prod,
    )
    expect(row.locator(".pending-count")).to_have_text("1 pending", timeout=LIVE)
    cluster = page.locator('li.cluster[data-name="prod"]')
    expect(cluster.locator(":scope > .line .pending-count")).to_have_text("1 pending")
    web.start()
    expect(row.locator(".pending-count")).to_have_count(0, timeout=10_000)
    reads.assert_no_reload()


def test_a_refusal_that_says_the_page_is_behind_reads_it_again(
    new_page: Callable[..., Page],
    clusterd: Clusterd,
    token: str | None,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    (web,) = elektrads(1)
    web_id = register(clusterd, "web-01", web.url)
    page = new_page()
    # The page's live updates pass through here; while ``deaf``, its events
    # are dropped, as on a connection that lost them unnoticed.
    deaf = {"on": False}

    def through(socket: WebSocketRoute) -> None:
        server = socket.connect_to_server()

        def to_page(message: str | bytes) -> None:
            if deaf["on"] and isinstance(message, str) and json.loads(message)["type"] == "next":
                return
            socket.send(message)

        server.on_message(to_page)

    page.route_web_socket("**/graphql", through)
    open_client(page, clusterd.url, token)
    row = page.locator('li.instance[data-name="web-01"]')
    expect(row).to_be_visible()
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    deaf["on"] = True
    clusterd.ok("mutation($id: ID!) { removeInstance(id: $id) }", id=web_id)
    expect(row).to_be_visible()  # the page did not hear of it
    row.get_by_role("button", name="Remove web-01").click()
    page.get_by_role("button", name="Really remove web-01?").click()
    # Refused, and the page reads everything again: web-01 is gone, the refusal says why.
    expect(row).to_have_count(0)
    expect(page.locator(".overview-notice")).to_contain_text("Not found (deleted elsewhere?)")
    expect(page.locator("#instances-list")).to_contain_text("No instances yet")


@contextmanager
def clusterd_on(port: int, database: Path) -> Iterator[str]:
    config = ClusterdConfig(
        database_url=f"sqlite://{database}", settings=TEST_SETTINGS, admin_token=ADMIN_TOKEN
    )
    with servers.serve_in_thread(
        create_app(config),
        port=port,
        lifespan="on",
        timeout_graceful_shutdown=5,
        ws=WS_PROTOCOL,
        ws_per_message_deflate=False,
    ) as url:
        yield url


def test_cannot_be_reached_clears_once_clusterd_is_back(
    page: Page, tmp_path: Path, elektrads: Callable[..., list[Elektrad]]
) -> None:
    database = tmp_path / "clusterd.sqlite3"
    (web,) = elektrads(1)
    with clusterd_on(0, database) as url:
        port = int(url.rsplit(":", 1)[1])
        with httpx.Client(base_url=url, timeout=30) as http:
            register(Clusterd(url, http), "web-01", web.url)
        open_client(page, url, ADMIN_TOKEN)
        expect(page.locator('li.instance[data-name="web-01"]')).to_be_visible()
        expect(page.locator("html")).to_have_attribute("data-live", "open")
    # clusterd is gone: the socket says so, and so does the next request.
    expect(page.locator("html")).to_have_attribute("data-live", "reconnecting")
    page.evaluate(
        "async () => (await import('/static/api.js')).gql('{ version { api } }').catch(() => null)"
    )
    http_banner = page.locator('#banner [data-kind="http"]')
    expect(http_banner).to_contain_text("clusterd cannot be reached")
    with clusterd_on(port, database):
        # Back: both messages go, within seconds (not at the next poll).
        expect(page.locator("html")).to_have_attribute("data-live", "open", timeout=15_000)
        expect(http_banner).to_have_count(0, timeout=5_000)
        expect(page.locator("#banner")).to_be_hidden()
        expect(page.locator('li.instance[data-name="web-01"]')).to_be_visible()


def test_names_say_each_thing_once(
    new_page: Callable[..., Page],
    clusterd: Clusterd,
    token: str | None,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    (web,) = elektrads(1)
    web_id = register(clusterd, "web-01", web.url)
    prod = clusterd.ok('mutation { createCluster(input: {name: "prod"}) { id } }')["createCluster"][
        "id"
    ]
    clusterd.ok(
        "mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }",
        c=prod,
        i=web_id,
    )
    # A viewer whose token's name repeats the role.
    viewer = new_page()
    open_client(viewer, clusterd.url, new_token(clusterd, "alice (viewer)", "VIEWER"))
    who = viewer.locator("#who")
    expect(who.locator(".who-name")).to_have_text("alice")
    expect(who.locator(".badge.role")).to_have_text("viewer")
    assert (who.text_content() or "").count("viewer") == 1, who.text_content()
    assert "token" not in (who.text_content() or "")

    # Taking an instance out of its cluster has one name wherever it is offered.
    admin = new_page()
    open_client(admin, clusterd.url, token)
    instance_button = admin.locator('li.instance[data-name="web-01"] button.unassign')
    member_button = admin.locator('li.cluster[data-name="prod"] li.member button.unassign')
    expect(instance_button).to_have_text("Unassign from prod")
    expect(member_button).to_have_text("Unassign")
    expect(instance_button).to_have_attribute("aria-label", "Unassign web-01 from prod")
    expect(member_button).to_have_attribute("aria-label", "Unassign web-01 from prod")
    expect(admin.get_by_role("button", name="Leave prod")).to_have_count(0)

    # The favicon: the page's own, allowed by its policy (page_errors has no CSP report).
    icon = admin.locator('link[rel="icon"]')
    expect(icon).to_have_attribute("href", "/static/favicon.svg")
    served = httpx.get(f"{clusterd.url}/static/favicon.svg")
    assert served.status_code == 200
    assert served.headers["content-type"].startswith("image/svg+xml")
    assert admin.evaluate(
        "async () => { const i = new Image(); i.src = '/static/favicon.svg'; "
        "await i.decode(); return i.naturalWidth > 0; }"
    )
