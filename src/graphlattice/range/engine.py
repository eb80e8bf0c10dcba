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
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import orjson

from graphlattice.errors import ActionDenied, RangeBusy, RangeError
from graphlattice.range.actions import ACTIONS, ActionResult, run_action
from graphlattice.range.principals import PrincipalIndex, write_index
from graphlattice.range.state import RangeState
from graphlattice.range.store import (
    JOURNAL_FILE,
    SEED_FILE,
    RangeStore,
    StateVersion,
    commit_for,
    commit_record,
    default_state_dir,
)
from graphlattice.tenant.collections import COLLECTIONS
from graphlattice.tenant.model import Tenant

if TYPE_CHECKING:
    from graphlattice.range.scenario import Scenario

__all__ = ["ActionResult", "Range", "RangeState", "SeedDamaged", "apply_action", "default_state_dir"]

RANGE_FORMAT = 1
_OPTIMISTIC_READS = 5
_BROKEN = (KeyError, TypeError, ValueError, AttributeError, IndexError, OverflowError, RecursionError)
"""What reading a stored document that was damaged or edited by hand can raise."""
_SECRET_KEYS = frozenset({"password", "newpassword", "current_password", "code", "temporaryaccesspass"})


class SeedDamaged(RangeError):
    """``seed.json`` is missing, unreadable or cannot be replayed; the scenario file can re-seed."""


def _why(exc: BaseException) -> str:
    text = str(exc).splitlines()[0] if str(exc) else ""
    return f"{type(exc).__name__}: {text}"[:160] if not isinstance(exc, RangeError) else text[:160]


def _damaged(store: RangeStore, what: str) -> RangeError:
    return RangeError(
        f"{what}; run 'graphlattice range reset --state {store.root}' to start the scenario over"
    )


_META_TEXT = re.compile(rb'"(scenarioId|scenarioPath)":"((?:[^"\\\\]|\\\\.){1,4096})"')


