"""The operator suspends, reactivates and reads the audit log from the command line."""

from __future__ import annotations

from flask import Flask
from sqlalchemy.orm import Session

from marketplace.orgs.models import OrgKind, OrgStatus
from tests.console.conftest import Operator, audit, reload
from tests.factories import make_org


def _run(app: Flask, *args: str) -> tuple[int, str]:
    result = app.test_cli_runner().invoke(args=["console", *args])
    return result.exit_code, result.output


def test_suspend_and_reactivate_from_the_command_line_are_audited(
    app: Flask, session: Session, operator: Operator
) -> None:
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud")
    code, output = _run(
        app, "suspend", str(vendor.id), "--reason", "Chargebacks", "--as", "owner@ops.example"
    )
    assert code == 0 and "Suspended 'Haixi Cloud'" in output
    assert reload(session, vendor).status == OrgStatus.SUSPENDED
    [entry] = audit(session, "organization.suspended")
    assert entry.actor_user_id == operator.owner.id
    code, output = _run(app, "reactivate", str(vendor.id), "--as", "owner@ops.example")
    assert code == 0 and reload(session, vendor).status == OrgStatus.ACTIVE


def test_the_command_line_refuses_an_empty_reason_and_a_stranger(
    app: Flask, session: Session, operator: Operator
) -> None:
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud")
    code, output = _run(
        app, "suspend", str(vendor.id), "--reason", " ", "--as", "owner@ops.example"
    )
    assert code == 1 and "reason" in output
    code, output = _run(app, "suspend", str(vendor.id), "--reason", "x", "--as", "who@x.example")
    assert code == 1 and "运营方成员中没有" in output  # the command line speaks Chinese by default
    code, output = _run(
        app, "suspend", str(vendor.id), "--reason", "x", "--as", "member@ops.example"
    )
    assert code == 1
    assert reload(session, vendor).status == OrgStatus.ACTIVE


def test_the_audit_command_prints_beijing_time_and_the_changes(
    app: Flask, operator: Operator
) -> None:
    vendor = make_org(OrgKind.VENDOR, "Haixi Cloud")
    _run(app, "suspend", str(vendor.id), "--reason", "Chargebacks", "--as", "owner@ops.example")
    code, output = _run(app, "audit", "--org", str(vendor.id), "--as", "member@ops.example")
    assert code == 0
    assert output.startswith("2026-03-02 09:30:00  owner@ops.example  organization.suspended")
    assert "status: active -> suspended" in output
