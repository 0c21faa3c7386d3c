"""Check runs keep findings by fingerprint (re-running never duplicates, a fixed cause leaves the
finding not present, the auditor's status stays), decisions need a note and are audited, the CLI
runs the checks with progress, and the exports carry the findings."""
from __future__ import annotations

import re
from decimal import Decimal
from io import BytesIO

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import func, select

from grants.audit import Actor
from grants.audit.rules import RULES
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import Advance, Agreement, AuditCheckRun, AuditEvent, AuditFinding
from grants.services import audit_checks
from grants.domain_errors import Conflict, Forbidden, ValidationFailed
from tests.audit import rule_helpers as rh
from tests.factories import make_user
from tests.timeline import year


def _overdue_setup():
    """An agreement whose first advance is overdue (due 14/07/2026) and another one, clean."""
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    return ctx, advance


def _findings(**where):
    return db.session.scalars(select(AuditFinding).filter_by(**where).order_by(AuditFinding.id)).all()


def test_a_run_keeps_its_findings_and_a_rerun_never_duplicates_them(app):
    ctx, advance = _overdue_setup()
    auditor = rh.auditor()
    calls = []
    run = audit_checks.run_checks(rh.act(auditor), progress=lambda code, i, n: calls.append((code, i, n)))
    db.session.commit()
    assert calls == [(r.code, i, len(RULES)) for i, r in enumerate(RULES, start=1)]
    assert (run.status, run.rules_run, run.started_by_id) == ("finished", len(RULES), auditor.id)
    [finding] = _findings(rule_code="advance_overdue")
    assert (finding.status, finding.present, finding.first_run_id, finding.last_run_id) == ("open", True, run.id, run.id)
    assert finding.entity_id == str(advance.id) and finding.amount == Decimal("40000.00")
    assert run.counts["advance_overdue"] == 1 and run.findings_new == sum(run.counts.values())
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "audit_check_run",
                                                        AuditEvent.entity_id == str(run.id))).one()
    assert event.action == "audit.checks_run" and finding.id in event.after["new_finding_ids"]

    total = db.session.scalar(select(func.count()).select_from(AuditFinding))
    again = audit_checks.run_checks(rh.act(auditor))
    db.session.commit()
    assert db.session.scalar(select(func.count()).select_from(AuditFinding)) == total
    assert (again.findings_new, again.findings_seen) == (0, total)
    db.session.refresh(finding)
    assert (finding.first_run_id, finding.last_run_id, finding.present) == (run.id, again.id, True)


def test_a_fixed_cause_leaves_the_finding_not_present_with_its_status(app):
    ctx, advance = _overdue_setup()
    auditor = rh.auditor()
    audit_checks.run_checks(rh.act(auditor), agreement_id=ctx["agreement"].id)
    [finding] = _findings(rule_code="advance_overdue")
    audit_checks.decide_finding(rh.act(auditor), finding.id, "confirmed", "Sin liquidación presentada")
    db.session.commit()
    rh.receipts(ctx, advance, [rh.row(amount="40000.00")], accept=True)  # the NGO accounts for all of it
    assert db.session.get(Advance, advance.id).status == "liquidated"
    run = audit_checks.run_checks(rh.act(auditor), agreement_id=ctx["agreement"].id)
    db.session.commit()
    db.session.refresh(finding)
    assert (finding.present, finding.status, finding.note) == (False, "confirmed", "Sin liquidación presentada")
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "audit_check_run",
                                                        AuditEvent.entity_id == str(run.id))).one()
    assert finding.id in event.after["gone_finding_ids"]
    assert db.session.scalar(select(func.count()).select_from(AuditFinding).where(
        AuditFinding.rule_code == "advance_overdue")) == 1  # never deleted


