"""The Range facade: start a scenario, act on it, look at it, verify it, reset it. Everything persists.

Contract notes for the scenario layer (deviations from, and additions to, the shared contract):

* ``Range.start(state_dir, scenario, *, play=None)``: seeds from ``scenario.seed_collections()``,
  ``scenario.seed_secrets()`` and ``scenario.tenant.start`` / ``.seed`` / ``.id``, then calls ``play(range)``
  (default: ``graphlattice.range.player.play_timeline(range, scenario)``), which drives every timeline step
  through :meth:`Range.act`, clock moves included (``advance-clock to=ISO``). Every call made during
  ``play`` is recorded in ``seed.json``, so :meth:`reset` re-seeds and replays byte for byte without reading
  the scenario file again. ``Range.seeded(state_dir, state, play=...)`` does the same from a ready
  :class:`RangeState` (tests, custom tenants). ``state_dir=None`` means :func:`default_state_dir`.
* ``act(action, params, *, actor)``: ``params`` may hold strings (command line) or YAML values; ``actor``
  ``None`` is someone without an account (the outside attacker). :meth:`simulate` runs an action on a copy
  (nothing persists, no logs): dry runs and foothold replays.
* Results: ``sign-in`` returns ``data["session"]`` == ``data["refresh_token"]``, ``data["mfa"]`` and
  ``data["registrationOnly"]`` (the MFA registration interrupt: Conditional Access required MFA and the user
  had no method, so the session may only register security info; its record has error 50079; a verifier
  should count such a session as the attacker still being able to plant a method). ``issue-tap`` returns
  ``data["code"]`` (the code is never in the message, the journal or state.json), ``reset-password`` /
  ``self-service-reset`` return ``data["newPassword"]`` and ``data["revoked"]`` (token ids).
* Refusals: :class:`~graphlattice.errors.ActionDenied` restores the state except the failure records Entra
  writes (failed sign-ins, a blocked registration's sign-in, a blocked self-service reset), which are kept,
  persisted and journaled. Bad input is :class:`~graphlattice.errors.RangeError` and changes nothing.
* Token revocation follows ``entra.tokens`` exactly: a self-service reset or a password change revokes only
  password-based tokens; an admin reset (Entra admin center row of Microsoft's table) revokes
  non-password-based refresh tokens too. Either way the attacker's registered passkey / phone sign-in and a
  live pass still sign in: that is the lesson, for both kinds of reset.
* Method policy: using or registering Authenticator, passkeys, SMS or OATH needs the method's configuration in
  ``authenticationMethodsPolicy`` to include the user; an absent configuration is disabled, except that
  Authenticator push, SMS and OATH stay usable while ``policyMigrationState`` is not ``migrationComplete``.
* PIM: a role without a policy in the tenant has Microsoft's defaults (MFA on activation, no approval,
  PT8H). ``activate-role`` with MFA required needs a live session of the user with MFA (or ``session=``).
* Holders: an account owner's label comes from ``SeedSecrets.owners`` (default: the UPN); a pass is known to
  the owner label of the admin who issued it; a device registered in a session is held by ``holder``
  (default: the session's holder). Extra actions beyond the contract: ``disable-user``, ``enable-user``,
  ``add-group-member``, ``remove-group-member``.
"""

from __future__ import annotations

import contextlib
from collections.abc import Callable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from graphlattice.errors import ActionDenied, RangeError
from graphlattice.range.actions import ACTIONS, ActionResult, run_action
from graphlattice.range.principals import PRINCIPALS_FILE, PrincipalIndex, write_index
from graphlattice.range.state import RangeState
from graphlattice.range.store import RangeStore, default_state_dir
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.model import Tenant

if TYPE_CHECKING:
    from graphlattice.range.scenario import Scenario

__all__ = ["ActionResult", "Range", "RangeState", "apply_action", "default_state_dir"]

RANGE_FORMAT = 1
_SECRET_KEYS = frozenset({"password", "newpassword", "current_password", "code", "temporaryaccesspass"})


