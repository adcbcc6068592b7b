"""exportConfig and importConfig: a subtree of keys, with metadata, as JSON,
TOML or INI text (``resolvers/transfer.py``; the format: ``formats/exchange.py``).

``root.py`` takes the two fields as they are made here (``export_config``,
``import_config``)."""

from __future__ import annotations

import hashlib
from typing import Annotated

import strawberry

from ..formats import ConfigFormat
from ..resolvers import transfer
from ..resolvers.transfer import ImportMode, ImportResultData
from ..resolvers.writes import WriteResultData
from .access import audited_mutation
from .context import Info
from .enums import _register
from .preview import DryRun, Force, MemberPlan, PlannedKeyChange
from .writes import InstanceResult, TargetInput, WriteResult

__all__ = ["ConfigExport", "ImportResult", "export_config", "import_config"]

_register(
    ConfigFormat,
    "ConfigFormat",
    "The text format of exportConfig and importConfig. Each entry is one key, named "
    'relative to pathPrefix ("" is pathPrefix itself, "a/b" a key two levels below; parts '
    "escaped as in key names), with its value and metadata; every name and value is text.",
    {
        "JSON": 'An object of entries: {"a/b": {"value": "x", "meta": {"check/type": '
        '"long"}}}; "meta" is left out when empty; a key without a value has "value": null.',
        "TOML": 'A table per entry, its name quoted: ["a/b"] with value = "x", and a '
        'sub-table ["a/b".meta] of the metadata ("check/type" = "long"), left out when empty; '
        "a key without a value has no value line.",
        "INI": 'A section per entry, its header the name as a JSON string (["a/b"]), then '
        'value = "x" and one meta "check/type" = "long" line per metadata entry; every '
        "name and value is a JSON string, so that spaces, ;, #, line breaks and empty values "
        "read back exactly.",
    },
)
_register(
    ImportMode,
    "ImportMode",
    "What importConfig does with the keys and metadata below pathPrefix that the content "
    "does not name.",
    {
        "MERGE": "Keeps them: the content's keys and metadata entries are set, nothing is removed.",
        "REPLACE": "Removes them: the subtree becomes the content (other keys below pathPrefix "
        "are deleted, other metadata entries of its keys removed). Exported again, it gives "
        "the same text.",
    },
)


@strawberry.type(name="ConfigExport", description="A subtree of keys as text.")
class ConfigExport:
    content: str = strawberry.field(
        description="The text, in the format asked for (see ConfigFormat)."
    )
    keys: int = strawberry.field(description="How many keys it holds.")
    format: ConfigFormat = strawberry.field(description="Its format.")


@strawberry.type(
    name="ImportResult",
    description="What an import changes (a dry run: would change), and where the write stands.",
)
class ImportResult:
    dry_run: bool = strawberry.field(description="Whether it was a dry run: nothing written.")
    changes: list[PlannedKeyChange] = strawberry.field(
        description="The keys it changes, deletions first, then by name; empty: the target "
        "holds the content already (nothing is written)."
    )
    operation_id: strawberry.ID | None = strawberry.field(
        description="The write's id (follow it with operationProgress; also in the audit "
        "log); null for a dry run or when nothing changes."
    )
    results: list[InstanceResult] = strawberry.field(
        description="As a write's: one per instance it reached (a cluster: every member), by "
        "name; empty for a dry run or when nothing changes."
    )
    members: list[MemberPlan] = strawberry.field(
        description="A dry run: what the import would do on each instance it reaches, by name "
        "(as a write's plan); else empty."
    )

    @classmethod
    def from_data(cls, data: ImportResultData) -> ImportResult:
        results: list[InstanceResult] = []
        if data.operation_id is not None:
            written = WriteResultData(data.operation_id, data.results or [])
            results = WriteResult.from_data(written).results
        return cls(
            dry_run=data.dry_run,
            changes=[PlannedKeyChange.from_data(c) for c in data.changes],
            operation_id=strawberry.ID(data.operation_id) if data.operation_id else None,
            results=results,
            members=[MemberPlan.from_data(p) for p in data.members],
        )


Where = Annotated[
    TargetInput, strawberry.argument(description="The instance or the cluster (its own config).")
]
PathPrefix = Annotated[
    str,
    strawberry.argument(
        description='The subtree\'s root, in either spelling, with a namespace (e.g. "user:/app").'
    ),
]
Format = Annotated[ConfigFormat, strawberry.argument(description="The text's format.")]


async def _export_config(
    info: Info, target: Where, path_prefix: PathPrefix, format: Format
) -> ConfigExport:
    ctx = info.context
    data = await transfer.export_config(
        ctx.services, ctx.caller, target.to_target(), path_prefix, format
    )
    return ConfigExport(content=data.content, keys=data.keys, format=format)


async def _import_config(
    info: Info,
    target: Where,
    path_prefix: PathPrefix,
    format: Format,
    content: Annotated[
        str,
        strawberry.argument(
            description="The text, as exportConfig gives it; at most 10 MiB (UTF-8)."
        ),
    ],
    mode: Annotated[
        ImportMode, strawberry.argument(description="Keep (MERGE) or remove (REPLACE) the rest.")
    ],
    dry_run: DryRun = False,
    force: Force = False,
) -> ImportResult:
    ctx = info.context
    data = await transfer.import_config(
        ctx.services,
        ctx.caller,
        target.to_target(),
        path_prefix,
        format,
        content,
        mode,
        dry_run=dry_run,
        force=force,
    )
    return ImportResult.from_data(data)


def _digest(content: str) -> str:
    """An import's content as the audit log keeps it: its size and digest."""
    data = content.encode("utf-8", "surrogatepass")
    return f"{len(data)} bytes, sha256 {hashlib.sha256(data).hexdigest()}"


#: Query.exportConfig
export_config = strawberry.field(
    resolver=_export_config,
    description="The keys at and below pathPrefix of an instance (read live from its elektrad) "
    "or of a cluster (its own config), with their metadata, as text: importConfig takes it "
    "back. Keys more than 63 levels below pathPrefix are not read. Any role. Refused with "
    "NOT_FOUND, INVALID_KEY_NAME, INSTANCE_UNREACHABLE, BAD_INPUT (a file mounted below "
    "pathPrefix is broken).",
)

#: Mutation.importConfig
import_config = audited_mutation(
    resolver=_import_config,
    abridged={"content": _digest},
    description="Make the keys at and below pathPrefix of an instance or a cluster what a "
    "text says (as exportConfig gives it; mode: keep or remove the rest), as ONE write: to a "
    "cluster, one operation delivered to every member like any cluster write (locks, "
    "fencing, progress); to an instance, one operation, every change checked against the "
    "locks before the first is made. The text is parsed first: BAD_INPUT, with "
    "extensions.line and extensions.column where it is malformed, and nothing is written; "
    "also BAD_INPUT over 10 MiB. dryRun: the plan only. Needs EDITOR. Refused as the writes "
    "are (NOT_FOUND, INVALID_KEY_NAME, KEY_LOCKED, VALIDATION_FAILED, INSTANCE_UNREACHABLE); "
    "an instance that refuses a change after others were made says how many were.",
)
