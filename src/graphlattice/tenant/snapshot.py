"""Read a snapshot directory (Microsoft Graph JSON, one file per collection) into a :class:`Tenant`.

A collection that is absent, or that the manifest marks as an error, is *unavailable*: it is recorded with
its reason and the permission that would read it, and checks that need it report UNKNOWN. Bad JSON or a
wrong shape is a :class:`SnapshotError` naming the file (and the line, for JSONL).

Data that is present but incomplete is loaded and flagged, never silently taken as whole: a file that still
carries ``@odata.nextLink`` is one page of a longer collection (``Tenant.partial``); users without
``accountEnabled``/``userType`` (a plain ``GET /users`` returns neither) keep ``None`` there; role holders
found in no collection are listed. Each gets a warning that says how to collect it properly.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import orjson

from graphlattice.errors import InputError, SnapshotError
from graphlattice.files import COLLECTION, LOG, Kind, open_regular, read_bytes
from graphlattice.files import MANIFEST as MANIFEST_KIND
from graphlattice.tenant.collections import COLLECTIONS, CollectionSpec
from graphlattice.tenant.enums import EnumReader
from graphlattice.tenant.gcpause import gc_paused
from graphlattice.tenant.model import Group, Json, ServicePrincipal, Tenant, User, parse_time
from graphlattice.tenant.schema import COLLECTION_SCHEMAS, ITEM_SCHEMAS, MANIFEST_SCHEMA, Check, describe

MANIFEST = "manifest.json"
CONFIG_FILE = "graphlattice.yaml"

_USER_TYPES = frozenset({"member", "guest"})
_CA_STATES = frozenset({"enabled", "disabled", "enabledforreportingbutnotenforced"})

# Closed shapes whose extra properties are worth a warning (Graph adds properties over time; we keep them).
_KNOWN_PROPERTIES: dict[str, frozenset[str]] = {
    "userRegistrationDetails": frozenset(
        {
            "id",
            "userPrincipalName",
            "userDisplayName",
            "userType",
            "isAdmin",
            "isMfaRegistered",
            "isMfaCapable",
            "isPasswordlessCapable",
            "isSsprRegistered",
            "isSsprEnabled",
            "isSsprCapable",
            "isSystemPreferredAuthenticationMethodEnabled",
            "methodsRegistered",
            "systemPreferredAuthenticationMethods",
            "userPreferredMethodForSecondaryAuthentication",
            "lastUpdatedDateTime",
            "defaultMfaMethod",
            "@odata.type",
        }
    ),
    "conditionalAccessPolicies": frozenset(
        {
            "id",
            "displayName",
            "description",
            "templateId",
            "createdDateTime",
            "modifiedDateTime",
            "deletedDateTime",
            "state",
            "conditions",
            "grantControls",
            "sessionControls",
            "@odata.type",
            "authenticationStrength@odata.context",
            "partialEnablementStrategy",
        }
    ),
    "roleAssignments": frozenset(
        {
            "id",
            "principalId",
            "roleDefinitionId",
            "directoryScopeId",
            "appScopeId",
            "condition",
            "principalOrganizationId",
            "resourceScope",
            "@odata.type",
            "principal",
            "roleDefinition",
        }
    ),
}

Progress = Callable[[str], None]

NEXT_LINK = "@odata.nextLink"
# Child arrays a collection file must carry whole; "<child>@odata.nextLink" beside one means it was cut off.
_CHILD_LINKS = {
    "groups": ("members@odata.nextLink", "owners@odata.nextLink"),
    "servicePrincipals": ("appRoleAssignments@odata.nextLink",),
}
# User properties the checks read that a plain GET /users does not return.
_USER_PROPERTIES = ("accountEnabled", "userType", "onPremisesSyncEnabled")


_BOM = b"\xef\xbb\xbf"


def _load_json(path: Path, kind: Kind = COLLECTION) -> Any:
    """A regular file's JSON (a UTF-8 byte order mark, as PowerShell writes one, is skipped)."""
    data = read_bytes(path, kind, SnapshotError)
    start = len(_BOM) if data.startswith(_BOM) else 0
    try:
        return orjson.loads(memoryview(data)[start:] if start else data)
    except orjson.JSONDecodeError as exc:
        line = data.count(b"\n", 0, exc.pos + start) + 1 if exc.pos is not None else None
        raise SnapshotError(str(path), f"not valid JSON ({exc.msg})", line) from None