def _redact(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {k: ("***" if str(k).casefold() in _SECRET_KEYS else _redact(v)) for k, v in value.items()}
    if isinstance(value, list):
        return [_redact(v) for v in value]
    return value


def _restore(state: RangeState, snapshot: bytes, *, keep_logs: bool) -> None:
    old = RangeState.loads(snapshot)
    for name in ("tenant_id", "clock", "collections", "secrets", "sessions", "requests", "notes"):
        setattr(state, name, getattr(old, name))
    if not keep_logs:
        state.ids = old.ids
        state.audits = old.audits
        state.sign_ins = old.sign_ins


def apply_action(
    state: RangeState, action: str, params: Mapping[str, Any], *, actor: str | None = None
) -> ActionResult:
    """Run one action all-or-nothing: a refused action leaves only its failure records behind."""
    snapshot = state.dumps()
    try:
        return run_action(state, action, params, actor=actor)
    except ActionDenied:
        _restore(state, snapshot, keep_logs=True)
        raise
    except BaseException:
        _restore(state, snapshot, keep_logs=False)
        raise


class Range:
    """One range in one state directory. Use :meth:`start`, :meth:`seeded` or :meth:`open`."""

    def __init__(self, store: RangeStore, state: RangeState, meta: dict[str, Any]) -> None:
        self._store = store
        self._state = state
        self._meta = meta
        self._recording: list[dict[str, Any]] | None = None
        self._scenario: Scenario | None = None

    # ---- creating and opening -----------------------------------------------------------------------

    @classmethod
    def start(
        cls,
        state_dir: Path | None,
        scenario: Scenario,
        *,
        play: Callable[[Range], None] | None = None,
    ) -> Range:
        """Seed the scenario's tenant, play the attacker's timeline, persist; replaces any range there."""
        state = RangeState.from_collections(
            scenario.seed_collections(),
            now=scenario.tenant.start,
            seed=scenario.tenant.seed,
            secrets=scenario.seed_secrets(),
            tenant_id=scenario.tenant.id,
        )
        meta = {"scenarioId": scenario.id, "scenarioPath": str(scenario.path)}
        rng = cls._create(state_dir, state, meta)
        rng._scenario = scenario
        if play is None:

            def play(r: Range) -> None:
                import importlib

                player: Any = importlib.import_module("graphlattice.range.player")  # the scenario layer
                player.play_timeline(r, scenario)

        rng._play(play)
        return rng

    @classmethod
    def seeded(
        cls,
        state_dir: Path | None,
        state: RangeState,
        *,
        scenario_id: str = "custom",
        play: Callable[[Range], None] | None = None,
    ) -> Range:
        """A range from a ready state (and an optional scripted prelude recorded for :meth:`reset`)."""
        rng = cls._create(state_dir, state, {"scenarioId": scenario_id, "scenarioPath": None})
        rng._play(play or (lambda r: None))
        return rng

    @classmethod
    def _create(cls, state_dir: Path | None, state: RangeState, meta: dict[str, Any]) -> Range:
        store = RangeStore(state_dir if state_dir is not None else default_state_dir())
        store.create()
        meta = {"format": RANGE_FORMAT, "hintsUsed": 0, **meta}
        store.write_seed({"format": RANGE_FORMAT, "meta": meta, "state": state.to_json(), "timeline": []})
        store.reset_journal()
        return cls(store, state, meta)

    def _play(self, play: Callable[[Range], None]) -> None:
        self._recording = []
        try:
            play(self)
        finally:
            timeline, self._recording = self._recording, None
        seed = self._store.read_seed()
        seed["timeline"] = timeline
        self._store.write_seed(seed)
        self._save()

    @classmethod
    def open(cls, state_dir: Path | None = None) -> Range:
        """Reopen a range exactly as it was left."""
        store = RangeStore(state_dir if state_dir is not None else default_state_dir())
        if not store.exists():
            raise RangeError(f"no range in {store.root}; run 'graphlattice range start SCENARIO' first")
        doc = store.read_state()
        if doc.get("format") != RANGE_FORMAT or not isinstance(doc.get("state"), dict):
            raise RangeError(f"{store.state_path} is not a range state this version can read")
        meta = doc.get("meta")
        return cls(store, RangeState.from_json(doc["state"]), dict(meta) if isinstance(meta, dict) else {})

    # ---- acting -------------------------------------------------------------------------------------

    def act(self, action: str, params: Mapping[str, Any], *, actor: str | None = None) -> ActionResult:
        """Carry out an action, persist the state and journal it. Raises ActionDenied / RangeError."""
        if action not in ACTIONS:
            raise RangeError(f"unknown action {action!r}; actions: {', '.join(sorted(ACTIONS))}")
        entry: dict[str, Any] = {
            "at": self._state.clock.iso(),
            "actor": actor,
            "action": action,
            "params": _redact(dict(params)),
        }
        if self._recording is not None:
            self._recording.append({"action": action, "params": dict(params), "actor": actor})
        try:
            result = apply_action(self._state, action, params, actor=actor)
        except ActionDenied as denied:
            entry.update(outcome="denied", message=denied.reason)
            self._commit(entry)
            raise
        entry.update(
            outcome="ok",
            message=result.message,
            data=_redact(result.data),
            records=[r.get("id") for r in result.records],
        )
        self._commit(entry)
        return result

    def simulate(self, action: str, params: Mapping[str, Any], *, actor: str | None = None) -> ActionResult:
        """Run an action on a copy of the state: nothing persists, the range's logs are untouched."""
        return run_action(self.peek(), action, params, actor=actor)

    def _commit(self, entry: dict[str, Any]) -> None:
        if self._recording is None:
            self._save()
        entry["clock"] = self._state.clock.iso()
        self._store.append_journal(entry)

    def _save(self) -> None:
        self._store.write_state({"format": RANGE_FORMAT, "meta": self._meta, "state": self._state.to_json()})
        write_index(self._store, self._state)

    def reset(self) -> None:
        """Re-seed exactly and replay the recorded timeline; hints used go back to zero."""
        seed = self._store.read_seed()
        if seed.get("format") != RANGE_FORMAT or not isinstance(seed.get("state"), dict):
            raise RangeError(f"{self._store.seed_path} is not a seed this version can read")
        self._state = RangeState.from_json(seed["state"])
        self._meta["hintsUsed"] = 0
        self._store.reset_journal()
        steps = seed.get("timeline") or []
        self._recording = []
        try:
            for step in steps:
                with contextlib.suppress(ActionDenied):  # denied when it was first played, too
                    self.act(str(step["action"]), dict(step.get("params") or {}), actor=step.get("actor"))
        finally:
            self._recording = None
        self._save()

    # ---- looking ------------------------------------------------------------------------------------

    @property
    def state_dir(self) -> Path:
        return self._store.root

    @property
    def now(self) -> datetime:
        return self._state.now

    @property
    def scenario_id(self) -> str:
        return str(self._meta.get("scenarioId") or "custom")

    @property
    def scenario(self) -> Scenario:
        """The scenario this range was started from (loaded again after :meth:`open`)."""
        if self._scenario is None:
            from graphlattice.range.scenario import load_scenario

            path = self._meta.get("scenarioPath")
            if path and Path(str(path)).exists():
                self._scenario = load_scenario(Path(str(path)))
            elif self._meta.get("scenarioPath") is None and self.scenario_id == "custom":
                raise RangeError("this range was not started from a scenario")
            else:
                self._scenario = load_scenario(self.scenario_id)
        return self._scenario

    @property
    def hints_used(self) -> int:
        return int(self._meta.get("hintsUsed") or 0)

    def use_hint(self) -> int:
        """Count one more hint taken; returns the new count (persisted)."""
        self._meta["hintsUsed"] = self.hints_used + 1
        self._save()
        return self.hints_used

    @property
    def meta(self) -> dict[str, Any]:
        """The range's own facts (scenario id and path, hints used); free keys may be added and saved."""
        return self._meta

    def save_meta(self) -> None:
        self._save()

    def peek(self) -> RangeState:
        """A deep copy of the state, safe to change (verification replays footholds on it)."""
        return self._state.copy()

    def tenant(self) -> Tenant:
        return self._state.tenant()

    def principals(self) -> PrincipalIndex:
        """Who the range's users and service principals are (ids and names only)."""
        return PrincipalIndex.of(self._state)

    def records(self, kind: Literal["audit", "signin"]) -> list[dict[str, Any]]:
        """Audit or sign-in records so far, oldest first (copies)."""
        if kind == "audit":
            source = self._state.audits
        elif kind == "signin":
            source = self._state.sign_ins
        else:
            raise RangeError(f"unknown record kind {kind!r}; use audit or signin")
        copied: list[dict[str, Any]] = orjson.loads(orjson.dumps(source))
        return copied

    def journal(self) -> list[dict[str, Any]]:
        return list(self._store.journal())

    def export(self, out_dir: Path) -> None:
        """A snapshot directory of the tenant now, plus ``directoryAudits.jsonl`` and ``signIns.jsonl``."""
        out = Path(out_dir)
        try:
            out.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise RangeError(f"cannot create {out}: {exc.strerror or exc}") from None
        collections = self._state.graph_collections()
        for name, spec in COLLECTIONS.items():
            content: Any = collections.get(name)
            path = out / spec.filename
            if spec.shape == "list":
                path.write_bytes(orjson.dumps({"value": content or []}))
            elif spec.shape == "singleton":
                path.write_bytes(orjson.dumps(content or {}))
            elif name == "authenticationMethods":
                lines = [
                    orjson.dumps({"userId": uid, "value": methods}) + b"\n"
                    for uid, methods in content.items()
                ]
                path.write_bytes(b"".join(lines))
            else:
                path.write_bytes(b"".join(orjson.dumps(r) + b"\n" for r in content or []))
        manifest = self._state.manifest()
        manifest["scenario"] = self.scenario_id
        (out / "manifest.json").write_bytes(orjson.dumps(manifest, option=orjson.OPT_INDENT_2))

    @staticmethod
    def remove(state_dir: Path) -> None:
        """Delete a range directory (only files the Range writes)."""
        store = RangeStore(state_dir)
        for path in (store.state_path, store.journal_path, store.seed_path, store.root / PRINCIPALS_FILE):
            path.unlink(missing_ok=True)
        with contextlib.suppress(OSError):
            store.root.rmdir()
