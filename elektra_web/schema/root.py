"""Query, Mutation and the Schema (see ``schema.graphql`` for the SDL)."""

from __future__ import annotations

import datetime as dt
from typing import Annotated, Any

import strawberry
from graphql import GraphQLError
from strawberry.schema.schema import StrawberryGraphQLCoreExecutionContext
from strawberry.types import ExecutionContext

from .. import __version__
from ..exceptions import ClusterdError
from ..models import OperationKind
from ..resolvers import audit, clusters, drift, history, instances, rollback, tokens, writes
from ..resolvers.auth import Role
from ..resolvers.compare import compare as compare_targets
from ..resolvers.writes import Change, write
from . import errors as error_codes
from . import transfer as transfer_fields
from .access import (
    AuditEntryType,
    CreatedToken,
    Me,
    RotatedToken,
    TokenType,
    audited_mutation,
)
from .admission import Admission
from .cluster import ClusterType
from .compare import CompareAt, KeyDifference, PathPrefix
from .context import Context, Info
from .enums import DriftAction
from .history import HistoryPage
from .inputs import (
    AddInstanceInput,
    CreateClusterInput,
    CreateTokenInput,
    UpdateClusterInput,
    UpdateInstanceInput,
)
from .instance import InstanceType
from .live import Subscription
from .preview import DryRun, Force
from .rollback import RollbackResult
from .writes import TargetInput, WriteResult

__all__ = ["schema"]


@strawberry.type(description="The versions of what answers.")
class Version:
    api: int = strawberry.field(description="The version of this API: 1.")
    clusterd: str = strawberry.field(description='clusterd\'s release, e.g. "0.1.0".')


#: An ``id`` argument that names an instance.
InstanceId = Annotated[strawberry.ID, strawberry.argument(description="The instance's id.")]
#: An ``id`` argument that names a cluster.
ClusterId = Annotated[strawberry.ID, strawberry.argument(description="The cluster's id.")]