def _items(path: Path, doc: Any) -> list[Json]:
    if isinstance(doc, list):  # tolerate a bare array, as some exporters write
        items = doc
    elif isinstance(doc, dict) and isinstance(doc.get("value"), list):
        items = doc["value"]
    else:
        raise SnapshotError(str(path), 'expected a Graph collection: an object with a "value" array')
    for index, item in enumerate(items):
        if not isinstance(item, dict):
            raise SnapshotError(str(path), f'item {index} of "value" is not an object')
    return items


def _check_items(path: Path, doc: Any, items: list[Json], check: Check | None) -> None:
    """Every item has the types :mod:`.schema` gives its collection; else one error with the JSON path."""
    if check is None:
        return
    prefix = "value" if isinstance(doc, dict) else ""
    for index, item in enumerate(items):
        problem = check(item)
        if problem is not None:
            problem[0].append(index)
            raise SnapshotError(str(path), describe(prefix, problem))


def _check_line(path: Path, number: int, obj: Json, check: Check | None) -> None:
    problem = check(obj) if check is not None else None
    if problem is not None:
        raise SnapshotError(str(path), describe("", problem), number)


def iter_jsonl(path: Path, check: Check | None = None, kind: Kind = COLLECTION) -> Iterator[tuple[int, Json]]:
    """Yield (line number, object) from a JSON Lines file, streamed; blank lines are skipped.

    ``check``: each object must have these types (:mod:`.schema`), else an error names the line and path.
    """
    with open_regular(path, kind, SnapshotError) as handle:
        for number, line in enumerate(handle, start=1):
            if number == 1 and line.startswith(_BOM):
                line = line[len(_BOM) :]
            if not line.strip():
                continue
            try:
                obj = orjson.loads(line)
            except orjson.JSONDecodeError as exc:
                raise SnapshotError(str(path), f"not valid JSON ({exc.msg})", number) from None
            if not isinstance(obj, dict):
                raise SnapshotError(str(path), "each line must be a JSON object", number)
            _check_line(path, number, obj, check)
            yield number, obj


def read_log(path: Path, name: str | None = None) -> list[Json]:
    """Read audit or sign-in records from ``.jsonl`` (one per line) or a Graph ``.json`` collection;
    ``name`` (``directoryAudits``, ``signIns``) checks each record's types."""
    check = ITEM_SCHEMAS.get(name) if name else None
    if path.suffix == ".jsonl":
        return [obj for _, obj in iter_jsonl(path, check, LOG)]
    doc = _load_json(path, LOG)
    items = _items(path, doc)
    _check_items(path, doc, items, check)
    return items


def _require_id(path: Path, item: Json, index: int, key: str = "id") -> str:
    value = item.get(key)
    if not isinstance(value, str) or not value:
        raise SnapshotError(str(path), f'item {index} has no string "{key}"')
    return value.lower()


