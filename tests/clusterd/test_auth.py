"""Who may do what: tokens, roles, revocation, elektrad tokens, the audit log."""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import httpx
import pytest
from websockets.exceptions import ConnectionClosed

from elektra_web.clusterd.app import ClusterdConfig
from elektra_web.elektrad.app import ElektradConfig

from ..elektrad.conftest import serve_in_thread
from .api import add_instance, assign, create_cluster, error_code, results, set_key, target
from .conftest import ADMIN_TOKEN, TEST_SETTINGS, Clusterd, Elektrad, serve_clusterd
from .ws import connect


def make_token(clusterd: Clusterd, role: str, name: str | None = None) -> tuple[str, str]:
    """A new token of ``role``: (id, secret)."""
    created = clusterd.ok(
        "mutation($n: String!, $r: Role!) "
        "{ createToken(input: {name: $n, role: $r}) { secret token { id } } }",
        n=name or role.lower(),
        r=role,
    )["createToken"]
    return created["token"]["id"], created["secret"]


def revoke(clusterd: Clusterd, token_id: str) -> dict[str, Any]:
    return clusterd.ok(
        "mutation($t: ID!) { revokeToken(id: $t) { revokedAt revokedBy } }", t=token_id
    )["revokeToken"]


def run(coroutine: Any) -> Any:
    return asyncio.run(coroutine)


# -- HTTP -------------------------------------------------------------------


@pytest.mark.parametrize(
    "authorization",
    [None, "Bearer", "Bearer wrong-token", "Basic YWRtaW46YWRtaW4=", f"Token {ADMIN_TOKEN}"],
    ids=["none", "empty", "wrong", "basic", "other-scheme"],
)
def test_a_request_without_a_valid_token_is_401(clusterd: Clusterd, authorization: str) -> None:
    headers = {"Authorization": authorization} if authorization else {}
    response = httpx.post(
        f"{clusterd.url}/graphql", json={"query": "{ instances { id } }"}, headers=headers
    )
    assert response.status_code == 401
    assert response.headers["www-authenticate"].startswith("Bearer")
    (error,) = response.json()["errors"]
    assert error["extensions"]["code"] == "UNAUTHENTICATED"
    # Queries over GET need the token too; only the GraphiQL page itself does not.
    assert httpx.get(f"{clusterd.url}/graphql", params={"query": "{ version { api } }"}).is_error


def test_the_token_scheme_is_case_insensitive(clusterd: Clusterd) -> None:
    response = httpx.post(
        f"{clusterd.url}/graphql",
        json={"query": "{ me { role } }"},
        headers={"Authorization": f"bearer {ADMIN_TOKEN}"},
    )
    assert response.json() == {"data": {"me": {"role": "ADMIN"}}}


READ = "{ instances { id } clusters { id } }"
WRITE = (
    'mutation($c: ID!) { setKey(target: {clusterId: $c}, path: "user:/a", value: "1") '
    "{ operationId } }"
)
MANAGE = 'mutation { createCluster(input: {name: "new"}) { id } }'
TOKENS = "{ tokens { id } }"
AUDIT = "{ auditLog { id } }"


@pytest.mark.parametrize(
    ("role", "allowed"),
    [
        ("VIEWER", {"read"}),
        ("EDITOR", {"read", "write"}),
        ("ADMIN", {"read", "write", "manage", "tokens", "audit"}),
    ],
)
def test_each_role_may_do_its_part_and_is_refused_the_rest(
    clusterd: Clusterd, role: str, allowed: set[str]
) -> None:
    cluster = create_cluster(clusterd, "prod")
    _, secret = make_token(clusterd, role)
    caller = clusterd.as_(secret)
    assert caller.ok("{ me { name role } }")["me"] == {
        "name": f"{role.lower()} (token 2)",
        "role": role,
    }
    documents = {"read": READ, "write": WRITE, "manage": MANAGE, "tokens": TOKENS, "audit": AUDIT}
    for what, document in documents.items():
        response = caller.query(document, **({"c": cluster} if what == "write" else {}))
        if what in allowed:
            assert not response.get("errors"), (what, response)
        else:
            assert error_code(response) == "FORBIDDEN", (what, response)
            assert f"is a {role.lower()}" in response["errors"][0]["message"]


