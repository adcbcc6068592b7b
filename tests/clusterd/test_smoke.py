from __future__ import annotations

from .conftest import Clusterd

ADD = """mutation($name: String!, $host: String!) {
  addInstance(input: {name: $name, host: $host}) { id name host status elektraVersion }
}"""


def test_add_instance_and_read_a_key(clusterd: Clusterd, elektrads) -> None:
    (daemon,) = elektrads(1)
    url = daemon.url
    added = clusterd.ok(ADD, name="web-01", host=url + "/")["addInstance"]
    assert added["host"] == url
    assert added["status"] == "ONLINE"
    set_result = clusterd.ok(
        """mutation($id: ID!) { setKey(target: {instanceId: $id}, path: "user/app/port", value: "80")
          { operationId results { delivery instance { name } } } }""",
        id=added["id"],
    )["setKey"]
    assert set_result["results"] == [{"delivery": "APPLIED", "instance": {"name": "web-01"}}]
    data = clusterd.ok(
        """query($id: ID!) { instance(id: $id) { key(path: "user:/app/port") { path value exists lockedBy { name } } } }""",
        id=added["id"],
    )
    assert data["instance"]["key"] == {
        "path": "user:/app/port",
        "value": "80",
        "exists": True,
        "lockedBy": None,
    }
