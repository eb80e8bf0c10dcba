"""What the checks say about a role id found in a tenant: its name, whether it is privileged, and the note
that names a role nobody could describe. The facts themselves are :mod:`graphlattice.entra.privileged`'s
(shared with detection); this module only adds the wording the checks use."""

from __future__ import annotations

from graphlattice.entra.privileged import is_privileged_role as treated_as_privileged
from graphlattice.entra.privileged import role_name, role_privilege
from graphlattice.entra.privileged import role_template_id as template_id

__all__ = ["UNKNOWN_ROLE_NOTE", "role_name", "role_privilege", "template_id", "treated_as_privileged"]

UNKNOWN_ROLE_NOTE = (
    "not in the built-in role catalogue and not labelled by its definition: treated as privileged"
)
