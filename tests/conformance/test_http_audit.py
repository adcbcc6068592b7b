"""The GraphQL-over-HTTP audit (npm graphql-http's ``serverAudits``) against a
real clusterd: no MUST fails, and no SHOULD fails without a written reason."""

from __future__ import annotations

from typing import Any

import pytest

from ..clusterd.conftest import Clusterd
from .conftest import run_node

#: SHOULD audits clusterd fails on purpose: audit id -> why.
SHOULD_ALLOWLIST: dict[str, str] = {}


@pytest.fixture(scope="module")
def audits(node: str, clusterd: Clusterd) -> list[dict[str, Any]]:
    """Every audit's result: id, name, status, and reason and response when
    it did not pass."""
    results: list[dict[str, Any]] = run_node(node, "audit.mjs", f"{clusterd.url}/graphql")["audits"]
    return results


def failed(audits: list[dict[str, Any]], level: str) -> dict[str, dict[str, Any]]:
    return {
        audit["id"]: audit
        for audit in audits
        if audit["name"].startswith(f"{level} ") and audit["status"] != "ok"
    }


def describe(failures: dict[str, dict[str, Any]]) -> str:
    return "\n".join(
        f"{id_} {audit['name']}: {audit.get('reason')}\n    response: {audit.get('response')}"
        for id_, audit in failures.items()
    )


def test_the_whole_audit_runs(audits: list[dict[str, Any]]) -> None:
    levels = {audit["name"].split(" ", 1)[0] for audit in audits}
    assert levels == {"MUST", "SHOULD", "MAY"}
    assert len(audits) > 50
    assert not [audit for audit in audits if str(audit.get("reason", "")).startswith("threw:")]


def test_every_must_audit_passes(audits: list[dict[str, Any]]) -> None:
    failures = failed(audits, "MUST")
    assert not failures, "MUST audits failed:\n" + describe(failures)


def test_every_should_audit_passes_or_has_a_written_reason(
    audits: list[dict[str, Any]],
) -> None:
    failures = failed(audits, "SHOULD")
    unexplained = {id_: audit for id_, audit in failures.items() if id_ not in SHOULD_ALLOWLIST}
    assert not unexplained, "SHOULD audits failed without a reason:\n" + describe(unexplained)


def test_the_should_allowlist_names_only_audits_that_still_fail(
    audits: list[dict[str, Any]],
) -> None:
    failures = failed(audits, "SHOULD")
    assert all(reason.strip() for reason in SHOULD_ALLOWLIST.values())
    stale = sorted(set(SHOULD_ALLOWLIST) - set(failures))
    assert not stale, f"these audits pass now (or do not exist): remove them: {stale}"