def test_every_mutation_and_root_field_checks_the_role(clusterd: Clusterd) -> None:
    """A viewer is refused each mutation before it touches anything (not by a
    missing argument or a missing object)."""
    _, secret = make_token(clusterd, "VIEWER")
    viewer = clusterd.as_(secret)
    arguments = {
        "addInstance": '(input: {name: "x", host: "http://127.0.0.1:1"}) { id }',
        "updateInstance": '(id: "1", input: {name: "y"}) { id }',
        "removeInstance": '(id: "1")',
        "createCluster": '(input: {name: "x"}) { id }',
        "updateCluster": '(id: "1", input: {name: "y"}) { id }',
        "deleteCluster": '(id: "1")',
        "assignInstance": '(clusterId: "1", instanceId: "1") { id }',
        "unassignInstance": '(instanceId: "1") { id }',
        "setKey": '(target: {instanceId: "1"}, path: "user:/a", value: "1") { operationId }',
        "deleteKey": '(target: {instanceId: "1"}, path: "user:/a") { operationId }',
        "moveKey": '(target: {instanceId: "1"}, from: "user:/a", to: "user:/b") { operationId }',
        "copyKey": '(target: {instanceId: "1"}, from: "user:/a", to: "user:/b") { operationId }',
        "setMeta": '(target: {instanceId: "1"}, path: "user:/a", key: "k", value: "v") '
        "{ operationId }",
        "deleteMeta": '(target: {instanceId: "1"}, path: "user:/a", key: "k") { operationId }',
        "resolveDrift": '(instanceId: "1", path: "user:/a", action: REAPPLY) { operationId }',
        "retryDeliveries": '(instanceId: "1") { id }',
        "createToken": '(input: {name: "x", role: ADMIN}) { secret }',
        "revokeToken": '(id: "1") { id }',
        "rotateToken": '(id: "1", gracePeriod: 60) { secret }',
        "rollback": '(target: {instanceId: "1"}, pathPrefix: "user:/a", toOperation: "1") '
        "{ plan { path } }",
        "importConfig": '(target: {instanceId: "1"}, pathPrefix: "user:/a", format: JSON, '
        'content: "{}", mode: MERGE) { dryRun }',
    }
    schema = clusterd.ok("{ __schema { mutationType { fields { name } } } }")
    assert {f["name"] for f in schema["__schema"]["mutationType"]["fields"]} == set(arguments)
    for name, rest in arguments.items():
        assert error_code(viewer.query(f"mutation {{ {name}{rest} }}")) == "FORBIDDEN", name
    assert clusterd.ok("{ clusters { id } tokens { revokedAt } }") == {
        "clusters": [],
        "tokens": [{"revokedAt": None}, {"revokedAt": None}],
    }


def test_a_secret_is_shown_once_and_stored_only_as_a_digest(
    clusterd: Clusterd, tmp_path: Path
) -> None:
    token_id, secret = make_token(clusterd, "EDITOR", "deploy bot")
    assert secret.startswith("ewt_") and len(secret) >= 40
    listed = clusterd.ok("{ tokens { id name role prefix createdBy revokedAt } }")["tokens"]
    creator = "admin (ELEKTRA_WEB_ADMIN_TOKEN) (token 1)"
    assert {"id": token_id, "name": "deploy bot", "role": "EDITOR", "prefix": secret[:8],
            "createdBy": creator, "revokedAt": None} in listed  # fmt: skip
    assert secret not in str(listed)
    assert "secret" not in {f["name"] for f in _fields(clusterd, "Token")}
    assert clusterd.as_(secret).ok("{ me { role } }") == {"me": {"role": "EDITOR"}}


def _fields(clusterd: Clusterd, type_name: str) -> list[dict[str, Any]]:
    data = clusterd.ok("query($t: String!) { __type(name: $t) { fields { name } } }", t=type_name)
    fields: list[dict[str, Any]] = data["__type"]["fields"]
    return fields


def test_the_database_holds_digests_not_secrets(tmp_path: Path) -> None:
    database = tmp_path / "c.sqlite3"
    config = ClusterdConfig(database_url=f"sqlite://{database}", settings=TEST_SETTINGS)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        _, secret = make_token(Clusterd(url, http), "VIEWER")
    rows = sqlite3.connect(database).execute("SELECT digest, prefix FROM token").fetchall()
    digests = {digest for digest, _ in rows}
    assert hashlib.sha256(secret.encode()).hexdigest() in digests
    assert secret.encode() not in database.read_bytes()


