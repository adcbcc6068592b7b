"""``elektra-web backup`` and ``restore`` of clusterd's database: a snapshot
taken while clusterd runs comes back whole, on either database, and a
restored clusterd goes on where the original was (its writes pass the
members' fences, its pending writes are delivered)."""

from __future__ import annotations

import json
import sqlite3
import threading
from collections import Counter
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from elektra_web.clusterd.app import ClusterdConfig

from ..support.backups import backup_rows, elektra_web, start_elektra_web
from ..support.waiting import wait_until
from .api import add_instance, assign, cluster_config, create_cluster, results, set_key, target
from .conftest import AUTH, TEST_SETTINGS, Clusterd, Elektrad, serve_clusterd

MIGRATIONS = Path(__file__).resolve().parents[2] / "elektra_web" / "models" / "migrations"


@contextmanager
def running(database: str) -> Iterator[Clusterd]:
    """clusterd on ``database`` (in a thread of this process) until the block ends."""
    config = ClusterdConfig(database_url=database, settings=TEST_SETTINGS)
    with (
        serve_clusterd(config) as url,
        httpx.Client(base_url=url, timeout=30, headers=AUTH) as http,
    ):
        yield Clusterd(url, http)


def sqlite_url(path: Path) -> str:
    return f"sqlite://{path}"


