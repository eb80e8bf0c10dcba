"""An OpenAPI 3.1 description of what the Range's Graph endpoint serves, built from its routes.

Every path under ``/v1.0`` (or ``/beta``), its path parameters, the request body of every write (the JSON
Schema of the same write schemas the endpoint checks bodies against, :mod:`graphlattice.range.writes`), the
OData query options a read takes, and bearer authentication. Graph's own description lives elsewhere (the
``$metadata`` CSDL); this one exists so API fuzzers and tools that read OpenAPI can drive the Range.
"""

from __future__ import annotations

from typing import Any

from fastapi.openapi.utils import get_openapi

from graphlattice.server.app import routes

__all__ = ["ODATA_OPTIONS", "document"]

ODATA_OPTIONS = (
    "$filter",
    "$select",
    "$top",
    "$skip",
    "$skiptoken",
    "$orderby",
    "$count",
    "$expand",
    "$search",
)
_ERROR = {
    "type": "object",
    "required": ["error"],
    "properties": {
        "error": {
            "type": "object",
            "required": ["code", "message", "innerError"],
            "properties": {
                "code": {"type": "string"},
                "message": {"type": "string"},
                "innerError": {"type": "object"},
            },
        }
    },
}


def document(version: str = "v1.0") -> dict[str, Any]:
    """The OpenAPI document of the endpoint's ``version`` (``v1.0`` or ``beta``)."""
    api = routes()
    doc: dict[str, Any] = get_openapi(
        title="GraphLattice Range (Microsoft Graph subset)", version=version, routes=api.routes
    )
    doc["servers"] = [{"url": f"/{version}"}]
    doc.setdefault("components", {})["securitySchemes"] = {
        "bearer": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
    }
    doc["components"].setdefault("schemas", {})["GraphError"] = _ERROR
    doc["security"] = [{"bearer": []}]
    for operations in doc.get("paths", {}).values():
        for method, operation in operations.items():
            operation.setdefault("responses", {})["default"] = {
                "description": "Graph's error body",
                "content": {"application/json": {"schema": {"$ref": "#/components/schemas/GraphError"}}},
            }
            if method == "get":
                params = operation.setdefault("parameters", [])
                params.extend(
                    {"name": name, "in": "query", "required": False, "schema": {"type": "string"}}
                    for name in ODATA_OPTIONS
                )
    return doc
