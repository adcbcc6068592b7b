"""Signing in, roles, and the page's error states: clusterd unreachable, the
websocket lost and reconnecting."""

from __future__ import annotations

import json
from collections.abc import Callable

import httpx
import pytest
from playwright.sync_api import Page, Route, WebSocket, WebSocketRoute, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import open_client, screenshot
from .ui import expand, new_token, open_target, register, row, select


def test_the_token_in_the_link_is_kept_and_sent(
    page: Page, clusterd: Clusterd, token: str | None
) -> None:
    secret = token or "ewt_any-token-today"
    authorizations: list[str | None] = []
    page.on(
        "request",
        lambda r: r.method == "POST" and authorizations.append(r.headers.get("authorization")),
    )
    inits: list[dict[str, object]] = []

    def on_socket(socket: WebSocket) -> None:
        def sent(payload: str | bytes) -> None:
            message = json.loads(payload)
            if message.get("type") == "connection_init":
                inits.append(message.get("payload") or {})

        socket.on("framesent", sent)

    page.on("websocket", on_socket)
    open_client(page, clusterd.url, secret)
    expect(page.locator("#instances-list")).to_contain_text("No instances yet")
    assert page.evaluate("localStorage.getItem('elektra-web-token')") == secret
    assert "#token" not in page.url  # removed from the address bar (and history)
    assert authorizations and all(a == f"Bearer {secret}" for a in authorizations)
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    assert inits and inits[0] == {"token": secret}


def test_sign_in_form_when_the_token_is_refused(
    page: Page, clusterd: Clusterd, token: str | None
) -> None:
    """A 401 (here faked, so it holds on any server) shows the sign-in form; a
    token that is accepted opens the overview."""
    accepted = token or "ewt_the-good-one"

    def fake_auth(route: Route) -> None:
        if route.request.headers.get("authorization") == f"Bearer {accepted}":
            route.continue_()
            return
        route.fulfill(
            status=401,
            content_type="application/json",
            body=json.dumps(
                {"errors": [{"message": "send a token", "extensions": {"code": "UNAUTHENTICATED"}}]}
            ),
        )

    page.route("**/graphql", fake_auth)
    page.goto(f"{clusterd.url}/")
    form = page.locator("form.sign-in")
    expect(form).to_be_visible()
    expect(page.get_by_label("Access token")).to_be_focused()
    screenshot(page, "sign-in")
    page.get_by_label("Access token").fill("ewt_wrong")
    page.get_by_label("Access token").press("Enter")
    expect(form.locator(".form-error")).to_have_text(
        "That token was not accepted. Check it and try again."
    )
    page.get_by_label("Access token").fill(accepted)
    page.get_by_role("button", name="Sign in").click()
    expect(page.locator("#instances-list")).to_be_visible()
    assert page.evaluate("localStorage.getItem('elektra-web-token')") == accepted
    # Signing out forgets the token and asks again.
    page.get_by_role("button", name="Sign out").click()
    expect(form).to_be_visible()
    assert page.evaluate("localStorage.getItem('elektra-web-token')") is None


def test_sign_in_against_the_real_server(page: Page, clusterd: Clusterd, token: str | None) -> None:
    if token is None:
        pytest.skip("this clusterd has no tokens yet: every caller is an admin")
    page.goto(f"{clusterd.url}/")
    expect(page.locator("form.sign-in")).to_be_visible()
    page.get_by_label("Access token").fill("ewt_not-a-real-one")
    page.get_by_label("Access token").press("Enter")
    expect(page.locator("form.sign-in .form-error")).to_contain_text("not accepted")
    page.get_by_label("Access token").fill(token)
    page.get_by_label("Access token").press("Enter")
    expect(page.locator("#instances-list")).to_contain_text("No instances yet")