def test_a_run_on_another_scope_leaves_other_agreements_findings_alone(app):
    ctx, _ = _overdue_setup()
    other = rh.payments_ctx(beneficiaries=False)
    auditor = rh.auditor()
    audit_checks.run_checks(rh.act(auditor))
    [finding] = _findings(rule_code="advance_overdue")
    audit_checks.run_checks(rh.act(auditor), agreement_id=other["agreement"].id)
    db.session.commit()
    db.session.refresh(finding)
    assert finding.present is True and finding.agreement_id == ctx["agreement"].id
    run = audit_checks.run_checks(rh.act(auditor), fiscal_year=year(2025))
    assert run.counts["advance_overdue"] == 0 and run.fiscal_year == year(2025)
    db.session.refresh(finding)
    assert finding.present is True


def test_only_auditors_or_the_system_run_checks_and_the_scope_is_checked(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    with pytest.raises(Forbidden):
        audit_checks.run_checks(rh.act(ctx["ngo"]))
    with pytest.raises(Forbidden):
        audit_checks.run_checks(rh.act(ctx["treasury"]))
    with pytest.raises(ValidationFailed) as refused:
        audit_checks.run_checks(rh.act(rh.auditor()), agreement_id=999_999, fiscal_year=1999)
    assert set(refused.value.errors) == {"agreement_id", "fiscal_year"}
    run = audit_checks.run_checks(Actor.system("test"), fiscal_year=year())
    assert run.status == "finished" and run.started_by_id is None


# --- decisions -------------------------------------------------------------------------------

@pytest.fixture
def finding(app):
    _overdue_setup()
    audit_checks.run_checks(Actor.system("test"))
    db.session.commit()
    return _findings(rule_code="advance_overdue")[0]


def test_a_decision_needs_a_note_and_a_known_status(finding):
    auditor = rh.auditor()
    with pytest.raises(ValidationFailed) as refused:
        audit_checks.decide_finding(rh.act(auditor), finding.id, "justified", "   ")
    assert list(refused.value.errors) == ["note"]
    with pytest.raises(ValidationFailed) as refused:
        audit_checks.decide_finding(rh.act(auditor), finding.id, "open", "x")
    assert list(refused.value.errors) == ["status"]
    assert db.session.get(AuditFinding, finding.id).status == "open"


def test_decisions_follow_their_table_and_each_is_audited(finding):
    auditor = rh.auditor()
    with pytest.raises(Conflict) as refused:
        audit_checks.decide_finding(rh.act(auditor), finding.id, "resolved", "Arreglado")
    assert refused.value.code == "invalid_transition"
    audit_checks.decide_finding(rh.act(auditor), finding.id, "justified", "Prórroga autorizada por nota MJSP-12")
    audit_checks.decide_finding(rh.act(auditor), finding.id, "confirmed", "La prórroga no cubre este anticipo")
    decided = audit_checks.decide_finding(rh.act(auditor), finding.id, "resolved", "Reintegro REI-77 recibido")
    db.session.commit()
    assert (decided.status, decided.note, decided.decided_by_id) == ("resolved", "Reintegro REI-77 recibido",
                                                                     auditor.id)
    with pytest.raises(Conflict):
        audit_checks.decide_finding(rh.act(auditor), finding.id, "confirmed", "otra vez")
    events = db.session.scalars(select(AuditEvent).where(AuditEvent.entity_type == "audit_finding",
                                                         AuditEvent.entity_id == str(finding.id))
                                .order_by(AuditEvent.seq)).all()
    assert [(e.action, e.before["status"], e.after["status"]) for e in events] == [
        ("audit.finding_decided", "open", "justified"), ("audit.finding_decided", "justified", "confirmed"),
        ("audit.finding_decided", "confirmed", "resolved")]
    assert events[0].after["note"] == "Prórroga autorizada por nota MJSP-12"


def test_only_auditors_decide(finding):
    for roles in (["admin"], ["treasury"], ["financial_reviewer"]):
        with pytest.raises(Forbidden):
            audit_checks.decide_finding(rh.act(make_user(roles)), finding.id, "justified", "nota")


# --- exports ---------------------------------------------------------------------------------

def test_the_xlsx_and_pdf_exports_carry_the_findings(finding):
    audit_checks.decide_finding(rh.act(rh.auditor()), finding.id, "justified", "=HYPERLINK(\"x\") nota")
    db.session.commit()
    findings = db.session.scalars(audit_checks.findings_query({"rule_code": "advance_overdue"})).all()
    number = db.session.get(Agreement, finding.agreement_id).number

    sheet = load_workbook(BytesIO(audit_checks.findings_xlsx(findings)))["Hallazgos"]
    assert sheet["A1"].value.startswith("Hallazgos de las revisiones de liquidación — generado el ")
    assert [c.value for c in sheet[2]][:5] == ["N.º", "Regla", "Código", "Severidad", "Estado"]
    row = [c.value for c in sheet[3]]
    assert row[0] == finding.id and row[1] == "Anticipo vencido sin liquidar" and row[2] == "advance_overdue"
    assert (row[3], row[4], row[6]) == ("Alta", "Justificado", number)
    assert row[10] == 40000 and row[13] == "'=HYPERLINK(\"x\") nota"  # formula neutralized

    pdf = audit_checks.findings_pdf(findings)
    pages = [" ".join(p.extract_text().split()) for p in PdfReader(BytesIO(pdf)).pages]
    text = " ".join(pages)
    assert "Hallazgos de las revisiones de liquidación" in text and "Anticipo vencido sin liquidar" in text
    assert number in text and "$40,000.00" in text and "Justificado" in text
    assert f"Página 1 de {len(pages)}" in pages[0] and "Generado el " in pages[0]


# --- the CLI ---------------------------------------------------------------------------------

def test_flask_audit_run_shows_progress_and_counts(live_app):
    with live_app.app_context():
        ctx = rh.payments_ctx(beneficiaries=False)
        rh.disbursed_advance(ctx)
        number = ctx["agreement"].number
        db.session.remove()
    runner = live_app.test_cli_runner()
    result = runner.invoke(args=["audit", "run", "--agreement", number, "--year", str(year())])
    assert result.exit_code == 0, result.output
    assert "advance_overdue: 1" in result.output
    # one progress line per rule as it finishes (in the order they finish: some run on other connections)
    progress = re.findall(r"^\[(\d+)/(\d+)\] (\w+)$", result.output, re.M)
    assert [(int(n), int(total)) for n, total, _ in progress] == [(n, len(RULES)) for n in range(1, len(RULES) + 1)]
    assert sorted(code for *_, code in progress) == sorted(r.code for r in RULES)
    assert f"Revisión 1 terminada: {len(RULES)} reglas" in result.output
    again = runner.invoke(args=["audit", "run"])
    assert again.exit_code == 0 and "0 hallazgos nuevos" in again.output
    bad = runner.invoke(args=["audit", "run", "--agreement", "MJSP-CONV-1999-9999"])
    assert bad.exit_code != 0 and "no such agreement" in bad.output
    with live_app.app_context():
        assert db.session.scalar(select(func.count()).select_from(AuditCheckRun)) == 2
        assert db.session.scalar(select(func.count()).select_from(AuditFinding).where(
            AuditFinding.rule_code == "advance_overdue")) == 1
        db.session.remove()


def test_a_tampered_audit_chain_becomes_one_finding_of_a_run(live_app, backend):
    with live_app.app_context():
        rh.payments_ctx(beneficiaries=False)
        rh.tamper(live_app, backend, "UPDATE audit_events SET actor_email = 'x@y.org' WHERE seq = 3")
        with unit_of_work():
            run = audit_checks.run_checks(Actor.system("test"), fiscal_year=year())
            run_id = run.id
        [found] = _findings(rule_code="audit_chain_broken")
        assert (found.agreement_id, found.evidence["first_broken_seq"], found.last_run_id) == (None, 3, run_id)
        db.session.remove()


def test_findings_query_filters(finding):
    q = audit_checks.findings_query
    assert db.session.scalars(q({"rule_code": "advance_overdue", "status": "open"})).all() == [finding]
    assert db.session.scalars(q({"rule_code": "advance_overdue", "present": False})).all() == []
    assert db.session.scalars(q({"severity": "low", "rule_code": "advance_overdue"})).all() == []