@strawberry.type(
    description="Reads. Every request needs a token (HTTP: 'Authorization: Bearer TOKEN', else "
    "401 and UNAUTHENTICATED); any role may read all but tokens and auditLog (ADMIN). A refusal "
    "is an error with extensions.code (FORBIDDEN, NOT_FOUND, ...)."
)
class Query:
    @strawberry.field(description="Every registered instance, by name.")
    async def instances(
        self,
        info: Info,
        ids: Annotated[
            list[strawberry.ID] | None,
            strawberry.argument(
                description="Only these (the ones that exist; at most 1,000, else BAD_INPUT), "
                "e.g. the rows a fleetChanged DELIVERIES event names. Null: all."
            ),
        ] = None,
    ) -> list[InstanceType]:
        found = await instances.list_instances(info.context.caller, ids)
        return [InstanceType.from_model(i) for i in found]

    @strawberry.field(description="The instance with this id; null if there is none.")
    async def instance(self, info: Info, id: InstanceId) -> InstanceType | None:
        try:
            return InstanceType.from_model(await instances.get_instance(info.context.caller, id))
        except ClusterdError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise

    @strawberry.field(
        description="Every cluster, nested ones too, by name (the top-level ones have no parent)."
    )
    async def clusters(self, info: Info) -> list[ClusterType]:
        return [
            ClusterType.from_model(c) for c in await clusters.list_clusters(info.context.caller)
        ]

    @strawberry.field(description="The cluster with this id; null if there is none.")
    async def cluster(self, info: Info, id: ClusterId) -> ClusterType | None:
        try:
            return ClusterType.from_model(await clusters.get_cluster(info.context.caller, id))
        except ClusterdError as exc:
            if exc.code == "NOT_FOUND":
                return None
            raise

    @strawberry.field(description="The versions of the API and of clusterd.")
    def version(self) -> Version:
        return Version(api=1, clusterd=__version__)

    #: A subtree as JSON, TOML or INI text (``schema/transfer.py``).
    export_config = transfer_fields.export_config

    @strawberry.field(description="Who is signed in: the request's token.")
    def me(self, info: Info) -> Me:
        caller = info.context.caller
        caller.require(Role.VIEWER)
        assert caller.role is not None
        token_id = strawberry.ID(str(caller.token_id)) if caller.token_id is not None else None
        return Me(name=caller.name, role=caller.role, token_id=token_id)

    @strawberry.field(
        description="All API tokens, revoked ones too, by id. Needs ADMIN (else FORBIDDEN)."
    )
    async def tokens(self, info: Info) -> list[TokenType]:
        return [TokenType.from_model(t) for t in await tokens.list_tokens(info.context.caller)]

    @strawberry.field(
        description="Changes asked of clusterd, newest first. Page back with before: the id of "
        "the last entry seen. Needs ADMIN (else FORBIDDEN)."
    )
    async def audit_log(
        self,
        info: Info,
        first: Annotated[
            int, strawberry.argument(description="How many entries: 1 to 1000 (else BAD_INPUT).")
        ] = 100,
        before: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only entries older than the one with this id."),
        ] = None,
        actor: Annotated[
            str | None,
            strawberry.argument(
                description="Only entries of this actor, spelled exactly as AuditEntry.actor, "
                'e.g. "alice (token 2)".'
            ),
        ] = None,
        action: Annotated[
            str | None,
            strawberry.argument(description='Only entries of this action, e.g. "setKey".'),
        ] = None,
    ) -> list[AuditEntryType]:
        entries = await audit.audit_log(
            info.context.caller, first=first, before=before, actor=actor, action=action
        )
        return [AuditEntryType.from_model(e) for e in entries]

    @strawberry.field(
        description="The keys at and below pathPrefix that differ between two targets, in "
        "key-name order: a value, metadata entries, or one side does not have the key. An "
        "instance is read live; a cluster's side is its own keys (clusterd's database), not "
        "its members'; with leftAt or rightAt, that side as it was then (one target at two "
        "times: the same target on both sides). Needs VIEWER. Refused with NOT_FOUND (no such "
        "target), INVALID_KEY_NAME (a malformed or cascading path), INSTANCE_UNREACHABLE "
        "(naming the instance), "
        "BAD_INPUT (more than 10,000 keys on a side: compare a narrower pathPrefix; a mounted "
        "file below pathPrefix that does not parse)."
    )
    async def compare(
        self,
        info: Info,
        left: Annotated[
            TargetInput,
            strawberry.argument(description="One side: an instance or a cluster."),
        ],
        right: Annotated[
            TargetInput,
            strawberry.argument(description="The other side (may be the same target)."),
        ],
        path_prefix: PathPrefix,
        right_path_prefix: Annotated[
            str | None,
            strawberry.argument(
                description='Read the right side here instead, e.g. "system:/app" against '
                'pathPrefix "user:/app"; null: pathPrefix.'
            ),
        ] = None,
        left_at: CompareAt = None,
        right_at: CompareAt = None,
    ) -> list[KeyDifference]:
        ctx = info.context
        found = await compare_targets(
            ctx.reads,
            left.to_target(),
            right.to_target(),
            path_prefix,
            right_path_prefix,
            left_at=left_at,
            right_at=right_at,
        )
        return [KeyDifference.from_data(d) for d in found]

    @strawberry.field(
        description="The history of a target's config, newest first: every change of a key "
        "of the instance (through clusterd, or made on the machine) or of the cluster's own "
        "config, with who made it, kept as long as clusterd's retention settings say. Page back "
        "with before: the id of the last entry seen. An id of no instance or cluster (one "
        "removed, say) is not refused: its history is kept until pruned. Refused with "
        "INVALID_KEY_NAME, BAD_INPUT."
    )
    async def history(
        self,
        info: Info,
        target: Annotated[
            TargetInput,
            strawberry.argument(description="The instance, or the cluster (its own config)."),
        ],
        path_prefix: Annotated[
            str | None,
            strawberry.argument(
                description="Only the entries of this key and the keys below it, in either "
                'spelling, with a namespace (e.g. "user:/app"). Null: every key.'
            ),
        ] = None,
        first: Annotated[
            int, strawberry.argument(description="How many entries: 1 to 1000 (else BAD_INPUT).")
        ] = 50,
        before: Annotated[
            strawberry.ID | None,
            strawberry.argument(description="Only entries older than the one with this id."),
        ] = None,
    ) -> HistoryPage:
        page = await history.history(
            info.context.caller,
            target.to_target(),
            path_prefix=path_prefix,
            first=first,
            before=before,
        )
        return HistoryPage.from_data(page)


