"""GraphLattice: an identity-security workbench for Microsoft Entra ID."""

from __future__ import annotations

__version__ = "0.1.0"
