"""The overview: instances and clusters, as a sysadmin manages them."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from .ui import add_instance


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
