"""Settings shared by the property-based fuzz tests: bounded, repeatable, no example database."""

from __future__ import annotations

import os
from typing import Any

from hypothesis import HealthCheck, settings

__all__ = ["EXAMPLES", "fuzz_settings"]

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "6"))
"""Examples per operation (Schemathesis) or a sixtieth of the examples (``range act``); raise it locally
for a longer hunt."""


def fuzz_settings(max_examples: int) -> Any:
    """Hypothesis settings for a fuzz test: derandomized, so that CI runs the same examples every time."""
    return settings(
        max_examples=max_examples,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        derandomize=True,
        database=None,
    )
