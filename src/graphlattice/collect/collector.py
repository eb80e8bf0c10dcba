"""Collect a snapshot from Microsoft Graph (or a Graph-compatible endpoint such as the Range).

:func:`collect` reads every collection of the plan (:mod:`graphlattice.collect.plan`) concurrently, each
family at its own pace, streams the pages into the snapshot folder (:mod:`graphlattice.collect.writer`) and
writes ``manifest.json`` last, in exactly the format :func:`graphlattice.tenant.snapshot.load_snapshot`
reads. A collection that cannot be read (403, missing licence, not served, retries exhausted, or an endpoint
outside the bounds of :mod:`graphlattice.collect.limits`: a wait too long, a paging loop, a page too large)
is recorded in the manifest as ``{"status": "error", "error", "requiredPermission"}`` and the run goes on, so
the checks that need it report UNKNOWN with the reason.

``.collect-state.json`` in the folder records what is finished (and the few facts later collections need:
members of role-assignable groups, users the registration report shows with a Temporary Access Pass); a run
with ``resume=True`` skips finished collections and reads only the rest. The service's clock (the ``Date``
of its first answer, unless ``collected_at`` says otherwise) is the snapshot's ``collectedAt`` and the end of
the log window, and is kept across a resume, so an interrupted and resumed run writes the same snapshot as
an uninterrupted one.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Protocol

import httpx
import orjson

from graphlattice._version import __version__
from graphlattice.collect.auth import TokenProvider
from graphlattice.collect.client import (
    DEFAULT_BASE_URL,
    BadResponse,
    CollectionFailed,
    GraphClient,
    GraphError,
    Limits,
    Pacer,
    RetryPolicy,
    Stats,
    SubRequest,
    SubResult,
    normalise_base_url,
)
from graphlattice.collect.plan import (
    BATCH_SIZE,
    METHODS_PATH,
    PLAN,
    ChildQuery,
    CollectionPlan,
    Family,
    directory_budget,
    has_temporary_access_pass,
    log_query,
    method_candidates,
)
from graphlattice.collect.writer import JsonlWriter, ListWriter, write_json_atomic
from graphlattice.errors import CollectError, UsageError
from graphlattice.tenant.collections import COLLECTIONS

__all__ = [
    "STATE_FILE",
    "CollectOptions",
    "CollectResult",
    "CollectionOutcome",
    "ProgressSink",
    "collect",
]

STATE_FILE = ".collect-state.json"
MANIFEST = "manifest.json"
STATE_FORMAT = 1
_CHUNK = 100  # groups / principals whose children are read together (bounds memory per page)
_METHOD_WINDOW = 400  # users whose methods are read before they are written


@dataclass(frozen=True, slots=True)
class CollectOptions:
    out_dir: Path
    base_url: str = DEFAULT_BASE_URL
    tenant_id: str | None = None
    resume: bool = False
    force: bool = False
    logs_days: int | None = 7  # None: do not read audit and sign-in logs
    collected_at: datetime | None = None  # the snapshot's "now"; default: the service's Date header
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    concurrency: int = 4  # $batch requests in flight per collection
    limits: Limits = field(default_factory=Limits)  # waits, timeouts, pages and page size it accepts


@dataclass(slots=True)
class CollectionOutcome:
    name: str
    status: str  # "ok" or "error"
    count: int = 0
    error: str = ""
    required_permission: str = ""
    resumed: bool = False  # finished by an earlier run, not read again
    extra: dict[str, Any] = field(default_factory=dict)
    refused: bool = True  # an error of access (grant the permission), not of the endpoint's behaviour

    @property
    def remedy(self) -> str:
        """What to do about an error: the permission to grant, unless the endpoint itself was the problem."""
        return f"grant {self.required_permission}" if self.refused else "run again later with --resume"

    def manifest_entry(self) -> dict[str, Any]:
        if self.status == "ok":
            return {"status": "ok", "count": self.count, **self.extra}
        return {"status": "error", "error": self.error, "requiredPermission": self.required_permission}

    def to_state(self) -> dict[str, Any]:
        entry = self.manifest_entry()
        return entry

    @classmethod
    def from_state(cls, name: str, entry: dict[str, Any]) -> CollectionOutcome:
        extra = {
            k: v for k, v in entry.items() if k not in ("status", "count", "error", "requiredPermission")
        }
        return cls(
            name,
            str(entry.get("status")),
            int(entry.get("count") or 0),
            str(entry.get("error") or ""),
            str(entry.get("requiredPermission") or ""),
            resumed=True,
            extra=extra,
        )


@dataclass(slots=True)
class CollectResult:
    out_dir: Path
    manifest: dict[str, Any]
    outcomes: dict[str, CollectionOutcome]
    stats: Stats
    seconds: float

    @property
    def errors(self) -> dict[str, CollectionOutcome]:
        return {name: o for name, o in self.outcomes.items() if o.status != "ok"}


class ProgressSink(Protocol):
    def begin(self, name: str, total: int | None) -> None: ...

    def advance(self, name: str, items: int) -> None: ...

    def end(self, outcome: CollectionOutcome) -> None: ...


class _Quiet:
    def begin(self, name: str, total: int | None) -> None:
        pass

    def advance(self, name: str, items: int) -> None:
        pass

    def end(self, outcome: CollectionOutcome) -> None:
        pass


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _tenant_from_token(token: str) -> str | None:
    """The ``tid`` claim of a JWT (read, not verified: it only names the snapshot)."""
    parts = token.split(".")
    if len(parts) != 3:
        return None
    try:
        claims = orjson.loads(base64.urlsafe_b64decode(parts[1] + "=" * (-len(parts[1]) % 4)))
    except (ValueError, orjson.JSONDecodeError):
        return None
    tid = claims.get("tid") if isinstance(claims, dict) else None
    return str(tid) if isinstance(tid, str) and tid else None


# ---- the run --------------------------------------------------------------------------------------------


class _Run:
    def __init__(
        self,
        options: CollectOptions,
        client: GraphClient,
        state: dict[str, Any],
        progress: ProgressSink,
    ) -> None:
        self.options = options
        self.out = options.out_dir
        self.client = client
        self.state = state
        self.progress = progress
        self.outcomes: dict[str, CollectionOutcome] = {}
        self.done: dict[str, asyncio.Event] = {p.name: asyncio.Event() for p in PLAN}
        self.save_lock = asyncio.Lock()
        for name, entry in (state.get("collections") or {}).items():
            if (
                isinstance(entry, dict)
                and entry.get("status") == "ok"
                and name in COLLECTIONS
                and (self.out / COLLECTIONS[name].filename).exists()
            ):
                self.outcomes[name] = CollectionOutcome.from_state(name, entry)
        if state.get("users") is not None:
            client.pacer.set_budget(directory_budget(int(state["users"])))

    # -- state ----------------------------------------------------------------------------------------

    def collected_at(self, *, settle: bool = False) -> datetime | None:
        """The service's clock at its first answer (kept across a resume); ``settle``: this machine's clock
        when the service sent no ``Date``."""
        stamp = self.state.get("collectedAt")
        if isinstance(stamp, str):
            with contextlib.suppress(ValueError):
                return datetime.fromisoformat(stamp.replace("Z", "+00:00"))
        when = self.client.server_time
        if when is None and settle:
            when = datetime.now(UTC).replace(microsecond=0)
        if when is not None:
            self.state["collectedAt"] = _iso(when)
        return when

    async def save(self) -> None:
        async with self.save_lock:
            self.collected_at()
            self.state["collections"] = {
                name: self.outcomes[name].to_state() for name in COLLECTIONS if name in self.outcomes
            }
            self.state["stats"] = self.client.stats.to_json()
            write_json_atomic(self.out / STATE_FILE, self.state, indent=True)

    # -- one collection -------------------------------------------------------------------------------

    def wanted(self) -> list[CollectionPlan]:
        return [p for p in PLAN if not (p.is_log and self.options.logs_days is None)]

    async def run_one(self, plan: CollectionPlan, body: Callable[[], Awaitable[CollectionOutcome]]) -> None:
        name = plan.name
        try:
            if name in self.outcomes and self.outcomes[name].status == "ok":
                self.progress.end(self.outcomes[name])
                return
            try:
                outcome = await body()
            except GraphError as exc:
                outcome = self._failed(plan, exc)
            except CollectionFailed as exc:  # retries exhausted, a wait too long, an answer not Graph's
                outcome = CollectionOutcome(
                    name, "error", error=str(exc), required_permission=plan.permission, refused=False
                )
            self.outcomes[name] = outcome
            self.progress.end(outcome)
            await self.save()
        finally:
            self.done[name].set()

    def _failed(self, plan: CollectionPlan, exc: GraphError) -> CollectionOutcome:
        perm = " and ".join(dict.fromkeys([*plan.permission.split(" and "), *plan.extra_permissions]))
        text = str(exc)
        if exc.status == 403 and exc.licence and plan.spec.note:
            text += f" ({plan.spec.note})"
        elif exc.status == 403:
            text += " (the identity lacks the permission or directory role)"
        elif exc.status == 404:
            text += " (the endpoint does not serve this collection)"
        return CollectionOutcome(plan.name, "error", error=text, required_permission=perm)

    # -- list collections -----------------------------------------------------------------------------

    async def list_collection(self, plan: CollectionPlan) -> CollectionOutcome:
        assert plan.query is not None
        self.progress.begin(plan.name, None)
        if plan.spec.shape == "singleton":
            doc = await self.client.get(plan.query.url(), family=plan.family, units=plan.query.cost)
            if not isinstance(doc, dict):
                raise BadResponse(f"{plan.query.path}: expected a JSON object")
            doc = {k: v for k, v in doc.items() if k != "@odata.context"}
            write_json_atomic(self.out / plan.spec.filename, doc)
            self.progress.advance(plan.name, 1)
            return CollectionOutcome(plan.name, "ok", 1)
        tap_users: list[str] = []
        role_groups: dict[str, list[str]] = {}
        first = True
        with ListWriter(self.out / plan.spec.filename) as writer:
            async for page in self._pages(plan):
                items = _values(page, plan)
                if first and plan.name == "users":
                    self._size_from_first_page(page, items)
                first = False
                if plan.children:
                    await self._write_with_children(plan, items, writer, role_groups)
                else:
                    for item in items:
                        writer.write(item)
                        if plan.name == "userRegistrationDetails" and has_temporary_access_pass(item):
                            tap_users.append(str(item.get("id") or ""))
                self.progress.advance(plan.name, len(items))
            count = writer.commit()
        if plan.name == "users":
            self.state["users"] = count
            self.client.pacer.set_budget(directory_budget(count))
        if plan.name == "userRegistrationDetails":
            self.state["tapUsers"] = sorted(u for u in tap_users if u)
        if plan.name == "groups":
            self.state["roleGroups"] = role_groups
        return CollectionOutcome(plan.name, "ok", count)

    async def log_collection(self, plan: CollectionPlan) -> CollectionOutcome:
        self.progress.begin(plan.name, None)
        days = self.options.logs_days
        assert days is not None
        now = self.collected_at()
        if now is None:
            await self._learn_time()
            now = self.collected_at(settle=True)
        assert now is not None
        since = now - timedelta(days=days)
        query = log_query(plan.name, since)
        with JsonlWriter(self.out / plan.spec.filename) as writer:
            async for page in self._pages(plan, query.url(), query.cost):
                items = _values(page, plan)
                for item in items:
                    writer.write(item)
                self.progress.advance(plan.name, len(items))
            count = writer.commit()
        return CollectionOutcome(plan.name, "ok", count, extra={"since": _iso(since)})

    async def _learn_time(self) -> None:
        """The service's clock when no answer has come yet (any answer carries a Date)."""
        with contextlib.suppress(GraphError):
            await self.client.get("/v1.0/organization?$select=id", family="directory", units=1)

    def _size_from_first_page(self, page: dict[str, Any], items: list[Any]) -> None:
        more = isinstance(page.get("@odata.nextLink"), str)
        self.client.pacer.set_budget(directory_budget(10_000 if more else len(items)))

    async def _pages(
        self, plan: CollectionPlan, url: str | None = None, units: int | None = None
    ) -> AsyncIterator[dict[str, Any]]:
        assert plan.query is not None
        async for page in self.client.follow(
            url or plan.query.url(), plan.family, units if units is not None else plan.query.cost
        ):
            yield page

    # -- per-object children (group members and owners, principals' app role assignments) -------------

    async def _write_with_children(
        self,
        plan: CollectionPlan,
        items: list[dict[str, Any]],
        writer: ListWriter,
        role_groups: dict[str, list[str]],
    ) -> None:
        for start in range(0, len(items), _CHUNK):
            chunk = items[start : start + _CHUNK]
            subs = [
                SubRequest(f"{n}/{child.key}", child.for_id(str(item.get("id") or "")).relative())
                for n, item in enumerate(chunk)
                for child in plan.children
            ]
            results = await self._batched(subs)
            for n, item in enumerate(chunk):
                firsts: list[tuple[ChildQuery, SubResult]] = [
                    (child, results[f"{n}/{child.key}"]) for child in plan.children
                ]
                if any(r.status == 404 for _, r in firsts):
                    continue  # deleted while we read: Graph would not list it any more
                for _, result in firsts:
                    if result.error is not None:
                        raise result.error
                keep = plan.name == "groups" and item.get("isAssignableToRole") is True
                members = await self._stream_item(writer, item, firsts, keep)
                if keep:
                    role_groups[str(item.get("id") or "").casefold()] = members

    async def _stream_item(
        self,
        writer: ListWriter,
        item: dict[str, Any],
        firsts: list[tuple[ChildQuery, SubResult]],
        keep_members: bool,
    ) -> list[str]:
        """Write ``item`` with each child list, following the child's next links page by page."""
        base = {k: v for k, v in item.items() if k not in {c.key for c, _ in firsts}}
        head = orjson.dumps(base)[:-1]
        writer.write_raw(head)
        separator = b"," if base else b""
        members: list[str] = []
        for child, result in firsts:
            writer.append(separator + orjson.dumps(child.key) + b":[")
            separator = b","
            body = result.body if isinstance(result.body, dict) else {}
            written = 0
            async for values in self._child_pages(child, body):
                for value in values:
                    writer.append((b"," if written else b"") + orjson.dumps(value))
                    written += 1
                    if keep_members and child.key == "members" and isinstance(value, dict):
                        kind = str(value.get("@odata.type") or "").casefold()
                        if not kind.endswith(".group"):
                            members.append(str(value.get("id") or "").casefold())
            writer.append(b"]")
        writer.append(b"}")
        return members

    async def _child_pages(self, child: ChildQuery, body: dict[str, Any]) -> AsyncIterator[list[Any]]:
        values = body.get("value")
        yield values if isinstance(values, list) else []
        link = body.get("@odata.nextLink")
        if isinstance(link, str) and link:
            async for page in self.client.follow(link, "directory", child.cost):
                items = page.get("value")
                yield items if isinstance(items, list) else []

    async def _batched(self, subs: list[SubRequest]) -> dict[str, SubResult]:
        """All ``subs`` through ``$batch`` (20 per request, a few requests in flight)."""
        gate = asyncio.Semaphore(self.options.concurrency)

        async def one(group: list[SubRequest]) -> dict[str, SubResult]:
            async with gate:
                return await self.client.batch(group)

        groups = [subs[i : i + BATCH_SIZE] for i in range(0, len(subs), BATCH_SIZE)]
        out: dict[str, SubResult] = {}
        for part in await asyncio.gather(*(one(g) for g in groups)):
            out.update(part)
        return out

    # -- per-user authentication methods --------------------------------------------------------------

    def _principals(self, name: str) -> set[str] | None:
        outcome = self.outcomes.get(name)
        if outcome is None or outcome.status != "ok":
            return None
        path = self.out / COLLECTIONS[name].filename
        doc = orjson.loads(path.read_bytes())
        return {
            str(item.get("principalId")).casefold()
            for item in doc.get("value", [])
            if isinstance(item, dict) and item.get("principalId")
        }

    async def methods_collection(self, plan: CollectionPlan) -> CollectionOutcome:
        for name in ("roleAssignments", "roleEligibilitySchedules", "roleAssignmentScheduleInstances"):
            await self.done[name].wait()
        await self.done["groups"].wait()
        await self.done["userRegistrationDetails"].wait()
        gaps: list[str] = []
        principals: set[str] = set()
        for name in ("roleAssignments", "roleEligibilitySchedules", "roleAssignmentScheduleInstances"):
            found = self._principals(name)
            if found is None:
                if name != "roleAssignmentScheduleInstances":
                    gaps.append(f"{name} could not be read")
                continue
            principals |= found
        role_groups: dict[str, list[str]] = self.state.get("roleGroups") or {}
        if self.outcomes.get("groups") is None or self.outcomes["groups"].status != "ok":
            gaps.append("groups could not be read (members of role-assignable groups are missing)")
        tap: list[str] = []
        if self.outcomes.get("userRegistrationDetails", CollectionOutcome("", "error")).status == "ok":
            tap = [str(u) for u in self.state.get("tapUsers") or []]
        else:
            gaps.append("userRegistrationDetails could not be read (holders of a pass are unknown)")
        privileged = method_candidates(principals, role_groups, ())
        wanted = method_candidates(principals, role_groups, tap)
        self.progress.begin(plan.name, len(wanted))
        read = not_found = forbidden = 0
        first_error: GraphError | None = None
        with JsonlWriter(self.out / plan.spec.filename) as writer:
            for start in range(0, len(wanted), _METHOD_WINDOW):
                window = wanted[start : start + _METHOD_WINDOW]
                subs = [SubRequest(uid, METHODS_PATH.replace("{id}", uid)) for uid in window]
                results = await self._batched(subs)
                for uid in window:
                    result = results[uid]
                    if result.status == 404:
                        not_found += 1  # a service principal holding a role, or a user deleted meanwhile
                    elif result.error is not None:
                        forbidden += 1
                        first_error = first_error or result.error
                    else:
                        methods: list[Any] = []
                        body = result.body if isinstance(result.body, dict) else {}
                        child = ChildQuery("value", METHODS_PATH)
                        async for values in self._child_pages(child, body):
                            methods.extend(values)
                        writer.write({"userId": uid, "value": methods})
                        read += 1
                self.progress.advance(plan.name, len(window))
            if first_error is not None and read == 0:
                raise first_error
            count = writer.commit()
        reason = (
            "per-user methods were read for privileged users (active, eligible and activated role holders, "
            "members of role-assignable groups included) and for users whose registration report shows a "
            "Temporary Access Pass; every other user is covered by userRegistrationDetails"
        )
        coverage: dict[str, Any] = {
            "users": read,
            "privilegedUsers": len(privileged),
            "temporaryAccessPassUsers": len(tap),
            "reason": reason,
        }
        if not_found:
            coverage["notUsers"] = not_found
        if forbidden:
            coverage["unreadable"] = forbidden
            gaps.append(f"{forbidden} user(s) could not be read ({first_error})")
        if gaps:
            coverage["gaps"] = gaps
        self.state.setdefault("coverage", {})["authenticationMethods"] = coverage
        return CollectionOutcome(plan.name, "ok", count)

    # -- orchestration --------------------------------------------------------------------------------

    async def run(self) -> None:
        wanted = {p.name: p for p in self.wanted()}
        for name in COLLECTIONS:
            if name not in wanted:
                self.done[name].set()

        def job(plan: CollectionPlan) -> Coroutine[Any, Any, None]:
            if plan.name == "authenticationMethods":
                return self.run_one(plan, lambda: self.methods_collection(plan))
            if plan.is_log:
                return self.run_one(plan, lambda: self.log_collection(plan))
            return self.run_one(plan, lambda: self.list_collection(plan))

        async def in_order(plans: Iterable[CollectionPlan]) -> None:
            for plan in plans:
                await job(plan)

        by_family: dict[Family, list[CollectionPlan]] = {}
        for plan in wanted.values():
            if plan.name != "authenticationMethods":
                by_family.setdefault(plan.family, []).append(plan)
        async with asyncio.TaskGroup() as tasks:
            for plan in by_family.get("directory", []):
                tasks.create_task(job(plan))
            # Families with a budget of a few requests: one collection after the other, the one the
            # per-user methods wait for first.
            tasks.create_task(in_order(by_family.get("reports", [])))
            tasks.create_task(in_order(by_family.get("conditionalAccess", [])))
            tasks.create_task(job(wanted["authenticationMethods"]))

    def manifest(self) -> dict[str, Any]:
        collected = self.collected_at(settle=True) or datetime.now(UTC)
        manifest: dict[str, Any] = {
            "tenantId": self.state.get("tenantId") or "unknown",
            "collectedAt": _iso(collected),
            "source": "graph",
            "collector": {"name": "graphlattice", "version": __version__},
            "collections": {
                name: self.outcomes[name].manifest_entry() for name in COLLECTIONS if name in self.outcomes
            },
        }
        coverage = self.state.get("coverage")
        if isinstance(coverage, dict) and coverage:
            manifest["coverage"] = coverage
        return manifest


