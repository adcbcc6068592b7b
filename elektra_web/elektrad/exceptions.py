"""Errors of elektrad.

Every error a client can cause is an :class:`ElektradError`; the HTTP layer
turns it into ``{"name": ..., "message": ...}`` with its status, in one place
(``elektrad.app``). Errors of libraries (parsers, sqlite, the file system) are
translated at the boundary where they occur, with ``raise ... from exc``.

    ElektradError                 any refused request (400 unless noted)
    ├── BadRequest                malformed body, parameter or header
    │   └── PayloadTooLarge       body over the size limit (413)
    ├── Unauthorized              missing or wrong bearer token (401)
    ├── KeyNotFound               the key (or subtree) does not exist (404)
    ├── ValidationError           the value breaks the key's check/* metadata
    ├── UnsupportedKey            a mounted file's format cannot hold this key
    ├── MountError                the mount's file is broken or unwritable
    ├── Conflict                  the file kept changing under a write (409)
    ├── Stale                     a fenced write older than the key's fence:
    │                             X-Fence revision below the stored one (412)
    └── StorageError              the disk refused a write (500; logged)

    FormatError                   a file is not valid for its format (parser
                                  detail; a mount that raises it is broken)
    keynames.InvalidKeyName       not an Elektra key name (400, the API's
                                  name "InvalidKeyName"; mapped in app.py)
    StaleFile                     a mounted file changed on disk since it was
                                  read (internal: the write is redone on the
                                  fresh content)
"""

from __future__ import annotations

# Shared with clusterd's import (``elektra_web.formats``): one error for text
# that is not valid for its format.
from ..formats.errors import FormatError

__all__ = [
    "BadRequest",
    "Conflict",
    "ElektradError",
    "FormatError",
    "KeyNotFound",
    "MountError",
    "PayloadTooLarge",
    "Stale",
    "StaleFile",
    "StorageError",
    "Unauthorized",
    "UnsupportedKey",
    "ValidationError",
]


class ElektradError(Exception):
    """A refused request. ``name`` and ``status`` go to the client."""

    name = "KDBError"
    status = 400

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class BadRequest(ElektradError):
    name = "BadRequest"


class PayloadTooLarge(BadRequest):
    name = "PayloadTooLarge"
    status = 413


class Unauthorized(ElektradError):
    name = "Unauthorized"
    status = 401


class KeyNotFound(ElektradError):
    name = "NotFound"
    status = 404


class ValidationError(ElektradError):
    name = "ValidationError"


class UnsupportedKey(ElektradError):
    name = "UnsupportedKey"


class MountError(ElektradError):
    name = "MountError"


class Conflict(ElektradError):
    name = "Conflict"
    status = 409


class Stale(ElektradError):
    """A fenced write (``X-Fence``) is older than what a key it would change
    already has from the same clusterd (see ``fences.py``)."""

    name = "Stale"
    status = 412


class StorageError(ElektradError):
    name = "StorageError"
    status = 500


class StaleFile(Exception):
    """A mounted file changed on disk after it was read."""
