"""The SDL in the repository is the live schema's."""

from __future__ import annotations

from pathlib import Path

from elektra_web.schema.root import schema

SDL = Path(__file__).parents[2] / "schema.graphql"


def test_schema_graphql_is_the_live_schema() -> None:
    assert SDL.read_text() == schema.as_str() + "\n", (
        "schema.graphql is out of date: run `.venv/bin/elektra-web schema > schema.graphql`"
    )


def test_schema_keeps_the_contract_names() -> None:
    sdl = schema.as_str()
    for name in [
        "instances: [Instance!]!",
        "instance(id: ID!): Instance",
        "clusters: [Cluster!]!",
        "addInstance(input: AddInstanceInput!): Instance!",
        "assignInstance(clusterId: ID!, instanceId: ID!): Instance!",
        "setKey(target: Target!, path: String!, value: String!): WriteResult!",
        "moveKey(target: Target!, from: String!, to: String!): WriteResult!",
        "lockedBy: Cluster",
        "pending: [PendingWrite!]!",
        "instances(recursive: Boolean! = false): [Instance!]!",
    ]:
        assert name in sdl


def test_subscription_events_do_not_pile_up_in_the_executor() -> None:
    """graphql-core 3.3.2 kept one memo entry per event and subscription, for
    the subscription's life (a leak of ~2 KiB per subscriber and event)."""
    import asyncio

    from graphql import parse

    from elektra_web.schema.root import Executor

    executor = Executor.build(
        schema._schema, parse("subscription { instanceStatusChanged { name } }")
    )

    async def run_events() -> None:
        for _ in range(50):
            per_event = executor.build_per_event_executor({"instanceStatusChanged": None})
            result = per_event.execute_operation()
            if asyncio.iscoroutine(result):
                await result

    asyncio.run(run_events())
    assert len(executor._relevant_sub_fields) <= 1