def _values(page: dict[str, Any], plan: CollectionPlan) -> list[Any]:
    items = page.get("value")
    if not isinstance(items, list):
        raise BadResponse(f"{plan.name}: a page without a value array")
    return items


# ---- entry point ----------------------------------------------------------------------------------------


def _prepare(options: CollectOptions, base_url: str, tenant: Callable[[], str | None]) -> dict[str, Any]:
    out = options.out_dir
    state_path = out / STATE_FILE
    if out.exists() and not out.is_dir():
        raise UsageError(f"{out} exists and is not a folder")
    if options.resume:
        if not state_path.exists():
            raise UsageError(f"nothing to resume in {out}: it has no {STATE_FILE} (start without --resume)")
        try:
            state: dict[str, Any] = orjson.loads(state_path.read_bytes())
        except (OSError, orjson.JSONDecodeError):
            raise UsageError(f"{state_path} cannot be read; start over with --force") from None
        if state.get("format") != STATE_FORMAT:
            raise UsageError(f"{state_path} was written by another version; start over with --force")
        held = str(state.get("tenantId") or "")
        now = tenant() or ""
        if held and now and held.casefold() != now.casefold():
            raise UsageError(f"{out} holds tenant {held}, and this token is for tenant {now}")
        if state.get("baseUrl") != base_url:
            # the same tenant behind another address (a restarted endpoint) is fine; anything else is not
            if not (held and now):
                raise UsageError(
                    f"{out} was collected from {state.get('baseUrl')}, not {base_url}; "
                    "resume with the same --base-url or start over with --force"
                )
            state["baseUrl"] = base_url
        if state.get("logsDays") != options.logs_days:
            raise UsageError(
                f"{out} was started with a log window of {state.get('logsDays')} day(s); "
                "resume with the same --logs-days / --no-logs"
            )
        return state
    if out.exists() and any(out.iterdir()):
        if not options.force:
            raise UsageError(
                f"{out} is not empty; use --resume to continue an interrupted collection, "
                "or --force to start over"
            )
        for name in [*(spec.filename for spec in COLLECTIONS.values()), MANIFEST, STATE_FILE]:
            (out / name).unlink(missing_ok=True)
            (out / f".{name}.part").unlink(missing_ok=True)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create {out}: {exc.strerror or exc}") from None
    return {
        "format": STATE_FORMAT,
        "baseUrl": base_url,
        "tenantId": None,
        "logsDays": options.logs_days,
        "collectedAt": _iso(options.collected_at) if options.collected_at is not None else None,
        "collections": {},
    }


