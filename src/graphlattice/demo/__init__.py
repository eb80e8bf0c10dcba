"""Deterministic demo tenant: a snapshot directory of Microsoft Graph JSON plus 14 days of logs.

The tenant tells one story (a standing Authentication Administrator abuses a Temporary Access Pass to plant
their own authenticator and passkey on a victim) inside an otherwise ordinary organisation of any size from 50
to 200,000 users, and plants at least one failing and one passing object for each posture risk.
"""

from __future__ import annotations

from graphlattice.demo._common import DEMO_NOW
from graphlattice.demo._generate import (
    COLLECTIONS,
    MAX_USERS,
    MIN_USERS,
    RISKS,
    DemoSummary,
    generate_demo,
)

__all__ = ["COLLECTIONS", "DEMO_NOW", "MAX_USERS", "MIN_USERS", "RISKS", "DemoSummary", "generate_demo"]
