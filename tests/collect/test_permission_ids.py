"""``collect --permissions`` names the Microsoft Graph appRole id of every application permission it lists."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import orjson

GUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$")


def run(*args: str) -> str:
    proc = subprocess.run(
        [sys.executable, "-m", "graphlattice", "collect", "--permissions", *args],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, "COLUMNS": "80"},
    )
    assert proc.returncode == 0 and "Traceback" not in proc.stderr, proc.stderr
    return proc.stdout


def test_every_listed_permission_has_its_app_role_id() -> None:
    doc = orjson.loads(run("--format", "json"))
    listed = {item["permission"]: item["id"] for item in doc["permissions"]}
    needed = {p for row in doc["collections"] for p in row["permissions"]}
    assert needed == set(listed)
    assert {name for name, role in listed.items() if not (role and GUID.match(role))} == set()
    assert len(set(listed.values())) == len(listed)
    text = run()
    for name, role in listed.items():
        assert f"{name}: {role}" in text
    assert "look it up" not in text
