"""Liquidation rules on beneficiaries, suppliers' ties to the NGO and the audit chain; and the
catalogue itself (every rule documented, docs/liquidation-rules.md generated from it)."""
from __future__ import annotations

from decimal import Decimal
from pathlib import Path

from grants.audit.rules import RULES, Scope, catalogue_markdown
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import AuditFinding
from grants.services import enrollments, organizations
from tests.audit import rule_helpers as rh
from tests.factories import valid_dui
from tests.money import payment_helpers as ph
from tests.timeline import day

# --- units_paid_inactive ---------------------------------------------------------------------


def test_units_paid_for_a_beneficiary_later_found_inactive_in_the_period_are_found(app):
    ctx = rh.payments_ctx()
    payment = rh.executed(ctx, [ph.beneficiary_line(ctx, ["active", "never"])])
    assert (payment.amount, payment.deducted_amount) == (Decimal("120.00"), Decimal("120.00"))
    assert rh.find("units_paid_inactive") == []  # the one never active was deducted, not paid
    # Real services: the NGO reports, after the payment, an inactivity effective on 20/03 (inside March).
    enrollments.change_status(rh.act(ctx["ngo"]), ctx["people"]["active"].id, "inactive", day("2026-03-20"),
                              "Dejó de asistir")
    db.session.commit()
    [found] = rh.find("units_paid_inactive")
    assert (found.entity_type, found.entity_id, found.amount) == ("payment", str(payment.id), Decimal("120.00"))
    [unit] = found.evidence["units"]
    assert unit["enrollment_id"] == ctx["people"]["active"].id
    assert (unit["active_days"], unit["period_days"]) == (19, 31)
    assert "DUI" not in str(found.evidence) and "Active" not in str(found.evidence)  # no personal data


def test_units_paid_for_a_beneficiary_not_active_on_any_day_of_the_period_are_found(app):
    ctx = rh.payments_ctx()
    payment = rh.executed(ctx, [ph.beneficiary_line(ctx, ["active"])])
    assert (payment.amount, payment.deducted_amount) == (Decimal("120.00"), Decimal("0.00"))
    assert rh.find("units_paid_inactive") == []
    # Reported after the payment: withdrawn effective 01/03, so not one day of March active (no active
    # period overlaps the invoice period at all).
    person = ctx["people"]["active"]
    enrollments.change_status(rh.act(ctx["ngo"]), person.id, "withdrawn", day("2026-03-01"), "Se mudó en febrero")
    db.session.commit()
    [found] = rh.find("units_paid_inactive")
    assert (found.entity_type, found.entity_id, found.amount) == ("payment", str(payment.id), Decimal("120.00"))
    [unit] = found.evidence["units"]
    assert (unit["enrollment_id"], unit["active_days"], unit["period_days"]) == (person.id, 0, 31)
    assert unit["unit_price"] == Decimal("120.00")


def test_units_active_the_whole_period_through_several_periods_are_not_found(app):
    ctx = rh.payments_ctx()
    person = ctx["people"]["active"]
    rh.executed(ctx, [ph.beneficiary_line(ctx, ["active"])])
    # inactive from 01/04 and active again from 02/04: March stays fully active
    enrollments.change_status(rh.act(ctx["ngo"]), person.id, "inactive", day("2026-04-01"), "pausa")
    enrollments.change_status(rh.act(ctx["ngo"]), person.id, "active", day("2026-04-02"), "vuelve")
    db.session.commit()
    assert rh.find("units_paid_inactive") == []


# --- double_active_enrollment ----------------------------------------------------------------

def test_a_person_active_in_two_agreements_at_once_is_found(app):
    first, second = rh.payments_ctx(beneficiaries=False), rh.payments_ctx(beneficiaries=False)
    dui = valid_dui(41_000_001)
    a = rh.enroll_person(first, dui, "Ana", active_from=day("2026-02-15"))
    b = rh.enroll_person(second, dui, "Ana", allow_double=True, active_from=day("2026-03-01"))
    [found] = rh.find("double_active_enrollment")
    assert (found.entity_type, found.entity_id, found.agreement_id) == (
        "enrollment_pair", f"{a.id}:{b.id}", second["agreement"].id)
    assert found.evidence["overlap_from"] == day("2026-03-01") and found.evidence["allowed_by_monitoring"] is True
    assert found.evidence["beneficiary_id"] == a.beneficiary_id == b.beneficiary_id
    # either agreement in scope finds it
    assert len(rh.find("double_active_enrollment", Scope(first["agreement"].id))) == 1