class _Loader:
    """Reads collections from a snapshot directory, or (``memory``) from Graph JSON already in memory."""

    def __init__(
        self, root: Path, progress: Progress | None, memory: Mapping[str, Any] | None = None
    ) -> None:
        self.root = root
        self.progress = progress
        self.memory = memory
        self.enums = EnumReader()
        self.warnings: list[str] = []
        self.available: dict[str, bool] = {}
        self.errors: dict[str, str] = {}
        self.not_collected: set[str] = set()
        self.partial: dict[str, str] = {}
        self.manifest: dict[str, Any] = {}

    # -- manifest and availability -------------------------------------------------------------------

    def read_manifest(self) -> None:
        path = self.root / MANIFEST
        if not path.exists():
            self.warnings.append(f"{MANIFEST} is missing: collection status is taken from the files present")
            return
        doc = _load_json(path, MANIFEST_KIND)
        if not isinstance(doc, dict):
            raise SnapshotError(str(path), "expected a JSON object")
        problem = MANIFEST_SCHEMA(doc)
        if problem is not None:
            raise SnapshotError(str(path), describe("", problem))
        collections = doc.get("collections", {})
        if not isinstance(collections, dict):
            raise SnapshotError(str(path), '"collections" must be an object')
        for name, entry in collections.items():
            if not isinstance(entry, dict) or str(entry.get("status", "")).lower() not in {"ok", "error"}:
                raise SnapshotError(str(path), f'collection "{name}" needs "status": "ok" or "error"')
        self.manifest = doc

    def check(self, spec: CollectionSpec) -> Path | None:
        """Return the file to read, or None (recording why) when the collection is unavailable.

        In memory mode the path only names the collection in error messages.
        """
        entry = (self.manifest.get("collections") or {}).get(spec.name)
        path = self.root / spec.filename
        if isinstance(entry, dict) and str(entry.get("status")).lower() == "error":
            reason = str(entry.get("error") or "the collector recorded an error")
            permission = str(entry.get("requiredPermission") or spec.permission)
            self.errors[spec.name] = f"{reason} (grant {permission})"
            self.available[spec.name] = False
            return None
        if self.memory is not None:
            if self.memory.get(spec.name) is None:
                if not spec.optional:
                    self.errors[spec.name] = f"{spec.name} is not in the tenant (grant {spec.permission})"
                self.available[spec.name] = False
                return None
        elif not path.exists():
            alt = self.root / (spec.name + (".json" if spec.shape == "jsonl" else ".jsonl"))
            if spec.shape == "jsonl" and alt.exists() and spec.name in {"directoryAudits", "signIns"}:
                path = alt
            else:
                if not spec.optional:
                    self.errors[spec.name] = (
                        f"{spec.filename} is not in the snapshot (grant {spec.permission})"
                    )
                    self.not_collected.add(spec.name)
                self.available[spec.name] = False
                return None
        self.available[spec.name] = True
        if self.progress is not None:
            self.progress(spec.name)
        return path

    def document(self, spec: CollectionSpec, path: Path) -> Any:
        """The parsed content of an available collection."""
        if self.memory is not None:
            return self.memory[spec.name]
        return _load_json(path)

    def warn_extra(self, name: str, items: list[Json]) -> None:
        known = _KNOWN_PROPERTIES.get(name)
        if known is None or not items:
            return
        shapes = {tuple(item) for item in items}  # objects of one collection share a handful of key sets
        extra = set().union(*shapes) - known
        if extra:
            self.warnings.append(
                f"{name}: kept properties this version does not know: {', '.join(sorted(extra))}"
            )

    # -- collections ----------------------------------------------------------------------------------

    def mark_partial(self, name: str, why: str) -> None:
        """Record that ``name`` holds only part of its collection (the first reason found is kept)."""
        if name in self.partial:
            return
        filename = COLLECTIONS[name].filename
        self.partial[name] = f"{filename} {why}"
        self.warnings.append(
            f"{filename}: partial data — it {why}, so the rest of the collection was never read; "
            f"every risk that reads {name} is UNKNOWN. Export every page (follow @odata.nextLink until "
            "it is absent, as graphlattice collect does)."
        )

    def list_collection(self, name: str) -> list[Json] | None:
        spec = COLLECTIONS[name]
        path = self.check(spec)
        if path is None:
            return None
        doc = self.document(spec, path)
        items = _items(path, doc)
        _check_items(path, doc, items, ITEM_SCHEMAS.get(name))
        if isinstance(doc, dict) and doc.get(NEXT_LINK):
            self.mark_partial(name, f"ends with {NEXT_LINK} (one page of {len(items):,} objects)")
        for key in _CHILD_LINKS.get(name, ()):
            cut = sum(1 for item in items if item.get(key))
            if cut:
                child = key.partition("@")[0]
                self.mark_partial(name, f"has {cut:,} object(s) whose {child} array stops at {key}")
        self.warn_extra(name, items)
        return items

    def keyed(self, name: str) -> dict[str, Json] | None:
        """A collection indexed by lower-cased ``id`` (every item must have a non-empty string id)."""
        items = self.list_collection(name)
        if items is None:
            return None
        try:
            out = {item["id"].lower(): item for item in items}
        except (KeyError, AttributeError, TypeError):
            out = {}
        if len(out) != len(items) or "" in out:
            path = self.root / COLLECTIONS[name].filename
            seen: set[str] = set()
            for index, item in enumerate(items):
                key = _require_id(path, item, index)
                if key in seen:
                    raise SnapshotError(str(path), f'item {index} repeats the id "{item["id"]}"')
                seen.add(key)
        return out

    def values(self, name: str) -> list[Json] | None:
        """A collection as a list, in file order, with its ids checked."""
        items = self.keyed(name)
        return None if items is None else list(items.values())

    def singleton(self, name: str) -> Json | None:
        spec = COLLECTIONS[name]
        path = self.check(spec)
        if path is None:
            return None
        doc = self.document(spec, path)
        if not isinstance(doc, dict):
            raise SnapshotError(str(path), "expected a single JSON object")
        check = COLLECTION_SCHEMAS.get(name)
        problem = check(doc) if check is not None else None
        if problem is not None:
            raise SnapshotError(str(path), describe("", problem))
        return doc

    def users(self) -> dict[str, User]:
        items = self.keyed("users")
        if items is None:
            return {}
        enums = self.enums
        known_types = {
            "Member": "member",
            "member": "member",
            "Guest": "guest",
            "guest": "guest",
            None: "member",  # present but null: accounts older than the property are members
        }
        lacking = dict.fromkeys(_USER_PROPERTIES, 0)
        out: dict[str, User] = {}
        for uid, item in items.items():
            user_type: str | None = None
            if "userType" in item:
                raw_type = item["userType"]
                user_type = known_types.get(raw_type) if type(raw_type) is str or raw_type is None else None
                if user_type is None:
                    user_type = enums.read(raw_type, "userType", _USER_TYPES, "users") or "member"
            else:
                lacking["userType"] += 1
            enabled = item.get("accountEnabled")
            if "accountEnabled" not in item:
                lacking["accountEnabled"] += 1
            synced = item.get("onPremisesSyncEnabled")
            if "onPremisesSyncEnabled" not in item:
                lacking["onPremisesSyncEnabled"] += 1
            upn = item.get("userPrincipalName")
            out[uid] = User(
                uid,
                str(item.get("displayName") or upn or uid),
                str(upn or ""),
                user_type,
                None if "accountEnabled" not in item else enabled is not False,
                None if "onPremisesSyncEnabled" not in item else synced is True,
                item,
            )
        missing = [f"{count:,} have no {name}" for name, count in lacking.items() if count]
        if missing:
            spec = COLLECTIONS["users"]
            listed = ", ".join(missing[:-1]) + (" and " if len(missing) > 1 else "") + missing[-1]
            self.warnings.append(
                f"{spec.filename}: of {len(out):,} user(s), {listed} (a plain GET /users returns none of "
                "these): the risks that depend on them are UNKNOWN for those users. Export users with "
                f"{spec.request}"
            )
        return out

    def groups(self) -> dict[str, Group]:
        items = self.keyed("groups")
        if items is None:
            return {}
        path = self.root / "groups.json"
        out: dict[str, Group] = {}
        for index, item in enumerate(items.values()):
            members = item.get("members")
            owners = item.get("owners")
            if members is None or owners is None:
                raise SnapshotError(
                    str(path),
                    f'group {index} ("{item.get("displayName")}") needs complete "members" and '
                    '"owners" arrays',
                )
            if not isinstance(members, list) or not isinstance(owners, list):
                raise SnapshotError(str(path), f'group {index}: "members" and "owners" must be arrays')
            users: list[str] = []
            nested: list[str] = []
            for ref in members:
                if not isinstance(ref, dict) or not isinstance(ref.get("id"), str):
                    raise SnapshotError(str(path), f'group {index}: every member needs an "id"')
                kind = str(ref.get("@odata.type", "")).lower()
                if kind.endswith(".group"):
                    nested.append(ref["id"].lower())
                elif not kind or kind.endswith((".user", ".serviceprincipal")):
                    users.append(ref["id"].lower())
                # devices and organisational contacts stay in ``raw``: they sign in to nothing we assess
            owner_ids = tuple(
                str(ref["id"]).lower() for ref in owners if isinstance(ref, dict) and ref.get("id")
            )
            gid = item["id"].lower()
            out[gid] = Group(
                id=gid,
                display_name=str(item.get("displayName") or gid),
                is_assignable_to_role=item.get("isAssignableToRole") is True,
                member_ids=tuple(users),
                owner_ids=owner_ids,
                member_group_ids=tuple(nested),
                raw=item,
            )
        return out

    def service_principals(self) -> dict[str, ServicePrincipal]:
        items = self.keyed("servicePrincipals")
        if items is None:
            return {}
        path = self.root / "servicePrincipals.json"
        out: dict[str, ServicePrincipal] = {}
        for index, item in enumerate(items.values()):
            grants = item.get("appRoleAssignments")
            if grants is None:
                raise SnapshotError(
                    str(path), f'service principal {index} needs its "appRoleAssignments" array'
                )
            if not isinstance(grants, list):
                raise SnapshotError(
                    str(path), f'service principal {index}: "appRoleAssignments" must be an array'
                )
            sid = item["id"].lower()
            out[sid] = ServicePrincipal(
                id=sid,
                app_id=str(item.get("appId") or "").lower(),
                display_name=str(item.get("displayName") or sid),
                app_role_ids=frozenset(
                    str(g.get("appRoleId")).lower()
                    for g in grants
                    if isinstance(g, dict) and g.get("appRoleId")
                ),
                raw=item,
            )
        return out

    def methods(self) -> dict[str, list[Json]]:
        spec = COLLECTIONS["authenticationMethods"]
        path = self.check(spec)
        if path is None:
            return {}
        out: dict[str, list[Json]] = {}
        check = ITEM_SCHEMAS[spec.name]
        lines: Iterable[tuple[int, Json]] = (
            iter_jsonl(path, check)
            if self.memory is None
            else _memory_lines(path, self.memory[spec.name], check)
        )
        for number, obj in lines:
            user_id = obj.get("userId")
            value = obj.get("value")
            if not isinstance(user_id, str) or not isinstance(value, list):
                raise SnapshotError(str(path), 'each line needs "userId" and a "value" array', number)
            for item in value:
                if not isinstance(item, dict):
                    raise SnapshotError(str(path), "every method must be an object", number)
            if obj.get(NEXT_LINK):
                self.mark_partial(spec.name, f"has a user's methods that stop at {NEXT_LINK} (line {number})")
            out[user_id.lower()] = value
        return out

    def logs(self, name: str) -> list[Json] | None:
        spec = COLLECTIONS[name]
        path = self.check(spec)
        if path is None:
            return None
        doc = self.memory[name] if self.memory is not None else None
        if doc is None and path.suffix != ".jsonl":
            doc = _load_json(path, LOG)
        if doc is None:
            return read_log(path, name)
        if isinstance(doc, dict) and doc.get(NEXT_LINK):
            self.mark_partial(name, f"ends with {NEXT_LINK}")
        items = _items(path, doc)
        _check_items(path, doc, items, ITEM_SCHEMAS.get(name))
        return items