#: ``from`` is a Python keyword: the argument is ``from_`` here, ``from`` in GraphQL.
From = Annotated[
    str,
    strawberry.argument(
        name="from", description="The key to move or copy, with its subtree; either spelling."
    ),
]
To = Annotated[
    str,
    strawberry.argument(
        description="Its new name (the subtree goes below it); either spelling, with a namespace."
    ),
]
#: The ``path`` of a write.
WritePath = Annotated[
    str,
    strawberry.argument(
        description='The key, in either spelling ("user:/app/port" or "user/app/port"), with a '
        "namespace: a cascading name (/app) is refused."
    ),
]
#: The ``target`` of a write.
Where = Annotated[TargetInput, strawberry.argument(description="The instance or the cluster.")]
#: The metadata name of setMeta and deleteMeta.
MetaName = Annotated[
    str, strawberry.argument(description='The metadata entry\'s name, e.g. "check/type".')
]

#: Who may write, and how a write can be refused (the end of each write's description).
_WRITE = (
    " Needs EDITOR. Target says how a write to an instance and to a cluster differ. Refused "
    "with NOT_FOUND (no such instance or cluster), INVALID_KEY_NAME, KEY_LOCKED (another "
    "cluster sets the key: change it there), INSTANCE_UNREACHABLE (an instance target), "
    "VALIDATION_FAILED (a cluster write some online members' check/* validation would "
    "refuse, unless force), BAD_INPUT. dryRun: nothing is written; the answer's plan says "
    "what each instance would do (a lock refuses there, not as an error)."
)
#: Who may manage instances and clusters.
_ADMIN = " Needs ADMIN."


async def _write(
    info: Info, target: TargetInput, change: Change, dry_run: bool, force: bool
) -> WriteResult:
    ctx = info.context
    where = target.to_target()
    done = await write(ctx.services, ctx.caller, where, change, dry_run=dry_run, force=force)
    return WriteResult.from_data(done)


