from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphlattice.demo import DemoSummary, generate_demo
from graphlattice.server.serve import background
from tests.detect.respondkit import Played, Served, play


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    """The demo tenant (400 users, seed 7) with its 14 days of logs."""
    return generate_demo(tmp_path_factory.mktemp("demo") / "tenant", users=400, seed=7)


@pytest.fixture(scope="session")
def demo_logs(demo: DemoSummary) -> list[Path]:
    return [demo.out_dir / "directoryAudits.jsonl", demo.out_dir / "signIns.jsonl"]


@pytest.fixture(scope="session")
def spark() -> Iterator[Any]:
    """One local Spark session for the whole run (two cores, two shuffle partitions, no UI, loopback only).

    Tests that use it are skipped when pyspark is not installed (``pip install -e '.[spark]'``; ``make test``
    installs it); a missing Java is an error, not a skip.
    """
    try:
        import pyspark  # noqa: F401
    except ImportError:
        pytest.skip("pyspark is not installed: pip install -e '.[spark]' (make test does)")
    from graphlattice.detect.spark import start_session

    session = start_session(
        "local[2]",
        {
            "spark.sql.shuffle.partitions": "2",
            "spark.default.parallelism": "2",
            "spark.sql.adaptive.enabled": "false",
        },
    )
    yield session
    session.stop()


# ---- the Range played for respond's tests (respondkit) --------------------------------------------------


@pytest.fixture(scope="module")
def tap(tmp_path_factory: pytest.TempPathFactory) -> Played:
    """tap-persistence played, exported and detected once per module."""
    return play(tmp_path_factory.mktemp("tap-persistence"), "tap-persistence")


@pytest.fixture(scope="module")
def gate(tmp_path_factory: pytest.TempPathFactory) -> Played:
    return play(tmp_path_factory.mktemp("registration-gate-bypass"), "registration-gate-bypass")


@pytest.fixture()
def served(tap: Played, tmp_path: Path) -> Iterator[Served]:
    """A fresh copy of the played tap-persistence range, served on a free port."""
    state = tap.fresh(tmp_path)
    with background(state) as server:
        yield Served(state, server, tap.incidents)
