from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from graphlattice.demo import DemoSummary, generate_demo


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
