"""The types of a dry run (``resolvers/preview.py``): what a write would do on
each instance it reaches, and the ``dryRun`` and ``force`` arguments every
write of configuration takes."""

from __future__ import annotations

from typing import Annotated

import strawberry

from ..formats import Entry
from ..resolvers.preview import KeyPlan, MemberPlanData, PlanOutcome, PlanReason
from .config_key import MetaEntry
from .enums import _register
from .instance import InstanceType

__all__ = ["DryRun", "Force", "KeyContent", "MemberPlan", "PlannedKeyChange"]

_register(
    PlanOutcome,
    "PlanOutcome",
    "What a write would do on one instance (a dry run).",
    {
        "APPLY": "It would take the write: changes says how its keys would change.",
        "UNCHANGED": "It holds what the write sets already: nothing would change there.",
        "REFUSE": "It would refuse the write (a cluster's delivery to it would FAIL): reason "
        "and error say why.",
        "WAIT": "It does not answer now: a cluster's delivery would wait for it (PENDING) and "
        "be checked when it is sent.",
    },
)
_register(
    PlanReason,
    "PlanReason",
    "Why an instance would refuse a write, or wait for it.",
    {
        "LOCKED": "The key is set by a cluster (rule 3): change it there.",
        "VALIDATION": "The value breaks the key's check/* metadata there (its own, or its "
        "spec:/ key's), or a check/* entry is malformed.",
        "BROKEN_MOUNT": "The key is in a mounted file that does not parse (its content is "
        "unknown until the file is fixed).",
        "OFFLINE": "It did not answer clusterd lately.",
        "NOT_FOUND": "The key the write changes does not exist there (metadata of a missing "
        "key; a move or copy of nothing).",
        "OTHER": "Another refusal: error says which.",
    },
)


@strawberry.type(name="KeyContent", description="A key's value and metadata, as planned.")
class KeyContent:
    value: str | None = strawberry.field(description="Its value; null: a key without one.")
    meta: list[MetaEntry] = strawberry.field(description="Its metadata, by name.")

    @classmethod
    def from_entry(cls, entry: Entry | None) -> KeyContent | None:
        if entry is None:
            return None
        meta = [MetaEntry(key=k, value=v) for k, v in sorted(entry.meta.items())]
        return cls(value=entry.value, meta=meta)


@strawberry.type(
    name="PlannedKeyChange", description="One key that a write (a dry run: would) change."
)
class PlannedKeyChange:
    path: str = strawberry.field(description='Its canonical full name, e.g. "user:/app/port".')
    before: KeyContent | None = strawberry.field(
        description="As it is now; null: the write creates it."
    )
    after: KeyContent | None = strawberry.field(
        description="As the write leaves it; null: the write deletes it and everything below it."
    )

    @classmethod
    def from_data(cls, plan: KeyPlan) -> PlannedKeyChange:
        return cls(
            path=plan.path,
            before=KeyContent.from_entry(plan.before),
            after=KeyContent.from_entry(plan.after),
        )


@strawberry.type(
    name="MemberPlan",
    description="What a write would do on one instance it reaches (a dry run): its keys "
    "read live and the write played on them, as its elektrad would play it.",
)
class MemberPlan:
    instance: InstanceType = strawberry.field(description="The instance.")
    outcome: PlanOutcome = strawberry.field(description="Whether it would take the write.")
    changes: list[PlannedKeyChange] = strawberry.field(
        description="Its keys the write would change, before → after: deletions first, then "
        "by name (for REFUSE: what the rest of the write would still change; empty for WAIT)."
    )
    reason: PlanReason | None = strawberry.field(description="REFUSE and WAIT: why; else null.")
    error: str | None = strawberry.field(
        description="REFUSE: the refusal as the instance would word it; WAIT: why it waits; "
        "else null."
    )

    @classmethod
    def from_data(cls, data: MemberPlanData) -> MemberPlan:
        return cls(
            instance=InstanceType.from_model(data.instance),
            outcome=data.outcome,
            changes=[PlannedKeyChange.from_data(c) for c in data.changes],
            reason=data.reason,
            error=data.error,
        )


#: The dryRun argument of every write of configuration.
DryRun = Annotated[
    bool,
    strawberry.argument(
        description="Change nothing: answer what the write would do on each instance it "
        "reaches (plan), and who would refuse it, and why."
    ),
]
#: The force argument of every write of configuration.
Force = Annotated[
    bool,
    strawberry.argument(
        description="A cluster write is checked against every online member's check/* "
        "validation first, and refused (VALIDATION_FAILED, extensions.members naming them) "
        "when some would refuse it, before anything is stored; force: true writes it anyway "
        "(those members' deliveries FAIL) and skips the check. Ignored for an instance."
    ),
]
