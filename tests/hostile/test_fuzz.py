"""Hostile input never crashes, hangs or exhausts memory: every mutation is exit 0, 2 or 3, never 70.

Each example mutates one JSON path of one collection file of a generated demo snapshot (wrong JSON types,
nulls, huge numbers, deep nesting, odd strings, a key deleted), or one key of a YAML input (settings,
waivers, a Range scenario), or replaces a whole file (alias bomb, invalid UTF-8, a byte order mark ...),
then runs the real command line in a forked child: the exit code must be 0, 2 or 3 (never 70, our bugs), a
refusal is one ``error:`` line naming the file, the child must finish within a
minute and its memory must stay within :data:`MAX_GROWTH_MIB` of its parent's. The budget is a few
minutes on two cores; hypothesis keeps the examples that failed before in its database.
"""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from graphlattice.demo import generate_demo
from graphlattice.range.scenario import SCENARIO_DIR
from tests.hostile.fuzzkit import (
    DELETE,
    JSON_MUTATIONS,
    YAML_FILES,
    YAML_RAW,
    Isolated,
    collection_files,
    mutate,
    read_doc,
    run_isolated,
    schema_paths,
    write_doc,
    yaml_with,
)

MAX_GROWTH_MIB = 768
_SETTINGS = settings(
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    print_blob=True,
    phases=(Phase.explicit, Phase.reuse, Phase.generate),  # a failure is shown as found: no shrinking time
)


@pytest.fixture(scope="module")
def base(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A 50-user demo snapshot with its logs cut to 40 records each (the checks still read them)."""
    out = tmp_path_factory.mktemp("fuzz") / "base"
    generate_demo(out, users=50, seed=11)
    for name in ("directoryAudits.jsonl", "signIns.jsonl"):
        lines = (out / name).read_bytes().splitlines(keepends=True)
        (out / name).write_bytes(b"".join(lines[:40]))
    return out


def _json_cases(base: Path) -> list[tuple[str, tuple[Any, ...]]]:
    cases = []
    for path in collection_files(base):
        for json_path in schema_paths(read_doc(path), per_shape=1):
            cases.append((path.name, json_path))
    return cases


def _judge(outcome: Isolated, blame: str) -> None:
    assert outcome.code in (0, 2, 3), outcome
    assert outcome.grew_mib < MAX_GROWTH_MIB, outcome
    if outcome.code:
        lines = [line for line in outcome.stderr.splitlines() if line.strip()]
        assert lines and lines[-1].startswith("error:"), outcome
        assert "Traceback" not in outcome.stderr, outcome
        assert blame in lines[-1], outcome


def test_every_snapshot_field_mutated(base: Path, tmp_path: Path) -> None:
    cases = _json_cases(base)
    mutations = [("delete", DELETE), *JSON_MUTATIONS.items()]

    @settings(_SETTINGS, max_examples=350)
    @given(
        case=st.sampled_from(cases),
        mutation=st.sampled_from(mutations),
        fmt=st.sampled_from(["json", "table", "sarif"]),
    )
    def check(case: tuple[str, tuple[Any, ...]], mutation: tuple[str, Any], fmt: str) -> None:
        name, json_path = case
        if mutation[0] == "delete" and not json_path:
            return
        work = tmp_path / "snap"
        shutil.rmtree(work, ignore_errors=True)
        shutil.copytree(base, work)
        write_doc(work / name, mutate(read_doc(base / name), json_path, mutation[1]))
        _judge(run_isolated("assess", str(work), "--format", fmt), "")

    check()


_WHOLE_JSON: dict[str, bytes] = {
    "empty": b"",
    "bom": b"\xef\xbb\xbf",
    "invalid-utf8": b'{"value": ["\xff"]}',
    "deep": b"[" * 5000 + b"]" * 5000,
    "null": b"null",
    "number": b"1e999",
    "object": b"{}",
    "value-null": b'{"value": null}',
    "value-object": b'{"value": {}}',
}


@pytest.mark.parametrize("content", sorted(_WHOLE_JSON))
def test_every_snapshot_file_replaced(base: Path, tmp_path: Path, content: str) -> None:
    for path in collection_files(base):
        work = tmp_path / path.stem
        shutil.copytree(base, work)
        (work / path.name).write_bytes(_WHOLE_JSON[content])
        outcome = run_isolated("assess", str(work), "--format", "json")
        _judge(outcome, "")
        if outcome.code:
            assert path.name in outcome.stderr, outcome


def _yaml_docs() -> dict[str, Any]:
    return {
        "config": {
            "breakGlassAccounts": ["emergency@contoso.com"],
            "tapMaxLifetimeMinutes": 480,
            "tapDefaultLifetimeMinutes": 60,
            "tapIssuanceMaxGroupSize": 50,
            "reportOnlyMaxDays": 30,
        },
        "waivers": {
            "waivers": [
                {
                    "risk": "users-risky-mfa",
                    "object": "kiosk@contoso.com",
                    "rationale": "kiosk",
                    "owner": "dana@contoso.com",
                    "expires": "2099-03-31",
                }
            ]
        },
        "scenario": yaml.safe_load((SCENARIO_DIR / "tap-persistence.yaml").read_text(encoding="utf-8")),
    }


def _argv(kind: str, base: Path, file: Path, state: Path) -> tuple[str, ...]:
    if kind == "config":
        return ("assess", str(base), "--config", str(file), "--format", "json")
    if kind == "waivers":
        return ("assess", str(base), "--waivers", str(file), "--format", "json")
    return ("range", "start", str(file), "--state", str(state), "--force")


def test_every_yaml_key_mutated(base: Path, tmp_path: Path) -> None:
    docs = _yaml_docs()
    cases = [(kind, path) for kind, doc in docs.items() for path in schema_paths(doc, per_shape=1)]

    @settings(_SETTINGS, max_examples=200)
    @given(case=st.sampled_from(cases), raw=st.sampled_from(sorted(YAML_RAW)))
    def check(case: tuple[str, tuple[Any, ...]], raw: str) -> None:
        kind, path = case
        file = tmp_path / f"{kind}.yaml"
        file.write_text(yaml_with(docs[kind], path, YAML_RAW[raw]), encoding="utf-8")
        # a value the scenario reader passes on is judged when the timeline is played: that error names the
        # action and its parameter rather than the file
        _judge(
            run_isolated(*_argv(kind, base, file, tmp_path / "state")),
            str(file) if kind != "scenario" else "",
        )

    check()


@pytest.mark.parametrize("content", sorted(YAML_FILES))
@pytest.mark.parametrize("kind", ["config", "waivers", "scenario"])
def test_every_yaml_file_replaced(base: Path, tmp_path: Path, kind: str, content: str) -> None:
    file = tmp_path / f"{kind}.yaml"
    file.write_bytes(YAML_FILES[content])
    _judge(run_isolated(*_argv(kind, base, file, tmp_path / "state")), str(file))