@pytest.fixture(
    params=["sqlite-to-sqlite", "sqlite-to-postgres", "postgres-to-sqlite", "postgres-to-postgres"]
)
def source_and_target(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[str, str]:
    """The database a backup is taken of and the empty one it is restored into."""
    kinds = request.param.split("-to-")

    def url(kind: str, name: str) -> str:
        if kind == "postgres":
            fixture = "postgres_url" if name == "source" else "second_postgres_url"
            postgres: str = request.getfixturevalue(fixture)
            return postgres
        return sqlite_url(tmp_path / f"{name}.sqlite3")

    return url(kinds[0], "source"), url(kinds[1], "target")


def assert_members_equal_their_clusters(clusterd: Clusterd, daemons: dict[str, Elektrad]) -> None:
    for name, keys in cluster_config(clusterd).items():
        assert {path: daemons[name].value(path) for path in keys} == keys, name


def no_pending(clusterd: Clusterd) -> bool:
    instances = clusterd.ok("{ instances { pending { path } } }")["instances"]
    return not any(i["pending"] for i in instances)


def test_a_restored_backup_has_the_instances_clusters_keys_tokens_and_pending_writes(
    source_and_target: tuple[str, str],
    elektrads: Callable[..., list[Elektrad]],
    tmp_path: Path,
) -> None:
    source, restored_into = source_and_target
    web_daemon, db_daemon = elektrads(2)
    file = tmp_path / "clusterd.backup"
    with running(source) as clusterd:
        prod = create_cluster(clusterd, "prod")
        europe = create_cluster(clusterd, "europe", parent=prod)
        assign(clusterd, europe, add_instance(clusterd, "web", web_daemon.url))
        assign(clusterd, prod, add_instance(clusterd, "db", db_daemon.url))
        assert results(set_key(clusterd, target(cluster=prod), "user:/app/port", "8080")) == {
            "db": "APPLIED",
            "web": "APPLIED",
        }
        created = clusterd.ok(
            'mutation { createToken(input: {name: "deploy", role: EDITOR}) { secret } }'
        )
        editor = created["createToken"]["secret"]
        db_daemon.stop()
        assert results(set_key(clusterd, target(cluster=europe), "user:/app/mode", "blue")) == {
            "web": "APPLIED"
        }
        assert results(set_key(clusterd, target(cluster=prod), "user:/app/tier", "gold")) == {
            "db": "PENDING",
            "web": "APPLIED",
        }
        elektra_web("backup", "--database", source, str(file))  # while clusterd runs
    assert file.stat().st_mode & 0o777 == 0o600  # it holds secrets

    elektra_web("restore", str(file), "--database", restored_into)
    with running(restored_into) as restored:
        data = restored.ok(
            "{ instances { name host cluster { name } pending { path value } } "
            "clusters { name parent { name } } }"
        )
        assert {(i["name"], i["host"], i["cluster"]["name"]) for i in data["instances"]} == {
            ("web", web_daemon.url, "europe"),
            ("db", db_daemon.url, "prod"),
        }
        assert {i["name"]: i["pending"] for i in data["instances"]} == {
            "web": [],
            "db": [{"path": "user:/app/tier", "value": "gold"}],
        }
        assert {(c["name"], c["parent"] and c["parent"]["name"]) for c in data["clusters"]} == {
            ("prod", None),
            ("europe", "prod"),
        }
        assert cluster_config(restored) == {
            "web": {"user:/app/port": "8080", "user:/app/tier": "gold", "user:/app/mode": "blue"},
            "db": {"user:/app/port": "8080", "user:/app/tier": "gold"},
        }
        assert restored.as_(editor).ok("{ me { role } }") == {"me": {"role": "EDITOR"}}

        db_daemon.start()  # the member that was offline comes back
        wait_until(lambda: no_pending(restored), what="the restored pending write was delivered")
        assert_members_equal_their_clusters(restored, {"web": web_daemon, "db": db_daemon})


def test_writes_after_a_restore_pass_the_fences_of_writes_made_after_the_backup(
    elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    (member,) = elektrads(1)
    source, restored_into = sqlite_url(tmp_path / "a.sqlite3"), sqlite_url(tmp_path / "b.sqlite3")
    file = tmp_path / "clusterd.backup"
    with running(source) as clusterd:
        prod = create_cluster(clusterd, "prod")
        assign(clusterd, prod, add_instance(clusterd, "web", member.url))
        assert results(set_key(clusterd, target(cluster=prod), "user:/port", "1")) == {
            "web": "APPLIED"
        }
        elektra_web("backup", "--database", source, str(file))
        # The member now holds a revision the backup has not seen.
        assert results(set_key(clusterd, target(cluster=prod), "user:/port", "2")) == {
            "web": "APPLIED"
        }
    header, _ = backup_rows(file)

    elektra_web("restore", str(file), "--database", restored_into)
    with running(restored_into) as restored:
        # The restored counter is behind the member's fence: only a new
        # source lets this write through (else it would be SUPERSEDED).
        assert results(set_key(restored, target(cluster=prod), "user:/port", "3")) == {
            "web": "APPLIED"
        }
        assert member.value("user:/port") == "3"
        assert_members_equal_their_clusters(restored, {"web": member})
    with sqlite3.connect(tmp_path / "b.sqlite3") as db:
        source_now, revision = db.execute("SELECT source, value FROM revision").fetchone()
    assert source_now != header["fence"]["source"]
    assert revision > header["fence"]["revision"]  # the counter went on from the backup's


def test_a_backup_taken_while_writes_run_is_one_consistent_moment(
    database_url: str, elektrads: Callable[..., list[Elektrad]], tmp_path: Path
) -> None:
    daemons = elektrads(2)
    files = [tmp_path / f"backup-{n}" for n in range(3)]
    with running(database_url) as clusterd:
        prod = create_cluster(clusterd, "prod")
        for n, daemon in enumerate(daemons):
            assign(clusterd, prod, add_instance(clusterd, f"m{n}", daemon.url))
        stop = threading.Event()
        written: list[int] = []

        def write() -> None:
            with httpx.Client(base_url=clusterd.url, timeout=30, headers=AUTH) as http:
                writer = Clusterd(clusterd.url, http)
                while not stop.is_set():
                    n = len(written)
                    set_key(writer, target(cluster=prod), f"user:/load/k{n % 7}", str(n))
                    written.append(n)

        thread = threading.Thread(target=write)
        thread.start()
        try:
            wait_until(lambda: len(written) >= 3, what="writes are running")
            for file in files:
                elektra_web("backup", "--database", database_url, str(file))
            writes_during = len(written)
        finally:
            stop.set()
            thread.join(60)
        assert writes_during > 3
    for file in files:
        _, rows = backup_rows(file)
        operations = {o["id"]: o for o in rows["operation"]}
        per_operation = Counter(d["operation_id"] for d in rows["delivery"])
        # Every delivery's operation is there, with all its deliveries (one
        # per member), and the counter has every revision handed out.
        assert set(per_operation) <= set(operations)
        assert all(per_operation[o] == 2 for o in operations if operations[o]["revision"])
        (counter,) = rows["revision"]
        assert counter["value"] >= max(o["revision"] or 0 for o in operations.values())
        for key in rows["cluster_key"]:
            assert key["revision"] == max(
                o["revision"] for o in operations.values() if o["path"] == key["path"]
            )
    # Foreign keys hold on restore (SQLite checks them as they go in).
    elektra_web("restore", str(files[-1]), "--database", sqlite_url(tmp_path / "r.sqlite3"))


def test_restore_refuses_a_database_that_is_not_empty(tmp_path: Path) -> None:
    source, restored_into = sqlite_url(tmp_path / "a.sqlite3"), sqlite_url(tmp_path / "b.sqlite3")
    elektra_web("token", "--database", source, "create", "--role", "admin", "--create-database")
    elektra_web("backup", "--database", source, str(tmp_path / "backup"))
    elektra_web("restore", str(tmp_path / "backup"), "--database", restored_into)
    again = elektra_web(
        "restore", str(tmp_path / "backup"), "--database", restored_into, check=False
    )
    assert again.returncode == 1
    assert "the database is not empty (rows in audit_entry, token" in again.stderr
    with sqlite3.connect(tmp_path / "b.sqlite3") as db:
        assert db.execute("SELECT count(*) FROM token").fetchone() == (1,)


def test_restore_refuses_a_backup_cut_short_and_changes_nothing(tmp_path: Path) -> None:
    source, restored_into = sqlite_url(tmp_path / "a.sqlite3"), sqlite_url(tmp_path / "b.sqlite3")
    elektra_web("token", "--database", source, "create", "--role", "admin", "--create-database")
    elektra_web("backup", "--database", source, str(tmp_path / "backup"))
    lines = (tmp_path / "backup").read_text().splitlines(keepends=True)
    (tmp_path / "cut").write_text("".join(lines[:-1]))  # no trailer
    cut = elektra_web("restore", str(tmp_path / "cut"), "--database", restored_into, check=False)
    assert cut.returncode == 1
    assert "ends before its trailer: the backup is incomplete" in cut.stderr
    # The rows it read were rolled back: the database is still empty.
    elektra_web("restore", str(tmp_path / "backup"), "--database", restored_into)


def many_audit_entries(database: Path, count: int) -> None:
    """A clusterd database with ``count`` audit entries: a backup of it takes
    a while, long enough to be killed half-way."""
    elektra_web(
        "token",
        "--database",
        sqlite_url(database),
        "create",
        "--role",
        "admin",
        "--create-database",
    )
    with sqlite3.connect(database) as db:
        db.executemany(
            "INSERT INTO audit_entry (at, actor, action, arguments, outcome)"
            " VALUES ('2025-01-01 00:00:00+00:00', 'load', 'setKey', ?, 'OK')",
            ((f'{{"path":"user:/k{n}","value":"{"x" * 40}"}}',) for n in range(count)),
        )


def partial_files(directory: Path) -> list[Path]:
    return [p for p in directory.iterdir() if p.name.endswith(".partial") and p.stat().st_size]


def test_a_backup_killed_half_way_leaves_the_previous_backup_as_it_was(tmp_path: Path) -> None:
    database = tmp_path / "clusterd.sqlite3"
    many_audit_entries(database, 120_000)
    out = tmp_path / "out"
    file = out / "clusterd.backup"
    elektra_web("backup", "--database", sqlite_url(database), str(file))
    before = file.read_bytes()
    elektra_web("token", "--database", sqlite_url(database), "create", "--role", "viewer")

    process = start_elektra_web("backup", "--database", sqlite_url(database), str(file))
    try:
        wait_until(lambda: partial_files(out), 60, "the backup is being written")
    finally:
        process.kill()  # kill -9, half-way through
        process.wait()
    assert file.read_bytes() == before
    # The next backup replaces it, whole.
    elektra_web("backup", "--database", sqlite_url(database), str(file))
    _, rows = backup_rows(file)
    assert len(rows["token"]) == 2


def test_a_restore_killed_half_way_leaves_an_empty_database_to_restore_into(
    tmp_path: Path,
) -> None:
    database = tmp_path / "clusterd.sqlite3"
    many_audit_entries(database, 120_000)
    file = tmp_path / "clusterd.backup"
    elektra_web("backup", "--database", sqlite_url(database), str(file))
    restored = tmp_path / "restored.sqlite3"
    wal = tmp_path / "restored.sqlite3-wal"

    process = start_elektra_web("restore", str(file), "--database", sqlite_url(restored))
    try:
        # Its one transaction spills to the WAL while rows go in.
        wait_until(lambda: wal.exists() and wal.stat().st_size > 4 << 20, 60, "rows going in")
    finally:
        process.kill()
        process.wait()
    elektra_web("restore", str(file), "--database", sqlite_url(restored))
    with sqlite3.connect(restored) as db:
        # The backup's entries and the restore's own.
        assert db.execute("SELECT count(*) FROM audit_entry").fetchone() == (120_002,)


def rewrite(file: Path, change: Callable[[dict[str, Any], list[list[Any]]], None]) -> None:
    """Let ``change`` edit a backup's header and rows; the trailer follows."""
    lines = [json.loads(line) for line in file.read_text().splitlines()]
    header, rows = lines[0], lines[1:-1]
    change(header, rows)
    counts = Counter(row[0] for row in rows)
    trailer = {"end": {table: counts.get(table, 0) for table in header["tables"]}}
    file.write_text("".join(json.dumps(line) + "\n" for line in [header, *rows, trailer]))


def test_a_backup_of_an_older_schema_restores_and_is_migrated(tmp_path: Path) -> None:
    source = tmp_path / "a.sqlite3"
    elektra_web(
        "token", "--database", sqlite_url(source), "create", "--role", "admin", "--create-database"
    )
    with sqlite3.connect(source) as db:
        db.execute(
            "INSERT INTO cluster (id, name, drift_policy, created_at)"
            " VALUES (1, 'prod', 'REPORT', '2025-01-01 00:00:00+00:00')"
        )
    file = tmp_path / "backup"
    elektra_web("backup", "--database", sqlite_url(source), str(file))

    def before_convergence(header: dict[str, Any], rows: list[list[Any]]) -> None:
        # As elektra-web made it before migration 0004: no revisions anywhere
        # (nor what later migrations added: tokens' expiry and rotation, history).
        header["migrations"] = [m for m in header["migrations"] if m < "0004"]
        for table in ("revision", "history_entry"):  # tables of 0004 and 0007
            del header["tables"][table]
        rows[:] = [row for row in rows if row[0] not in ("revision", "history_entry")]
        dropped = [("cluster_key", "revision"), ("delivery", "revision")]
        dropped += [("operation", "revision"), ("token", "expires_at"), ("token", "rotated_from")]
        dropped += [("operation", "actor")]  # 0007
        for table, column in dropped:
            columns = header["tables"][table]
            at = columns.index(column)
            columns.pop(at)
            for row in rows:
                if row[0] == table:
                    row.pop(at + 1)

    rewrite(file, before_convergence)
    restored = tmp_path / "b.sqlite3"
    elektra_web("restore", str(file), "--database", sqlite_url(restored))
    with sqlite3.connect(restored) as db:
        assert db.execute("SELECT name FROM cluster").fetchall() == [("prod",)]
        assert db.execute("SELECT count(*) FROM token").fetchone() == (1,)
        applied = [n for (n,) in db.execute("SELECT name FROM tortoise_migrations")]
    # The two left out were applied on restore, then every later one.
    newest = sorted(p.stem for p in MIGRATIONS.glob("0*.py"))
    assert (
        applied[applied.index("0004_convergence") :] == newest[newest.index("0004_convergence") :]
    )


def test_a_backup_of_a_newer_elektra_web_is_refused(tmp_path: Path) -> None:
    source = sqlite_url(tmp_path / "a.sqlite3")
    elektra_web("token", "--database", source, "create", "--role", "admin", "--create-database")
    file = tmp_path / "backup"
    elektra_web("backup", "--database", source, str(file))
    rewrite(file, lambda header, rows: header["migrations"].append("0099_from_the_future"))
    refused = elektra_web("restore", str(file), "--database", source + "-new", check=False)
    assert refused.returncode == 1
    assert "the backup has migration 0099_from_the_future, which this elektra-web" in (
        refused.stderr
    )
