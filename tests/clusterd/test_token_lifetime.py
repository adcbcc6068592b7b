"""Token lifetime: tokens that expire, and rotation with a grace period (the
API, the sweep that closes an expired token's websockets, the command line)."""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from elektra_web.clusterd.app import ClusterdConfig
from elektra_web.token_command import duration

from ..support.waiting import wait_until
from .api import error_code
from .conftest import TEST_SETTINGS, Clusterd, serve_clusterd
from .test_auth import elektra_web
from .ws import connect

#: How long an expiry may take to count: the sweep interval, plus room for a busy machine.
SWEEP_BOUND = TEST_SETTINGS.token_sweep_interval + 5.0

TOKEN = "id expiresAt expired rotatedFrom name role"


def create(clusterd: Clusterd, role: str, expires_in: int | None = None) -> dict[str, Any]:
    return clusterd.ok(
        'mutation($r: Role!, $e: Int) { createToken(input: {name: "bot", role: $r, '
        f"expiresIn: $e}}) {{ secret token {{ {TOKEN} }} }} }}",
        r=role,
        e=expires_in,
    )["createToken"]


def refusal(caller: Clusterd) -> str | None:
    """The message ``caller``'s token is refused with, or None if it is accepted."""
    response = caller.query("{ me { role } }")
    if not response.get("errors"):
        return None
    assert error_code(response) == "UNAUTHENTICATED", response
    return str(response["errors"][0]["message"])


def test_a_token_that_expired_is_refused_and_listed_as_expired(clusterd: Clusterd) -> None:
    forever = create(clusterd, "VIEWER")
    assert forever["token"]["expiresAt"] is None and not forever["token"]["expired"]
    created = create(clusterd, "EDITOR", expires_in=3)
    expires = dt.datetime.fromisoformat(created["token"]["expiresAt"])
    assert dt.timedelta(0) < expires - dt.datetime.now(dt.UTC) <= dt.timedelta(seconds=3)
    editor = clusterd.as_(created["secret"])
    # Signed in, and so kept by the replica: a kept caller is refused once it expires too.
    assert editor.ok("{ me { role } }") == {"me": {"role": "EDITOR"}}
    wait_until(lambda: refusal(editor) == "token expired", SWEEP_BOUND, "the token expires")
    listed = {t["id"]: t for t in clusterd.ok(f"{{ tokens {{ {TOKEN} }} }}")["tokens"]}
    assert listed[created["token"]["id"]]["expired"] is True
    assert listed[forever["token"]["id"]]["expired"] is False
    assert clusterd.as_(forever["secret"]).ok("{ me { role } }") == {"me": {"role": "VIEWER"}}


@pytest.mark.parametrize("expires_in", [0, -5, 10 * 366 * 24 * 3600 + 1])
def test_an_expiry_out_of_range_is_refused(clusterd: Clusterd, expires_in: int) -> None:
    response = clusterd.query(
        'mutation($e: Int) { createToken(input: {name: "x", role: VIEWER, expiresIn: $e}) '
        "{ secret } }",
        e=expires_in,
    )
    assert error_code(response) == "BAD_INPUT"


def test_the_sweep_closes_an_expired_tokens_websocket_with_4403(clusterd: Clusterd) -> None:
    created = create(clusterd, "VIEWER", expires_in=2)

    async def scenario() -> tuple[int, str]:
        async with connect(clusterd.url, token=created["secret"]) as socket:
            await socket.subscribe("subscription { instanceStatusChanged { id } }")
            try:
                while True:
                    await socket.receive(2 + SWEEP_BOUND)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code, closed.rcvd.reason

    assert asyncio.run(scenario()) == (4403, "token expired")


def test_rotation_keeps_the_old_secret_for_the_grace_period_only(clusterd: Clusterd) -> None:
    created = create(clusterd, "EDITOR")
    old = clusterd.as_(created["secret"])
    assert old.ok("{ me { role } }") == {"me": {"role": "EDITOR"}}  # kept by the replica
    rotated = clusterd.ok(
        "mutation($t: ID!) { rotateToken(id: $t, gracePeriod: 2) "
        f"{{ secret token {{ {TOKEN} }} previous {{ {TOKEN} }} }} }}",
        t=created["token"]["id"],
    )["rotateToken"]
    new_token, previous = rotated["token"], rotated["previous"]
    assert new_token["rotatedFrom"] == created["token"]["id"] != new_token["id"]
    assert (new_token["name"], new_token["role"]) == ("bot", "EDITOR")
    assert new_token["expiresAt"] is None and previous["expiresAt"] is not None
    assert rotated["secret"] != created["secret"]
    new = clusterd.as_(rotated["secret"])
    assert new.ok("{ me { role tokenId } }")["me"] == {"role": "EDITOR", "tokenId": new_token["id"]}
    assert refusal(old) is None  # the grace period
    wait_until(lambda: refusal(old) == "token expired", 2 + SWEEP_BOUND, "the grace period ends")
    assert new.ok("{ me { role } }") == {"me": {"role": "EDITOR"}}
    # A token that expired cannot be rotated: it needs a new one.
    again = clusterd.query("mutation($t: ID!) { rotateToken(id: $t) { secret } }", t=previous["id"])
    assert error_code(again) == "BAD_INPUT"
    missing = clusterd.query('mutation { rotateToken(id: "99") { secret } }')
    assert error_code(missing) == "NOT_FOUND"
    log = clusterd.ok('{ auditLog(action: "rotateToken") { outcome arguments } }')["auditLog"]
    assert [e["outcome"] for e in log] == ["NOT_FOUND", "BAD_INPUT", "OK"]


