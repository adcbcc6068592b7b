"""GraphiQL as clusterd serves it (``elektra_web/clusterd/graphiql``): the page
and its pinned files without a token and under a Content-Security-Policy, and in
a real Chromium that may reach nothing but clusterd: sign in, a query, a
subscription over the websocket, a refused token, sign-out."""

from __future__ import annotations

import hashlib
import json
import re
import tomllib
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from fnmatch import fnmatch
from pathlib import Path
from typing import Any

import pytest
from playwright.sync_api import Locator, Page, Request, Response, Route, WebSocket, expect

from elektra_web.clusterd import graphiql
from elektra_web.clusterd.graphiql import CONTENT_SECURITY_POLICY, STATIC, manifest

from ..clusterd.api import add_instance, set_key, target
from ..clusterd.conftest import ADMIN_TOKEN, Clusterd, Elektrad
from .conftest import screenshot

HTML = {"Accept": "text/html"}


# -- over plain HTTP ---------------------------------------------------------------


def test_page_and_assets_are_served_without_a_token_under_the_policy(clusterd: Clusterd) -> None:
    page = clusterd.http.get("/graphql", headers=HTML)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    assert page.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
    directives = dict(d.strip().split(" ", 1) for d in CONTENT_SECURITY_POLICY.split(";"))
    assert directives["script-src"] == "'self'" and directives["connect-src"] == "'self'"
    # Nothing from elsewhere, no inline script, no inline handler.
    assert not re.search(r"https?://", page.text)
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", page.text)

    # Every file the page loads (and the module it imports) is served to anyone.
    assets = re.findall(r'(?:src|href)="(/[^"]+)"', page.text)
    page_js = clusterd.http.get(f"{graphiql.PREFIX}/page.js").text
    assets += re.findall(r"from '(/[^']+)'", page_js)
    assert len(assets) == 8, assets
    for url in assets:
        response = clusterd.http.get(url)
        assert response.status_code == 200, url
        assert not re.search(r"https?://", url)
        assert response.headers["x-content-type-options"] == "nosniff", url
        if url.startswith(graphiql.PREFIX):
            assert response.headers["content-security-policy"] == CONTENT_SECURITY_POLICY, url
        kind = "css" if url.endswith(".css") else "javascript"
        assert kind in response.headers["content-type"], url
        cache = response.headers["cache-control"]
        # Vendored files carry their version in their name: cached for good.
        if "/vendor/" in url:
            assert "immutable" in cache and "max-age=31536000" in cache, url
        else:
            assert cache == "no-cache", url

    # The API itself still needs a token, and the package's code is not served.
    assert clusterd.http.get("/graphql", headers={"Accept": "application/json"}).status_code == 401
    assert clusterd.http.get(f"{graphiql.PREFIX}/../__init__.py").status_code == 404
    assert clusterd.http.get(f"{graphiql.PREFIX}/../page.html").status_code == 404


def test_vendored_files_match_their_manifest() -> None:
    vendor = STATIC / "vendor"
    packages = manifest()["packages"]
    assert set(packages) == {"react", "react-dom", "graphiql", "graphql-ws"}
    listed = {"VERSIONS.json"}
    for name, entry in packages.items():
        assert entry["integrity"].startswith("sha512-"), name
        for item in [*entry["files"].values(), entry["licenseFile"]]:
            listed.add(item["file"])
            assert entry["version"] in item["file"], item
            data = (vendor / item["file"]).read_bytes()
            assert hashlib.sha256(data).hexdigest() == item["sha256"], item["file"]
        license_text = (vendor / entry["licenseFile"]["file"]).read_text()
        assert "Permission is hereby granted" in license_text, name  # MIT, all four
    assert {p.name for p in vendor.iterdir()} == listed


def test_package_data_ships_every_file_of_graphiql() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["elektra_web.clusterd.graphiql"]
    directory = Path(graphiql.__file__).parent
    for path in directory.rglob("*"):
        relative = path.relative_to(directory).as_posix()
        if path.is_dir() or path.suffix == ".py" or "__pycache__" in relative:
            continue
        assert any(fnmatch(relative, p) for p in patterns), f"{relative} is not package data"