def test_a_revoked_token_is_refused_at_once(clusterd: Clusterd) -> None:
    token_id, secret = make_token(clusterd, "EDITOR")
    editor = clusterd.as_(secret)
    assert editor.ok("{ me { role } }")
    revoked = revoke(clusterd, token_id)
    assert revoked["revokedAt"] and revoked["revokedBy"].startswith("admin")
    assert error_code(editor.query("{ me { role } }")) == "UNAUTHENTICATED"
    assert "revoked" in editor.query("{ me { role } }")["errors"][0]["message"]
    assert revoke(clusterd, token_id) == revoked  # again: nothing changes
    assert error_code(clusterd.query('mutation { revokeToken(id: "99") { id } }')) == "NOT_FOUND"


#: How long a revocation made elsewhere may take to count here: the sweep
#: interval, plus room for a busy machine.
SWEEP_BOUND = TEST_SETTINGS.token_sweep_interval + 2.0


def refused_within(caller: Clusterd, seconds: float) -> float:
    """Seconds until ``caller``'s token is refused (asking every 50 ms); fails
    if it is still accepted after ``seconds``."""
    started = time.monotonic()
    while True:
        response = caller.query("{ me { role } }")
        if response.get("errors"):
            assert error_code(response) == "UNAUTHENTICATED", response
            assert "revoked" in response["errors"][0]["message"]
            return time.monotonic() - started
        assert time.monotonic() - started < seconds, "the revoked token is still accepted"
        time.sleep(0.05)


@pytest.fixture
def lookups(monkeypatch: pytest.MonkeyPatch) -> dict[str, int]:
    """How often each token digest is looked up in the database (clusterd
    runs in this process, in a thread)."""
    from elektra_web.models import Token

    counts: dict[str, int] = {}
    original = Token.get_or_none

    def counting(*args: Any, **kwargs: Any) -> Any:
        if "digest" in kwargs:
            counts[kwargs["digest"]] = counts.get(kwargs["digest"], 0) + 1
        return original(*args, **kwargs)

    monkeypatch.setattr(Token, "get_or_none", counting)
    return counts


def test_a_token_is_looked_up_once_and_refused_on_the_next_request_once_revoked(
    clusterd: Clusterd, lookups: dict[str, int]
) -> None:
    token_id, secret = make_token(clusterd, "VIEWER")
    viewer = clusterd.as_(secret)
    for _ in range(5):
        assert viewer.ok("{ me { role } }") == {"me": {"role": "VIEWER"}}
    assert lookups[hashlib.sha256(secret.encode()).hexdigest()] == 1
    revoke(clusterd, token_id)
    assert error_code(viewer.query("{ me { role } }")) == "UNAUTHENTICATED"
    assert "revoked" in viewer.query("{ me { role } }")["errors"][0]["message"]
    assert clusterd.ok("{ me { role } }") == {"me": {"role": "ADMIN"}}


@pytest.mark.parametrize("where", ["command line", "database"])
def test_a_token_revoked_elsewhere_is_refused_within_the_sweep_interval(
    tmp_path: Path, where: str
) -> None:
    database = tmp_path / "c.sqlite3"
    config = ClusterdConfig(database_url=f"sqlite://{database}", settings=TEST_SETTINGS)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        admin = Clusterd(url, http)
        token_id, secret = make_token(admin, "EDITOR")
        editor = admin.as_(secret)
        for _ in range(3):  # signed in, and kept
            assert editor.ok("{ me { role } }") == {"me": {"role": "EDITOR"}}
        if where == "command line":
            revoked = elektra_web("token", "--database", f"sqlite://{database}", "revoke", token_id)
            assert revoked.returncode == 0, revoked.stderr
        else:
            with sqlite3.connect(database) as db:
                # In the format the ORM writes its timestamps in.
                (now,) = db.execute("SELECT created_at FROM token WHERE id = 1").fetchone()
                db.execute("UPDATE token SET revoked_at = ? WHERE id = ?", (now, int(token_id)))
        refused_within(editor, SWEEP_BOUND)
        assert admin.ok("{ me { role } }") == {"me": {"role": "ADMIN"}}


