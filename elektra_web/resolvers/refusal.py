"""An elektrad's refusal (``InstanceRefused``: its error name and status) as
the API's error, in one place for the reads and every kind of write."""

from __future__ import annotations

from ..connector.exceptions import InstanceRefused
from ..exceptions import BadInput, InstanceUnreachable, InvalidKeyName, NotFound, ValidationFailed
from ..models import Instance

__all__ = ["refusal"]


def refusal(instance: Instance, exc: InstanceRefused) -> Exception:
    """An elektrad's refusal as the API's error."""
    message = f"{instance.name} refused: {exc.message}"
    if exc.status in (401, 403):
        return InstanceUnreachable(
            f"{instance.name} refused clusterd's credentials ({exc.status}): "
            "set the token it requires with updateInstance"
        )
    if exc.name == "ValidationError":
        return ValidationFailed(message)
    if exc.name == "InvalidKeyName":
        return InvalidKeyName(message)
    if exc.status == 404:
        return NotFound(message)
    return BadInput(message)
