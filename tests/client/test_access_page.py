"""The admins' "Access" page: API tokens (create, with an expiry or not, the
secret shown once, rotate, revoke) and the audit log (newest first, paged,
filtered)."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Dialog, Page, expect

from ..clusterd.conftest import Clusterd
from .conftest import PHONE, open_client, screenshot
from .test_layout import no_sideways_scrolling
from .ui import new_token


def open_access(page: Page) -> None:
    """Follow the header's link to the Access page (the page is open already)."""
    link = page.locator("#access-link")
    expect(link).to_be_visible()
    link.click()
    expect(page.locator("#tokens-list table.tokens")).to_be_visible()


def test_create_use_and_revoke_a_token(client: Page, clusterd: Clusterd) -> None:
    page = client
    open_access(page)
    admin = clusterd.ok("{ me { name } }")["me"]["name"]
    # The admin's own token is listed, marked as theirs.
    expect(page.locator("tr.token", has=page.locator(".badge.you"))).to_have_count(1)

    # A name the server refuses: its reason next to the form.
    form = page.locator("form.create-token")
    form.get_by_label("Name").fill("   ")
    form.get_by_role("button", name="Create token").click()
    error = form.locator(".form-error")
    expect(error).to_be_visible()
    expect(error).not_to_be_empty()

    form.get_by_label("Name").fill("deploy bot")
    form.get_by_label("Role").select_option("EDITOR")
    form.get_by_role("button", name="Create token").click()
    box = page.locator(".secret-box")
    expect(box).to_be_visible()
    expect(box).to_contain_text("will not be shown again")
    expect(error).to_be_hidden()
    secret = box.locator("#new-secret").inner_text().strip()
    assert secret
    expect(box.locator("#new-link")).to_have_text(f"{clusterd.url}/#token={secret}")
    # Copy: to the clipboard, or (no permission here) the text selected.
    box.get_by_role("button", name="Copy", exact=True).click()
    expect(box.locator(".copy-status")).not_to_be_empty()
    if "Selected" in box.locator(".copy-status").inner_text():
        assert page.evaluate("String(window.getSelection())") == secret

    # It works, as an editor.
    editor = Clusterd(clusterd.url, clusterd.http, secret)
    me = editor.ok("{ me { role name } }")["me"]
    assert me["role"] == "EDITOR" and me["name"].startswith("deploy bot"), me
    row = page.locator('tr.token[data-name="deploy bot"]')
    expect(row).to_contain_text("editor")
    expect(row).to_contain_text(secret[:6])
    expect(row.locator("td.status")).to_have_text("active")
    # The row's buttons are in view at desktop width, not past a sideways scroll.
    expect(row.get_by_role("button", name="Revoke deploy bot")).to_be_in_viewport(ratio=1)
    screenshot(page, "access")

    # Revoke it through the page, after the confirmation.
    questions: list[str] = []

    def accept(dialog: Dialog) -> None:
        questions.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name="Revoke deploy bot").click()
    expect(row.locator("td.status")).to_contain_text("revoked")
    expect(row.locator("td.status")).to_contain_text(admin)
    expect(row.get_by_role("button", name="Revoke deploy bot")).to_have_count(0)
    assert questions and "deploy bot" in questions[0] and "signed out" not in questions[0]
    refused = editor.query("{ me { role } }")
    assert refused.get("errors"), refused

    # A refused mutation is recorded too.
    viewer = Clusterd(clusterd.url, clusterd.http, new_token(clusterd, "looker", "VIEWER"))
    looker = viewer.ok("{ me { name } }")["me"]["name"]
    answer = viewer.query('mutation { createCluster(input: {name: "nope"}) { id } }')
    assert answer["errors"][0]["extensions"]["code"] == "FORBIDDEN"

    page.locator(".panel-head").get_by_role("button", name="Refresh").click()
    audit = page.locator("#audit-list")
    forbidden = audit.locator('tr.entry[data-action="createCluster"]')
    expect(forbidden).to_have_count(1)
    expect(forbidden).to_have_attribute("data-outcome", "FORBIDDEN")
    expect(forbidden.locator(".outcome.refused")).to_have_text("FORBIDDEN")
    expect(forbidden.locator("td.actor")).to_have_text(looker)
    expect(forbidden.locator("td.arguments")).to_contain_text('"name":"nope"')
    # Newest first: the refusal, then the admin's revokeToken and createTokens.
    first = audit.locator("tr.entry").first
    expect(first).to_have_attribute("data-action", "createCluster")
    revoked = audit.locator('tr.entry[data-action="revokeToken"]')
    expect(revoked).to_have_count(1)
    expect(revoked.locator("td.actor")).to_have_text(admin)
    expect(revoked.locator(".outcome")).to_have_text("OK")
    created = audit.locator('tr.entry[data-action="createToken"][data-outcome="OK"]')
    expect(created.filter(has_text="deploy bot").locator("td.actor")).to_have_text(admin)
    # The secret itself is never in the log.
    expect(audit).not_to_contain_text(secret)

    # Filters: by action, by actor (exact, as the API does).
    filters = page.locator("form.audit-filter")
    filters.get_by_label("Action (exact)").fill("revokeToken")
    filters.get_by_role("button", name="Filter").click()
    expect(audit.locator("tr.entry")).to_have_count(1)
    filters.get_by_label("Action (exact)").fill("")
    filters.get_by_label("Actor (exact)").fill(looker)
    filters.get_by_label("Actor (exact)").press("Enter")
    expect(audit.locator("tr.entry")).to_have_count(1)
    expect(audit.locator("tr.entry")).to_have_attribute("data-action", "createCluster")
    filters.get_by_label("Actor (exact)").fill("look")
    filters.get_by_role("button", name="Filter").click()
    expect(audit).to_contain_text("No entries match")
    filters.get_by_role("button", name="Clear").click()
    expect(audit.locator('tr.entry[data-action="revokeToken"]')).to_have_count(1)


