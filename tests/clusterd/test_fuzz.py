"""Fuzzing clusterd (hypothesis): whatever a client sends, the answer is a
named refusal or a result, never a 500 or an INTERNAL error, and nothing that
was there before is lost."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
from hypothesis import given, settings
from hypothesis import strategies as st

from elektra_web.clusterd.app import ClusterdConfig
from elektra_web.elektrad.app import ElektradConfig

from ..elektrad.conftest import serve_in_thread
from .api import add_instance, create_cluster
from .conftest import AUTH, TEST_SETTINGS, Clusterd, serve_clusterd

#: Text as clients send it, lone surrogates (valid JSON escapes) included.
any_text = st.text(st.characters(codec=None), max_size=60) | st.sampled_from(
    ["", " ", "\x00", "\ud800", "user:/", "user:/a/../..", "/", "%", "\\", "a" * 2000]
)
key_path = any_text | st.builds(
    lambda ns, parts: f"{ns}/" + "/".join(parts),
    st.sampled_from(["user:", "system:", "spec:", "dir:", "proc:", "meta:", "default:", "nope:"]),
    st.lists(any_text, max_size=4),
)
EXPECTED_CODES = {
    "BAD_INPUT", "NOT_FOUND", "INSTANCE_EXISTS", "ALREADY_IN_CLUSTER", "KEY_LOCKED",
    "CLUSTER_CYCLE", "INVALID_KEY_NAME", "INVALID_HOST", "VALIDATION_FAILED",
    "INSTANCE_UNREACHABLE", "FORBIDDEN", "UNAUTHENTICATED",
    None,  # GraphQL's own refusals (a variable of the wrong type) carry no code
}  # fmt: skip


@contextmanager
def fuzzed(tmp_path: Path) -> Iterator[tuple[Clusterd, str, str]]:
    """A clusterd with one real elektrad in one cluster: (clusterd, instance, cluster)."""
    config = ClusterdConfig(
        database_url=f"sqlite://{tmp_path / 'c.sqlite3'}", settings=TEST_SETTINGS
    )
    elektrad = ElektradConfig(data_dir=tmp_path / "elektrad")
    with (
        serve_in_thread(elektrad) as elektrad_url,
        serve_clusterd(config) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as http,
    ):
        clusterd = Clusterd(url, http)
        instance = add_instance(clusterd, "web", elektrad_url)
        cluster = create_cluster(clusterd, "prod")
        clusterd.ok(
            "mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) { id } }",
            c=cluster,
            i=instance,
        )
        clusterd.ok(
            'mutation($c: ID!) { setKey(target: {clusterId: $c}, path: "user:/keep", '
            'value: "me") { operationId } }',
            c=cluster,
        )
        yield clusterd, instance, cluster


def assert_answered(response: httpx.Response) -> dict[str, Any]:
    assert response.status_code < 500, response.text
    body: dict[str, Any] = response.json()
    for error in body.get("errors") or []:
        code = (error.get("extensions") or {}).get("code")
        assert code != "INTERNAL", error
        assert "Traceback" not in error["message"], error
    return body


def still_there(clusterd: Clusterd, instance: str) -> None:
    kept = clusterd.ok(
        'query($i: ID!) { instance(id: $i) { key(path: "user:/keep") { value lockedBy { name } } } '
        "clusters { name } instances { name } }",
        i=instance,
    )
    assert kept["instance"]["key"] == {"value": "me", "lockedBy": {"name": "prod"}}
    assert {"name": "prod"} in kept["clusters"] and {"name": "web"} in kept["instances"]


MUTATIONS = {
    "setKey": "mutation($t: Target!, $a: String!, $b: String!) "
    "{ setKey(target: $t, path: $a, value: $b) { results { delivery error } } }",
    "setMeta": "mutation($t: Target!, $a: String!, $b: String!) "
    '{ setMeta(target: $t, path: $a, key: $b, value: "1") { operationId } }',
    "moveKey": "mutation($t: Target!, $a: String!, $b: String!) "
    "{ moveKey(target: $t, from: $a, to: $b) { operationId } }",
    "deleteKey": "mutation($t: Target!, $a: String!) "
    "{ deleteKey(target: $t, path: $a) { operationId } }",
    "createCluster": "mutation($a: String!, $b: String!) "
    "{ createCluster(input: {name: $a, description: $b}) { id } }",
    "addInstance": "mutation($a: String!, $b: String!) "
    "{ addInstance(input: {name: $a, host: $b}) { id } }",
    "createToken": "mutation($a: String!) "
    "{ createToken(input: {name: $a, role: VIEWER}) { token { id } } }",
    "key": "query($a: String!, $b: String!) "
    "{ instances { key(path: $a) { value } find(query: $b) } }",
    "auditLog": "query($a: String!, $b: String!) { auditLog(actor: $a, action: $b) { id } }",
}


def test_fuzzed_arguments_are_answered_or_refused_by_name(tmp_path: Path) -> None:
    with fuzzed(tmp_path) as (clusterd, instance, cluster):

        @settings(max_examples=300)
        @given(
            name=st.sampled_from(sorted(MUTATIONS)),
            to_cluster=st.booleans(),
            a=key_path,
            b=key_path,
        )
        def check(name: str, to_cluster: bool, a: str, b: str) -> None:
            document = MUTATIONS[name]
            variables: dict[str, Any] = {"a": a, "b": b}
            if "$t" in document:
                variables["t"] = {"clusterId": cluster} if to_cluster else {"instanceId": instance}
            if name == "deleteKey" and a.strip("/") in ("user:", "user:/keep", ""):
                return  # deleting what the property checks is allowed, not lost
            # json.dumps escapes lone surrogates (httpx's json= cannot encode them).
            payload = json.dumps({"query": document, "variables": variables}).encode()
            body = assert_answered(
                clusterd.http.post(
                    "/graphql", content=payload, headers={"content-type": "application/json"}
                )
            )
            for error in body.get("errors") or []:
                assert (error.get("extensions") or {}).get("code") in EXPECTED_CODES, error

        check()
        still_there(clusterd, instance)


def test_fuzzed_requests_never_give_a_500(tmp_path: Path) -> None:
    with fuzzed(tmp_path) as (clusterd, instance, _):
        json_values = st.recursive(
            st.none() | st.booleans() | st.integers() | st.floats() | any_text,
            lambda inner: (
                st.lists(inner, max_size=3) | st.dictionaries(any_text, inner, max_size=3)
            ),
            max_leaves=10,
        )

        @settings(max_examples=300)
        @given(
            body=st.binary(max_size=200)
            | json_values.map(lambda v: json.dumps(v).encode())
            | st.builds(
                lambda q, v: json.dumps({"query": q, "variables": v}).encode(),
                any_text | st.just("{ version { api } }"),
                json_values,
            ),
            content_type=st.sampled_from(
                ["application/json", "text/plain", "application/graphql", "", "multipart/form-data"]
            ),
            # Header values an HTTP client can send (no control characters,
            # no surrounding spaces).
            authorization=st.sampled_from([AUTH["Authorization"], "Bearer", "Bearer \x7f", ""])
            | st.text(st.characters(min_codepoint=0x21, max_codepoint=0x7E), min_size=1).map(
                lambda t: "Bearer " + t
            ),
        )
        def check(body: bytes, content_type: str, authorization: str) -> None:
            headers = {"content-type": content_type, "authorization": authorization}
            response = clusterd.http.post("/graphql", content=body, headers=headers)
            assert response.status_code < 500, response.text
            if response.headers.get("content-type", "").startswith("application/json"):
                assert "Traceback" not in response.text

        check()
        still_there(clusterd, instance)