def test_a_person_active_in_two_agreements_one_after_the_other_is_not_found(app):
    first, second = rh.payments_ctx(beneficiaries=False), rh.payments_ctx(beneficiaries=False)
    dui = valid_dui(41_000_002)
    a = rh.enroll_person(first, dui, "Beto", active_from=day("2026-02-15"))
    enrollments.change_status(rh.act(first["ngo"]), a.id, "withdrawn", day("2026-03-01"), "se muda")
    db.session.commit()
    rh.enroll_person(second, dui, "Beto", active_from=day("2026-03-01"))  # [15/02, 01/03) then [01/03, …)
    rh.enroll_person(second, valid_dui(41_000_003), "Otra", active_from=day("2026-03-01"))
    assert rh.find("double_active_enrollment") == []


# --- supplier_conflict -----------------------------------------------------------------------

def test_a_supplier_sharing_the_ngo_phone_added_after_its_validation_is_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    assert rh.find("supplier_conflict") == []
    # Real services: the NGO's phones change after the supplier was validated (2260-1234 is the supplier's).
    organizations.update_organization(_system(), ctx["organization"].id, {"phones": ["2222-3333", "2260-1234"]})
    db.session.commit()
    [found] = rh.find("supplier_conflict")
    assert (found.entity_type, found.entity_id) == ("supplier", str(ctx["supplier"].id))
    assert found.evidence["matches"] == [{"field": "phone", "with": "organization_phone", "phone": "22601234"}]
    assert "teléfono" in found.summary


def test_a_supplier_sharing_a_board_member_dui_is_found_and_a_proposed_one_is_not(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    board_dui = ctx["organization"].board_members[0].dui
    ph.validated_supplier(ctx, tax_id=rh.other_nit(), legal_name="Proveedor sin vínculos", phone="2555-0000",
                          address="Otra calle 9", bank_account="7777")
    assert rh.find("supplier_conflict") == []
    from grants.models import Supplier

    # SIMULATION: the validation refuses such a supplier; its NIT/DUI is changed to a board member's afterwards.
    rh.simulate(Supplier, Supplier.id == ctx["supplier"].id, tax_id=board_dui)
    [found] = rh.find("supplier_conflict")
    assert found.evidence["matches"][0]["with"] == "board_member"


def _system():
    from grants.audit import Actor

    return Actor.system("test")


# --- audit_chain_broken ----------------------------------------------------------------------

def test_an_intact_chain_is_not_found(app):
    rh.payments_ctx(beneficiaries=False)
    assert rh.find("audit_chain_broken") == []


def test_a_tampered_chain_is_found_with_its_first_broken_sequence(live_app, backend):
    with live_app.app_context():
        with unit_of_work():
            for _ in range(3):
                organizations.create_organization(_system(), _org())
        rh.tamper(live_app, backend, "UPDATE audit_events SET actor_email = 'otra@persona.org' WHERE seq = 2")
        [found] = rh.find("audit_chain_broken", Scope(agreement_id=None))
        assert (found.entity_type, found.entity_id, found.agreement_id) == ("audit_chain", "chain", None)
        assert found.evidence["first_broken_seq"] == 2
        assert found.evidence["reason"] == "content does not match its hash"
        db.session.remove()


def _org():
    from tests.factories import organization_data

    return organization_data()


# --- the catalogue ---------------------------------------------------------------------------

def test_every_rule_is_documented_and_the_docs_are_generated_from_the_catalogue():
    assert [r.code for r in RULES] == [
        "advance_overdue", "receipt_outside_term", "document_reused", "payment_supplier_not_validated",
        "units_paid_inactive", "double_active_enrollment", "supplier_conflict", "budget_line_overspent",
        "split_invoices", "round_amount_receipts", "supplier_concentration", "money_after_suspension",
        "transfers_above_allocation", "audit_chain_broken", "receipt_before_disbursement",
        "certificate_before_service_end", "deposit_unconfirmed", "payment_before_certificate", "payment_basis_changed"]
    for rule in RULES:
        assert rule.severity in ("low", "medium", "high")
        assert len(str(rule.title)) > 10 and len(str(rule.detects)) > 40 and len(str(rule.why)) > 30, rule.code
        assert rule.find.__doc__, rule.code
    docs = Path(__file__).resolve().parents[2] / "docs" / "liquidation-rules.md"
    assert docs.read_text(encoding="utf-8") == catalogue_markdown(), \
        "regenerate: python -m grants.audit.rules > docs/liquidation-rules.md"


def test_findings_table_has_no_rows_left_by_rule_reads(app):
    rh.payments_ctx(beneficiaries=False)
    for rule in RULES:
        rh.find(rule.code)
    assert db.session.query(AuditFinding).count() == 0  # rules read, never write
