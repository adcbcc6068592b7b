"""What clusterd serves for the web client (no browser needed): the page with
its Content-Security-Policy, every module it imports, and the package data
that ships them in a non-editable install."""

from __future__ import annotations

import re
import tomllib
from fnmatch import fnmatch
from pathlib import Path

from elektra_web.client import DIRECTORY

from ..clusterd.conftest import Clusterd

STATIC = DIRECTORY / "static"


def test_the_page_and_its_modules(clusterd: Clusterd) -> None:
    page = clusterd.http.get("/")
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    policy = page.headers["content-security-policy"]
    assert "script-src 'self'" in policy and "unsafe-inline" not in policy
    # No inline script and no inline handlers: the policy would block them.
    scripts = re.findall(r"<script\b([^>]*)>(.*?)</script>", page.text, re.S)
    assert scripts and all('src="' in attrs and not body.strip() for attrs, body in scripts)
    assert not re.search(r"\son[a-z]+=", page.text)
    # Every module the page imports is served, as JavaScript.
    seen: set[str] = set()
    todo = ["app.js"]
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        response = clusterd.http.get(f"/static/{name}")
        assert response.status_code == 200, name
        assert "javascript" in response.headers["content-type"], name
        todo += re.findall(r"from '\./([\w-]+\.js)'", response.text)
    assert seen == {p.name for p in STATIC.glob("*.js")}, "a module nobody imports"
    assert clusterd.http.get("/static/style.css").status_code == 200
    assert clusterd.http.get("/static/../__init__.py").status_code == 404


def test_package_data_ships_every_file_of_the_client() -> None:
    pyproject = tomllib.loads((Path(__file__).parents[2] / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["elektra_web.client"]
    for path in DIRECTORY.rglob("*"):
        relative = path.relative_to(DIRECTORY).as_posix()
        if path.is_dir() or path.suffix == ".py" or "__pycache__" in relative:
            continue
        assert any(fnmatch(relative, p) for p in patterns), f"{relative} is not package data"