def _memory_lines(path: Path, content: Any, check: Check) -> list[tuple[int, Json]]:
    """``authenticationMethods`` held in memory: ``{userId: [methods]}`` or a list of ``{userId, value}``."""
    lines: list[tuple[int, Json]]
    if isinstance(content, Mapping):
        lines = [(n, {"userId": uid, "value": value}) for n, (uid, value) in enumerate(content.items(), 1)]
    elif isinstance(content, list):
        for n, obj in enumerate(content, 1):
            if not isinstance(obj, dict):
                raise SnapshotError(str(path), "each line must be a JSON object", n)
        lines = list(enumerate(content, 1))
    else:
        lines = []
    for n, obj in lines:
        _check_line(path, n, obj, check)
    if isinstance(content, Mapping | list):
        return lines
    raise SnapshotError(str(path), "expected {userId: [methods]} or a list of {userId, value} lines")


def load_snapshot(root: str | Path, *, progress: Progress | None = None, with_logs: bool = True) -> Tenant:
    """Load a snapshot directory; raises :class:`SnapshotError` for unusable input."""
    with gc_paused():
        return _load(Path(root), progress, with_logs)


def tenant_from_collections(
    collections: Mapping[str, Any],
    manifest: Mapping[str, Any] | None = None,
    *,
    with_logs: bool = True,
) -> Tenant:
    """Build a :class:`Tenant` from Graph JSON already in memory, exactly as :func:`load_snapshot` would.

    ``collections`` is keyed by collection name (:data:`COLLECTIONS`): a list (or ``{"value": [...]}``) per
    list collection, an object for ``authenticationMethodsPolicy``, ``{userId: [methods]}`` (or a list of
    ``{"userId", "value"}`` lines) for ``authenticationMethods``, and lists of records for the logs. A name
    that is absent or ``None`` is unavailable, as a missing file would be. ``manifest`` has the shape of
    ``manifest.json`` (``tenantId``, ``collectedAt``, ``source``, optional ``collections`` statuses).
    The objects are referenced, not copied. Nothing is read from or written to disk.
    """
    root = Path("<memory>")
    loader = _Loader(root, None, memory=collections)
    if manifest is not None:
        doc = dict(manifest)
        statuses = doc.get("collections", {})
        if not isinstance(statuses, dict):
            raise SnapshotError(MANIFEST, '"collections" must be an object')
        loader.manifest = doc
    with gc_paused():
        return _build(loader, with_logs, None)


