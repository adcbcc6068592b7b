"""Mounted files in the page, in real Chromium against real daemons: the tree
marks a mount point with its format (the file as a tooltip); a broken file
shows its parser's message and path in place of its own subtree only, and
clears live when the file is fixed; the editor offers no key below an INI
option."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import httpx
from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import screenshot
from .ui import expand, open_target, register, row, select

GOOD_INI = "[server]\nport = 8080\nhost = example.org\n"
BROKEN_INI = "[server\nport = 8080\n"


def replace_file(path: Path, text: str) -> None:
    """Write ``path`` as editors do, renaming a new file over it."""
    new = path.with_name(path.name + ".new")
    new.write_text(text)
    new.rename(path)


def start(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path, ini_text: str
) -> tuple[str, Path, Path]:
    ini = tmp_path / "app.ini"
    ini.write_text(ini_text)
    toml = tmp_path / "web.toml"
    toml.write_text('[site]\nname = "shop"\n')
    (daemon,) = elektrads(1, mounts=[f"user:/app={ini}", f"system:/web={toml}"])
    httpx.put(f"{daemon.url}/kdb/user:/other", content="kept").raise_for_status()
    httpx.put(f"{daemon.url}/kdb/system:/hosts/db", content="10.0.0.5").raise_for_status()
    return register(clusterd, "web-01", daemon.url), ini, toml


def test_a_broken_file_hides_only_its_subtree_and_clears_live(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    instance_id, ini, toml = start(clusterd, elektrads, tmp_path, BROKEN_INI)
    page = client
    open_target(page, clusterd.url, "instance", instance_id)

    # The rest of the instance is there: system:/ and the other user:/ keys.
    expect(page.locator("main .form-error[role=alert]:visible")).to_have_count(0)
    expand(page, "user:/")
    expect(row(page, "user:/other")).to_contain_text("kept")
    expand(page, "system:/")
    expand(page, "system:/hosts")
    expect(row(page, "system:/hosts/db")).to_contain_text("10.0.0.5")
    # The healthy TOML mount is marked, with its file as the tooltip.
    web_badge = row(page, "system:/web").locator(".mount-badge")
    expect(web_badge).to_have_text("TOML")
    expect(web_badge).to_have_attribute("title", f"Mounted from {toml} (TOML)")

    # The broken file: its error, with the parser's message and the path, in
    # place of its subtree (nothing to open there).
    broken = row(page, "user:/app")
    expect(broken.locator(".mount-badge.broken")).to_have_text("INI")
    error = broken.locator(".mount-error")
    expect(error).to_contain_text(str(ini))
    expect(error).to_contain_text("not valid INI")
    expect(broken.locator("button.twisty")).to_have_count(0)
    detail = select(page, "user:/app")
    expect(detail.locator(".form-error")).to_contain_text(str(ini))
    screenshot(page, "broken-mount")

    # Fixed on disk: the error goes and the keys come, without a reload.
    page.evaluate("window.__notReloaded = true")
    replace_file(ini, GOOD_INI)
    expect(broken.locator(".mount-error")).to_have_count(0)
    expect(broken.locator(".mount-badge")).to_have_text("INI")
    expect(broken.locator(".mount-badge")).not_to_have_class("mount-badge broken")
    expect(detail.locator(".mount-note")).to_contain_text(str(ini))
    expand(page, "user:/app")
    expand(page, "user:/app/server")
    expect(row(page, "user:/app/server/port")).to_contain_text("8080")
    assert page.evaluate("window.__notReloaded") is True

    # Broken again while it is open: its keys go, the rest stays.
    replace_file(ini, BROKEN_INI.replace("8080", "9999"))
    expect(broken.locator(".mount-error")).to_contain_text("not valid INI")
    expect(page.locator('ul.tree li[data-path="user:/app/server/port"]')).to_have_count(0)
    expect(row(page, "user:/other")).to_contain_text("kept")
    expect(row(page, "system:/hosts/db")).to_contain_text("10.0.0.5")
    # Nothing shown is false: no value of the broken file is shown anywhere.
    expect(page.locator("main")).not_to_contain_text("9999")
    expect(page.locator("ul.tree")).not_to_contain_text("8080")
    assert ini.read_text() == BROKEN_INI.replace("8080", "9999")


def test_an_ini_option_offers_no_key_below_and_its_section_asks_for_options(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    instance_id, ini, _ = start(clusterd, elektrads, tmp_path, GOOD_INI)
    page = client
    open_target(page, clusterd.url, "instance", instance_id)
    expand(page, "user:/")
    mount_badge = row(page, "user:/app").locator(".mount-badge")
    expect(mount_badge).to_have_text("INI")
    expect(mount_badge).to_have_attribute("title", f"Mounted from {ini} (INI)")
    expand(page, "user:/app")
    expand(page, "user:/app/server")

    # An option: no "Add a key below", and the detail says why.
    detail = select(page, "user:/app/server/port")
    expect(detail.locator(".mount-note")).to_contain_text(str(ini))
    expect(detail.locator("form.add-form")).to_have_count(0)
    expect(detail.locator(".no-children")).to_contain_text("an option")
    screenshot(page, "ini-option")

    # A section: options only, and a nested name is refused before it is sent.
    detail = select(page, "user:/app/server")
    form = detail.locator("form.add-form")
    expect(form).to_contain_text("adds an option")
    form.get_by_label("Name").fill("deep/er")
    form.get_by_label("Value").fill("x")
    form.get_by_role("button", name="Add key").click()
    expect(form.locator(".form-error")).to_contain_text('name it without "/"')
    assert "deep" not in ini.read_text()
    form.get_by_label("Name").fill("timeout")
    form.get_by_label("Value").fill("30")
    form.get_by_role("button", name="Add key").click()
    expect(page.locator("#detail h2.key-path")).to_have_text("user:/app/server/timeout")
    assert "timeout = 30" in ini.read_text()

    # The file's mount point: sections hold options, so a name has both.
    detail = select(page, "user:/app")
    form = detail.locator("form.add-form")
    expect(form).to_contain_text("name it section/option")
    form.get_by_label("Name").fill("lonely")
    form.get_by_label("Value").fill("x")
    form.get_by_role("button", name="Add key").click()
    expect(form.locator(".form-error")).to_contain_text("like server/port")
    assert "lonely" not in ini.read_text()
    form.get_by_label("Name").fill("log/file")
    form.get_by_label("Value").fill("/var/log/app.log")
    form.get_by_role("button", name="Add key").click()
    expect(page.locator("#detail h2.key-path")).to_have_text("user:/app/log/file")
    assert "[log]\nfile = /var/log/app.log" in ini.read_text()

    # Outside a mount nothing changes: any key may have keys below.
    expand(page, "user:/")
    detail = select(page, "user:/other")
    expect(detail.locator("form.add-form")).to_have_count(1)
    expect(detail.locator(".mount-note")).to_have_count(0)
