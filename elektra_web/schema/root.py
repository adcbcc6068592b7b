"""Query, Mutation and the Schema (see ``schema.graphql`` for the SDL)."""

from __future__ import annotations

import logging
import uuid
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.extensions import MaskErrors
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext

from .. import __version__
from ..exceptions import ClusterdError
from ..models import OperationKind
from ..resolvers import audit, clusters, drift, instances, tokens, writes
from ..resolvers.auth import Role
from ..resolvers.writes import Change, write
from .access import AuditEntryType, CreatedToken, Me, TokenType, audited_mutation
from .cluster import ClusterType
from .context import Info
from .enums import DriftAction
from .inputs import (
    AddInstanceInput,
    CreateClusterInput,
    CreateTokenInput,
    UpdateClusterInput,
    UpdateInstanceInput,
)
from .instance import InstanceType
from .limits import LIMITS
from .live import Subscription
from .text import RefuseInvalidText
from .writes import TargetInput, WriteResult

__all__ = ["schema"]

log = logging.getLogger("elektra_web.clusterd")


@strawberry.type
class Version:
    api: int
    clusterd: str


@strawberry.type
class Query:
    @strawberry.field
    async def instances(self, info: Info) -> list[InstanceType]:
        return [
            InstanceType.from_model(i) for i in await instances.list_instances(info.context.caller)
        ]

    @strawberry.field
    async def instance(self, info: Info, id: strawberry.ID) -> InstanceType | None:
        try:
            return InstanceType.from_model(await instances.get_instance(info.context.caller, id))
        except ClusterdError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise

    @strawberry.field
    async def clusters(self, info: Info) -> list[ClusterType]:
        return [
            ClusterType.from_model(c) for c in await clusters.list_clusters(info.context.caller)
        ]

    @strawberry.field
    async def cluster(self, info: Info, id: strawberry.ID) -> ClusterType | None:
        try:
            return ClusterType.from_model(await clusters.get_cluster(info.context.caller, id))
        except ClusterdError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise

    @strawberry.field
    def version(self) -> Version:
        return Version(api=1, clusterd=__version__)

    @strawberry.field(description="Who is signed in.")
    def me(self, info: Info) -> Me:
        caller = info.context.caller
        caller.require(Role.VIEWER)
        assert caller.role is not None
        token_id = strawberry.ID(str(caller.token_id)) if caller.token_id is not None else None
        return Me(name=caller.name, role=caller.role, token_id=token_id)

    @strawberry.field(description="All API tokens, revoked ones too (admins only).")
    async def tokens(self, info: Info) -> list[TokenType]:
        return [TokenType.from_model(t) for t in await tokens.list_tokens(info.context.caller)]

    @strawberry.field(
        description="Changes asked of clusterd, newest first (admins only). Page back with "
        "before: the id of the last entry seen."
    )
    async def audit_log(
        self,
        info: Info,
        first: int = 100,
        before: strawberry.ID | None = None,
        actor: str | None = None,
        action: str | None = None,
    ) -> list[AuditEntryType]:
        entries = await audit.audit_log(
            info.context.caller, first=first, before=before, actor=actor, action=action
        )
        return [AuditEntryType.from_model(e) for e in entries]


#: ``from`` is a Python keyword: the argument is ``from_`` here, ``from`` in GraphQL.
From = Annotated[str, strawberry.argument(name="from")]


async def _write(info: Info, target: TargetInput, change: Change) -> WriteResult:
    ctx = info.context
    return WriteResult.from_data(await write(ctx.services, ctx.caller, target.to_target(), change))


