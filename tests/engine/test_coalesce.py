"""What the sender never sends: deliveries a later one in the same queue replaces."""

from __future__ import annotations

import datetime as dt
import itertools
import uuid

from elektra_web.engine.sender import coalesce
from elektra_web.models import Delivery, OperationKind

_ids = itertools.count(1)


def delivery(
    kind: OperationKind, path: str, value: str | None = None, meta: str | None = None
) -> Delivery:
    return Delivery(
        id=next(_ids),
        operation_id=str(uuid.uuid4()),
        instance_id=1,
        kind=kind,
        path=path,
        value=value,
        meta_key=meta,
        next_attempt_at=dt.datetime.now(dt.UTC),
    )


SET, DELETE, META = OperationKind.SET, OperationKind.DELETE, OperationKind.META


def test_a_value_set_again_is_sent_once_with_the_last_value() -> None:
    queue = [delivery(SET, "user:/a", str(n)) for n in range(30)]
    keep, dropped = coalesce(queue)
    assert [d.value for d in keep] == ["29"]
    assert len(dropped) == 29


def test_other_keys_and_the_order_are_kept() -> None:
    a1, b, a2 = (
        delivery(SET, "user:/a", "1"),
        delivery(SET, "user:/b", "2"),
        delivery(SET, "user:/a", "3"),
    )
    keep, dropped = coalesce([a1, b, a2])
    assert keep == [b, a2]
    assert dropped == [a1]


def test_a_delete_replaces_earlier_sets_and_metadata_of_its_key_but_is_itself_kept() -> None:
    set_a, meta_a, delete_a = (
        delivery(SET, "user:/a", "1"),
        delivery(META, "user:/a", "x", "m"),
        delivery(DELETE, "user:/a"),
    )
    set_again = delivery(SET, "user:/a", "2")
    keep, dropped = coalesce([set_a, meta_a, delete_a, set_again])
    assert keep == [delete_a, set_again]  # the delete also removes what the member has below
    assert set(map(id, dropped)) == {id(set_a), id(meta_a)}


def test_metadata_is_replaced_per_entry_not_by_a_value() -> None:
    set_a, meta_m, meta_n, set_a2 = (
        delivery(SET, "user:/a", "1"),
        delivery(META, "user:/a", "long", "check/type"),
        delivery(META, "user:/a", "x", "description"),
        delivery(SET, "user:/a", "2"),
    )
    meta_m2 = delivery(META, "user:/a", "short", "check/type")
    keep, dropped = coalesce([set_a, meta_m, meta_n, set_a2, meta_m2])
    assert keep == [meta_n, set_a2, meta_m2]
    assert set(map(id, dropped)) == {id(set_a), id(meta_m)}


def test_an_empty_queue() -> None:
    assert coalesce([]) == ([], [])
