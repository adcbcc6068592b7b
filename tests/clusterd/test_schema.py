"""The SDL in the repository is the live schema's, and it documents itself."""

from __future__ import annotations

from enum import Enum
from pathlib import Path
from typing import Annotated

import pytest
import strawberry
from graphql import (
    GraphQLEnumType,
    GraphQLInputObjectType,
    GraphQLInterfaceType,
    GraphQLObjectType,
    GraphQLSchema,
    specified_directives,
    specified_scalar_types,
)
from graphql.utilities.print_schema import print_input_value

from elektra_web.schema.root import schema

from .api import error_code
from .conftest import Clusterd

SDL = Path(__file__).parents[2] / "schema.graphql"


def test_schema_graphql_is_the_live_schema() -> None:
    assert SDL.read_text() == schema.as_str() + "\n", (
        "schema.graphql is out of date: run `.venv/bin/elektra-web schema > schema.graphql`"
    )


def signatures(graphql_schema: GraphQLSchema) -> set[str]:
    """Each field of each type as ``name(arg: Type = default): Type``, as the
    SDL prints a field whose arguments have no description."""
    found = set()
    for type_ in graphql_schema.type_map.values():
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for name, field in type_.fields.items():
                args = ", ".join(print_input_value(n, a) for n, a in field.args.items())
                found.add(f"{name}({args}): {field.type}" if args else f"{name}: {field.type}")
    return found