def _salvage_meta(path: Path) -> dict[str, Any]:
    """The scenario a state file names, read from its text when the file is cut short (its ``meta`` comes
    before the state itself, keys being sorted)."""
    try:
        with path.open("rb") as handle:
            head = handle.read(65536)
    except OSError:
        return {}
    found: dict[str, Any] = {}
    for key, raw in _META_TEXT.findall(head):
        with contextlib.suppress(ValueError):
            found.setdefault(key.decode(), orjson.loads(b'"' + raw + b'"'))
    return found


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
    """One range in one state directory. Use :meth:`start`, :meth:`seeded` or :meth:`open`.

    Several processes may use one folder at once (the command line, scripts, ``range serve``). A
    :class:`Range` is a snapshot of the folder as it was read; every write first takes the folder's lock and
    reloads the range if someone else committed since, so no action is lost, and :meth:`refresh` brings a
    reader up to date. See :mod:`graphlattice.range.store` for the files and the lock.
    """

    def __init__(self, store: RangeStore, state: RangeState, meta: dict[str, Any]) -> None:
        self._store = store
        self._state = state
        self._meta = meta
        self._recording: list[dict[str, Any]] | None = None
        self._scenario: Scenario | None = None
        self._version: StateVersion | None = None  # the committed state this object holds (None: not read)
        self._record: dict[str, Any] = {}  # that state's commit record: journal length, companion files
        self._lines: list[bytes] = []  # journal lines of a start or reset, committed with its state
        self._locked = False

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
        return cls(store, state, {"format": RANGE_FORMAT, "hintsUsed": 0, **meta})

    def _play(self, play: Callable[[Range], None]) -> None:
        """Seed, play the prelude and commit state, seed and journal in one step (nothing on failure)."""
        fresh = not self._store.exists()
        try:
            self._play_and_commit(play)
        except BaseException:
            if fresh and not self._store.exists():  # leave no lock file in a folder that holds no range
                self._store.lock_path.unlink(missing_ok=True)
            raise

    def _play_and_commit(self, play: Callable[[Range], None]) -> None:
        seeded = orjson.Fragment(orjson.dumps(self._state.to_json(), option=orjson.OPT_SORT_KEYS))
        seed = {
            "format": RANGE_FORMAT,
            "meta": orjson.Fragment(orjson.dumps(self._meta, option=orjson.OPT_SORT_KEYS)),
            "state": seeded,
        }
        with self._writing(fresh=True):
            self._recording, self._lines = [], []
            try:
                play(self)
                seed["timeline"] = self._recording
                journal = b"".join(self._lines)
                self._save(
                    {SEED_FILE: orjson.dumps(seed, option=orjson.OPT_SORT_KEYS), JOURNAL_FILE: journal}
                )
            finally:
                self._recording, self._lines = None, []

    @classmethod
    def open(cls, state_dir: Path | None = None) -> Range:
        """Reopen a range exactly as it was last committed."""
        store = RangeStore(state_dir if state_dir is not None else default_state_dir())
        if not store.exists():
            raise RangeError(f"no range in {store.root}; run 'graphlattice range start SCENARIO' first")
        state, meta, version, record = cls._read(store)
        rng = cls(store, state, meta)
        rng._version, rng._record = version, record
        return rng

    @staticmethod
    def _read(store: RangeStore) -> tuple[RangeState, dict[str, Any], StateVersion, dict[str, Any]]:
        try:
            doc, version = store.read_state()
        except RangeError as exc:
            if store.exists():  # there, but not readable: damaged (or written by something else)
                raise _damaged(store, str(exc)) from None
            raise
        if doc.get("format") != RANGE_FORMAT or not isinstance(doc.get("state"), dict):
            raise _damaged(store, f"{store.state_path} is not a range state this version can read")
        meta = doc.get("meta")
        meta = dict(meta) if isinstance(meta, dict) else {}
        try:
            state = RangeState.from_json(doc["state"])
        except RangeBusy:
            raise
        except (RangeError, *_BROKEN) as exc:
            raise _damaged(store, f"{store.state_path} is damaged ({_why(exc)})") from None
        return state, meta, version, commit_record(doc)

    def _load(self) -> None:
        state, meta, version, record = self._read(self._store)
        if (meta.get("scenarioId"), meta.get("scenarioPath")) != (
            self._meta.get("scenarioId"),
            self._meta.get("scenarioPath"),
        ):
            self._scenario = None  # started over with another scenario meanwhile
        self._state, self._meta, self._version, self._record = state, meta, version, record

    def is_current(self) -> bool:
        """Nobody has committed a change to the folder since this object read or wrote it (one ``stat``)."""
        return self._version is not None and self._version.is_current()

    def refresh(self) -> bool:
        """Reload the range if another process (or object) committed a change; True when it did."""
        if self.is_current():
            return False
        self._load()
        return True

    # ---- acting -------------------------------------------------------------------------------------

    @contextmanager
    def _writing(self, *, fresh: bool = False) -> Iterator[None]:
        """Hold the folder's lock with this object up to date (nested calls share the outer hold).

        ``fresh``: this object is a new range about to replace whatever the folder holds.
        """
        if self._locked:
            yield
            return
        with self._store.lock():
            self._locked = True
            try:
                if fresh:
                    self._store.recover(None)
                else:
                    self.refresh()
                    self._store.recover(self._record)
                yield
            finally:
                self._locked = False

    def act(self, action: str, params: Mapping[str, Any], *, actor: str | None = None) -> ActionResult:
        """Carry out an action, persist the state and journal it. Raises ActionDenied / RangeError.

        Waits for the folder's lock (see :mod:`graphlattice.range.store`) and acts on the latest committed
        state; when this returns, the action is committed and every other process sees it.
        """
        if action not in ACTIONS:
            raise RangeError(f"unknown action {action!r}; actions: {', '.join(sorted(ACTIONS))}")
        with self._writing():
            entry: dict[str, Any] = {
                "at": self._state.clock.iso(),
                "actor": actor,
                "action": action,
                "params": _redact(dict(params)),
            }
            if self._recording is not None:
                self._recording.append({"action": action, "params": dict(params), "actor": actor})
            logged = self._logged()
            try:
                result = apply_action(self._state, action, params, actor=actor)
            except ActionDenied as denied:
                entry.update(outcome="denied", message=denied.reason)
                self._commit(entry, changed=self._logged() != logged)
                raise
            entry.update(
                outcome="ok",
                message=result.message,
                data=_redact(result.data),
                records=[r.get("id") for r in result.records],
            )
            self._commit(entry, changed=True)
            return result

    def _logged(self) -> tuple[int, int, int]:
        """What a refusal may leave behind (ids drawn, failure records): all else is restored."""
        return self._state.ids.counter, len(self._state.audits), len(self._state.sign_ins)

    def simulate(self, action: str, params: Mapping[str, Any], *, actor: str | None = None) -> ActionResult:
        """Run an action on a copy of the state: nothing persists, the range's logs are untouched."""
        return run_action(self.peek(), action, params, actor=actor)

    def _commit(self, entry: dict[str, Any], *, changed: bool) -> None:
        """Commit an action: the state naming its journal line, then the line (see ``range.store``); a
        refusal that ``changed`` nothing is the line alone; a start or reset commits all at its end."""
        entry["clock"] = self._state.clock.iso()
        line = orjson.dumps(entry, option=orjson.OPT_SORT_KEYS) + b"\n"
        if self._recording is not None:
            self._lines.append(line)
            return
        try:
            if changed:
                self._save(line=line)
            self._store.append_journal(line)
        except BaseException:
            self._version = None  # memory may be ahead of the folder: the next use reloads what was committed
            raise

    def _save(self, companions: Mapping[str, bytes] | None = None, *, line: bytes | None = None) -> None:
        """Commit the state, with the journal ``line`` of its action or the ``companions`` of a start."""
        if companions and JOURNAL_FILE in companions:
            record = {"journalBytes": len(companions[JOURNAL_FILE])}
        elif line is not None:
            record = commit_for(self._record, line=line, start=self._store.journal_size())
        else:
            record = commit_for(self._record)
        document = {"format": RANGE_FORMAT, "meta": self._meta, "state": self._state.to_json()}
        self._record, self._version = self._store.write_state(document, record, companions)
        write_index(self._store, self._state)

    def reset(self) -> None:
        """Re-seed exactly and replay the recorded timeline; hints used go back to zero.

        Raises :class:`SeedDamaged` when ``seed.json`` is missing or cannot be replayed (then
        :meth:`reset_folder` starts the scenario again from its file).
        """
        with self._writing():
            seed = self._seed()
            try:
                self._state = RangeState.from_json(seed["state"])
                self._meta["hintsUsed"] = 0
                self._recording, self._lines = [], []
                for step in seed.get("timeline") or []:
                    with contextlib.suppress(ActionDenied):  # denied when it was first played, too
                        self.act(str(step["action"]), dict(step.get("params") or {}), actor=step.get("actor"))
                self._save({JOURNAL_FILE: b"".join(self._lines)})
            except RangeBusy:
                self._version = None
                raise
            except (RangeError, *_BROKEN) as exc:
                self._version = None
                raise SeedDamaged(f"{self._store.seed_path} cannot be replayed ({_why(exc)})") from None
            except BaseException:
                self._version = None
                raise
            finally:
                self._recording, self._lines = None, []

    def _seed(self) -> dict[str, Any]:
        try:
            seed = self._store.read_seed()
        except RangeError as exc:
            raise SeedDamaged(str(exc)) from None
        timeline = seed.get("timeline")
        if (
            seed.get("format") != RANGE_FORMAT
            or not isinstance(seed.get("state"), dict)
            or not isinstance(timeline or [], list)
            or not all(isinstance(step, dict) for step in timeline or [])
        ):
            raise SeedDamaged(f"{self._store.seed_path} is not a seed this version can read")
        return seed

    @classmethod
    def reset_folder(cls, state_dir: Path | None) -> Range:
        """``range reset``: start the range in ``state_dir`` over, even when its files are damaged.

        From ``seed.json`` when the state can be read and the seed replayed; otherwise from the scenario
        file the seed or the state names (a truncated ``state.json``, a missing seed, a torn journal: the
        range starts over either way). Only when neither says which scenario ran is it an error, naming
        the command that starts one.
        """
        store = RangeStore(state_dir if state_dir is not None else default_state_dir())
        if not store.exists() and not store.seed_path.exists():
            raise RangeError(f"no range in {store.root}; run 'graphlattice range start SCENARIO' first")
        meta: dict[str, Any] = {}
        try:
            rng = cls.open(store.root)
            meta = dict(rng.meta)
            rng.reset()
            return rng
        except RangeBusy:
            raise
        except RangeError:
            pass  # damaged: the scenario file decides
        for read in (store.read_seed, lambda: store.read_state()[0]):  # what of them can still be read
            with contextlib.suppress(RangeError, *_BROKEN):
                found = read().get("meta")
                meta = {**(found if isinstance(found, dict) else {}), **meta}
        if "scenarioId" not in meta:
            meta.update(_salvage_meta(store.state_path))
        scenario_id, path = meta.get("scenarioId"), meta.get("scenarioPath")
        if not isinstance(scenario_id, str) or (scenario_id == "custom" and not path):
            raise RangeError(
                f"the range in {store.root} is damaged and does not say which scenario it ran; start one "
                f"again with 'graphlattice range start SCENARIO --force --state {store.root}'"
            )
        from graphlattice.range.scenario import load_scenario

        ref: str | Path = Path(path) if isinstance(path, str) and Path(path).is_file() else scenario_id
        return cls.start(store.root, load_scenario(ref))

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
        with self._writing():
            self._meta["hintsUsed"] = self.hints_used + 1
            self._save()
            return self.hints_used

    @property
    def meta(self) -> dict[str, Any]:
        """The range's own facts (scenario id and path, hints used); free keys may be added and saved."""
        return self._meta

    def save_meta(self) -> None:
        """Persist the keys set in :attr:`meta`; when another process committed meanwhile, they are laid
        over its meta (the hint count stays the folder's)."""
        mine = dict(self._meta)
        with self._writing():
            mine["hintsUsed"] = self._meta.get("hintsUsed", 0)
            self._meta.update(mine)
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
        try:
            return self._journal()
        except RangeBusy:
            raise
        except RangeError as exc:
            if self._store.journal_path.exists():
                raise _damaged(self._store, str(exc)) from None
            raise

    def _journal(self) -> list[dict[str, Any]]:
        """Every committed journal entry, oldest first (the range is refreshed first).

        Read without the lock, like the state: a commit while reading shows as a new state version, and the
        read starts over (under the shared lock if writers keep coming).
        """
        for _ in range(_OPTIMISTIC_READS):
            self.refresh()
            entries = list(self._store.journal(self._record))
            if self.is_current():
                return entries
        with self._store.lock(shared=True):
            self.refresh()
            return list(self._store.journal(self._record))

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
        RangeStore(state_dir).remove()
