"""The history of configuration: its entries, pages and operations."""

from __future__ import annotations

import datetime as dt

import strawberry

from .. import models
from ..resolvers.history import HistoryPageData
from .enums import OperationKind

__all__ = ["HistoryEntryType", "HistoryOperation", "HistoryPage"]


@strawberry.type(
    name="HistoryEntry",
    description="One change of one key: of an instance's config (made through clusterd, or on "
    "the machine and read from its elektrad's change feed) or of a cluster's own config. A "
    "cluster write is one entry for the cluster and one per member, as each member's copy "
    "changes.",
)
class HistoryEntryType:
    id: strawberry.ID = strawberry.field(
        description="Grows with each entry: pass the last one seen as history's before."
    )
    at: dt.datetime = strawberry.field(description="When clusterd learned of the change.")
    actor: str = strawberry.field(
        description='Who made it: a token\'s name and id, e.g. "alice (token 2)" (as Me.name), '
        "\"clusterd\" for clusterd's own work (a new member receiving its cluster's keys), or "
        '"on the machine" for a change made outside clusterd.'
    )
    origin: str = strawberry.field(
        description='"clusterd" (made through clusterd) or "instance" (made on the machine).'
    )
    operation_id: strawberry.ID | None = strawberry.field(
        description="The write that made it (WriteResult.operationId): the entries of one "
        "write share it. Null for a change made on the machine."
    )
    op: OperationKind = strawberry.field(
        description="SET, DELETE or META (a move or copy is recorded as one change per key)."
    )
    path: str = strawberry.field(description="The key's canonical name.")
    value: str | None = strawberry.field(
        description="SET: the new value; META: the entry's new value (null: removed); DELETE: null."
    )
    previous: str | None = strawberry.field(
        description="The value (META: the entry's value) before the change; null if there was "
        "none or it is not known."
    )
    meta: str | None = strawberry.field(description="For META: the metadata entry's name.")
    instance_id: strawberry.ID | None = strawberry.field(
        description="The instance whose config changed; null for a cluster's own config."
    )
    cluster_id: strawberry.ID | None = strawberry.field(
        description="The cluster whose own config changed; null for an instance's config."
    )

    @classmethod
    def from_model(cls, model: models.HistoryEntry) -> HistoryEntryType:
        return cls(
            id=strawberry.ID(str(model.id)),
            at=model.at,
            actor=model.actor,
            origin=model.origin,
            operation_id=strawberry.ID(model.operation_id) if model.operation_id else None,
            op=models.OperationKind(model.op),
            path=model.path,
            value=model.value,
            previous=model.previous,
            meta=model.meta_key,
            instance_id=_id(model.instance_id),
            cluster_id=_id(model.cluster_id),
        )


def _id(value: int | None) -> strawberry.ID | None:
    return strawberry.ID(str(value)) if value is not None else None


@strawberry.type(
    description="The entries of one write (or one change on the machine) in a page, newest first."
)
class HistoryOperation:
    operation_id: strawberry.ID | None = strawberry.field(
        description="The write's id; null for a change made on the machine (a group of one)."
    )
    at: dt.datetime = strawberry.field(description="When its newest entry was recorded.")
    actor: str = strawberry.field(description="Who made it, as HistoryEntry.actor.")
    entries: list[HistoryEntryType] = strawberry.field(
        description="Its entries in this page, newest first (a write's entries may go on in "
        "the next page)."
    )


@strawberry.type(description="A page of history, newest first.")
class HistoryPage:
    entries: list[HistoryEntryType] = strawberry.field(description="The entries, newest first.")
    has_more: bool = strawberry.field(
        description="Whether older entries follow: ask again with before the last entry's id."
    )

    @strawberry.field(
        description="The same entries grouped by operation: neighbouring entries with one "
        "operationId are one group."
    )
    def operations(self) -> list[HistoryOperation]:
        groups: list[HistoryOperation] = []
        for entry in self.entries:
            last = groups[-1] if groups else None
            if last is not None and entry.operation_id and last.operation_id == entry.operation_id:
                last.entries.append(entry)
            else:
                groups.append(
                    HistoryOperation(
                        operation_id=entry.operation_id,
                        at=entry.at,
                        actor=entry.actor,
                        entries=[entry],
                    )
                )
        return groups

    @classmethod
    def from_data(cls, data: HistoryPageData) -> HistoryPage:
        return cls(
            entries=[HistoryEntryType.from_model(e) for e in data.entries], has_more=data.has_more
        )
