"""The editor never surprises an operator: undo stays with its instance, a live
change never overwrites a draft, every write shows it is busy and cannot be
sent twice, and a phone shows what was tapped (issue 12)."""

from __future__ import annotations

import json
import re
from collections.abc import Callable

import httpx
from playwright.sync_api import Page, Request, Route, WebSocketRoute, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import PHONE, open_client, screenshot
from .ui import confirm_cluster_write, expand, new_token, open_target, register, row, select


def test_undo_stays_with_its_instance(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    web, app = elektrads(2)
    for machine, name in [(web, "web-01"), (app, "app-ini")]:
        httpx.put(f"{machine.url}/kdb/user:/app/name", content=name).raise_for_status()
    web_id = register(clusterd, "web-01", web.url)
    app_id = register(clusterd, "app-ini", app.url)
    page = client

    open_target(page, clusterd.url, "instance", web_id)
    expand(page, "user:/")
    expand(page, "user:/app")
    detail = select(page, "user:/app/name")
    detail.locator("#value-input").fill("web-01 v3")
    detail.locator("#value-input").press("Enter")
    expect(row(page, "user:/app/name").locator(".val")).to_have_text("web-01 v3")
    undo = page.locator("#undo")
    expect(undo).to_be_enabled()
    expect(undo).to_have_attribute(
        "aria-label", "Undo: set user:/app/name = web-01 v3 — on instance web-01"
    )

    # On app-ini nothing is to be undone: web-01's edit is not offered there,
    # by the button or by Ctrl+Z.
    open_target(page, clusterd.url, "instance", app_id)
    expect(page.locator("h1.target-title")).to_contain_text("app-ini")
    expect(undo).to_be_disabled()
    expect(undo).to_have_attribute("aria-label", "Nothing to undo on instance app-ini")
    page.locator("h1.target-title").click()
    page.keyboard.press("Control+z")
    expect(undo).to_be_disabled()
    assert web.value("user:/app/name") == "web-01 v3"
    assert app.value("user:/app/name") == "app-ini"

    # Back on web-01 its edit is still there to undo, and undoing changes web-01.
    open_target(page, clusterd.url, "instance", web_id)
    expect(undo).to_have_attribute(
        "aria-label", "Undo: set user:/app/name = web-01 v3 — on instance web-01"
    )
    undo.click()
    expand(page, "user:/")
    expand(page, "user:/app")
    expect(row(page, "user:/app/name").locator(".val")).to_have_text("web-01")
    assert web.value("user:/app/name") == "web-01"
    assert app.value("user:/app/name") == "app-ini"
    expect(page.locator("#redo")).to_have_attribute(
        "aria-label", "Redo: set user:/app/name = web-01 v3 — on instance web-01"
    )


def test_a_live_change_never_overwrites_a_draft(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    httpx.put(f"{web.url}/kdb/user:/app/port", content="8080").raise_for_status()
    web_id = register(clusterd, "web-01", web.url)
    page = client
    open_target(page, clusterd.url, "instance", web_id)
    expand(page, "user:/")
    expand(page, "user:/app")
    detail = select(page, "user:/app/port")
    value = detail.locator("#value-input")
    notice = detail.locator(".changed-elsewhere")

    # 7777 is being typed when the machine itself changes the key to 9998.
    value.fill("7777")
    expect(value).to_be_focused()
    httpx.put(f"{web.url}/kdb/user:/app/port", content="9998").raise_for_status()
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("9998")
    expect(notice).to_contain_text("Changed elsewhere to 9998 while you were editing")
    expect(value).to_have_value("7777")
    expect(value).to_be_focused()
    screenshot(page, "changed-elsewhere")

    # Save does not write over a change the user has not answered.
    value.press("Enter")
    expect(notice).to_contain_text("Not saved: Changed elsewhere to 9998")
    expect(detail.get_by_role("button", name="Save")).to_be_enabled()
    assert web.value("user:/app/port") == "9998"
    # Take it: the field shows it, nothing is written.
    notice.get_by_role("button", name="Take it").click()
    expect(value).to_have_value("9998")
    expect(notice).to_be_hidden()
    assert web.value("user:/app/port") == "9998"

    # Keep editing: the user has seen the other value, and Save writes theirs.
    value.fill("1234")
    clusterd.ok(
        'mutation($i: ID!) { setKey(target: {instanceId: $i}, path: "user:/app/port", '
        'value: "4321") { operationId } }',
        i=web_id,
    )
    expect(notice).to_contain_text("Changed elsewhere to 4321")
    expect(value).to_have_value("1234")
    notice.get_by_role("button", name="Keep editing").click()
    expect(value).to_be_focused()
    value.press("Enter")
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("1234")
    assert web.value("user:/app/port") == "1234"
    expect(page.locator("#detail .changed-elsewhere")).to_be_hidden()

    # With no draft, a live change simply shows.
    httpx.put(f"{web.url}/kdb/user:/app/port", content="5555").raise_for_status()
    expect(page.locator("#value-input")).to_have_value("5555")
    expect(page.locator("#detail .changed-elsewhere")).to_be_hidden()


def test_save_refuses_a_change_it_has_not_shown(
    new_page: Callable[..., Page],
    clusterd: Clusterd,
    token: str | None,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    (web,) = elektrads(1)
    httpx.put(f"{web.url}/kdb/user:/app/port", content="8080").raise_for_status()
    web_id = register(clusterd, "web-01", web.url)
    # The live change does not reach this page (as when its websocket is
    # down and not yet back): only Save can notice it.
    deaf = {"on": False}

    def route(ws: WebSocketRoute) -> None:
        server = ws.connect_to_server()

        def from_server(message: str | bytes) -> None:
            if deaf["on"] and "configChanged" in str(message):
                return
            ws.send(message)

        server.on_message(from_server)

    page = new_page()
    page.route_web_socket(re.compile(r"/graphql$"), route)
    open_client(page, clusterd.url, token)
    open_target(page, clusterd.url, "instance", web_id)
    expand(page, "user:/")
    expand(page, "user:/app")
    detail = select(page, "user:/app/port")
    value = detail.locator("#value-input")
    value.fill("7777")
    deaf["on"] = True
    httpx.put(f"{web.url}/kdb/user:/app/port", content="9998").raise_for_status()
    value.press("Enter")
    notice = detail.locator(".changed-elsewhere")
    expect(notice).to_contain_text("Not saved: Changed elsewhere to 9998 since you started editing")
    expect(value).to_have_value("7777")
    assert web.value("user:/app/port") == "9998"
    # Shown now: a second Save writes the draft, knowingly.
    notice.get_by_role("button", name="Keep editing").click()
    value.press("Enter")
    expect(notice).to_be_hidden()
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("7777")
    assert web.value("user:/app/port") == "7777"


def test_a_slow_cluster_write_is_busy_and_sent_once(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    web1, web2 = elektrads(2)
    id1 = register(clusterd, "web-01", web1.url)
    id2 = register(clusterd, "web-02", web2.url)
    cluster_id = clusterd.ok('mutation { createCluster(input: {name: "prod"}) { id } }')[
        "createCluster"
    ]["id"]
    for instance_id in (id1, id2):
        clusterd.ok(
            "mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }",
            c=cluster_id,
            i=instance_id,
        )
    clusterd.ok(
        'mutation($c: ID!) { setKey(target: {clusterId: $c}, path: "user:/app/motd", '
        'value: "hello") { operationId } }',
        c=cluster_id,
    )
    web2.stop()
    page = client
    writes: list[Request] = []
    page.on(
        "request",
        lambda r: writes.append(r) if "setKey" in (r.post_data or "") else None,
    )
    # Each write (not its preview) is held until the page was looked at: an
    # offline member is not waited for, so it would be over too soon to see.
    held: list[Route] = []

    def hold_writes(route: Route) -> None:
        body = json.loads(route.request.post_data or "{}")
        if "setKey" in body.get("query", "") and not body.get("variables", {}).get("dry"):
            held.append(route)
        else:
            route.continue_()

    def release() -> None:
        while held:
            held.pop().continue_()

    page.route("**/graphql", hold_writes)
    open_target(page, clusterd.url, "cluster", cluster_id)
    expect(page.locator(f'.side-info li.member[data-id="{id2}"]')).to_have_attribute(
        "data-status", "OFFLINE"
    )
    expand(page, "user:/")
    expand(page, "user:/app")
    detail = select(page, "user:/app/motd")
    form = detail.locator("form.value-form")
    save = form.get_by_role("button", name="Save")
    form.locator("#value-input").fill("maintenance tonight")
    save.click()
    confirm_cluster_write(page, "Write to 2 members")  # web-02 would wait
    # While the write waits for the offline member: busy, and a second
    # submit (Enter in the field, a click) sends nothing.
    expect(form).to_have_attribute("aria-busy", "true")
    expect(save).to_be_disabled()
    expect(save).to_have_class("working")
    expect(form.locator("#value-input")).not_to_be_editable()
    form.locator("#value-input").press("Enter")
    save.click(force=True)
    release()
    card = page.locator(".progress-card").first
    expect(card).to_contain_text("1 of 2 members applied, 1 pending")
    expect(page.locator("#detail form.value-form button[type=submit]")).to_be_enabled()
    sent = [w for w in writes if not json.loads(w.post_data or "{}")["variables"]["dry"]]
    assert len(sent) == 1, [w.post_data for w in writes]
    assert web1.value("user:/app/motd") == "maintenance tonight"

    # The new key form: cleared only once its write succeeded.
    new_key = page.locator("form.new-key")
    new_key.get_by_label("Key").fill("user:/app/banner")
    new_key.get_by_label("Value").fill("hi")
    new_key.get_by_role("button", name="Add key").click()
    expect(new_key).to_have_attribute("aria-busy", "true")  # also while the preview is open
    confirm_cluster_write(page)
    expect(new_key.get_by_role("button", name="Add key")).to_be_disabled()
    release()
    expect(page.locator("#detail h2.key-path")).to_have_text("user:/app/banner")
    expect(new_key.get_by_label("Key")).to_have_value("")
    # A refused one keeps what was typed.
    new_key.get_by_label("Key").fill("user:/app/banner")
    new_key.get_by_role("button", name="Add key").click()
    expect(new_key.locator(".form-error")).to_contain_text("exists already")
    expect(new_key.get_by_label("Key")).to_have_value("user:/app/banner")


def test_phone_shows_the_tapped_key_and_stacks_tables(
    new_page: Callable[..., Page],
    clusterd: Clusterd,
    token: str | None,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    (web,) = elektrads(1)
    for i in range(30):
        httpx.put(f"{web.url}/kdb/user:/app/k{i:02}", content=f"value {i}").raise_for_status()
    web_id = register(clusterd, "web-01", web.url)
    for name, role in [("deploy bot of the nightly release pipeline", "EDITOR"), ("bob", "VIEWER")]:
        new_token(clusterd, name, role)
    page = new_page(viewport=PHONE)
    open_client(page, clusterd.url, token)
    open_target(page, clusterd.url, "instance", web_id)
    expand(page, "user:/")
    expand(page, "user:/app")

    # The last key is tapped: its details are on screen, not below the fold.
    row(page, "user:/app/k29").locator("button.keyname").click()
    detail = page.locator("#detail")
    expect(detail.locator("h2.key-path")).to_have_text("user:/app/k29")
    expect(detail.locator("h2.key-path")).to_be_in_viewport()
    expect(detail.locator("#value-input")).to_be_in_viewport()
    screenshot(page, "phone-key-tapped")

    # The Access page: each token a stacked row, Revoke and Rotate on screen
    # without scrolling sideways.
    page.goto(f"{clusterd.url}/#/access")
    bob = page.locator('#tokens-list tr.token[data-name="bob"]')
    expect(bob).to_be_visible()
    revoke = bob.get_by_role("button", name="Revoke bob")
    revoke.scroll_into_view_if_needed()
    expect(revoke).to_be_in_viewport()
    box = revoke.bounding_box()
    assert box and box["x"] >= 0 and box["x"] + box["width"] <= PHONE["width"], box
    rotate = bob.get_by_role("button", name="Rotate bob")
    rotate_box = rotate.bounding_box()
    assert rotate_box and rotate_box["x"] + rotate_box["width"] <= PHONE["width"], rotate_box
    width = page.evaluate("document.documentElement.scrollWidth")
    assert width <= PHONE["width"], f"the page is {width} px wide"
    scrolls = page.evaluate(
        "[...document.querySelectorAll('.table-scroll')].map(e => e.scrollWidth - e.clientWidth)"
    )
    assert all(extra <= 1 for extra in scrolls), scrolls
    # The audit log too: each entry's cells say their column.
    entry = page.locator("#audit-list tr.entry").first
    expect(entry.locator("td.arguments")).to_have_attribute("data-label", "Arguments")
    screenshot(page, "phone-access", full_page=True)


def test_audit_arguments_show_names(client: Page) -> None:
    shown = client.evaluate(
        """async () => {
          const { withNames } = await import('/static/access-format.js');
          return [
            withNames({ instance_id: '2', instance_name: 'web-01', cluster_id: '1' }),
            withNames({ cluster_id: '1', names: { cluster_id: 'prod' }, path: 'user:/a' }),
            withNames({ input: { name: 'x' }, instance_id: '3' }),
            withNames({ target: { instance_id: '2', instance_name: 'web-01' }, path: 'user:/a' }),
          ];
        }"""
    )
    assert shown == [
        {"instance": "web-01 (2)", "cluster_id": "1"},
        {"cluster": "prod (1)", "path": "user:/a"},
        {"input": {"name": "x"}, "instance_id": "3"},
        {"target": {"instance": "web-01 (2)"}, "path": "user:/a"},
    ]


def test_an_armed_remove_button_says_so_to_screen_readers(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    register(clusterd, "web-01", web.url)
    page = client
    instance = page.locator('li.instance[data-name="web-01"]')
    remove = instance.get_by_role("button", name="Remove web-01", exact=True)
    remove.click()
    armed = instance.get_by_role("button", name="Really remove web-01?", exact=True)
    expect(armed).to_have_text("Really remove web-01?")
    armed.click()
    expect(instance).to_have_count(0)