def test_bad_token_names_are_refused(clusterd: Clusterd) -> None:
    for name in ["", "   ", "x" * 201]:
        response = clusterd.query(
            "mutation($n: String!) { createToken(input: {name: $n, role: VIEWER}) { secret } }",
            n=name,
        )
        assert error_code(response) == "BAD_INPUT"


# -- websockets --------------------------------------------------------------


def _close_code(url: str, payload: Any) -> int:
    async def scenario() -> int:
        async with connect(url, init=False) as socket:
            message: dict[str, Any] = {"type": "connection_init"}
            if payload is not ...:
                message["payload"] = payload
            await socket.send(message)
            return await socket.close_code()

    code: int = run(scenario())
    return code


@pytest.mark.parametrize(
    ("payload", "code"),
    [
        (..., 4403),
        ({}, 4403),
        ({"token": "wrong"}, 4403),
        ({"token": 42}, 4403),
        ({"Authorization": "Basic x"}, 4403),
        # Not a payload the protocol allows: refused as a malformed message.
        (None, 4400),
        ("a string", 4400),
    ],
    ids=["no-payload", "empty", "wrong", "number", "basic", "null", "string"],
)
def test_a_websocket_without_a_valid_token_is_closed_before_it_can_subscribe(
    clusterd: Clusterd, payload: Any, code: int
) -> None:
    assert _close_code(clusterd.url, payload) == code


def test_a_websocket_may_sign_in_with_an_authorization_entry(clusterd: Clusterd) -> None:
    async def scenario() -> dict[str, Any]:
        async with connect(clusterd.url, init=False) as socket:
            await socket.send(
                {"type": "connection_init", "payload": {"Authorization": f"Bearer {ADMIN_TOKEN}"}}
            )
            ack: dict[str, Any] = await socket.receive()
            return ack

    ack = run(scenario())
    assert ack["type"] == "connection_ack"
    assert ack["payload"]["role"] == "ADMIN"


