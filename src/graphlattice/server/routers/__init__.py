"""Routes per resource family, all below the version (``/users``, ``/auditLogs/signIns`` ...)."""