# -- in a browser that may reach nothing but clusterd -------------------------------


@dataclass
class Traffic:
    """What the page asked for: blocked requests (anything not on clusterd's
    origin), the API's answers, and the websocket's frames."""

    origin: str
    blocked: list[str] = field(default_factory=list)
    api: list[tuple[int, str | None, str]] = field(default_factory=list)
    sent: list[dict[str, Any]] = field(default_factory=list)
    received: list[dict[str, Any]] = field(default_factory=list)
    sockets: list[str] = field(default_factory=list)

    def route(self, route: Route) -> None:
        url = route.request.url
        if url == self.origin or url.startswith(self.origin + "/"):
            route.continue_()
        else:
            self.blocked.append(url)
            route.abort()

    def response(self, response: Response) -> None:
        request: Request = response.request
        if request.method == "POST" and request.url == f"{self.origin}/graphql":
            auth = request.headers.get("authorization")
            self.api.append((response.status, auth, request.post_data or ""))

    def websocket(self, socket: WebSocket) -> None:
        self.sockets.append(socket.url)
        socket.on("framesent", lambda frame: self.sent.append(json.loads(frame)))
        socket.on("framereceived", lambda frame: self.received.append(json.loads(frame)))


@pytest.fixture
def traffic(page: Page, clusterd: Clusterd) -> Iterator[Traffic]:
    seen = Traffic(clusterd.url)
    # Every request of the context goes through seen.route.
    page.context.route("**/*", seen.route)
    page.on("response", seen.response)
    page.on("websocket", seen.websocket)
    yield seen
    assert not seen.blocked, f"the page tried to reach elsewhere: {seen.blocked}"
    # Websockets are not routed: only clusterd's own /graphql may be opened.
    own = seen.origin.replace("http", "ws", 1) + "/graphql"
    assert all(url == own for url in seen.sockets), seen.sockets


def set_query(page: Page, text: str) -> None:
    """Replace the query editor's text (CodeMirror keeps its instance on its
    element), and wait until GraphiQL has read it: it parses an edit 100 ms
    later, stores it, and only then knows which operation the run button runs."""
    page.locator(".graphiql-query-editor .CodeMirror").evaluate(
        "(element, text) => element.CodeMirror.setValue(text)", text
    )
    page.wait_for_function("text => localStorage.getItem('graphiql:query') === text", arg=text)


def run(page: Page) -> None:
    page.locator(".graphiql-execute-button").click()


def result(page: Page) -> Locator:
    return page.locator(".graphiql-response .result-window")


def wait_until(page: Page, condition: Callable[[], bool], timeout: float = 10.0) -> None:
    """Wait for something the page's events record (they arrive while Playwright waits)."""
    for _ in range(int(timeout * 20)):
        if condition():
            return
        page.wait_for_timeout(50)
    assert condition(), "timed out"


def sign_in(page: Page, token: str) -> None:
    form = page.locator("#sign-in")
    expect(form).to_be_visible()
    form.get_by_label("Access token").fill(token)
    form.get_by_role("button", name="Sign in").click()


