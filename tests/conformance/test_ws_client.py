"""The reference graphql-transport-ws client (npm graphql-ws on npm ws)
against a real clusterd and a real elektrad."""

from __future__ import annotations

from collections.abc import Callable

from ..clusterd.api import add_instance
from ..clusterd.conftest import Clusterd, Elektrad
from .conftest import MAX_SUBSCRIPTIONS, run_node


def test_a_query_is_answered_and_completed(node: str, clusterd: Clusterd) -> None:
    outcome = run_node(node, "ws-client.mjs", "query", f"{clusterd.url}/graphql")
    assert outcome["error"] is None
    (result,) = outcome["results"]
    assert "errors" not in result
    assert result["data"]["__typename"] == "Query"
    assert isinstance(result["data"]["version"]["api"], int)
    assert outcome["completed"]
    # One socket, which the client closed itself, normally.
    assert outcome["connected"] == 1
    assert [close["code"] for close in outcome["closes"]] == [1000]


def test_a_subscription_receives_a_write_made_over_http_and_ends_on_unsubscribe(
    node: str, clusterd: Clusterd, elektrads: Callable[..., list[Elektrad]]
) -> None:
    (daemon,) = elektrads(1)
    instance = add_instance(clusterd, "conformance", daemon.url)
    repeat = MAX_SUBSCRIPTIONS * 2 + 1
    outcome = run_node(
        node,
        "ws-client.mjs",
        "subscription",
        f"{clusterd.url}/graphql",
        instance,
        WS_REPEAT=str(repeat),
    )
    assert outcome["error"] is None
    event = outcome["events"][0]["data"]["configChanged"]
    assert event["operationId"] in outcome["operationIds"]
    assert (event["op"], event["path"], event["origin"]) == (
        "SET",
        "user:/conformance/value",
        "clusterd",
    )
    assert event["instance"] == {"name": "conformance"}
    # Unsubscribing completes the subscription, and nothing arrives after it.
    assert outcome["completedByUnsubscribe"]
    assert outcome["eventsAfterUnsubscribe"] == 0
    # The server frees each ended subscription: more of them one after the
    # other than one socket may hold at once, then a query on the same socket.
    assert outcome["cycles"] == [{"completed": True, "error": None}] * repeat
    assert outcome["lastQuery"]["completed"]
    assert outcome["lastQuery"]["error"] is None
    assert outcome["connected"] == 1
    assert [close["code"] for close in outcome["closes"]] == [1000]


def test_a_refused_token_closes_the_socket_with_4403(node: str, clusterd: Clusterd) -> None:
    outcomes = run_node(node, "ws-client.mjs", "refused", f"{clusterd.url}/graphql")
    for name in ("wrongToken", "noToken"):
        outcome = outcomes[name]
        assert outcome["results"] == [], name
        assert not outcome["completed"], name
        assert outcome["connected"] == 0, name
        assert outcome["error"]["closeCode"] == 4403, (name, outcome)
        assert [close["code"] for close in outcome["closes"]] == [4403], (name, outcome)
