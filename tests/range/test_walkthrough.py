"""Each scenario played end to end through the real command line, as a learner would: once with the
"obvious" fix (a password reset) and once with the cleanup that really dislodges the attacker.

Every step is a new process (``python -m graphlattice range ... --state DIR``), so these runs also prove that
the range survives a restart. The attacker's method ids are found the way a learner finds them: the sign-in
log shows when the foreign sign-ins began, the exported methods show what was registered since.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import orjson
import pytest

Json = dict[str, Any]


class Learner:
    """One learner's range folder, driven through the CLI."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def run(self, *args: str, ok: bool = True) -> subprocess.CompletedProcess[str]:
        proc = subprocess.run(
            [sys.executable, "-m", "graphlattice", "range", *args, "--state", str(self.folder)],
            capture_output=True,
            text=True,
            timeout=300,
        )
        assert "Traceback" not in proc.stderr, proc.stderr
        if ok:
            assert proc.returncode == 0, proc.stderr
        return proc

    def json(self, *args: str) -> Any:
        return orjson.loads(self.run(*args, "--format", "json").stdout)

    def act(self, action: str, *pairs: str, as_upn: str | None = None) -> Json:
        extra = ("--as", as_upn) if as_upn else ()
        result: Json = self.json("act", action, *pairs, *extra)
        return result

    def verdict(self) -> Json:
        verdict: Json = self.json("verify")
        return verdict

    def planted_methods(self, user: str, foreign_country: str) -> list[str]:
        """Ids of ``user``'s methods registered since the first sign-in from ``foreign_country``."""
        sign_ins = self.json("log", "--kind", "signin")["value"]
        foreign = sorted(
            r["createdDateTime"]
            for r in sign_ins
            if r["userPrincipalName"] == user
            and (r.get("location") or {}).get("countryOrRegion") == foreign_country
        )
        assert foreign, f"no sign-in of {user} from {foreign_country} in the log"
        export = self.folder.parent / f"{self.folder.name}-export"
        self.run("export", str(export), "--force")
        upn_to_id = {
            u["userPrincipalName"]: u["id"]
            for u in orjson.loads((export / "users.json").read_bytes())["value"]
        }
        lines = (export / "authenticationMethods.jsonl").read_bytes().splitlines()
        methods = next(m["value"] for m in map(orjson.loads, lines) if m["userId"] == upn_to_id[user])
        return [
            m["id"]
            for m in methods
            if not m["@odata.type"].endswith(
                ("passwordAuthenticationMethod", "temporaryAccessPassAuthenticationMethod")
            )
            and m.get("createdDateTime")
            and m["createdDateTime"] >= foreign[0]
        ]


def footholds(verdict: Json) -> dict[str, bool]:
    return {f["id"]: f["attackerStillIn"] for f in verdict["footholds"]}


def root_cause(verdict: Json) -> dict[str, bool]:
    return {r["id"]: r["fixed"] for r in verdict["rootCause"]}


# ---- tap-persistence --------------------------------------------------------------------------------------

MIA = "mia.hoffmann@northwind-traders.example"
LUKAS = "lukas.brandt@northwind-traders.example"


def test_tap_persistence_password_reset_is_not_enough(tmp_path: Path) -> None:
    learner = Learner(tmp_path / "wrong")
    learner.run("start", "tap-persistence")
    learner.act("reset-password", f"user={MIA}")
    verdict = learner.verdict()
    assert verdict["contained"] is False
    assert footholds(verdict) == {
        # Microsoft's table: an admin reset revokes password-based sessions and non-password refresh tokens,
        # but the attacker's browser sessions from the pass and the passkey (session cookies) stay alive ...
        "attacker-sessions": True,
        # ... and the attacker never needed the password anyway:
        "attacker-authenticator": True,
        "attacker-passkey": True,
        "live-pass": True,
    }
    assert not any(root_cause(verdict).values())
    assert verdict["collateral"] == []
    assert verdict["score"] == 0  # the reset contains nothing


def test_tap_persistence_real_containment_and_root_cause(tmp_path: Path) -> None:
    learner = Learner(tmp_path / "right")
    learner.run("start", "tap-persistence")
    planted = learner.planted_methods(MIA, "SG")
    assert len(planted) == 2  # the iPhone's Authenticator and passkey; Mia's own Galaxy S23 is older
    for method in planted:
        learner.act("delete-method", "user=mia.hoffmann", f"method={method}")
    learner.act("revoke-sessions", "user=mia.hoffmann")
    learner.act("delete-tap", "user=mia.hoffmann")
    verdict = learner.verdict()
    assert verdict["contained"] is True
    assert not any(footholds(verdict).values())
    assert not any(root_cause(verdict).values())  # contained, but the door is still open
    assert verdict["score"] == 60

    learner.act(
        "update-tap-policy",
        "usable_once=true",
        "default_lifetime=60",
        "max_lifetime=480",
        "include_groups=TAP Enrolment",
    )
    learner.act("remove-role", f"principal={LUKAS}", "role=Authentication Administrator")
    learner.act("add-eligibility", f"principal={LUKAS}", "role=Authentication Administrator", "approval=true")
    verdict = learner.verdict()
    assert verdict["contained"] is True
    assert root_cause(verdict) == {
        "tap-policy-weak": True,
        "tap-issuance-unscoped": True,
        "tap-issuers-standing-access": True,
        "operator-can-issue-tap": True,
    }
    assert verdict["collateral"] == []
    assert verdict["score"] == 100