@strawberry.type(
    description="Changes. Each call is written to the audit log, with who asked and the "
    "outcome. The writes of configuration, resolveDrift and retryDeliveries need EDITOR; the "
    "rest ADMIN (else FORBIDDEN)."
)
class Mutation:
    @audited_mutation(
        description="Register an elektrad. It is asked for its version at once; where nothing "
        "answers as an elektrad, it is refused with INSTANCE_UNREACHABLE (the message says why), "
        "unless input.allowOffline: then it is registered OFFLINE."
        + _ADMIN
        + " Refused with INVALID_HOST (not a usable URL, or an address clusterd may not call), "
        "INSTANCE_EXISTS (the URL, or the same elektrad under another URL, is registered "
        "already), BAD_INPUT (the name is taken, or the elektrad refuses the token)."
    )
    async def add_instance(
        self,
        info: Info,
        input: Annotated[AddInstanceInput, strawberry.argument(description="The instance.")],
    ) -> InstanceType:
        ctx = info.context
        added = await instances.add_instance(ctx.services, ctx.caller, input.to_data())
        return InstanceType.from_model(added)

    @audited_mutation(
        description="Change an instance's name, URL, token, description or label."
        + _ADMIN
        + " Refused as addInstance, and with NOT_FOUND."
    )
    async def update_instance(
        self,
        info: Info,
        id: InstanceId,
        input: Annotated[UpdateInstanceInput, strawberry.argument(description="What changes.")],
    ) -> InstanceType:
        ctx = info.context
        updated = await instances.update_instance(ctx.services, ctx.caller, id, input.to_data())
        return InstanceType.from_model(updated)

    @audited_mutation(
        description="Forget an instance, with the writes waiting for it; its elektrad and its "
        "keys are not touched. Answers its id." + _ADMIN + " NOT_FOUND if there is none."
    )
    async def remove_instance(self, info: Info, id: InstanceId) -> strawberry.ID:
        ctx = info.context
        return strawberry.ID(str(await instances.remove_instance(ctx.services, ctx.caller, id)))

    @audited_mutation(
        description="A new cluster."
        + _ADMIN
        + " Refused with BAD_INPUT (the name is taken), NOT_FOUND (no such parent)."
    )
    async def create_cluster(
        self,
        info: Info,
        input: Annotated[CreateClusterInput, strawberry.argument(description="The cluster.")],
    ) -> ClusterType:
        ctx = info.context
        created = await clusters.create_cluster(ctx.services, ctx.caller, input.to_data())
        return ClusterType.from_model(created)

    @audited_mutation(
        description="Rename a cluster, change its description or drift policy, or nest it "
        "elsewhere: its members (and its sub-clusters') then receive the keys of the new "
        "ancestors, locked from then on; keys of ancestors it left stay on them, unlocked."
        + _ADMIN
        + " Refused with NOT_FOUND, BAD_INPUT (the name is taken), CLUSTER_CYCLE (the new parent "
        "is the cluster or inside it), KEY_LOCKED (the new parent, or one of its ancestors, sets "
        "a key it or a cluster inside it sets)."
    )
    async def update_cluster(
        self,
        info: Info,
        id: ClusterId,
        input: Annotated[UpdateClusterInput, strawberry.argument(description="What changes.")],
    ) -> ClusterType:
        ctx = info.context
        updated = await clusters.update_cluster(ctx.services, ctx.caller, id, input.to_data())
        return ClusterType.from_model(updated)

    @audited_mutation(
        description="Delete a cluster that has no clusters inside it; answers its id. Its "
        "members leave it and keep its keys, unlocked."
        + _ADMIN
        + " Refused with NOT_FOUND, BAD_INPUT (clusters are nested in it)."
    )
    async def delete_cluster(self, info: Info, id: ClusterId) -> strawberry.ID:
        ctx = info.context
        return strawberry.ID(str(await clusters.delete_cluster(ctx.services, ctx.caller, id)))

    @audited_mutation(
        description="Make an instance a member of a cluster (an instance is in one cluster at "
        "most). It receives the keys of the cluster and of its ancestors, which are locked on "
        "it from then on. Already a member of this cluster: nothing changes."
        + _ADMIN
        + " Refused with NOT_FOUND, ALREADY_IN_CLUSTER (it is in another cluster: unassign it "
        "first)."
    )
    async def assign_instance(
        self,
        info: Info,
        cluster_id: ClusterId,
        instance_id: InstanceId,
    ) -> InstanceType:
        ctx = info.context
        assigned = await clusters.assign_instance(ctx.services, ctx.caller, cluster_id, instance_id)
        return InstanceType.from_model(assigned)

    @audited_mutation(
        description="Take an instance out of its cluster. It keeps the cluster's keys, "
        "unlocked; its drift and the cluster writes it refused are forgotten. In no cluster: "
        "nothing changes." + _ADMIN + " NOT_FOUND if there is no such instance."
    )
    async def unassign_instance(self, info: Info, instance_id: InstanceId) -> InstanceType:
        ctx = info.context
        left = await clusters.unassign_instance(ctx.services, ctx.caller, instance_id)
        return InstanceType.from_model(left)

    @audited_mutation(
        description="Set a key's value, creating the key if needed. On an instance: "
        "VALIDATION_FAILED if its check/* metadata refuses the value." + _WRITE
    )
    async def set_key(
        self,
        info: Info,
        target: Where,
        path: WritePath,
        value: Annotated[str, strawberry.argument(description="The new value.")],
        dry_run: DryRun = False,
        force: Force = False,
    ) -> WriteResult:
        return await _write(info, target, Change(OperationKind.SET, path, value), dry_run, force)

    @audited_mutation(
        description="Delete a key and everything below it, like kdb rm -r. On a cluster: "
        "NOT_FOUND if the cluster sets nothing at or below path." + _WRITE
    )
    async def delete_key(
        self,
        info: Info,
        target: Where,
        path: WritePath,
        dry_run: DryRun = False,
        force: Force = False,
    ) -> WriteResult:
        return await _write(info, target, Change(OperationKind.DELETE, path), dry_run, force)

    @audited_mutation(
        description="Move a key and its subtree to another name, replacing what is there. On "
        "a cluster: NOT_FOUND if the cluster sets nothing at or below from; BAD_INPUT for a "
        "destination inside from." + _WRITE
    )
    async def move_key(
        self,
        info: Info,
        target: Where,
        from_: From,
        to: To,
        dry_run: DryRun = False,
        force: Force = False,
    ) -> WriteResult:
        change = Change(OperationKind.MOVE, from_, target=to)
        return await _write(info, target, change, dry_run, force)

    @audited_mutation(
        description="Copy a key and its subtree to another name, replacing what is there. On "
        "a cluster: NOT_FOUND if the cluster sets nothing at or below from; BAD_INPUT for a "
        "destination inside from." + _WRITE
    )
    async def copy_key(
        self,
        info: Info,
        target: Where,
        from_: From,
        to: To,
        dry_run: DryRun = False,
        force: Force = False,
    ) -> WriteResult:
        change = Change(OperationKind.COPY, from_, target=to)
        return await _write(info, target, change, dry_run, force)

    @audited_mutation(
        description="Set one metadata entry of a key. On a cluster: NOT_FOUND if the cluster "
        "does not set the key. VALIDATION_FAILED, on either target and before anything is "
        "stored or delivered, for a check/validation pattern RE2 cannot run (backreferences, "
        "lookaround: patterns run in linear time); on an instance also for another malformed "
        'check/* entry (e.g. check/type = "nonsense").' + _WRITE
    )
    async def set_meta(
        self,
        info: Info,
        target: Where,
        path: WritePath,
        key: MetaName,
        value: Annotated[str, strawberry.argument(description="The entry's new value.")],
        dry_run: DryRun = False,
        force: Force = False,
    ) -> WriteResult:
        change = Change(OperationKind.META, path, value, meta_key=key)
        return await _write(info, target, change, dry_run, force)

    @audited_mutation(
        description="Settle drift of one key on one member: REAPPLY the cluster's value "
        "there, ADOPT the member's value into the cluster (a write to every member), or, for a "
        "key deleted on the member, ADOPT_DELETION (delete it from the cluster and every "
        "member). The member is read again first. Needs EDITOR. Refused with NOT_FOUND (no "
        "such instance, no drift there, or the cluster no longer sets the key), BAD_INPUT (the "
        "member's value changed since the drift was shown, agrees again, or a write of the key "
        "to it is in flight; or the action does not fit), INSTANCE_UNREACHABLE, and as the "
        "writes are."
    )
    async def resolve_drift(
        self,
        info: Info,
        instance_id: Annotated[strawberry.ID, strawberry.argument(description="The member.")],
        path: Annotated[
            str,
            strawberry.argument(description="The drifted key, in either spelling."),
        ],
        action: Annotated[DriftAction, strawberry.argument(description="How to settle it.")],
        dry_run: DryRun = False,
        force: Force = False,
    ) -> WriteResult:
        ctx = info.context
        result = await drift.resolve_drift(
            ctx.services, ctx.caller, instance_id, path, action, dry_run=dry_run, force=force
        )
        return WriteResult.from_data(result)

    @audited_mutation(
        description="Send the cluster writes an instance refused (its failed list) again, "
        "after fixing what made it refuse them: they are PENDING until they land. Answers the "
        "instance. Needs EDITOR; NOT_FOUND if there is no such instance."
    )
    async def retry_deliveries(self, info: Info, instance_id: InstanceId) -> InstanceType:
        ctx = info.context
        instance = await writes.retry_refused(ctx.services, ctx.caller, instance_id)
        return InstanceType.from_model(instance)

    @audited_mutation(
        description="Make a subtree of a target what it was before an operation (toOperation: "
        "only the keys it changed go back, so undoing one write reverts just its keys) or at a "
        "moment (at: every key changed since), computed from the history. The writes are one "
        "new operation, made and delivered as any write (locks, fencing, progress, history); "
        "with dryRun only the plan is answered and nothing changes. A key last changed before "
        "history began is known by what its first change since replaced. Needs EDITOR. "
        "Refused with BAD_INPUT (not exactly one of toOperation and at), NOT_FOUND (no such "
        "target, or the operation changed nothing there), INVALID_KEY_NAME, KEY_LOCKED, "
        "INSTANCE_UNREACHABLE."
    )
    async def rollback(
        self,
        info: Info,
        target: Where,
        path_prefix: Annotated[
            str,
            strawberry.argument(
                description="The key whose subtree goes back, in either spelling, with a "
                'namespace (e.g. "user:/app").'
            ),
        ],
        to_operation: Annotated[
            strawberry.ID | None,
            strawberry.argument(
                description="Back to just before this operation (an operationId of the history)."
            ),
        ] = None,
        at: Annotated[
            dt.datetime | None, strawberry.argument(description="Back to this moment.")
        ] = None,
        dry_run: DryRun = False,
        force: Force = False,
    ) -> RollbackResult:
        ctx = info.context
        found = await rollback.rollback(
            ctx.services,
            ctx.caller,
            target.to_target(),
            path_prefix,
            to_operation=str(to_operation) if to_operation is not None else None,
            at=at,
            dry_run=dry_run,
            force=force,
        )
        return RollbackResult.from_data(found)

    @audited_mutation(
        description="Remove one metadata entry of a key. On a cluster: NOT_FOUND if the "
        "cluster does not set the key." + _WRITE
    )
    async def delete_meta(
        self,
        info: Info,
        target: Where,
        path: WritePath,
        key: MetaName,
        dry_run: DryRun = False,
        force: Force = False,
    ) -> WriteResult:
        change = Change(OperationKind.META, path, None, meta_key=key)
        return await _write(info, target, change, dry_run, force)

    #: A subtree from JSON, TOML or INI text, as one write (``schema/transfer.py``).
    import_config = transfer_fields.import_config

    @audited_mutation(
        description="A new API token; its secret is shown only in this answer. Needs ADMIN; "
        "BAD_INPUT for an empty or too long name."
    )
    async def create_token(
        self,
        info: Info,
        input: Annotated[CreateTokenInput, strawberry.argument(description="The token.")],
    ) -> CreatedToken:
        token, secret = await tokens.create_token(
            info.context.caller, input.name, input.role, expires_in=input.expires_in
        )
        return CreatedToken(token=TokenType.from_model(token), secret=secret)

    @audited_mutation(
        description="A new secret for a token: a new token with the same name, role and "
        "expiry (rotatedFrom the old one), its secret shown only in this answer. The old "
        "secret keeps signing in for gracePeriod seconds, then is refused like an expired "
        "token (its open websockets closed within a second). Needs ADMIN; NOT_FOUND if there "
        "is no such token, BAD_INPUT if it is revoked or expired already."
    )
    async def rotate_token(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The token's id.")],
        grace_period: Annotated[
            int,
            strawberry.argument(
                description="Seconds the old secret stays valid, to hand the new one over "
                "(0: refused at once)."
            ),
        ] = 0,
    ) -> RotatedToken:
        token, old, secret = await tokens.rotate_token(
            info.context.services.sessions, info.context.caller, id, grace_period
        )
        return RotatedToken(
            token=TokenType.from_model(token), previous=TokenType.from_model(old), secret=secret
        )

    @audited_mutation(
        description="Revoke a token: refused from the next request on, its open websockets "
        "closed at once (again: nothing changes). Answers the token. Needs ADMIN; NOT_FOUND "
        "if there is none."
    )
    async def revoke_token(
        self,
        info: Info,
        id: Annotated[strawberry.ID, strawberry.argument(description="The token's id.")],
    ) -> TokenType:
        ctx = info.context
        token = await tokens.revoke_token(ctx.services.sessions, ctx.caller, id)
        return TokenType.from_model(token)