def test_a_viewer_subscribes_but_an_open_socket_of_a_revoked_token_is_closed_at_once(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web", daemon.url)
    token_id, secret = make_token(clusterd, "VIEWER")

    async def scenario() -> float:
        async with connect(clusterd.url, token=secret) as socket:
            await socket.subscribe(
                "subscription($i: ID) { configChanged(instanceId: $i) { path } }", i=instance
            )
            await asyncio.sleep(0.3)
            await asyncio.to_thread(set_key, clusterd, target(instance=instance), "user:/a", "1")
            assert (await socket.next_data(10))["configChanged"]["path"] == "user:/a"
            started = time.monotonic()
            await asyncio.to_thread(revoke, clusterd, token_id)
            try:
                while True:
                    await socket.receive(5)
            except ConnectionClosed as closed:
                assert closed.rcvd is not None and closed.rcvd.code == 4403
                assert closed.rcvd.reason == "token revoked"
                return time.monotonic() - started

    assert run(scenario()) < 1.0


def test_a_token_revoked_from_the_command_line_closes_its_sockets_too(tmp_path: Path) -> None:
    database = f"sqlite://{tmp_path / 'c.sqlite3'}"
    config = ClusterdConfig(database_url=database, settings=TEST_SETTINGS)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        token_id, secret = make_token(Clusterd(url, http), "VIEWER")

        async def scenario() -> int:
            async with connect(url, token=secret) as socket:
                await socket.subscribe("subscription { instanceStatusChanged { id } }")
                revoked = await asyncio.create_subprocess_exec(
                    sys.executable, "-m", "elektra_web", "token", "--database", database,
                    "revoke", token_id,
                )  # fmt: skip
                assert await revoked.wait() == 0
                return await socket.close_code()

        assert run(scenario()) == 4403


# -- elektrad tokens ---------------------------------------------------------


def test_clusterd_sends_each_instance_its_token_and_never_shows_it(
    clusterd: Clusterd, tmp_path: Path
) -> None:
    elektrad_token = "elektrad-secret-for-web-01"
    config = ElektradConfig(data_dir=tmp_path / "guarded", token=elektrad_token)
    with serve_in_thread(config) as guarded:
        add = (
            "mutation($h: String!, $t: String) "
            '{ addInstance(input: {name: "web-01", host: $h, token: $t}) { id status hasToken } }'
        )
        missing = clusterd.query(add, h=guarded, t=None)
        assert error_code(missing) == "BAD_INPUT"
        assert "give the token it requires" in missing["errors"][0]["message"]
        wrong = clusterd.query(add, h=guarded, t="not-it")
        assert "wrong token" in wrong["errors"][0]["message"]
        added = clusterd.ok(add, h=guarded, t=elektrad_token)["addInstance"]
        assert added["status"] == "ONLINE" and added["hasToken"] is True
        instance = added["id"]
        cluster = create_cluster(clusterd, "prod")
        assign(clusterd, cluster, instance)
        written = set_key(clusterd, target(cluster=cluster), "user:/app/port", "8080")
        assert results(written) == {"web-01": "APPLIED"}
        read = clusterd.ok(
            'query($i: ID!) { instance(id: $i) { key(path: "user:/app/port") { value } } }',
            i=instance,
        )
        assert read["instance"]["key"]["value"] == "8080"
        everything = clusterd.query(
            "query($i: ID!) { instances { id name host description visibility hasToken } "
            "instance(id: $i) { host } auditLog { arguments } }",
            i=instance,
        )
        assert elektrad_token not in str(everything)
        assert "***" in str(everything["data"]["auditLog"])
        assert "token" not in {f["name"] for f in _fields(clusterd, "Instance")}


def test_a_wrong_instance_token_keeps_cluster_writes_pending_until_it_is_fixed(
    clusterd: Clusterd, tmp_path: Path
) -> None:
    config = ElektradConfig(data_dir=tmp_path / "guarded", token="first")
    with serve_in_thread(config) as guarded:
        instance = clusterd.ok(
            'mutation($h: String!) { addInstance(input: {name: "w", host: $h, token: "first"}) '
            "{ id } }",
            h=guarded,
        )["addInstance"]["id"]
        cluster = create_cluster(clusterd, "prod")
        assign(clusterd, cluster, instance)
    config.token = "second"  # the machine's token changed
    with serve_in_thread(config, int(guarded.rsplit(":", 1)[1])):
        written = set_key(clusterd, target(cluster=cluster), "user:/mode", "safe")
        assert results(written) == {"w": "PENDING"}

        def reason() -> str:
            pending = clusterd.ok(
                "query($i: ID!) { instance(id: $i) { pending { lastError } } }", i=instance
            )
            return str(pending["instance"]["pending"][0]["lastError"])

        # It was down a moment ago (the reason says so at first); the next
        # attempt finds the real cause.
        deadline = time.monotonic() + 10
        while "credentials (401)" not in reason():
            assert time.monotonic() < deadline, reason()
            time.sleep(0.1)
        clusterd.ok(
            'mutation($i: ID!) { updateInstance(id: $i, input: {token: "second"}) { id } }',
            i=instance,
        )
        deadline = time.monotonic() + 10
        while (
            httpx.get(
                f"{guarded}/kdb/user:/mode", headers={"Authorization": "Bearer second"}
            ).status_code
            != 200
        ):
            assert time.monotonic() < deadline, "the pending write never landed"
            time.sleep(0.1)


# -- the audit log -------------------------------------------------------------


def test_the_audit_log_records_who_changed_what_and_what_was_refused(
    clusterd: Clusterd,
) -> None:
    _, secret = make_token(clusterd, "VIEWER", "alice")
    alice = clusterd.as_(secret)
    cluster = create_cluster(clusterd, "prod")
    set_key(clusterd, target(cluster=cluster), "user:/app/port", "8080")
    assert error_code(alice.query(MANAGE)) == "FORBIDDEN"
    entries = clusterd.ok("{ auditLog { actor action arguments outcome operationId } }")["auditLog"]
    assert [(e["action"], e["outcome"]) for e in entries] == [
        ("createCluster", "FORBIDDEN"),
        ("setKey", "OK"),
        ("createCluster", "OK"),
        ("createToken", "OK"),
    ]
    refused, written, _, _ = entries
    assert refused["actor"] == "alice (token 2)"
    assert written["actor"].startswith("admin")
    assert written["arguments"] == {
        "target": {"instance_id": None, "cluster_id": cluster, "cluster_name": "prod"},
        "path": "user:/app/port",
        "value": "8080",
    }
    assert written["operationId"] and refused["operationId"] is None
    mine = clusterd.ok('{ auditLog(actor: "alice (token 2)") { action } }')["auditLog"]
    assert mine == [{"action": "createCluster"}]
    page = clusterd.ok("query($b: ID!) { auditLog(first: 1, before: $b) { action } }", b="3")
    assert page["auditLog"] == [{"action": "createCluster"}]
    assert error_code(clusterd.query("{ auditLog(first: 0) { id } }")) == "BAD_INPUT"


# -- the command line and up -------------------------------------------------


def elektra_web(*args: str, **options: Any) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elektra_web", *args],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        **options,
    )