def test_schema_keeps_the_contract_names() -> None:
    sdl = signatures(schema._schema)
    for name in [
        "instances(ids: [ID!] = null): [Instance!]!",
        "instance(id: ID!): Instance",
        "clusters: [Cluster!]!",
        "addInstance(input: AddInstanceInput!): Instance!",
        "assignInstance(clusterId: ID!, instanceId: ID!): Instance!",
        "setKey(target: Target!, path: String!, value: String!, dryRun: Boolean! = false, "
        "force: Boolean! = false): WriteResult!",
        "moveKey(target: Target!, from: String!, to: String!, dryRun: Boolean! = false, "
        "force: Boolean! = false): WriteResult!",
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


# -- descriptions ---------------------------------------------------------------


def undescribed(graphql_schema: GraphQLSchema) -> list[str]:
    """Every part of the schema without a description: types, fields and
    their arguments, input fields, enum values, and our own directives (not
    the introspection types, built-in scalars or directives)."""
    missing: list[str] = []
    for name, type_ in sorted(graphql_schema.type_map.items()):
        if name.startswith("__") or name in specified_scalar_types:
            continue
        if not type_.description:
            missing.append(f"type {name}")
        if isinstance(type_, GraphQLObjectType | GraphQLInterfaceType):
            for field_name, field in type_.fields.items():
                if not field.description:
                    missing.append(f"field {name}.{field_name}")
                missing += [
                    f"argument {name}.{field_name}({arg_name})"
                    for arg_name, arg in field.args.items()
                    if not arg.description
                ]
        elif isinstance(type_, GraphQLInputObjectType):
            missing += [
                f"input field {name}.{field_name}"
                for field_name, field in type_.fields.items()
                if not field.description
            ]
        elif isinstance(type_, GraphQLEnumType):
            missing += [
                f"enum value {name}.{value_name}"
                for value_name, value in type_.values.items()
                if not value.description
            ]
    builtin = {d.name for d in specified_directives}
    for directive in graphql_schema.directives:
        if directive.name in builtin:
            continue
        if not directive.description:
            missing.append(f"directive @{directive.name}")
        missing += [
            f"argument @{directive.name}({arg_name})"
            for arg_name, arg in directive.args.items()
            if not arg.description
        ]
    return missing


def test_every_type_field_argument_and_enum_value_is_described() -> None:
    """GraphiQL's documentation explorer shows these: nothing may be blank."""
    missing = undescribed(schema._schema)
    assert not missing, "describe these (description=...): " + ", ".join(missing)


@strawberry.enum(description="e")
class Colour(Enum):
    RED = strawberry.enum_value("red", description="r")
    BLUE = "blue"


@strawberry.input(description="i")
class Filter:
    colour: Colour = strawberry.field(description="c")
    text: str = ""


@strawberry.type(name="Query")
class HalfDescribed:
    @strawberry.field(description="f")
    def things(
        self, where: Annotated[Filter, strawberry.argument(description="w")], first: int = 1
    ) -> str:
        return ""

    @strawberry.field
    def other(self) -> int:
        return 1


def test_the_description_check_names_what_lacks_one() -> None:
    assert undescribed(strawberry.Schema(query=HalfDescribed)._schema) == [
        "enum value Colour.BLUE",
        "input field Filter.text",
        "type Query",
        "argument Query.things(first)",
        "field Query.other",
    ]


# -- @oneOf -----------------------------------------------------------------------

WRITE = 'mutation($t: Target!) { setKey(target: $t, path: "user:/a", value: "1") { operationId } }'


def test_target_is_one_of_in_the_schema() -> None:
    assert "input Target @oneOf {" in schema.as_str()


LITERAL = 'mutation {{ setKey(target: {}, path: "user:/a", value: "1") {{ operationId }} }}'


@pytest.mark.parametrize(
    ("document", "variables", "message", "code"),
    [
        # A variable's value: refused as it is coerced.
        (WRITE, {"t": {}}, "must specify exactly one key", "BAD_USER_INPUT"),
        (WRITE, {"t": {"instanceId": "1", "clusterId": "1"}}, "exactly one", "BAD_USER_INPUT"),
        (WRITE, {"t": {"instanceId": "1", "clusterId": None}}, "exactly one", "BAD_USER_INPUT"),
        (WRITE, {"t": {"clusterId": None}}, "must be non-null", "BAD_USER_INPUT"),
        # The document itself: refused by validation.
        (LITERAL.format("{}"), {}, "exactly one", "GRAPHQL_VALIDATION_FAILED"),
        (
            LITERAL.format('{instanceId: "1", clusterId: "1"}'),
            {},
            "exactly one",
            "GRAPHQL_VALIDATION_FAILED",
        ),
        (LITERAL.format("{clusterId: null}"), {}, "must be non-null", "GRAPHQL_VALIDATION_FAILED"),
        (
            'mutation($c: ID) { setKey(target: {clusterId: $c}, path: "user:/a", value: "1") '
            "{ operationId } }",
            {"c": "1"},
            "must be non-nullable to be used for OneOf",
            "GRAPHQL_VALIDATION_FAILED",
        ),
    ],
    ids=[
        "no-field",
        "two-fields",
        "one-and-a-null",
        "only-a-null",
        "literal-no-field",
        "literal-two-fields",
        "literal-null",
        "nullable-variable",
    ],
)
def test_a_target_of_none_or_two_fields_is_the_clients_error(
    clusterd: Clusterd, document: str, variables: dict[str, object], message: str, code: str
) -> None:
    """Refused before anything runs, with GraphQL's own message and a code of
    the client's errors (not INTERNAL), over HTTP."""
    cluster = clusterd.ok('mutation { createCluster(input: {name: "c"}) { id } }')
    assert cluster["createCluster"]["id"] == "1"
    response = clusterd.query(document, **variables)
    assert message in response["errors"][0]["message"], response
    assert error_code(response) == code, response
    assert not response.get("data"), response
    entries = clusterd.ok("{ auditLog { action } }")["auditLog"]
    assert [e["action"] for e in entries] == ["createCluster"]


def test_clients_see_that_target_is_one_of(clusterd: Clusterd) -> None:
    data = clusterd.ok('{ __type(name: "Target") { isOneOf inputFields { name } } }')
    assert data["__type"] == {
        "isOneOf": True,
        "inputFields": [{"name": "instanceId"}, {"name": "clusterId"}],
    }
