"""Export and import in the page: Export downloads the keys below the chosen
key as a file; Import takes that file (or pasted text) into another
instance, its dry run first (each key before → after; REPLACE marks what it
deletes), and the keys are there after; malformed text is refused with its
line and column next to the form."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import PHONE, open_client, screenshot
from .test_history_page import set_on_instance
from .ui import (
    eventually,
    expand,
    open_target,
    prod_of,
    register,
    select,
)


def test_export_downloads_and_import_previews_then_writes(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    source, copy = elektrads(2)
    web1 = register(clusterd, "web-01", source.url)
    web2 = register(clusterd, "web-02", copy.url)
    set_on_instance(clusterd, web1, "user:/app/port", "80")
    set_on_instance(clusterd, web1, "user:/app/db/name", "orders")
    set_on_instance(clusterd, web2, "user:/app/port", "8080")
    set_on_instance(clusterd, web2, "user:/app/old", "gone soon")

    page = client
    open_target(page, clusterd.url, "instance", web1)
    expand(page, "user:/")
    select(page, "user:/app")
    panel = page.locator("section.transfer")
    export = panel.locator("form.export-form")
    expect(export.get_by_label("Keys below")).to_have_value("user:/app")
    export.get_by_label("Format").select_option("TOML")
    with page.expect_download() as info:
        export.get_by_role("button", name="Export").click()
    download = info.value
    assert download.suggested_filename == "web-01_user_app.toml"
    exported = tmp_path / download.suggested_filename
    download.save_as(exported)
    text = exported.read_text()
    assert '["port"]' in text and 'value = "80"' in text, text
    assert '["db/name"]' in text and 'value = "orders"' in text, text
    expect(panel.locator(".exported")).to_contain_text("2 keys exported: web-01_user_app.toml")

    # Into web-02, merged: the file chosen, its format taken from its name.
    open_target(page, clusterd.url, "instance", web2)
    form = panel.locator("form.import-form")
    form.get_by_label("Into").fill("user:/app")
    form.get_by_label("File").set_input_files(str(exported))
    expect(form.get_by_label("Format")).to_have_value("TOML")
    expect(form.get_by_label("Text")).to_have_value(text)
    form.get_by_role("button", name="Preview import").click()
    plan = panel.locator(".import-plan")
    expect(plan.locator(".plan-head")).to_have_text(
        "Merge into user:/app: 1 key created, 1 key changed."
    )
    port = plan.locator('li.plan-change[data-path="user:/app/port"]')
    expect(port).to_have_attribute("data-kind", "changed")
    expect(port.locator("del")).to_have_text("8080")
    expect(port.locator("ins")).to_have_text("80")
    expect(plan.locator('li[data-path="user:/app/db/name"]')).to_have_attribute(
        "data-kind", "created"
    )
    assert copy.value("user:/app/db/name") is None  # a dry run writes nothing
    screenshot(page, "import-plan", full_page=True)
    plan.get_by_role("button", name="Import 2 changes").click()
    expect(plan.locator(".import-done")).to_contain_text("Imported: 1 key created, 1 key changed")
    assert copy.value("user:/app/db/name") == "orders"
    assert copy.value("user:/app/port") == "80"
    assert copy.value("user:/app/old") == "gone soon"  # MERGE keeps the rest

    # Malformed text: refused with its place, next to the form; nothing written.
    text_field = form.get_by_label("Text")
    text_field.fill('{"port": {"value": "81"},\n  oops}')
    form.get_by_label("Format").select_option("JSON")
    form.get_by_role("button", name="Preview import").click()
    error = form.locator(".form-error")
    expect(error).to_contain_text("line 2, column")
    expect(text_field).to_have_attribute("aria-invalid", "true")
    expect(plan.locator("li")).to_have_count(0)

    # REPLACE: the keys it does not name are deleted, and the plan says so first.
    text_field.fill('{"port": {"value": "81", "meta": {"check/type": "long"}}}')
    form.get_by_label("Mode").select_option("REPLACE")
    form.get_by_role("button", name="Preview import").click()
    expect(error).to_be_hidden()
    expect(plan.locator(".plan-head")).to_contain_text("Replace user:/app:")
    for gone in ("user:/app/old", "user:/app/db/name"):
        expect(plan.locator(f'li[data-path="{gone}"]')).to_have_attribute("data-kind", "deleted")
    port = plan.locator('li.plan-change[data-path="user:/app/port"]')
    expect(port.locator(".meta-changes")).to_contain_text("check/type")
    plan.locator("#confirm-import").click()
    expect(plan.locator(".import-done")).to_be_visible()
    assert copy.value("user:/app/old") is None
    assert copy.value("user:/app/port") == "81"


def test_import_on_a_phone(
    new_page: Callable[..., Page],
    clusterd: Clusterd,
    token: str | None,
    elektrads: Callable[..., list[Elektrad]],
) -> None:
    (daemon,) = elektrads(1)
    web = register(clusterd, "web-01", daemon.url)
    set_on_instance(clusterd, web, "user:/app/port", "8080")
    page = new_page(viewport=PHONE)
    open_client(page, clusterd.url, token)
    page.goto(f"{clusterd.url}/#/instance/{web}?path=user:/app")
    expect(page.locator("#detail h2.key-path")).to_have_text("user:/app")
    form = page.locator("form.import-form")
    expect(form.get_by_label("Into")).to_have_value("user:/app")
    form.get_by_label("Text").fill(
        '{"port": {"value": "80"}, "workers": {"value": "4", "meta": {"check/type": "long"}}}'
    )
    form.get_by_role("button", name="Preview import").click()
    plan = page.locator(".import-plan")
    expect(plan.locator("li.plan-change")).to_have_count(2)
    confirm = plan.locator("#confirm-import")
    confirm.scroll_into_view_if_needed()
    screenshot(page, "phone-import-plan")
    # Nothing is wider than the phone.
    width = page.evaluate("() => document.documentElement.scrollWidth")
    assert width <= 390, width
    confirm.click()
    expect(plan.locator(".import-done")).to_be_visible()
    assert daemon.value("user:/app/workers") == "4"


def test_a_cluster_import_names_the_member_that_would_refuse(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    web1, web2 = elektrads(2)
    prod, ids = prod_of(clusterd, (web1, web2), {"user:/app/port": "80"})
    # web-01's own rules: its port is a long.
    httpx.post(
        f"{web1.url}/kdbMeta/user:/app/port", json={"key": "check/type", "value": "long"}
    ).raise_for_status()

    page = client
    open_target(page, clusterd.url, "cluster", prod)
    form = page.locator("form.import-form")
    form.get_by_label("Into").fill("user:/app")
    form.get_by_label("Text").fill('{"port": {"value": "http"}, "host": {"value": "example.org"}}')
    form.get_by_role("button", name="Preview import").click()
    plan = page.locator(".import-plan")
    expect(plan.locator("li.plan-change")).to_have_count(2)
    summary = plan.locator(".preview-summary")
    expect(summary.locator(".preview-line")).to_have_text("This changes 1 member; 1 would refuse:")
    expect(summary.locator(f'.member-plan.refuse[data-instance="{ids[0]}"]')).to_contain_text(
        "web-01"
    )
    plan.get_by_role("button", name="Import anyway").click()
    expect(plan.locator(".import-done")).to_contain_text("Imported: 1 key created, 1 key changed")
    eventually(lambda: web2.value("user:/app/port"), "http")
    eventually(lambda: web1.value("user:/app/host"), "example.org")
    assert web1.value("user:/app/port") == "80"