@strawberry.type
class Mutation:
    @audited_mutation()
    async def add_instance(self, info: Info, input: AddInstanceInput) -> InstanceType:
        ctx = info.context
        added = await instances.add_instance(ctx.services, ctx.caller, input.to_data())
        return InstanceType.from_model(added)

    @audited_mutation()
    async def update_instance(
        self, info: Info, id: strawberry.ID, input: UpdateInstanceInput
    ) -> InstanceType:
        ctx = info.context
        updated = await instances.update_instance(ctx.services, ctx.caller, id, input.to_data())
        return InstanceType.from_model(updated)

    @audited_mutation()
    async def remove_instance(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        return strawberry.ID(str(await instances.remove_instance(info.context.caller, id)))

    @audited_mutation()
    async def create_cluster(self, info: Info, input: CreateClusterInput) -> ClusterType:
        created = await clusters.create_cluster(info.context.caller, input.to_data())
        return ClusterType.from_model(created)

    @audited_mutation()
    async def update_cluster(
        self, info: Info, id: strawberry.ID, input: UpdateClusterInput
    ) -> ClusterType:
        updated = await clusters.update_cluster(info.context.caller, id, input.to_data())
        return ClusterType.from_model(updated)

    @audited_mutation()
    async def delete_cluster(self, info: Info, id: strawberry.ID) -> strawberry.ID:
        ctx = info.context
        return strawberry.ID(str(await clusters.delete_cluster(ctx.services, ctx.caller, id)))

    @audited_mutation()
    async def assign_instance(
        self, info: Info, cluster_id: strawberry.ID, instance_id: strawberry.ID
    ) -> InstanceType:
        ctx = info.context
        assigned = await clusters.assign_instance(ctx.services, ctx.caller, cluster_id, instance_id)
        return InstanceType.from_model(assigned)

    @audited_mutation()
    async def unassign_instance(self, info: Info, instance_id: strawberry.ID) -> InstanceType:
        ctx = info.context
        left = await clusters.unassign_instance(ctx.services, ctx.caller, instance_id)
        return InstanceType.from_model(left)

    @audited_mutation()
    async def set_key(self, info: Info, target: TargetInput, path: str, value: str) -> WriteResult:
        return await _write(info, target, Change(OperationKind.SET, path, value))

    @audited_mutation(description="Recursive, like kdb rm -r.")
    async def delete_key(self, info: Info, target: TargetInput, path: str) -> WriteResult:
        return await _write(info, target, Change(OperationKind.DELETE, path))

    @audited_mutation()
    async def move_key(self, info: Info, target: TargetInput, from_: From, to: str) -> WriteResult:
        return await _write(info, target, Change(OperationKind.MOVE, from_, target=to))

    @audited_mutation()
    async def copy_key(self, info: Info, target: TargetInput, from_: From, to: str) -> WriteResult:
        return await _write(info, target, Change(OperationKind.COPY, from_, target=to))

    @audited_mutation()
    async def set_meta(
        self, info: Info, target: TargetInput, path: str, key: str, value: str
    ) -> WriteResult:
        return await _write(info, target, Change(OperationKind.META, path, value, meta_key=key))

    @audited_mutation(
        description="Settle drift of one key on one member: REAPPLY the cluster's value "
        "there, ADOPT the member's value into the cluster (a write to every member), or, for a "
        "key deleted on the member, ADOPT_DELETION (delete it from the cluster and every "
        "member). Refused if the member's value changed since the drift was shown, or a write "
        "of the key to it is in flight."
    )
    async def resolve_drift(
        self, info: Info, instance_id: strawberry.ID, path: str, action: DriftAction
    ) -> WriteResult:
        ctx = info.context
        result = await drift.resolve_drift(ctx.services, ctx.caller, instance_id, path, action)
        return WriteResult.from_data(result)

    @audited_mutation(
        description="Send the cluster writes an instance refused (its failed list) again."
    )
    async def retry_deliveries(self, info: Info, instance_id: strawberry.ID) -> InstanceType:
        ctx = info.context
        instance = await writes.retry_refused(ctx.services, ctx.caller, instance_id)
        return InstanceType.from_model(instance)

    @audited_mutation()
    async def delete_meta(
        self, info: Info, target: TargetInput, path: str, key: str
    ) -> WriteResult:
        return await _write(info, target, Change(OperationKind.META, path, None, meta_key=key))

    @audited_mutation(description="A new API token; its secret is shown only in this answer.")
    async def create_token(self, info: Info, input: CreateTokenInput) -> CreatedToken:
        token, secret = await tokens.create_token(info.context.caller, input.name, input.role)
        return CreatedToken(token=TokenType.from_model(token), secret=secret)

    @audited_mutation(description="Revoke a token: refused from now on, its websockets closed.")
    async def revoke_token(self, info: Info, id: strawberry.ID) -> TokenType:
        ctx = info.context
        token = await tokens.revoke_token(ctx.services.sessions, ctx.caller, id)
        return TokenType.from_model(token)


def _unexpected(error: GraphQLError) -> bool:
    return error.original_error is not None and not isinstance(error.original_error, ClusterdError)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Refusals (ClusterdError) are answers, not faults; the rest are
        logged where they are masked (``MaskUnexpected``)."""


class MaskUnexpected(MaskErrors):
    """Replaces an unexpected error (a bug, not a refusal) by "Internal
    error" with an id, and logs the original with the same id: the client
    sees no trace or path, the operator can find the trace from the id."""

    def __init__(self) -> None:
        super().__init__(should_mask_error=_unexpected)

    def anonymise_error(self, error: GraphQLError) -> GraphQLError:
        error_id = uuid.uuid4().hex[:12]
        log.error(
            "unexpected error %s in %s: %s",
            error_id,
            ".".join(map(str, error.path or ())) or "the request",
            error.message,
            exc_info=error.original_error,
        )
        return GraphQLError(
            f"Internal error (id {error_id}); the server's log has the details.",
            nodes=error.nodes,
            source=error.source,
            positions=error.positions,
            path=error.path,
            extensions={"code": "INTERNAL", "errorId": error_id},
        )


class Executor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, without a memory leak of graphql-core 3.3.2.

    Each subscription event runs on a shallow copy of the subscription's
    executor, and the copies share a memo of collected sub-fields whose key
    holds the identity of a list made anew for every event: it grew by one
    entry per event and subscription, for as long as the subscription lived.
    """

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor


schema: Any = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    execution_context_class=Executor,
    extensions=[
        # Hostile queries are refused before they run: not Unicode, too deep,
        # too many aliases (one field asked a thousand times), too long.
        RefuseInvalidText,
        *LIMITS,
        MaskUnexpected,
    ],
)