def test_revoking_your_own_token_warns_and_signs_out(page: Page, clusterd: Clusterd) -> None:
    secret = new_token(clusterd, "second admin", "ADMIN")
    open_client(page, clusterd.url, secret)
    open_access(page)
    row = page.locator('tr.token[data-name="second admin"]')
    expect(row.locator(".badge.you")).to_be_visible()
    # Dismissed: nothing happens.
    page.once("dialog", lambda dialog: dialog.dismiss())
    row.get_by_role("button", name="Revoke second admin").click()
    expect(row.locator("td.status")).to_have_text("active")
    messages: list[str] = []

    def accept(dialog: Dialog) -> None:
        messages.append(dialog.message)
        dialog.accept()

    page.once("dialog", accept)
    row.get_by_role("button", name="Revoke second admin").click()
    expect(page.locator("form.sign-in")).to_be_visible()
    assert messages and "signed out" in messages[0]
    assert Clusterd(clusterd.url, clusterd.http, secret).query("{ me { role } }").get("errors")


def test_a_token_with_an_expiry_rotated_through_the_page(client: Page, clusterd: Clusterd) -> None:
    page = client
    open_access(page)
    form = page.locator("form.create-token")
    form.get_by_label("Name").fill("ci")
    form.get_by_label("Expires").select_option(label="in 30 days")
    form.get_by_role("button", name="Create token").click()
    box = page.locator(".secret-box")
    expect(box).to_contain_text("It expires")
    old_secret = box.locator("#new-secret").inner_text().strip()
    old = page.locator('tr.token[data-name="ci"]')
    expect(old.locator("td.status")).to_contain_text("active")
    expect(old.locator("td.status")).to_contain_text("expires")
    (created,) = [
        t for t in clusterd.ok("{ tokens { name expiresAt } }")["tokens"] if t["name"] == "ci"
    ]
    assert created["expiresAt"]

    # Rotate it: a duration that is not one is refused on the page, nothing sent.
    page.once("dialog", lambda dialog: dialog.accept("soon"))
    old.get_by_role("button", name="Rotate ci").click()
    expect(old.locator(".form-error")).to_contain_text("Not a duration")
    prompts: list[str] = []

    def grace(dialog: Dialog) -> None:
        prompts.append(dialog.message)
        dialog.accept("0")  # no grace: the old secret is refused at once

    page.once("dialog", grace)
    old.get_by_role("button", name="Rotate ci").click()
    expect(box.locator("#secret-title")).to_contain_text("New secret of “ci”")
    new_secret = box.locator("#new-secret").inner_text().strip()
    assert new_secret != old_secret and "grace" not in prompts[0] and "old secret" in prompts[0]
    rows = page.locator('tr.token[data-name="ci"]')
    expect(rows).to_have_count(2)
    expect(rows.first.locator("td.status")).to_contain_text("expired")
    expect(rows.first).to_have_class("token revoked-row")
    expect(rows.first.get_by_role("button", name="Rotate ci")).to_have_count(0)
    expect(rows.last.locator("td.status")).to_contain_text("expires")
    screenshot(page, "access-rotated")
    assert Clusterd(clusterd.url, clusterd.http, new_secret).ok("{ me { role } }")
    refused = Clusterd(clusterd.url, clusterd.http, old_secret).query("{ me { role } }")
    assert refused["errors"][0]["message"] == "token expired"
    expect(page.locator('#audit-list tr.entry[data-action="rotateToken"]')).to_have_count(1)