def collect(
    options: CollectOptions,
    tokens: TokenProvider,
    *,
    progress: ProgressSink | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> CollectResult:
    """Collect a snapshot into ``options.out_dir`` (see the module docstring). Raises :class:`CollectError`
    when the run cannot go on (token refused, endpoint unreachable); what finished is kept for a resume."""
    base_url = normalise_base_url(options.base_url)

    def tenant() -> str | None:
        """The tenant id the token names (a GUID), else what --tenant said."""
        found = None
        with contextlib.suppress(CollectError):
            found = _tenant_from_token(tokens.token())
        return found or options.tenant_id

    state = _prepare(options, base_url, tenant)
    if not state.get("tenantId"):
        state["tenantId"] = tenant()
    started = time.perf_counter()

    async def main() -> CollectResult:
        client = GraphClient(
            base_url,
            tokens,
            pacer=Pacer(),
            retry=options.retry,
            limits=options.limits,
            transport=transport,
        )
        async with client:
            run = _Run(options, client, state, progress or _Quiet())
            try:
                await run.run()
            except BaseException as exc:
                await run.save()
                fatal = _first_fatal(exc)
                if fatal is not None:
                    raise fatal from None
                raise
            manifest = run.manifest()
            write_json_atomic(options.out_dir / MANIFEST, manifest, indent=True)
            state["finished"] = True
            await run.save()
            return CollectResult(
                options.out_dir, manifest, run.outcomes, client.stats, time.perf_counter() - started
            )

    return asyncio.run(main())


def _first_fatal(exc: BaseException) -> CollectError | None:
    """The error that stopped the run, out of a task group's exception group."""
    if isinstance(exc, CollectError):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = _first_fatal(inner)
            if found is not None:
                return found
    return None
