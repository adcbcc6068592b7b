"""Small helpers over clusterd's GraphQL API, so tests read as the steps a
user takes."""

from __future__ import annotations

from typing import Any

from .conftest import Clusterd

RESULT = "{ operationId results { delivery error instance { name } } }"


def add_instance(clusterd: Clusterd, name: str, host: str, *, allow_offline: bool = False) -> str:
    """Register ``host`` as ``name``; with ``allow_offline``, also where
    nothing answers (else that is refused)."""
    data = clusterd.ok(
        "mutation($name: String!, $host: String!, $offline: Boolean!) "
        "{ addInstance(input: {name: $name, host: $host, allowOffline: $offline}) { id } }",
        name=name,
        host=host,
        offline=allow_offline,
    )
    instance_id: str = data["addInstance"]["id"]
    return instance_id


def create_cluster(clusterd: Clusterd, name: str, parent: str | None = None) -> str:
    data = clusterd.ok(
        "mutation($name: String!, $parent: ID) "
        "{ createCluster(input: {name: $name, parentId: $parent}) { id } }",
        name=name,
        parent=parent,
    )
    cluster_id: str = data["createCluster"]["id"]
    return cluster_id


def assign(clusterd: Clusterd, cluster: str, instance: str) -> dict[str, Any]:
    return clusterd.query(
        "mutation($c: ID!, $i: ID!) { assignInstance(clusterId: $c, instanceId: $i) "
        "{ id cluster { name } } }",
        c=cluster,
        i=instance,
    )


def target(*, instance: str | None = None, cluster: str | None = None) -> dict[str, str]:
    return {"instanceId": instance} if instance is not None else {"clusterId": str(cluster)}


def set_key(
    clusterd: Clusterd, where: dict[str, str], path: str, value: str, *, force: bool = False
) -> dict[str, Any]:
    """``force``: past members whose check/* validation refuses the value
    (their deliveries FAIL) instead of refused up front."""
    return clusterd.query(
        "mutation($t: Target!, $p: String!, $v: String!, $f: Boolean!) "
        f"{{ setKey(target: $t, path: $p, value: $v, force: $f) {RESULT} }}",
        t=where,
        p=path,
        v=value,
        f=force,
    )


def results(response: dict[str, Any], field: str = "setKey") -> dict[str, str]:
    """``{instance name: delivery}`` of a write's response."""
    assert not response.get("errors"), response["errors"]
    return {r["instance"]["name"]: r["delivery"] for r in response["data"][field]["results"]}


def error_code(response: dict[str, Any]) -> str:
    assert response.get("errors"), response
    code: str = response["errors"][0]["extensions"]["code"]
    return code


def cluster_config(clusterd: Clusterd, root: str = "user:/") -> dict[str, dict[str, str | None]]:
    """What each instance in a cluster should hold below ``root``: the keys
    its cluster and the cluster's ancestors set, ``{instance: {path: value}}``."""
    data = clusterd.ok(
        "query($root: String!) { instances { name cluster { name } } "
        "clusters { name parent { name } keys(path: $root, depth: 20) { path value exists } } }",
        root=root,
    )
    clusters = {c["name"]: c for c in data["clusters"]}
    wanted: dict[str, dict[str, str | None]] = {}
    for instance in data["instances"]:
        if instance["cluster"] is None:
            continue
        keys: dict[str, str | None] = {}
        cluster = clusters[instance["cluster"]["name"]]
        while True:
            keys.update({k["path"]: k["value"] for k in cluster["keys"] if k["exists"]})
            if cluster["parent"] is None:
                break
            cluster = clusters[cluster["parent"]["name"]]
        wanted[instance["name"]] = keys
    return wanted
