from __future__ import annotations

from pathlib import Path

import pytest

from graphlattice.demo import DemoSummary, generate_demo


@pytest.fixture(scope="session")
def demo(tmp_path_factory: pytest.TempPathFactory) -> DemoSummary:
    """The demo tenant (400 users, seed 7) with its 14 days of logs."""
    return generate_demo(tmp_path_factory.mktemp("demo") / "tenant", users=400, seed=7)


@pytest.fixture(scope="session")
def demo_logs(demo: DemoSummary) -> list[Path]:
    return [demo.out_dir / "directoryAudits.jsonl", demo.out_dir / "signIns.jsonl"]