def test_token_commands_create_list_and_revoke(tmp_path: Path) -> None:
    database = f"sqlite://{tmp_path / 'c.sqlite3'}"
    created = elektra_web(
        "token", "--database", database, "create", "--role", "editor", "--name", "ci",
        "--create-database",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert secret.startswith("ewt_") and "shown only now" in created.stderr
    config = ClusterdConfig(database_url=database, settings=TEST_SETTINGS)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert Clusterd(url, http, secret).ok("{ me { role } }") == {"me": {"role": "EDITOR"}}
        listed = elektra_web("token", "--database", database, "list", "--json")
        assert '"name": "ci"' in listed.stdout and secret not in listed.stdout
        assert elektra_web("token", "--database", database, "revoke", "1").returncode == 0
        # Another process: this clusterd learns of it at its next sweep.
        refused_within(Clusterd(url, http, secret), SWEEP_BOUND)
        log = Clusterd(url, http).ok("{ auditLog { action actor } }")["auditLog"]
    assert [e["action"] for e in log] == ["token revoke", "token create"]
    assert log[0]["actor"].endswith("(command line)")
    missing = elektra_web("token", "--database", database, "revoke", "42")
    assert missing.returncode == 1 and "no token with id 42" in missing.stderr
    bad_role = elektra_web("token", "--database", database, "create", "--role", "root")
    assert bad_role.returncode == 2


def test_the_audit_log_names_what_ids_refer_to_as_they_were_named(
    clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "web-01", daemon.url)
    cluster = create_cluster(clusterd, "prod")
    child = clusterd.ok(
        'mutation($p: ID!) { createCluster(input: {name: "eu", parentId: $p}) { id } }', p=cluster
    )["createCluster"]["id"]
    assign(clusterd, cluster, instance)
    token_id, _ = make_token(clusterd, "VIEWER", "alice")
    clusterd.ok("mutation($t: ID!) { revokeToken(id: $t) { id } }", t=token_id)
    clusterd.ok("mutation($i: ID!) { removeInstance(id: $i) }", i=instance)
    clusterd.query('mutation { removeInstance(id: "99") }')  # nothing to name
    log = clusterd.ok("{ auditLog { action arguments } }")["auditLog"]
    arguments = {e["action"]: e["arguments"] for e in reversed(log)}
    assert arguments["assignInstance"] == {
        "cluster_id": cluster,
        "cluster_name": "prod",
        "instance_id": instance,
        "instance_name": "web-01",
    }
    nested = arguments["createCluster"]["input"]
    assert (nested["name"], nested["parent_id"], nested["parent_name"]) == ("eu", cluster, "prod")
    assert child != cluster
    assert arguments["revokeToken"] == {"id": token_id, "name": "alice"}
    # Removed: named as it was before.
    assert [e["arguments"] for e in log if e["action"] == "removeInstance"] == [
        {"id": "99"},
        {"id": instance, "name": "web-01"},
    ]


def test_an_admin_token_from_the_environment_stays_revoked_after_a_restart(
    tmp_path: Path,
) -> None:
    database = f"sqlite://{tmp_path / 'c.sqlite3'}"
    config = ClusterdConfig(database_url=database, settings=TEST_SETTINGS)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        admin = Clusterd(url, http)
        _, other = make_token(admin, "ADMIN", "second admin")
        admin.as_(other).ok('mutation { revokeToken(id: "1") { id } }')
    config = ClusterdConfig(database_url=database, settings=TEST_SETTINGS)
    with serve_clusterd(config) as url, httpx.Client(base_url=url, timeout=30) as http:
        assert error_code(Clusterd(url, http).query("{ me { role } }")) == "UNAUTHENTICATED"
