"""Compare and the fleet matrix: keys of two targets, or of a cluster's
members, side by side (the logic is in ``resolvers/compare.py``)."""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Annotated

import strawberry

from ..resolvers.compare import (
    FleetMatrixData,
    KeyDifferenceData,
    KeyState,
    MatrixCellData,
    MatrixMemberData,
    MatrixRowData,
)
from .config_key import MetaEntry

if TYPE_CHECKING:
    from .cluster import ClusterType
    from .instance import InstanceType

#: The ``pathPrefix`` argument of compare and matrix.
PathPrefix = Annotated[
    str,
    strawberry.argument(
        description='The subtree, with its namespace, in either spelling: "user:/app" or '
        '"user/app". Keys are named relative to it.'
    ),
]

#: The ``leftAt``/``rightAt`` arguments of compare.
CompareAt = Annotated[
    dt.datetime | None,
    strawberry.argument(
        description="That side as it was at this moment, from its history (time-travel): a "
        "key last changed before history began, or before its entries were pruned, is not "
        "known then (it reads as missing). Null: as it is now."
    ),
]


@strawberry.type(
    name="ComparedKey",
    description="A key as one side holds it (of a compare or of a fleet matrix).",
)
class ComparedKey:
    path: str = strawberry.field(description='Its canonical full name, e.g. "user:/app/port".')
    value: str | None = strawberry.field(description="Its value; null when it has none.")
    meta: list[MetaEntry] = strawberry.field(description="Its metadata, by name.")

    @classmethod
    def from_data(cls, state: KeyState | None) -> ComparedKey | None:
        if state is None:
            return None
        return cls(
            path=state.path,
            value=state.value,
            meta=[MetaEntry(key=k, value=v) for k, v in sorted(state.meta.items())],
        )


@strawberry.type(
    name="KeyDifference",
    description="A key that differs between the two sides of a compare: its value, its "
    "metadata, or one side does not have it (that side is null).",
)
class KeyDifference:
    name: str = strawberry.field(
        description='Its name relative to pathPrefix, escaped as in key names: "port", '
        '"db/name"; "" is the pathPrefix key itself.'
    )
    left: ComparedKey | None = strawberry.field(
        description="The left side's key; null if the left side does not have it."
    )
    right: ComparedKey | None = strawberry.field(
        description="The right side's key; null if the right side does not have it."
    )
    value_differs: bool = strawberry.field(
        description="Both sides have the key, with different values."
    )
    meta_differs: list[str] = strawberry.field(
        description="Names of the metadata entries that differ (another value, or on one side "
        "only) where both sides have the key; empty if none or a side is missing."
    )

    @classmethod
    def from_data(cls, data: KeyDifferenceData) -> KeyDifference:
        return cls(
            name=data.name,
            left=ComparedKey.from_data(data.left),
            right=ComparedKey.from_data(data.right),
            value_differs=data.value_differs,
            meta_differs=data.meta_differs,
        )


@strawberry.type(
    name="MatrixMember",
    description="A column of a fleet matrix: one member of the cluster (or of a cluster nested "
    "in it).",
)
class MatrixMember:
    data: strawberry.Private[MatrixMemberData]
    error: str | None = strawberry.field(
        description="Why its values are unknown (null in each row's cells): it could not be "
        'read ("web-1 is unreachable: ..."), or a mounted file below pathPrefix does not '
        "parse (its keys only). Null when all was read."
    )

    @strawberry.field(description="The member; its cluster says which nested cluster it is in.")
    def instance(self) -> Annotated[InstanceType, strawberry.lazy(".instance")]:
        from .instance import InstanceType

        return InstanceType.from_model(self.data.instance)

    @classmethod
    def from_data(cls, data: MatrixMemberData) -> MatrixMember:
        return cls(data=data, error=data.error)


@strawberry.type(name="MatrixCell", description="One member's version of one key.")
class MatrixCell:
    key: ComparedKey | None = strawberry.field(
        description="The member's key; null if the member does not have it."
    )
    differs: bool = strawberry.field(
        description="It is not the row's reference: the cluster's own key where the cluster "
        "sets it (value and metadata; a member missing it differs too), else the version most "
        "members read hold (of equally many, the first member's by name)."
    )

    @classmethod
    def from_data(cls, data: MatrixCellData | None) -> MatrixCell | None:
        if data is None:
            return None
        return cls(key=ComparedKey.from_data(data.state), differs=data.differs)


@strawberry.type(name="MatrixRow", description="A row of a fleet matrix: one key.")
class MatrixRow:
    name: str = strawberry.field(
        description='Its name relative to pathPrefix ("" is the pathPrefix key itself).'
    )
    path: str = strawberry.field(description="Its canonical full name.")
    own: ComparedKey | None = strawberry.field(
        description="The cluster's own key (from clusterd's database); null if the cluster "
        "does not set it."
    )
    cells: list[MatrixCell | None] = strawberry.field(
        description="One per member, in the order of FleetMatrix.members; null where the "
        "member's value is unknown (see MatrixMember.error)."
    )
    differs: bool = strawberry.field(
        description="The members read do not all hold the same (existence, value, metadata)."
    )
    differs_from_cluster: bool = strawberry.field(
        description="The cluster sets the key and a member read holds something else."
    )

    @classmethod
    def from_data(cls, data: MatrixRowData) -> MatrixRow:
        return cls(
            name=data.name,
            path=data.path,
            own=ComparedKey.from_data(data.own),
            cells=[MatrixCell.from_data(c) for c in data.cells],
            differs=data.differs,
            differs_from_cluster=data.differs_from_cluster,
        )


@strawberry.type(
    name="FleetMatrix",
    description="A cluster's members' (nested clusters' too) keys below a path, side by side "
    "with the cluster's own, the differences marked. At most 10,000 keys and 200,000 member "
    "values (else BAD_INPUT: ask for a narrower pathPrefix).",
)
class FleetMatrix:
    data: strawberry.Private[FleetMatrixData]
    path_prefix: str = strawberry.field(description="The pathPrefix asked, canonical.")
    members: list[MatrixMember] = strawberry.field(description="The columns: members, by name.")
    rows: list[MatrixRow] = strawberry.field(
        description="The keys the cluster or a member read has at or below pathPrefix (to 63 "
        "levels), in key-name order."
    )

    @strawberry.field(description="The cluster.")
    def cluster(self) -> Annotated[ClusterType, strawberry.lazy(".cluster")]:
        from .cluster import ClusterType

        return ClusterType.from_model(self.data.cluster)

    @classmethod
    def from_data(cls, data: FleetMatrixData) -> FleetMatrix:
        return cls(
            data=data,
            path_prefix=data.path_prefix,
            members=[MatrixMember.from_data(m) for m in data.members],
            rows=[MatrixRow.from_data(r) for r in data.rows],
        )