def test_a_viewer_sees_no_edits_and_an_editor_no_management(
    page: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    httpx.put(f"{web.url}/kdb/user:/app/port", content="80").raise_for_status()
    web_id = register(clusterd, "web-01", web.url)
    open_client(page, clusterd.url, new_token(clusterd, "vera", "VIEWER"))
    expect(page.locator('li.instance[data-name="web-01"]')).to_be_visible()
    expect(page.locator("#who")).to_contain_text("viewer")
    expect(page.locator("form.add-instance")).to_have_count(0)
    expect(page.locator("form.create-cluster")).to_have_count(0)
    expect(page.get_by_role("button", name="Remove web-01")).to_have_count(0)
    open_target(page, clusterd.url, "instance", web_id)
    expand(page, "user:/")
    expand(page, "user:/app")
    detail = select(page, "user:/app/port")
    expect(detail.locator("pre.value")).to_have_text("80")
    expect(detail.locator("form")).to_have_count(0)
    expect(page.locator("form.new-key")).to_have_count(0)
    expect(page.locator("#undo")).to_have_count(0)

    open_client(page, clusterd.url, new_token(clusterd, "ed", "EDITOR"))
    page.reload()  # a new fragment alone does not load the page again
    expect(page.locator("#who")).to_contain_text("editor")
    expect(page.locator('li.instance[data-name="web-01"]')).to_be_visible()
    expect(page.locator("form.add-instance")).to_have_count(0)
    open_target(page, clusterd.url, "instance", web_id)
    expect(page.locator("form.new-key")).to_be_visible()


def test_clusterd_unreachable_then_back(page: Page, clusterd: Clusterd, token: str | None) -> None:
    down = {"value": True}

    def maybe_down(route: Route) -> None:
        if down["value"]:
            route.abort("connectionrefused")
        else:
            route.continue_()

    page.route("**/graphql", maybe_down)
    open_client(page, clusterd.url, token)
    panel = page.locator("section.unreachable")
    expect(panel).to_contain_text("clusterd cannot be reached")
    down["value"] = False
    panel.get_by_role("button", name="Try now").click()
    expect(page.locator("#instances-list")).to_contain_text("No instances yet")

    # Gone again while the page is open: the form says so, and a banner offers a retry.
    down["value"] = True
    form = page.locator("form.add-instance")
    form.get_by_label("Name").fill("web-01")
    form.get_by_label("elektrad URL").fill("http://127.0.0.1:9")
    form.get_by_role("button", name="Add instance").click()
    expect(form.locator(".form-error")).to_have_text("clusterd cannot be reached.")
    banner = page.locator("#banner")
    expect(banner).to_contain_text("clusterd cannot be reached")
    down["value"] = False
    banner.get_by_role("button", name="Retry").click()
    expect(banner).to_be_hidden()


def test_websocket_lost_reconnects_and_catches_up(
    page: Page, clusterd: Clusterd, token: str | None, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    httpx.put(f"{web.url}/kdb/user:/app/port", content="80").raise_for_status()
    web_id = register(clusterd, "web-01", web.url)
    sockets: list[WebSocketRoute] = []
    refuse = {"value": False}

    def through(socket: WebSocketRoute) -> None:
        if refuse["value"]:
            socket.close(code=1011, reason="test: clusterd away")
            return
        socket.connect_to_server()
        sockets.append(socket)

    page.route_web_socket("**/graphql", through)
    open_client(page, clusterd.url, token)
    open_target(page, clusterd.url, "instance", web_id)
    expand(page, "user:/")
    expand(page, "user:/app")
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("80")
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    assert sockets

    # The socket drops and cannot come back for a while.
    refuse["value"] = True
    sockets[-1].close(code=1011, reason="test: connection lost")
    banner = page.locator("#banner")
    expect(banner).to_contain_text("reconnecting")
    # Meanwhile a change is made that the page cannot hear of.
    httpx.put(f"{web.url}/kdb/user:/app/port", content="8080").raise_for_status()
    page.wait_for_timeout(1500)
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("80")
    refuse["value"] = False
    # Back: the banner goes, the page reads what it missed.
    expect(banner).to_be_hidden(timeout=20_000)
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("8080")
    # And it is live again.
    httpx.put(f"{web.url}/kdb/user:/app/port", content="9090").raise_for_status()
    expect(row(page, "user:/app/port").locator(".val")).to_have_text("9090")


def test_a_revoked_token_asks_to_sign_in_again(
    page: Page, clusterd: Clusterd, token: str | None
) -> None:
    """Revoking the page's token closes its websocket (4403): the page asks
    for a token at once, without waiting for its next request."""
    if token is None:
        pytest.skip("this clusterd has no tokens yet: every caller is an admin")
    created = clusterd.ok(
        'mutation { createToken(input: {name: "laptop", role: VIEWER}) { secret token { id } } }'
    )["createToken"]
    open_client(page, clusterd.url, created["secret"])
    expect(page.locator("#who")).to_contain_text("viewer")
    expect(page.locator("form.add-instance")).to_have_count(0)
    expect(page.locator("html")).to_have_attribute("data-live", "open")
    clusterd.ok("mutation($id: ID!) { revokeToken(id: $id) { id } }", id=created["token"]["id"])
    expect(page.locator("form.sign-in")).to_be_visible()
