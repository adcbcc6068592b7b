"""A listing of instances loads only the columns the API uses
(``resolvers.instances.API_COLUMNS``): every field answers in it as it does
for one instance, which is loaded in full."""

from __future__ import annotations

from collections.abc import Callable

from .api import add_instance, assign, create_cluster, set_key, target
from .conftest import Clusterd, Elektrad

FIELDS = (
    "id name host description visibility status lastSeen elektraVersion hasToken "
    "cluster { id name } "
    'key(path: "user:/app/a") { path value } '
    'keys(path: "user:/app", depth: 1) { path value } '
    'find(query: "user:/app") '
    "drift { path } pending { path } failed { path }"
)


def test_every_field_of_a_listed_instance_answers_as_for_one_instance(
    clusterd: Clusterd, elektrads: Callable[[int], list[Elektrad]]
) -> None:
    daemon, other = elektrads(2)
    instance = add_instance(clusterd, "web", daemon.url)
    add_instance(clusterd, "db", other.url)
    assign(clusterd, create_cluster(clusterd, "prod"), instance)
    set_key(clusterd, target(instance=instance), "user:/app/a", "1")
    listed = clusterd.ok(f"{{ instances {{ {FIELDS} }} }}")["instances"]
    alone = clusterd.ok(f"query($i: ID!) {{ instance(id: $i) {{ {FIELDS} }} }}", i=instance)
    (web,) = [i for i in listed if i["id"] == instance]
    # A health check between the two reads may move lastSeen on: compared apart.
    seen, seen_alone = web.pop("lastSeen"), alone["instance"].pop("lastSeen")
    assert seen and seen_alone and seen <= seen_alone
    assert web == alone["instance"]
    assert web["cluster"]["name"] == "prod" and web["key"]["value"] == "1"
    assert web["status"] == "ONLINE"
