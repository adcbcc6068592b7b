"""``elektra-web backup --data-dir`` copies an elektrad's key database while it
runs and writes (one consistent moment); ``restore --data-dir`` puts it back
into a data directory nobody uses."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

import httpx

from ..support.backups import elektra_web
from ..support.waiting import wait_until
from .conftest import Elektrad, elektrad_process


def test_a_data_dir_backed_up_while_elektrad_writes_restores_one_moment(
    tmp_path: Path, start_elektrad: Callable[..., Elektrad]
) -> None:
    data_dir = tmp_path / "data"
    files = [tmp_path / f"keys-{n}.backup" for n in range(2)]
    with elektrad_process("--data-dir", str(data_dir)) as (_, url):
        instance_id = httpx.get(f"{url}/version").json()["instanceId"]
        stop = threading.Event()
        written: list[int] = []

        def write() -> None:
            with httpx.Client(base_url=url, timeout=10) as http:
                while not stop.is_set():
                    n = len(written)
                    assert http.put(f"/kdb/user:/k/{n:05}", content=str(n)).status_code == 200
                    written.append(n)

        thread = threading.Thread(target=write)
        thread.start()
        try:
            wait_until(lambda: len(written) >= 5, what="writes are running")
            acknowledged = []
            for file in files:
                acknowledged.append(len(written))
                elektra_web("backup", "--data-dir", str(data_dir), str(file))
        finally:
            stop.set()
            thread.join(30)
    for n, file in enumerate(files):
        assert file.stat().st_mode & 0o777 == 0o600
        restored = tmp_path / f"restored-{n}"
        elektra_web("restore", str(file), "--data-dir", str(restored))
        daemon = start_elektrad(data_dir=restored)
        found = daemon.get("/kdbFind/user:/k/").json()
        # A prefix of the writes, each key with its value: one moment, not a
        # mix of moments.
        assert found == [f"user:/k/{i:05}" for i in range(len(found))]
        # Every write acknowledged before the backup began is in it, also
        # those still only in the WAL (which copying keys.db alone would miss).
        assert len(found) >= acknowledged[n] >= 5
        assert all(daemon.key(name)["value"] == str(int(name[-5:])) for name in found)
        assert daemon.get("/version").json()["instanceId"] == instance_id


def test_restore_refuses_a_data_dir_that_elektrad_is_using(
    tmp_path: Path, start_elektrad: Callable[..., Elektrad]
) -> None:
    daemon = start_elektrad(data_dir=tmp_path / "data")
    assert daemon.put("user:/x", "1").status_code == 200
    elektra_web("backup", "--data-dir", str(tmp_path / "data"), str(tmp_path / "keys.backup"))
    running = elektra_web(
        "restore", str(tmp_path / "keys.backup"), "--data-dir", str(tmp_path / "data"), check=False
    )
    assert running.returncode == 1
    assert "another elektrad is using the data directory" in running.stderr


def test_restore_never_overwrites_a_key_database(tmp_path: Path) -> None:
    with elektrad_process("--data-dir", str(tmp_path / "data")) as (_, url):
        assert httpx.put(f"{url}/kdb/user:/x", content=b"1").status_code == 200
        elektra_web("backup", "--data-dir", str(tmp_path / "data"), str(tmp_path / "keys.backup"))
    again = elektra_web(
        "restore", str(tmp_path / "keys.backup"), "--data-dir", str(tmp_path / "data"), check=False
    )
    assert again.returncode == 1
    assert "keys.db exists: move it aside first" in again.stderr
    not_a_backup = tmp_path / "notes.txt"
    not_a_backup.write_text("not a database")
    wrong = elektra_web(
        "restore", str(not_a_backup), "--data-dir", str(tmp_path / "other"), check=False
    )
    assert wrong.returncode == 1
    assert "is not an elektrad key database" in wrong.stderr
    assert not (tmp_path / "other" / "keys.db").exists()
