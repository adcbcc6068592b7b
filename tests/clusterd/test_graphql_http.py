"""GraphQL over HTTP as its specification says: media types, status codes,
request errors without data, codes for the client's mistakes, and
subscriptions streamed over HTTP (multipart/mixed and server-sent events)."""

from __future__ import annotations

import asyncio
import json
import logging
import threading
from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from .api import create_cluster, set_key, target
from .conftest import ADMIN_TOKEN, Clusterd
from .test_auth import make_token, revoke
from .ws import connect

SPEC = "application/graphql-response+json"
MULTIPART = 'multipart/mixed;boundary="graphql";subscriptionSpec=1.0,application/json'


def post(
    clusterd: Clusterd, body: dict[str, Any], accept: str | None = SPEC, token: str = ADMIN_TOKEN
) -> httpx.Response:
    headers = {"authorization": f"Bearer {token}"}
    if accept is not None:
        headers["accept"] = accept
    return httpx.post(f"{clusterd.url}/graphql", json=body, headers=headers, timeout=10)


def codes(response: httpx.Response) -> list[str]:
    return [e["extensions"]["code"] for e in response.json()["errors"]]


def test_the_specification_media_type_is_answered_in_kind(clusterd: Clusterd) -> None:
    answer = post(clusterd, {"query": "{ version { api } }"})
    assert answer.status_code == 200
    assert answer.headers["content-type"] == SPEC
    assert answer.json() == {"data": {"version": {"api": 1}}}
    legacy = post(clusterd, {"query": "{ version { api } }"}, accept="application/json")
    assert legacy.headers["content-type"] == "application/json"
    for accept in (None, "*/*", f"application/json;q=0.9, {SPEC}"):
        expected = SPEC if accept and SPEC in accept else "application/json"
        assert (
            post(clusterd, {"query": "{ version { api } }"}, accept).headers["content-type"]
            == expected
        )


def test_a_client_accepting_neither_media_type_gets_406(clusterd: Clusterd) -> None:
    refused = post(clusterd, {"query": "{ version { api } }"}, accept="text/plain")
    assert refused.status_code == 406
    assert codes(refused) == ["NOT_ACCEPTABLE"]


@pytest.mark.parametrize(
    ("document", "code"),
    [
        ("{ version { api ", "GRAPHQL_PARSE_FAILED"),
        ("{ nonsense }", "GRAPHQL_VALIDATION_FAILED"),
        ("query A { version { api } } query B { version { api } }", "OPERATION_RESOLUTION_FAILURE"),
        ("fragment F on Query { version { api } }", "OPERATION_RESOLUTION_FAILURE"),
    ],
    ids=["parse", "validation", "two-operations-unnamed", "no-operation"],
)
def test_a_request_error_has_no_data_and_a_client_code(
    clusterd: Clusterd, document: str, code: str
) -> None:
    answer = post(clusterd, {"query": document})
    assert answer.status_code == 400
    assert "data" not in answer.json()
    assert codes(answer) == [code]
    # The legacy media type: 200 for every well-formed request, still no data.
    legacy = post(clusterd, {"query": document}, accept="application/json")
    assert legacy.status_code == 200
    assert "data" not in legacy.json()
    assert codes(legacy) == [code]


def test_operations_are_selected_by_name(clusterd: Clusterd) -> None:
    document = "query A { version { api } } query B { me { role } }"
    picked = post(clusterd, {"query": document, "operationName": "B"})
    assert picked.json() == {"data": {"me": {"role": "ADMIN"}}}
    unknown = post(clusterd, {"query": document, "operationName": "C"})
    assert unknown.status_code == 400
    assert unknown.headers["content-type"] == SPEC
    assert unknown.json()["errors"][0]["message"] == 'Unknown operation named "C".'
    assert codes(unknown) == ["OPERATION_RESOLUTION_FAILURE"]


@pytest.mark.parametrize(
    ("document", "variables", "message"),
    [
        ("query($i: ID!) { instance(id: $i) { id } }", {}, "to be provided"),
        ("query($i: ID!) { instance(id: $i) { id } }", {"i": None}, "not to be None"),
        ("query($n: Int!) { auditLog(first: $n) { id } }", {"n": "abc"}, "Int cannot represent"),
        (
            'mutation($r: Role!) { createToken(input: {name: "x", role: $r}) { secret } }',
            {"r": "EMPEROR"},
            "does not exist in 'Role'",
        ),
        (
            "mutation($in: CreateTokenInput!) { createToken(input: $in) { secret } }",
            {"in": {"name": "x", "role": "VIEWER", "colour": "red"}},
            "unknown field 'colour'",
        ),
    ],
    ids=["missing", "null", "not-an-int", "unknown-enum-value", "unknown-input-field"],
)
def test_bad_variables_are_the_clients_mistake_not_an_internal_error(
    clusterd: Clusterd,
    caplog: pytest.LogCaptureFixture,
    document: str,
    variables: dict[str, Any],
    message: str,
) -> None:
    with caplog.at_level(logging.ERROR):
        answer = post(clusterd, {"query": document, "variables": variables})
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert "data" not in answer.json()
    assert message in error["message"]
    assert error["extensions"]["code"] == "BAD_USER_INPUT"
    assert "errorId" not in error["extensions"]
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