def test_older_pages_of_the_audit_log(client: Page, clusterd: Clusterd) -> None:
    for i in range(55):
        clusterd.ok(
            "mutation($n: String!) { createCluster(input: {name: $n}) { id } }", n=f"c{i:02}"
        )
    page = client
    open_access(page)
    rows = page.locator("#audit-list tr.entry")
    expect(rows).to_have_count(50)
    expect(rows.first).to_contain_text('"name":"c54"')
    older = page.get_by_role("button", name="Older")
    older.click()
    # 55 clusters and whatever was recorded before them (none here but the set-up's own).
    expect(rows.last).to_contain_text('"name":"c00"')
    total = rows.count()
    assert total >= 55
    names = [rows.nth(i).get_attribute("data-id") for i in range(total)]
    assert len(set(names)) == total, "an entry shown twice"
    ids = [int(n or 0) for n in names]
    assert ids == sorted(ids, reverse=True)
    expect(older).to_be_hidden()
    expect(page.locator("#audit-end")).to_be_visible()


def test_a_viewer_sees_no_access_page(page: Page, clusterd: Clusterd) -> None:
    open_client(page, clusterd.url, new_token(clusterd, "reader", "VIEWER"))
    expect(page.locator("#who")).to_contain_text("viewer")
    expect(page.locator("#instances-list")).to_be_visible()
    expect(page.locator("#access-link")).to_be_hidden()
    page.goto(f"{clusterd.url}/#/access")
    only = page.locator(".only-admins")
    expect(only).to_contain_text("Only admins")
    expect(page.locator("#tokens-list")).to_have_count(0)


def test_access_page_on_a_phone(
    new_page: Callable[..., Page], clusterd: Clusterd, token: str | None
) -> None:
    for i in range(3):
        clusterd.ok(
            "mutation($n: String!) { createCluster(input: {name: $n}) { id } }",
            n=f"a-cluster-with-a-rather-long-name-{i}",
        )
    new_token(clusterd, "a token with quite a long name for a phone", "EDITOR")
    page = new_page(viewport=PHONE)
    open_client(page, clusterd.url, token)
    open_access(page)
    expect(page.locator('#audit-list tr.entry[data-action="createToken"]')).to_have_count(1)
    no_sideways_scrolling(page)
    form = page.locator("form.create-token")
    form.get_by_label("Name").fill("phone")
    form.get_by_role("button", name="Create token").click()
    expect(page.locator(".secret-box")).to_be_visible()
    no_sideways_scrolling(page)
    # The tables scroll inside their own boxes.
    expect(page.locator('#tokens-list tr.token[data-name="phone"]')).to_be_visible()
    box = page.locator("#tokens-list .table-scroll").bounding_box()
    assert box and box["x"] + box["width"] <= PHONE["width"]
