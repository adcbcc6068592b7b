"""Download GraphiQL's pinned browser assets from the npm registry, verify them and
rewrite ``elektra_web/clusterd/graphiql/static/vendor/`` and its manifest.

clusterd serves GraphiQL from these files (no CDN at run time, no build step for
users). Only the standard library is used, so this runs without the venv.

Each package's tarball is checked against the ``dist.integrity`` (SHA-512) the
registry publishes for the pinned version before anything is extracted. What is
shipped is the upstream file byte for byte, except that a trailing
``sourceMappingURL`` comment is removed: the source maps (4 MB for GraphiQL) are
not shipped, and a reference to a missing map makes browsers' developer tools
request it. The manifest (``VERSIONS.json``) records every version, the
tarball's integrity and the SHA-256 of every shipped file; a test checks the
files against it.

Usage: scripts/refresh-graphiql [--check]
  --check  only verify the shipped files against VERSIONS.json (no network)
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import io
import json
import re
import sys
import tarfile
import urllib.parse
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import Any

REGISTRY = "https://registry.npmjs.org"
ROOT = Path(__file__).resolve().parents[1]
VENDOR = ROOT / "elektra_web" / "clusterd" / "graphiql" / "static" / "vendor"
MANIFEST = VENDOR / "VERSIONS.json"


@dataclass(frozen=True)
class Pin:
    package: str
    version: str
    #: role (the name page.html uses) -> file inside the tarball
    files: dict[str, str]
    license: str

    @property
    def stem(self) -> str:
        """How shipped file names start: the version is in the name, so a URL
        never changes meaning and the files can be cached for good."""
        return f"{self.package.rsplit('/', 1)[-1]}-{self.version}"


# GraphiQL 3.9.0, the last 3.x: graphiql 5 ships no browser bundle at all (ESM and
# Monaco workers, which need a bundler), and 4.x marks its UMD bundle deprecated.
# 3.x's UMD bundle runs from plain <script> tags on React's UMD globals and is the
# major version strawberry's own page uses. React 18.3.1: the last React with UMD
# builds (19 has none), within graphiql 3's peer range (^16.8 || ^17 || ^18).
# graphql-ws: the page builds its own websocket client (graphql-transport-ws, the
# token in connection_init, its close codes seen); graphiql's bundle keeps its copy
# private.
PINS = (
    Pin(
        "react",
        "18.3.1",
        {"react": "package/umd/react.production.min.js"},
        "package/LICENSE",
    ),
    Pin(
        "react-dom",
        "18.3.1",
        {"react_dom": "package/umd/react-dom.production.min.js"},
        "package/LICENSE",
    ),
    Pin(
        "graphiql",
        "3.9.0",
        {"graphiql_js": "package/graphiql.min.js", "graphiql_css": "package/graphiql.min.css"},
        "package/LICENSE",
    ),
    Pin(
        "graphql-ws",
        "6.4.2",
        {"graphql_ws": "package/umd/graphql-ws.min.js"},
        "package/LICENSE.md",
    ),
)

_SOURCE_MAP = re.compile(rb"\n?(//|/\*)# sourceMappingURL=[^\n]*?(\*/)?\s*\Z")


def _get(url: str) -> bytes:
    if not url.startswith(REGISTRY + "/"):
        raise SystemExit(f"refusing to download from outside the registry: {url}")
    with urllib.request.urlopen(url, timeout=60) as response:
        data: bytes = response.read()
        return data


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _shipped_name(pin: Pin, member: str) -> str:
    # react-18.3.1.production.min.js, graphiql-3.9.0.min.css, ...
    base = member.rsplit("/", 1)[-1]
    suffix = base.split(".", 1)[1] if "." in base else base
    return f"{pin.stem}.{suffix}"


def _strip_source_map(data: bytes) -> bytes:
    return _SOURCE_MAP.sub(b"\n", data)


def fetch(pin: Pin) -> tuple[dict[str, Any], dict[str, bytes]]:
    """The manifest entry of a pin and the files to write (name -> bytes)."""
    quoted = urllib.parse.quote(pin.package, safe="@")
    meta = json.loads(_get(f"{REGISTRY}/{quoted}/{pin.version}"))
    if meta.get("version") != pin.version:
        raise SystemExit(f"{pin.package}: the registry answered version {meta.get('version')}")
    integrity: str = meta["dist"]["integrity"]
    algorithm, _, expected = integrity.partition("-")
    if algorithm != "sha512":
        raise SystemExit(f"{pin.package}: unexpected integrity {integrity!r}")
    tarball = _get(meta["dist"]["tarball"])
    actual = base64.b64encode(hashlib.sha512(tarball).digest()).decode()
    if actual != expected:
        raise SystemExit(f"{pin.package}@{pin.version}: the tarball does not match its integrity")
    out: dict[str, bytes] = {}
    files: dict[str, Any] = {}
    with tarfile.open(fileobj=io.BytesIO(tarball), mode="r:gz") as archive:

        def member(name: str) -> bytes:
            handle = archive.extractfile(name)
            if handle is None:
                raise SystemExit(f"{pin.package}@{pin.version}: no file {name}")
            return handle.read()

        for role, name in pin.files.items():
            data = _strip_source_map(member(name))
            shipped = _shipped_name(pin, name)
            out[shipped] = data
            files[role] = {"file": shipped, "from": name, "sha256": _sha256(data)}
        license_name = f"{pin.stem}.LICENSE.txt"
        license_text = member(pin.license)
        out[license_name] = license_text
    entry = {
        "version": pin.version,
        "license": meta.get("license"),
        "tarball": meta["dist"]["tarball"],
        "integrity": integrity,
        "files": files,
        "licenseFile": {"file": license_name, "sha256": _sha256(license_text)},
    }
    return entry, out


def check() -> int:
    """Verify the shipped files against the manifest; the number of problems."""
    manifest = json.loads(MANIFEST.read_text())
    problems = 0
    expected: set[str] = {MANIFEST.name}
    for package, entry in manifest["packages"].items():
        for item in [*entry["files"].values(), entry["licenseFile"]]:
            expected.add(item["file"])
            path = VENDOR / item["file"]
            if not path.is_file() or _sha256(path.read_bytes()) != item["sha256"]:
                print(f"{package}: {item['file']} is missing or differs", file=sys.stderr)
                problems += 1
    for extra in sorted({p.name for p in VENDOR.iterdir()} - expected):
        print(f"{extra}: not in the manifest", file=sys.stderr)
        problems += 1
    return problems


def refresh() -> None:
    packages: dict[str, Any] = {}
    written: dict[str, bytes] = {}
    for pin in PINS:
        entry, files = fetch(pin)
        packages[pin.package] = entry
        written.update(files)
        print(f"{pin.package}@{pin.version}: verified, {len(files)} file(s)")
    VENDOR.mkdir(parents=True, exist_ok=True)
    for old in VENDOR.iterdir():  # files of versions no longer pinned
        if old.name not in written and old.name != MANIFEST.name:
            old.unlink()
    for name, data in written.items():
        (VENDOR / name).write_bytes(data)
    manifest = {
        "comment": "Written by scripts/refresh-graphiql; do not edit.",
        "registry": REGISTRY,
        "packages": packages,
    }
    MANIFEST.write_text(json.dumps(manifest, indent=2) + "\n")
    print(f"wrote {len(written)} file(s) and {MANIFEST.name} to {VENDOR}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--check", action="store_true", help="verify only (no network)")
    args = parser.parse_args()
    if args.check:
        problems = check()
        print("ok" if not problems else f"{problems} problem(s)")
        raise SystemExit(1 if problems else 0)
    refresh()
    raise SystemExit(1 if check() else 0)


if __name__ == "__main__":
    main()