def test_a_field_error_keeps_data_and_status_200(clusterd: Clusterd) -> None:
    answer = post(clusterd, {"query": '{ cluster(id: "1") { id } tokens { id } }'}, token="x")
    assert answer.status_code == 401  # no valid token at all: refused before GraphQL
    viewer = make_token(clusterd, "VIEWER")[1]
    refused = post(clusterd, {"query": "{ version { api } tokens { id } }"}, token=viewer)
    assert refused.status_code == 200
    body = refused.json()
    assert body["data"] is None  # tokens is non-null, so the whole answer is null
    assert codes(refused) == ["FORBIDDEN"]


def test_a_mutation_over_get_is_405(clusterd: Clusterd) -> None:
    answer = httpx.get(
        f"{clusterd.url}/graphql",
        params={"query": 'mutation { createCluster(input: {name: "x"}) { id } }'},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}", "accept": SPEC},
    )
    assert answer.status_code == 405
    assert answer.headers["allow"] == "POST"
    assert answer.headers["content-type"] == SPEC
    assert codes(answer) == ["METHOD_NOT_ALLOWED"]
    assert clusterd.ok("{ clusters { id } }") == {"clusters": []}
    query = httpx.get(
        f"{clusterd.url}/graphql",
        params={"query": "{ version { api } }"},
        headers={"authorization": f"Bearer {ADMIN_TOKEN}"},
    )
    assert query.json() == {"data": {"version": {"api": 1}}}


@pytest.mark.parametrize(
    ("content", "content_type", "status"),
    [
        (b"{not json", "application/json", 400),
        (b"[]", "application/json", 400),
        (b"query=x", "application/x-www-form-urlencoded", 415),
        (b"{}", "application/json", 400),
    ],
    ids=["not-json", "not-an-object", "form", "no-query"],
)
def test_a_malformed_request_gets_a_graphql_shaped_error(
    clusterd: Clusterd, content: bytes, content_type: str, status: int
) -> None:
    answer = httpx.post(
        f"{clusterd.url}/graphql",
        content=content,
        headers={
            "authorization": f"Bearer {ADMIN_TOKEN}",
            "content-type": content_type,
            "accept": SPEC,
        },
    )
    assert answer.status_code == status
    assert answer.headers["content-type"] == SPEC
    assert answer.json()["errors"][0]["message"]
    assert "data" not in answer.json()


@pytest.mark.parametrize("content_type", [None, "application/x-www-form-urlencoded", "text/plain"])
def test_a_body_that_is_not_json_is_told_what_to_send(
    clusterd: Clusterd, content_type: str | None
) -> None:
    # curl -d sends a form; a client may send no Content-Type at all.
    headers = {"authorization": f"Bearer {ADMIN_TOKEN}"}
    if content_type is not None:
        headers["content-type"] = content_type
    answer = httpx.post(
        f"{clusterd.url}/graphql", content=b'{"query": "{ version { api } }"}', headers=headers
    )
    assert answer.status_code == 415
    assert answer.headers["content-type"] == "application/json"
    [error] = answer.json()["errors"]
    assert error["extensions"]["code"] == "UNSUPPORTED_MEDIA_TYPE"
    assert "'Content-Type: application/json'" in error["message"]
    assert (
        f"this request's Content-Type: {repr(content_type) if content_type else 'none'}"
        in (error["message"])
    )
    assert "data" not in answer.json()


def test_a_get_without_a_query_is_an_error_not_the_page(clusterd: Clusterd) -> None:
    answer = httpx.get(
        f"{clusterd.url}/graphql",
        headers={"authorization": f"Bearer {ADMIN_TOKEN}", "accept": "*/*"},
    )
    assert answer.status_code == 400
    assert answer.json()["errors"][0]["extensions"]["code"] == "BAD_REQUEST"
    for name in (1, {"a": 1}, ["A"], False):
        odd = post(clusterd, {"query": "query A { version { api } }", "operationName": name})
        assert odd.status_code == 400
        assert codes(odd) == ["BAD_REQUEST"]


SUBSCRIPTION = "subscription($c: ID) { configChanged(clusterId: $c) { op path value } }"


def test_a_subscription_over_plain_http_is_refused_clearly(clusterd: Clusterd) -> None:
    answer = post(clusterd, {"query": SUBSCRIPTION})
    assert answer.status_code == 400
    (error,) = answer.json()["errors"]
    assert "needs a stream" in error["message"]
    assert error["extensions"]["code"] == "OPERATION_RESOLUTION_FAILURE"