def test_sign_in_then_a_query_and_a_subscription_over_the_websocket(
    page: Page,
    clusterd: Clusterd,
    traffic: Traffic,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web-01", daemon.url)
    page.goto(f"{clusterd.url}/graphql")
    # Nothing is asked of the API before a token was entered.
    expect(page.locator("#sign-in")).to_be_visible()
    assert traffic.api == []
    sign_in(page, ADMIN_TOKEN)
    expect(page.locator(".graphiql-container")).to_be_visible()
    expect(page.locator("#who")).to_contain_text("admin")
    # The schema is fetched with the token: the documentation explorer has it.
    page.get_by_role("button", name="Show Documentation Explorer").click()
    expect(page.locator(".graphiql-doc-explorer")).to_contain_text("Subscription")

    set_query(page, "{ version { api } instances { name status } }")
    run(page)
    expect(result(page)).to_contain_text('"name": "web-01"')
    assert traffic.api and all(status == 200 for status, _, _ in traffic.api), traffic.api
    assert all(auth == f"Bearer {ADMIN_TOKEN}" for _, auth, _ in traffic.api)
    assert any("IntrospectionQuery" in body for _, _, body in traffic.api)

    set_query(page, "subscription Watch {\n  configChanged { op path value }\n}\n")
    run(page)
    # Subscribed over the websocket, signed in by connection_init.
    wait_until(page, lambda: any(m["type"] == "subscribe" for m in traffic.sent))
    assert traffic.sockets == [clusterd.url.replace("http", "ws", 1) + "/graphql"]
    assert traffic.sent[0] == {"type": "connection_init", "payload": {"token": ADMIN_TOKEN}}
    assert traffic.received[0]["type"] == "connection_ack"
    set_key(clusterd, target(instance=instance), "user:/graphiql/greeting", "hello")
    expect(result(page)).to_contain_text('"path": "user:/graphiql/greeting"')
    expect(result(page)).to_contain_text('"value": "hello"')
    screenshot(page, "graphiql")
    assert not any("configChanged" in body for _, _, body in traffic.api), "not over HTTP"
    run(page)  # stop it
    wait_until(page, lambda: any(m["type"] == "complete" for m in traffic.sent))


def test_a_refused_token_says_so_and_another_can_be_entered(
    page: Page, clusterd: Clusterd, traffic: Traffic
) -> None:
    # A sign-in link with a wrong token (the way `elektra-web up` prints one).
    page.goto(f"{clusterd.url}/graphql#token=ewt_not-a-token")
    expect(page.locator("#sign-in-error")).to_have_text(
        "That token was not accepted. Check it and try again."
    )
    expect(page.locator(".graphiql-container")).to_have_count(0)
    assert page.evaluate("location.hash") == ""  # not left in the address bar
    sign_in(page, "ewt_still-wrong")
    expect(page.locator("#sign-in-error")).to_be_visible()
    sign_in(page, ADMIN_TOKEN)
    expect(page.locator(".graphiql-container")).to_be_visible()
    expect(page.locator("#sign-in-error")).to_be_hidden()
    wait_until(page, lambda: any("IntrospectionQuery" in body for _, _, body in traffic.api))
    # Only the two checks of wrong tokens were refused; never GraphiQL's requests.
    refused = [body for status, _, body in traffic.api if status == 401]
    assert len(refused) == 2 and all("me {" in body for body in refused), refused


def test_the_token_is_shared_with_the_web_client_and_sign_out_forgets_it(
    page: Page, clusterd: Clusterd, traffic: Traffic
) -> None:
    page.goto(f"{clusterd.url}/#token={ADMIN_TOKEN}")  # signed in to the web client
    expect(page.locator("#sign-out")).to_be_visible()
    page.goto(f"{clusterd.url}/graphql")
    expect(page.locator(".graphiql-container")).to_be_visible()
    page.get_by_role("button", name="Sign out").click()
    expect(page.locator("#sign-in-reason")).to_contain_text("Signed out")
    expect(page.locator(".graphiql-container")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('elektra-web-token')") is None
    page.reload()
    expect(page.locator("#sign-in")).to_be_visible()


def test_a_token_revoked_while_subscribed_asks_for_another(
    page: Page, clusterd: Clusterd, traffic: Traffic
) -> None:
    created = clusterd.ok(
        "mutation($n: String!) { createToken(input: {name: $n, role: VIEWER}) "
        "{ secret token { id } } }",
        n="graphiql",
    )["createToken"]
    page.goto(f"{clusterd.url}/graphql#token={created['secret']}")
    expect(page.locator("#who")).to_contain_text("viewer")
    set_query(page, "subscription { instanceStatusChanged { name } }")
    run(page)
    wait_until(page, lambda: any(m["type"] == "subscribe" for m in traffic.sent))
    clusterd.ok("mutation($i: ID!) { revokeToken(id: $i) { id } }", i=created["token"]["id"])
    # clusterd closes the token's sockets (4403): the page asks for a token again.
    expect(page.locator("#sign-in-reason")).to_contain_text("refused your token")
    expect(page.locator(".graphiql-container")).to_have_count(0)
    assert page.evaluate("localStorage.getItem('elektra-web-token')") is None
