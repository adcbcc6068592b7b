"""Crash-safe replacement of a file: temporary file, fsync, rename, fsync dir.

A crash (or ``kill -9``) at any point leaves either the old file or the new
one under the file's name, never a torn mix. The file keeps its permission
bits (and, when we may, its owner).
"""

from __future__ import annotations

import contextlib
import os
import stat
import tempfile
from collections.abc import Callable
from pathlib import Path

__all__ = ["atomic_replace"]


def _process_umask() -> int:
    # os.umask can only be read by setting it: do it once, at import, while no
    # other thread can create files in between.
    umask = os.umask(0o022)
    os.umask(umask)
    return umask


_UMASK = _process_umask()


def atomic_replace(path: Path, data: bytes, *, check: Callable[[], None] | None = None) -> None:
    """Replace ``path`` with ``data`` atomically and durably.

    ``check`` runs after the new content is safely on disk and just before the
    rename; if it raises, the old file is left untouched (used to refuse a
    write when the file changed on disk since it was read).
    """
    directory = path.parent
    fd, tmp_name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=directory)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as tmp_file:
            tmp_file.write(data)
            tmp_file.flush()
            os.fsync(tmp_file.fileno())
        _copy_ownership(path, tmp)
        if check is not None:
            check()
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            tmp.unlink()
        raise
    _fsync_directory(directory)


def _copy_ownership(original: Path, tmp: Path) -> None:
    try:
        st = original.stat()
    except FileNotFoundError:
        # mkstemp creates 0600; a new configuration file gets the usual 0644
        # (less the umask), as an editor would create it.
        os.chmod(tmp, 0o644 & ~_UMASK)
        return
    os.chmod(tmp, stat.S_IMODE(st.st_mode))
    with contextlib.suppress(PermissionError):
        os.chown(tmp, st.st_uid, st.st_gid)


def _fsync_directory(directory: Path) -> None:
    fd = os.open(directory, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