class Stream:
    """A subscription streamed over HTTP, read in a thread: its raw chunks."""

    def __init__(
        self,
        clusterd: Clusterd,
        accept: str,
        variables: dict[str, Any],
        token: str,
        method: str = "POST",
    ):
        self.text = ""
        self.changed = threading.Condition()
        self.ended = False
        request = {"query": SUBSCRIPTION, "variables": variables}
        if method == "GET":  # the request in the URL, as GraphQL over HTTP says
            sent: dict[str, Any] = {
                "params": {"query": SUBSCRIPTION, "variables": json.dumps(variables)}
            }
        else:
            sent = {"json": request}
        self._request = httpx.stream(
            method,
            f"{clusterd.url}/graphql",
            headers={"authorization": f"Bearer {token}", "accept": accept},
            timeout=30,
            **sent,
        )
        self.response = self._request.__enter__()
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()

    def _read(self) -> None:
        try:
            for chunk in self.response.iter_text():
                with self.changed:
                    self.text += chunk
                    self.changed.notify_all()
        except httpx.HTTPError:
            pass
        with self.changed:
            self.ended = True
            self.changed.notify_all()

    def wait_for(self, needle: str, seconds: float = 10) -> str:
        with self.changed:
            assert self.changed.wait_for(lambda: needle in self.text or self.ended, seconds)
            assert needle in self.text, self.text
            return self.text

    def close(self) -> None:
        self._request.__exit__(None, None, None)


@pytest.fixture
def streams() -> Iterator[list[Stream]]:
    opened: list[Stream] = []
    yield opened
    for stream in opened:
        stream.close()


@pytest.mark.parametrize("method", ["POST", "GET"])
def test_a_subscription_streams_over_multipart_http(
    clusterd: Clusterd, streams: list[Stream], method: str
) -> None:
    cluster = create_cluster(clusterd, "prod")
    stream = Stream(clusterd, MULTIPART, {"c": cluster}, ADMIN_TOKEN, method)
    streams.append(stream)
    assert stream.response.status_code == 200
    assert stream.response.headers["content-type"].startswith("multipart/mixed")
    stream.wait_for("{}")  # the first heartbeat: the subscription is listening
    set_key(clusterd, target(cluster=cluster), "user:/app/port", "8080")
    text = stream.wait_for("user:/app/port")
    payloads = [
        json.loads(part.split("\r\n\r\n", 1)[1])
        for part in text.split("--graphql")
        if "\r\n\r\n" in part and "payload" in part
    ]
    assert payloads[0] == {
        "payload": {
            "data": {"configChanged": {"op": "SET", "path": "user:/app/port", "value": "8080"}}
        }
    }


def test_a_subscription_streams_as_server_sent_events(
    clusterd: Clusterd, streams: list[Stream]
) -> None:
    cluster = create_cluster(clusterd, "prod")
    stream = Stream(clusterd, "text/event-stream", {"c": cluster}, ADMIN_TOKEN)
    streams.append(stream)
    assert stream.response.headers["content-type"].startswith("text/event-stream")
    # Server-sent events have no greeting: write until the listener has started.
    for attempt in range(50):
        set_key(clusterd, target(cluster=cluster), "user:/app/port", str(attempt))
        with stream.changed:
            if stream.changed.wait_for(lambda: "event: next" in stream.text, 0.2):
                break
    event = stream.text.split("event: next\r\ndata: ", 1)[1].split("\r\n", 1)[0]
    assert json.loads(event)["data"]["configChanged"]["path"] == "user:/app/port"


def test_an_http_stream_ends_when_its_token_is_revoked(
    clusterd: Clusterd, streams: list[Stream]
) -> None:
    token_id, secret = make_token(clusterd, "VIEWER")
    stream = Stream(clusterd, MULTIPART, {}, secret)
    streams.append(stream)
    stream.wait_for("{}")
    revoke(clusterd, token_id)
    text = stream.wait_for("--graphql--")
    assert "token revoked" in text
    assert '"payload":null' in text.replace(" ", "")
    with stream.changed:
        assert stream.changed.wait_for(lambda: stream.ended, 10)


@pytest.mark.parametrize(
    ("document", "variables", "code"),
    [
        (
            "subscription($c: ID) { configChanged(clusterId: $c) { op } }",
            {"c": {}},
            "BAD_USER_INPUT",
        ),
        ("subscription { nonsense }", {}, "GRAPHQL_VALIDATION_FAILED"),
        (
            "subscription A { configChanged { op } } subscription B { configChanged { op } }",
            {},
            "OPERATION_RESOLUTION_FAILURE",
        ),
    ],
    ids=["bad-variable", "validation", "two-operations-unnamed"],
)
def test_a_websocket_subscription_gets_the_same_client_codes(
    clusterd: Clusterd, document: str, variables: dict[str, Any], code: str
) -> None:
    async def exchange() -> dict[str, Any]:
        async with connect(clusterd.url) as socket:
            await socket.subscribe(document, **variables)
            return await socket.receive()

    message = asyncio.run(exchange())
    assert message["type"] == "error", message
    assert "INTERNAL" not in json.dumps(message)
    assert [e["extensions"]["code"] for e in message["payload"]] == [code]
