"""The commands: 'range serve' prints its base URL and serves; 'range token' prints the token last."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import httpx

from tests.server.conftest import MIA, NOOR, READER_APP, copy_range

CLI = [sys.executable, "-m", "graphlattice"]


def _token(folder: Path, *args: str) -> str:
    out = subprocess.run(
        [*CLI, "range", "token", "--state", str(folder), *args], check=True, capture_output=True, text=True
    )
    return out.stdout.strip().splitlines()[-1]


def test_serve_prints_the_base_url_and_serves(template_dir: Path, tmp_path: Path) -> None:
    folder = copy_range(template_dir, tmp_path / "range")
    env = dict(os.environ, PYTHONUNBUFFERED="1")
    proc = subprocess.Popen(
        [*CLI, "range", "serve", "--state", str(folder), "--port", "0"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        assert url.startswith("http://127.0.0.1:") and url.endswith("/v1.0")
        token = _token(folder, "--as", "noor.haddad")  # the local part of a UPN is enough
        assert token == _token(folder, "--as", NOOR)  # deterministic
        me = httpx.get(f"{url}/me", headers={"Authorization": f"Bearer {token}"})
        assert me.status_code == 200 and me.json()["userPrincipalName"] == NOOR
        app = httpx.get(
            f"{url}/users/{MIA}", headers={"Authorization": f"Bearer {_token(folder, '--app', READER_APP)}"}
        )
        assert app.status_code == 200
        secret = folder / "graph-secret.key"
        assert secret.stat().st_mode & 0o077 == 0  # owner-only
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def test_commands_fail_in_one_line(tmp_path: Path) -> None:
    empty = tmp_path / "nothing"
    for args in (
        ["range", "serve", "--state", str(empty), "--port", "0"],
        ["range", "token", "--state", str(empty), "--as", "x"],
    ):
        out = subprocess.run([*CLI, *args], capture_output=True, text=True)
        assert out.returncode != 0
        assert out.stderr.strip().startswith("error:") and "Traceback" not in out.stderr


def test_token_needs_exactly_one_principal(template_dir: Path, tmp_path: Path) -> None:
    folder = copy_range(template_dir, tmp_path / "range")
    for args in ([], ["--as", NOOR, "--app", READER_APP]):
        out = subprocess.run(
            [*CLI, "range", "token", "--state", str(folder), *args], capture_output=True, text=True
        )
        assert out.returncode == 2 and "--as UPN" in out.stderr
    out = subprocess.run(
        [*CLI, "range", "token", "--state", str(folder), "--app", "nope"], capture_output=True, text=True
    )
    assert out.returncode != 0 and "Posture Reader" in out.stderr