def test_tap_persistence_scorched_earth_costs_collateral(tmp_path: Path) -> None:
    learner = Learner(tmp_path / "blunt")
    learner.run("start", "tap-persistence")
    export = tmp_path / "blunt-export"
    learner.run("export", str(export))
    users = {
        u["userPrincipalName"]: u["id"] for u in orjson.loads((export / "users.json").read_bytes())["value"]
    }
    lines = (export / "authenticationMethods.jsonl").read_bytes().splitlines()
    methods = next(m["value"] for m in map(orjson.loads, lines) if m["userId"] == users[MIA])
    for method in methods:
        if method["@odata.type"].endswith(
            ("passwordAuthenticationMethod", "temporaryAccessPassAuthenticationMethod")
        ):
            continue
        learner.act("delete-method", f"user={MIA}", f"method={method['id']}")
    learner.act("revoke-sessions", f"user={MIA}")
    learner.act("delete-tap", f"user={MIA}")
    verdict = learner.verdict()
    assert verdict["contained"] is True
    assert sorted(c["detail"] for c in verdict["collateral"]) == [
        "Mia Hoffmann's own Microsoft Authenticator (Galaxy S23) was deleted",
        "Mia Hoffmann's own Mobile phone (+49 151 23456789) was deleted",
    ]
    assert verdict["score"] == 60 - 2 * 15


# ---- registration-gate-bypass -----------------------------------------------------------------------------

TOM = "tom.verbeek@adventure-works.example"


def test_registration_gate_password_reset_is_not_enough(tmp_path: Path) -> None:
    learner = Learner(tmp_path / "wrong")
    learner.run("start", "registration-gate-bypass")
    learner.act("reset-password", f"user={TOM}")
    verdict = learner.verdict()
    assert verdict["contained"] is False
    assert footholds(verdict) == {
        "known-password": False,  # here the reset matters: the intruder knew the password
        "attacker-authenticator": True,  # but passwordless phone sign-in never asks for it
        "attacker-sessions": True,  # and a phone sign-in's browser session is not password-based
    }
    assert root_cause(verdict) == {"mfa-registration-gate": False, "users-without-mfa": False}


def test_registration_gate_real_containment_and_root_cause(tmp_path: Path) -> None:
    learner = Learner(tmp_path / "right")
    learner.run("start", "registration-gate-bypass")
    planted = learner.planted_methods(TOM, "US")
    assert len(planted) == 1
    learner.act("reset-password", "user=tom.verbeek")
    learner.act("delete-method", "user=tom.verbeek", f"method={planted[0]}")
    learner.act("revoke-sessions", "user=tom.verbeek")
    verdict = learner.verdict()
    assert verdict["contained"] is True
    assert verdict["score"] == 50

    # Root cause: enforce the gate, then enrol Tom properly with a one-time pass handed to him.
    learner.act("update-ca-policy", "policy=Require MFA to register security info", "state=enabled")
    issued = learner.act("issue-tap", "user=tom.verbeek", "usable_once=true", "lifetime_minutes=60")
    code = issued["data"]["code"]
    signed_in = learner.act(
        "sign-in",
        "user=tom.verbeek",
        "method=tap",
        f"code={code}",
        "holder=victim",
        "ip=203.0.113.41",
        "country=NL",
        "city=Rotterdam",
        as_upn=TOM,
    )
    learner.act(
        "register-method",
        f"session={signed_in['data']['session']}",
        "kind=authenticator",
        "device_name=iPhone 13",
        "holder=victim",
        as_upn=TOM,
    )
    verdict = learner.verdict()
    assert verdict["contained"] is True
    assert root_cause(verdict) == {"mfa-registration-gate": True, "users-without-mfa": True}
    assert verdict["collateral"] == []
    assert verdict["score"] == 100


@pytest.mark.parametrize("scenario", ["tap-persistence", "registration-gate-bypass"])
def test_fresh_start_scores_nothing(tmp_path: Path, scenario: str) -> None:
    learner = Learner(tmp_path / scenario)
    learner.run("start", scenario)
    verdict = learner.verdict()
    assert verdict["contained"] is False
    assert all(footholds(verdict).values())
    assert verdict["score"] == 0
