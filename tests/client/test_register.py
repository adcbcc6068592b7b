"""Registering an instance in the web client: an address as people type it
(host:port), one where nothing answers (refused, then registered anyway, as
offline, on request), and a refusal that says it once."""

from __future__ import annotations

from collections.abc import Callable

from playwright.sync_api import Page, expect

from ..clusterd.conftest import Clusterd, Elektrad
from ..elektrad.conftest import free_port
from .ui import add_instance


def test_an_address_without_a_scheme_is_registered_as_http(
    client: Page, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    add_instance(client, "web-01", web.url.removeprefix("http://"))
    row = client.locator('li.instance[data-name="web-01"]')
    expect(row).to_have_attribute("data-status", "ONLINE")
    assert clusterd.ok("{ instances { host } }")["instances"] == [{"host": web.url}]


def test_nothing_answering_is_refused_and_can_be_registered_anyway(
    client: Page, clusterd: Clusterd
) -> None:
    url = f"http://127.0.0.1:{free_port()}"  # nothing listens there
    form = client.locator("form.add-instance")
    error = form.locator(".form-error")
    anyway = form.get_by_role("button", name="Register anyway (as offline)")
    add_instance(client, "later", url)
    expect(error).to_contain_text(f"nothing answers as an elektrad at {url}")
    expect(anyway).to_be_visible()
    assert clusterd.ok("{ instances { id } }")["instances"] == []
    # Editing what was refused withdraws the offer; submitting again brings it back.
    form.get_by_label("elektrad URL").fill(url + "/")
    expect(anyway).to_be_hidden()
    form.get_by_role("button", name="Add instance").click()
    expect(anyway).to_be_visible()
    anyway.click()
    row = client.locator('li.instance[data-name="later"]')
    expect(row).to_have_attribute("data-status", "OFFLINE")
    note = form.locator(".form-note")
    expect(note).to_have_text(
        f"Registered later as offline: nothing answers at {url} yet. "
        "It shows online once its elektrad answers."
    )
    expect(error).to_be_hidden()
    expect(anyway).to_be_hidden()


def test_an_elektrad_registered_twice_is_said_once(
    client: Page, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (web,) = elektrads(1)
    add_instance(client, "web-01", web.url)
    expect(client.locator('li.instance[data-name="web-01"]')).to_be_visible()
    # The same elektrad under another address: its instanceId gives it away.
    add_instance(client, "web-01-again", web.url.replace("127.0.0.1", "localhost"))
    error = client.locator("form.add-instance .form-error")
    expect(error).to_have_text(f"This elektrad is already registered as web-01 (at {web.url})")
    add_instance(client, "web-01-third", web.url + "/")
    expect(error).to_have_text(f"{web.url} is already registered as web-01")