def _has_snapshot_files(base: Path) -> bool:
    """Whether the folder holds a manifest or at least one collection file (in either log form)."""
    names = {MANIFEST}
    for spec in COLLECTIONS.values():
        names.add(spec.filename)
        if spec.shape == "jsonl":
            names.add(f"{spec.name}.json")
    return any((base / name).is_file() for name in names)


def _load(root: Path, progress: Progress | None, with_logs: bool) -> Tenant:
    base = root
    if not base.is_dir():
        raise SnapshotError(str(base), "not a directory (expected a snapshot folder of Graph JSON files)")
    if not _has_snapshot_files(base):
        raise InputError(f"no Graph collection files in {base} — is this the snapshot folder?")
    loader = _Loader(base, progress)
    loader.read_manifest()
    config = base / CONFIG_FILE
    return _build(loader, with_logs, str(config) if config.exists() else None)


def _build(loader: _Loader, with_logs: bool, config_path: str | None) -> Tenant:
    manifest = loader.manifest

    users = loader.users()
    groups = loader.groups()
    sps = loader.service_principals()
    role_defs = loader.keyed("roleDefinitions") or {}
    assignments = loader.values("roleAssignments")
    eligibilities = loader.values("roleEligibilitySchedules")
    instances = loader.values("roleAssignmentScheduleInstances")
    policies = loader.keyed("roleManagementPolicies") or {}
    policy_assignments = loader.values("roleManagementPolicyAssignments")
    ca = loader.values("conditionalAccessPolicies")
    for policy in ca or ():
        loader.enums.read(policy.get("state"), "state", _CA_STATES, "conditionalAccessPolicies")
    locations = loader.keyed("namedLocations") or {}
    strengths = loader.keyed("authenticationStrengthPolicies") or {}
    am_policy = loader.singleton("authenticationMethodsPolicy")
    registration = loader.keyed("userRegistrationDetails") or {}
    methods = loader.methods()
    audits = loader.logs("directoryAudits") if with_logs else None
    sign_ins = loader.logs("signIns") if with_logs else None

    collected = parse_time(manifest.get("collectedAt"))
    if collected is None:
        collected = datetime.now(UTC)
        if manifest:
            loader.warnings.append('manifest has no usable "collectedAt": ages are measured from now')
    coverage = manifest.get("coverage") if isinstance(manifest.get("coverage"), dict) else {}
    tenant = Tenant(
        tenant_id=str(manifest.get("tenantId") or "unknown"),
        collected_at=collected,
        source=str(manifest.get("source") or "snapshot"),
        available=loader.available,
        errors=loader.errors,
        coverage=dict(coverage or {}),
        users=users,
        groups=groups,
        service_principals=sps,
        role_definitions=role_defs,
        role_assignments=assignments or [],
        role_eligibilities=eligibilities or [],
        role_schedule_instances=instances,
        role_policies=policies,
        role_policy_assignments=policy_assignments or [],
        ca_policies=ca or [],
        named_locations=locations,
        strength_policies=strengths,
        auth_methods_policy=am_policy,
        registration=registration,
        methods=methods,
        directory_audits=audits,
        sign_ins=sign_ins,
        unknown_enums=loader.enums.all_unknown(),
        warnings=loader.warnings,
        config_path=config_path,
        partial=loader.partial,
        not_collected=frozenset(loader.not_collected),
    )
    for (collection, field_name), values in tenant.unknown_enums.items():
        tenant.warnings.append(
            f"{collection}: unknown {field_name} value(s) kept: {', '.join(sorted(values))}"
        )
    _warn_unresolved(tenant)
    return tenant


def _warn_unresolved(tenant: Tenant) -> None:
    """One warning naming role holders that are in no collection of the snapshot."""
    principals = sorted({g.principal_id for g in tenant.unresolved_grants})
    if not principals:
        return
    shown = ", ".join(principals[:5]) + (f" and {len(principals) - 5:,} more" if len(principals) > 5 else "")
    tenant.warnings.append(
        f"role assignments name {len(principals):,} principal(s) found in neither users, groups nor service "
        f"principals ({shown}); {tenant.unresolved_hint()}. Risks about role holders are UNKNOWN for them."
    )


def write_collection(path: Path, items: list[Mapping[str, Any]]) -> None:
    """Write a Graph collection file (``{"value": [...]}``)."""
    path.write_bytes(orjson.dumps({"value": items}))