def test_rotation_without_a_grace_period_refuses_the_old_secret_at_once(
    clusterd: Clusterd,
) -> None:
    created = create(clusterd, "VIEWER", expires_in=3600)
    old = clusterd.as_(created["secret"])
    assert refusal(old) is None

    async def scenario() -> tuple[int, str]:
        async with connect(clusterd.url, token=created["secret"]) as socket:
            await socket.subscribe("subscription { instanceStatusChanged { id } }")
            rotated = await asyncio.to_thread(
                clusterd.ok,
                "mutation($t: ID!) { rotateToken(id: $t) { secret token { expiresAt } } }",
                t=created["token"]["id"],
            )
            # The new token keeps the old one's expiry.
            assert rotated["rotateToken"]["token"]["expiresAt"] == created["token"]["expiresAt"]
            try:
                while True:
                    await socket.receive(5)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None
                return closed.rcvd.code, closed.rcvd.reason

    assert asyncio.run(scenario()) == (4403, "token expired")
    assert refusal(old) == "token expired"
    viewer = clusterd.as_(created["secret"])
    assert refusal(viewer) == "token expired"


def test_rotation_needs_admin(clusterd: Clusterd) -> None:
    created = create(clusterd, "EDITOR")
    editor = clusterd.as_(created["secret"])
    response = editor.query(
        "mutation($t: ID!) { rotateToken(id: $t) { secret } }", t=created["token"]["id"]
    )
    assert error_code(response) == "FORBIDDEN"


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("45", 45), ("90m", 5400), ("12h", 43200), ("30d", 2592000), ("2w", 1209600), ("5S", 5)],
)
def test_durations(text: str, seconds: int) -> None:
    assert duration(text) == seconds


@pytest.mark.parametrize("text", ["", "d", "1.5h", "-3d", "3y", "1h30m"])
def test_bad_durations_are_refused(text: str) -> None:
    with pytest.raises(argparse.ArgumentTypeError):
        duration(text)


def test_token_commands_create_with_an_expiry_and_rotate(tmp_path: Path) -> None:
    database = f"sqlite://{tmp_path / 'c.sqlite3'}"
    created = elektra_web(
        "token", "--database", database, "create", "--role", "viewer", "--expires-in", "30d",
        "--create-database",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    assert "expires" in created.stderr
    secret = created.stdout.strip()
    listed = elektra_web("token", "--database", database, "list")
    assert "active, expires" in listed.stdout
    config = ClusterdConfig(database_url=database, settings=TEST_SETTINGS)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        old = Clusterd(url, http, secret)
        assert refusal(old) is None
        rotated = elektra_web("token", "--database", database, "rotate", "1", "--grace", "1h")
        assert rotated.returncode == 0, rotated.stderr
        new_secret = rotated.stdout.strip()
        assert new_secret.startswith("ewt_") and new_secret != secret
        assert "shown only now" in rotated.stderr
        new = Clusterd(url, http, new_secret)  # token 2 is the test's admin
        assert new.ok("{ me { name } }") == {"me": {"name": "viewer (token 3)"}}
        assert refusal(old) is None  # within the hour's grace
        now = elektra_web("token", "--database", database, "rotate", "3")
        assert now.returncode == 0, now.stderr
        # Another process: this clusterd learns of it at its next sweep.
        wait_until(lambda: refusal(new) == "token expired", SWEEP_BOUND, "rotated at once")
        log = Clusterd(url, http).ok("{ auditLog { action } }")["auditLog"]
    assert [e["action"] for e in log] == ["token rotate", "token rotate", "token create"]
    listed = elektra_web("token", "--database", database, "list", "--json")
    assert '"rotated_from": 1' in listed.stdout
    bad = elektra_web("token", "--database", database, "rotate", "1", "--grace", "soon")
    assert bad.returncode == 2
