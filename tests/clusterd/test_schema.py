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
