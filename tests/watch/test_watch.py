"""``elektra-web watch`` as a real process against a real clusterd: one JSON
line per change, filters, and the exit status of each way it can end."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from collections.abc import Callable

from ..clusterd.api import add_instance, assign, create_cluster, set_key, target
from ..clusterd.conftest import ADMIN_TOKEN, Clusterd, Elektrad
from .process import WatchProcess


def test_prints_a_json_line_per_change_of_a_cluster_below_a_path(
    clusterd: Clusterd,
    elektrads: Callable[..., list[Elektrad]],
    watches: list[WatchProcess],
) -> None:
    member, outsider = elektrads(2)
    prod = create_cluster(clusterd, "prod")
    member_id = add_instance(clusterd, "member", member.url)
    assign(clusterd, prod, member_id)
    outside = add_instance(clusterd, "outsider", outsider.url)
    watch = WatchProcess(
        ["--url", clusterd.url, "--cluster", "prod", "--path", "user:/app"], token=ADMIN_TOKEN
    )
    watches.append(watch)
    watch.wait_until_live(
        lambda n: set_key(clusterd, target(cluster=prod), "user:/app/probe", str(n))
    )

    set_key(clusterd, target(instance=outside), "user:/app/port", "1")  # not a member
    set_key(clusterd, target(cluster=prod), "user:/other", "2")  # not below user:/app
    written = set_key(clusterd, target(cluster=prod), "user:/app/port", "8080")
    operation = written["data"]["setKey"]["operationId"]

    changes = [watch.change(), watch.change()]
    watch.no_change(within=0.5)
    for change in changes:
        assert isinstance(change.pop("at"), str)
    own, of_member = sorted(changes, key=lambda c: c["instance"] is not None)
    common = {
        "operationId": operation,
        "op": "SET",
        "path": "user:/app/port",
        "value": "8080",
        "previous": None,
        "meta": None,
        "origin": "clusterd",
        "cluster": {"id": prod, "name": "prod"},
    }
    assert own == {**common, "instance": None}
    assert of_member == {**common, "instance": {"id": member_id, "name": "member"}}
    assert watch.stop(signal.SIGTERM) == 0
    assert "Traceback" not in watch.stderr


def test_an_instance_filter_and_ctrl_c(
    clusterd: Clusterd,
    elektrads: Callable[..., list[Elektrad]],
    watches: list[WatchProcess],
) -> None:
    web, db = elektrads(2)
    web_id = add_instance(clusterd, "web", web.url)
    db_id = add_instance(clusterd, "db", db.url)
    watch = WatchProcess(["--url", clusterd.url, "--instance", "web"], token=ADMIN_TOKEN)
    watches.append(watch)
    watch.wait_until_live(
        lambda n: set_key(clusterd, target(instance=web_id), "user:/probe", str(n))
    )

    set_key(clusterd, target(instance=db_id), "user:/mode", "other")
    set_key(clusterd, target(instance=web_id), "user:/mode", "fast")
    change = watch.change()
    assert (change["instance"], change["path"], change["value"]) == (
        {"id": web_id, "name": "web"},
        "user:/mode",
        "fast",
    )
    assert change["cluster"] is None
    assert watch.stop(signal.SIGINT) == 0
    assert "Traceback" not in watch.stderr and "KeyboardInterrupt" not in watch.stderr


def run_watch(*args: str, token: str = ADMIN_TOKEN) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "elektra_web", "watch", *args],
        env={**os.environ, "ELEKTRA_WEB_TOKEN": token},
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_an_unknown_cluster_or_instance_is_exit_2(clusterd: Clusterd) -> None:
    create_cluster(clusterd, "staging")
    cluster = run_watch("--url", clusterd.url, "--cluster", "prod")
    assert (cluster.returncode, cluster.stdout) == (2, "")
    assert cluster.stderr == "elektra-web watch: no cluster named 'prod'\n"
    instance = run_watch("--url", clusterd.url, "--instance", "staging")
    assert instance.returncode == 2
    assert "no instance named 'staging'" in instance.stderr


def test_an_invalid_path_is_exit_2_with_the_servers_message(clusterd: Clusterd) -> None:
    done = run_watch("--url", clusterd.url, "--path", "app/port")
    assert (done.returncode, done.stdout) == (2, "")
    last = done.stderr.splitlines()[-1]
    assert last.startswith("elektra-web watch: --path: invalid key name 'app/port'"), done.stderr
    assert "Traceback" not in done.stderr


def test_usage_errors_are_exit_2() -> None:
    both = run_watch("--cluster", "a", "--instance", "b")
    assert both.returncode == 2 and "not allowed with" in both.stderr
    bad_url = run_watch("--url", "ftp://example.org")
    assert bad_url.returncode == 2 and "--url" in bad_url.stderr
    missing = run_watch("--token-file", "/nonexistent/token")
    assert missing.returncode == 2 and "cannot read --token-file" in missing.stderr


def test_a_token_clusterd_refuses_is_exit_3(clusterd: Clusterd) -> None:
    create_cluster(clusterd, "prod")
    refused = run_watch("--url", clusterd.url, "--cluster", "prod", token="not-a-token")
    assert refused.returncode == 3, refused.stderr
    assert "bad credentials" in refused.stderr and "not a valid token" in refused.stderr