class Schema(strawberry.Schema):
    def process_errors(
        self, errors: list[GraphQLError], execution_context: ExecutionContext | None = None
    ) -> None:
        """Every error before it is answered (in place): client errors get
        their code, refusals (ClusterdError) are answers, not faults, and
        bugs are logged and masked as INTERNAL (``schema/errors.py``)."""
        parsed = execution_context is not None and execution_context.graphql_document is not None
        error_codes.process(errors, parsed=parsed)


class Executor(StrawberryGraphQLCoreExecutionContext):
    """Strawberry's executor, without a memory leak of graphql-core 3.3.2.

    Each subscription event runs on a shallow copy of the subscription's
    executor, and the copies share a memo of collected sub-fields whose key
    holds the identity of a list made anew for every event: it grew by one
    entry per event and subscription, for as long as the subscription lived.
    """

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        # Known only once the operation is picked: the metrics count by it.
        if isinstance(self.context_value, Context):
            self.context_value.operation_type = self.operation.operation.value

    def build_per_event_executor(self, payload: Any) -> Any:
        executor = super().build_per_event_executor(payload)
        executor._relevant_sub_fields = {}
        return executor


schema: Any = Schema(
    query=Query,
    mutation=Mutation,
    subscription=Subscription,
    execution_context_class=Executor,
    # One extension: each costs every request its share of strawberry's hooks.
    extensions=[
        # Hostile queries are refused before they run: not Unicode, too deep,
        # too many aliases (one field asked a thousand times), too long; a
        # text parsed and validated before is not again (schema/admission.py).
        Admission,
    ],
)
