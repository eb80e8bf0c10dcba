"""Schemathesis against the served Range: every operation of the endpoint's OpenAPI description
(:mod:`graphlattice.server.openapi`), with valid and invalid parameters, query options and bodies, over real
HTTP as the Global Administrator. Never a 500, every error in Graph's shape, every answer within its
timeout. Bounded: a few examples per operation (``FUZZ_EXAMPLES`` raises it for a longer local run)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import schemathesis

from graphlattice.server.openapi import document
from graphlattice.server.serve import RunningServer, background
from tests.fuzzing import EXAMPLES, fuzz_settings
from tests.server.conftest import LUKAS, MIA, NOOR, copy_range

pytestmark = pytest.mark.slow

TIMEOUT = 15.0  # seconds: an answer slower than this counts as a hang


def _with_known_values(doc: dict[str, Any]) -> dict[str, Any]:
    """Let path parameters be real ids and names as well as anything at all, so that writes reach the
    Range's actions instead of stopping at a 404."""
    known = {
        "user_id": [MIA, NOOR, LUKAS],
        "collection": ["temporaryAccessPassMethods", "fido2Methods", "phoneMethods", "passwordMethods"],
        "method_id": ["28c10230-6103-485e-b985-444c60001490"],
        "config_id": ["TemporaryAccessPass", "Fido2"],
        "policy_id": ["authenticationMethodsPolicy"],
    }
    for operations in doc["paths"].values():
        for operation in operations.values():
            for param in operation.get("parameters", []):
                values = known.get(param["name"])
                if param["in"] == "path" and values:
                    param["schema"] = {"anyOf": [{"enum": values}, {"type": "string", "minLength": 1}]}
    return doc


SCHEMA = schemathesis.openapi.from_dict(_with_known_values(document()))


@pytest.fixture(scope="module")
def fuzzed(template_dir: Path, tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningServer]:
    folder = copy_range(template_dir, tmp_path_factory.mktemp("fuzz") / "range")
    with background(folder) as server:
        yield server


@pytest.fixture(scope="module")
def admin_headers(fuzzed: RunningServer) -> dict[str, str]:
    return {"Authorization": f"Bearer {fuzzed.token(NOOR)}"}


def _graph_shaped(response: Any) -> None:
    status = response.status_code
    assert status != 500 and status < 600, f"{status}: {response.text[:500]}"
    if status >= 400:
        body = response.json()
        error = body["error"]
        assert isinstance(error["code"], str) and error["code"], body
        assert isinstance(error["message"], str) and error["message"], body
        assert set(error["innerError"]) >= {"date", "request-id", "client-request-id"}, body


@SCHEMA.parametrize()
@fuzz_settings(EXAMPLES)
def test_the_endpoint_never_fails_on_any_request(
    case: schemathesis.Case, fuzzed: RunningServer, admin_headers: dict[str, str]
) -> None:
    response = case.call(base_url=f"{fuzzed.url}/v1.0", headers=admin_headers, timeout=TIMEOUT)
    _graph_shaped(response)
