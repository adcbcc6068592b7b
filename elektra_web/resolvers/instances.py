"""Registering instances (rule 1: no elektrad twice) and their health."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from tortoise.exceptions import IntegrityError

from ..connector import exceptions as connector_errors
from ..connector.hosts import check_host
from ..connector.urls import normalize_host
from ..engine import health
from ..engine.events import FleetChange, FleetChanged, publish
from ..engine.services import Services
from ..exceptions import BadInput, InstanceExists, InstanceUnreachable, InvalidHost, NotFound
from ..models import Instance, InstanceStatus
from .auth import Caller, Role
from .names import short_name

__all__ = [
    "API_COLUMNS",
    "InstanceInput",
    "add_instance",
    "get_instance",
    "list_instances",
    "remove_instance",
    "update_instance",
]


@dataclass
class InstanceInput:
    """Fields of an instance; ``None`` leaves a field as it is (on update)."""

    name: str | None = None
    host: str | None = None
    description: str | None = None
    visibility: str | None = None
    #: The bearer token its elektrad requires ("" on update: none any more).
    token: str | None = None
    #: Register it even if nothing answers as an elektrad at ``host`` (as
    #: OFFLINE); else that is refused with INSTANCE_UNREACHABLE.
    allow_offline: bool = False


#: The columns of an instance that the API shows or reads with (``schema/instance.py``
#: and what its fields call: ``Reads``, ``Services.client``). A listing loads only these:
#: turning a row into a model costs per column, a timestamp most (parsed from text on
#: SQLite), and the engine's columns (leases, feed position) are half of them
#: (``scripts/bench-graphql``: a list of 1,000 cost a fifth less).
API_COLUMNS = (
    "id", "name", "host", "description", "visibility", "token", "status", "last_seen",
    "elektra_version", "cluster_id",
)  # fmt: skip


async def list_instances(caller: Caller, ids: Sequence[int | str] | None = None) -> list[Instance]:
    """Every instance, or those of ``ids`` that exist, for reading (only
    ``API_COLUMNS``: saving one fails, and so does reading another column,
    loudly)."""
    caller.require(Role.VIEWER)
    if ids is None:
        return await Instance.all().only(*API_COLUMNS)
    if len(ids) > 1000:
        raise BadInput("ask for at most 1,000 instances by id at once")
    wanted = set()
    for each in ids:
        try:
            wanted.add(int(each))
        except ValueError:
            continue  # no such instance
    return await Instance.filter(id__in=wanted).only(*API_COLUMNS)


async def get_instance(caller: Caller, instance_id: int | str) -> Instance:
    caller.require(Role.VIEWER)
    instance = await Instance.get_or_none(id=_id(instance_id))
    if instance is None:
        raise NotFound(f"no instance with id {instance_id}")
    return instance


async def add_instance(services: Services, caller: Caller, data: InstanceInput) -> Instance:
    caller.require(Role.ADMIN)
    name = _name(data.name)
    host = await _host(services, data.host)
    await _refuse_taken(name=name, host=host)
    instance = Instance(
        name=name,
        host=host,
        description=data.description,
        visibility=_visibility(data.visibility or "user"),
        token=_token(data.token),
    )
    version = await _probe(services, instance, must_answer=not data.allow_offline)
    if version is not None:
        await _refuse_same_daemon(instance.elektrad_id)
    try:
        await instance.save()
    except IntegrityError as exc:
        # Another request registered it between our checks and the insert.
        await _refuse_taken(name=name, host=host, elektrad_id=instance.elektrad_id)
        raise InstanceExists(f"{host} was registered at the same moment") from exc
    await publish(services, FleetChanged.of_instance(FleetChange.INSTANCE_ADDED, instance))
    return instance


async def update_instance(
    services: Services, caller: Caller, instance_id: int | str, data: InstanceInput
) -> Instance:
    caller.require(Role.ADMIN)
    instance = await get_instance(caller, instance_id)
    if data.name is not None and data.name != instance.name:
        instance.name = _name(data.name)
        await _refuse_taken(name=instance.name, exclude=instance.id)
    reprobe = False
    if data.token is not None and _token(data.token) != instance.token:
        instance.token = _token(data.token)
        reprobe = True
    if data.host is not None:
        host = await _host(services, data.host)
        if host != instance.host:
            await _refuse_taken(host=host, exclude=instance.id)
            instance.host = host
            instance.elektrad_id = None
            instance.feed_epoch = instance.feed_revision = None
            instance.status = InstanceStatus.UNKNOWN
            reprobe = True
    if reprobe and await _probe(services, instance) is not None:
        await _refuse_same_daemon(instance.elektrad_id, exclude=instance.id)
    if data.description is not None:
        instance.description = data.description
    if data.visibility is not None:
        instance.visibility = _visibility(data.visibility)
    try:
        await instance.save()
    except IntegrityError as exc:
        raise InstanceExists(f"{instance.host} is already registered") from exc
    services.instance_changed(instance.id)
    await publish(services, FleetChanged.of_instance(FleetChange.INSTANCE_UPDATED, instance))
    if reprobe and services.sender is not None:
        # A new token or address: what waited for it goes now.
        await services.sender.retry_now(instance.id)
    return instance


async def remove_instance(services: Services, caller: Caller, instance_id: int | str) -> int:
    caller.require(Role.ADMIN)
    instance = await get_instance(caller, instance_id)
    await instance.delete()
    await publish(
        services,
        FleetChanged.of_instance(
            FleetChange.INSTANCE_REMOVED, instance, previous_cluster_id=instance.cluster_id
        ),
    )
    return instance.id


async def _probe(
    services: Services, instance: Instance, *, must_answer: bool = False
) -> dict[str, Any] | None:
    """The instance's version (None: unreachable, OFFLINE); a refused token
    is the caller's mistake. With ``must_answer``, an address where nothing
    answers as an elektrad is refused (:class:`InstanceUnreachable`): a typo
    in the port would otherwise become an instance "offline, seen never"."""
    try:
        # health_check: the reason it failed is raised (instead of None),
        # for the refusal to say it.
        version = await health.probe(
            services, instance, refuse_credentials=True, health_check=must_answer
        )
    except health.CredentialsRefused as exc:
        raise BadInput(
            f"{instance.host} refused clusterd's credentials ({exc.status}): "
            + ("give the token it requires" if instance.token is None else "wrong token"),
            field="token",
        ) from exc
    except connector_errors.ConnectorError as exc:
        cause = exc.cause if isinstance(exc, connector_errors.InstanceUnreachable) else str(exc)
        raise _unreachable(instance.host, cause) from exc
    if version is None and must_answer:
        # It answered /version with a 4xx other than 401/403.
        raise _unreachable(instance.host, "it refuses GET /version: not an elektrad?")
    return version


def _unreachable(host: str, cause: str) -> InstanceUnreachable:
    return InstanceUnreachable(
        f"nothing answers as an elektrad at {host} ({cause}). Check the address and port, "
        "and that elektrad runs there; or register it anyway, as offline, to be checked "
        "until it answers (allowOffline)",
        host=host,
    )


def _id(value: int | str) -> int:
    try:
        return int(value)
    except ValueError:
        raise NotFound(f"no instance with id {value!r}") from None


def _token(token: str | None) -> str | None:
    if token is None or not token.strip():
        return None
    token = token.strip()
    if len(token) > 500 or any(c in token for c in "\r\n"):
        raise BadInput("an elektrad token is one line of at most 500 characters", field="token")
    return token


def _name(name: str | None) -> str:
    return short_name(name, "an instance")


def _visibility(visibility: str) -> str:
    if len(visibility) > 50:
        raise BadInput("a visibility may have at most 50 characters")
    return visibility


async def _host(services: Services, host: str | None) -> str:
    """The normalized URL, if clusterd may call it (not a metadata service,
    inside the allowed networks)."""
    if not host:
        raise InvalidHost("an instance needs the URL of its elektrad, like http://web-01:33333")
    try:
        normalized = normalize_host(host)
        if len(normalized) > 500:
            raise connector_errors.InvalidHost(host[:100], "URL longer than 500 characters")
        await check_host(normalized, services.allowed_networks)
    except connector_errors.InvalidHost as exc:
        raise InvalidHost(str(exc)) from exc
    return normalized


async def _refuse_taken(
    *,
    name: str | None = None,
    host: str | None = None,
    elektrad_id: str | None = None,
    exclude: int | None = None,
) -> None:
    others = Instance.exclude(id=exclude) if exclude is not None else Instance.all()
    if host is not None and (other := await others.filter(host=host).first()):
        raise InstanceExists(f"{host} is already registered as {other.name}", instance=other.name)
    if name is not None and (other := await others.filter(name=name).first()):
        raise BadInput(f"an instance named {name!r} exists already ({other.host})")
    await _refuse_same_daemon(elektrad_id, exclude=exclude)


async def _refuse_same_daemon(elektrad_id: str | None, exclude: int | None = None) -> None:
    if elektrad_id is None:
        return
    others = Instance.exclude(id=exclude) if exclude is not None else Instance.all()
    if other := await others.filter(elektrad_id=elektrad_id).first():
        raise InstanceExists(
            f"this elektrad is already registered as {other.name} (at {other.host})",
            instance=other.name,
        )
