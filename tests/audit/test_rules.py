"""Liquidation rules on money, each with data that triggers it and data that must not.

Money is built through the real services. Where the services rightly refuse the state a rule
looks for (a receipt outside the term, a payment to a supplier not validated, an overspent
line …) a plain SQL update *simulates* it after the fact (``rh.simulate``), and the test says so.
"""
from __future__ import annotations

from datetime import timedelta
from decimal import Decimal

from sqlalchemy import select

from grants.audit.rules import Scope
from grants.extensions import db
from grants.models import (
    Agreement,
    AgreementStatusChange,
    Allocation,
    Payment,
    PaymentLine,
    Receipt,
    Supplier,
)
from grants.services import agreements, suppliers
from tests.audit import rule_helpers as rh
from tests.money import payment_helpers as ph
from tests.timeline import day, dmy, iso, year

# --- advance_overdue -------------------------------------------------------------------------


def test_an_advance_past_its_liquidation_due_with_money_outstanding_is_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    rh.receipts(ctx, advance, [rh.row(amount="1500.00")], accept=True)
    assert advance.liquidation_due == day("2026-07-14")

    [found] = rh.find("advance_overdue", on=day("2026-07-15"))
    assert (found.entity_type, found.entity_id, found.severity) == ("advance", str(advance.id), "high")
    assert found.amount == Decimal("38500.00")
    assert found.evidence["outstanding"] == Decimal("38500.00") and found.evidence["days_overdue"] == 1
    assert "$38,500.00 sin liquidar" in found.summary and dmy("2026-07-14") in found.summary


def test_an_advance_not_yet_due_or_fully_accounted_for_is_not_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    assert rh.find("advance_overdue", on=day("2026-07-14")) == []  # due today: not late yet
    rh.receipts(ctx, advance, [rh.row(amount="30000.00")], accept=True)
    rh.refund(ctx, advance, "10000.00")
    db.session.refresh(advance)
    assert advance.status == "liquidated"
    assert rh.find("advance_overdue", on=day("2026-07-15")) == []


# --- receipt_outside_term --------------------------------------------------------------------

def test_a_receipt_dated_outside_the_agreement_term_is_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    statement = rh.receipts(ctx, advance, [rh.row(amount="80.00"), rh.row(amount="90.00")])
    late, inside = statement.receipts
    # SIMULATION: the service refuses receipts outside the advance's period; a row edited afterwards.
    rh.simulate(Receipt, Receipt.id == late.id, issue_date=day("2026-12-01"))

    [found] = rh.find("receipt_outside_term")
    assert (found.entity_type, found.entity_id, found.amount) == ("receipt", str(late.id), Decimal("80.00"))
    assert found.evidence["term_end"] == day("2026-11-30") and found.evidence["issue_date"] == day("2026-12-01")
    assert dmy("2026-12-01") in found.summary and "fuera del plazo" in found.summary


def test_receipts_inside_the_term_or_rejected_are_not_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    statement = rh.receipts(ctx, advance, [rh.row(issue_date=iso("2026-02-16")), rh.row()], accept=False)
    assert rh.find("receipt_outside_term") == []
    # SIMULATION: a rejected receipt dated outside the term does not count (it was never accepted).
    rh.simulate(Receipt, Receipt.id == statement.receipts[0].id, issue_date=day("2025-12-31"))
    assert rh.find("receipt_outside_term") == []


# --- document_reused -------------------------------------------------------------------------

def test_an_invoice_paid_directly_and_presented_again_as_a_receipt_is_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    payment = rh.executed(ctx)
    invoice = payment.invoice
    advance = rh.disbursed_advance(ctx)
    statement = rh.receipts(ctx, advance, [rh.row(supplier_tax_id=ph.SUPPLIER_NIT, document_type="factura",
                                                  document_number=invoice.number.lower(), amount="100.00")])
    [found] = rh.find("document_reused")
    receipt = statement.receipts[0]
    assert (found.entity_type, found.entity_id, found.severity) == ("receipt", str(receipt.id), "high")
    assert [(u["use"], u["id"]) for u in found.evidence["uses"]] == [("invoice", invoice.id), ("receipt", receipt.id)]
    assert invoice.number in found.summary and ph.SUPPLIER_NIT in found.summary


def test_other_numbers_other_kinds_and_rejected_receipts_are_not_reuse(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    invoice = rh.executed(ctx).invoice
    advance = rh.disbursed_advance(ctx)
    rh.receipts(ctx, advance, [
        rh.row(supplier_tax_id=ph.SUPPLIER_NIT, document_number="OTRA-1"),              # another number
        rh.row(supplier_tax_id=ph.SUPPLIER_NIT, document_type="recibo", document_number=invoice.number),  # a recibo
    ])
    rh.receipts(ctx, advance, [rh.row(supplier_tax_id=ph.SUPPLIER_NIT, document_type="ccf",
                                      document_number=invoice.number)], accept=False)  # rejected
    assert rh.find("document_reused") == []


# --- round_amount_receipts -------------------------------------------------------------------

def test_mostly_round_receipts_are_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    rh.receipts(ctx, advance, [rh.row(amount=a) for a in ("100.00", "200.00", "1300.00", "45.10", "99.99")])
    [found] = rh.find("round_amount_receipts")
    assert (found.entity_type, found.entity_id, found.severity) == ("agreement", str(ctx["agreement"].id), "low")
    assert (found.evidence["receipts"], found.evidence["round_receipts"]) == (5, 3)
    assert found.evidence["share"] == Decimal("0.6000") and found.amount == Decimal("1600.00")


def test_few_receipts_or_a_small_round_share_are_not_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    rh.receipts(ctx, advance, [rh.row(amount=a) for a in ("100.00", "200.00", "300.00", "400.00")])
    assert rh.find("round_amount_receipts") == []  # 4 receipts: under AUDIT_ROUND_AMOUNT_MIN_RECEIPTS (5)
    rh.receipts(ctx, advance, [rh.row(amount=a) for a in ("12.30", "45.60", "78.90", "10.01", "5.55")])
    assert rh.find("round_amount_receipts") == []  # 4 of 9 (44 %) under AUDIT_ROUND_AMOUNT_SHARE (50 %)
    assert len(rh.find("round_amount_receipts", round_amount_share=Decimal("0.4444"))) == 1  # the threshold counts


# --- payment_supplier_not_validated ----------------------------------------------------------

def test_a_payment_executed_before_its_supplier_was_validated_is_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    payment = rh.executed(ctx)
    # SIMULATION: the service pays validated suppliers only; the validation is moved after the payment.
    rh.simulate(Supplier, Supplier.id == payment.supplier_id, decided_at=payment.executed_at + timedelta(days=1))
    [found] = rh.find("payment_supplier_not_validated")
    assert (found.entity_type, found.entity_id, found.amount) == ("payment", str(payment.id), payment.amount)
    assert found.evidence["reason"] == "validated_after_payment"


def test_a_payment_to_a_version_already_superseded_is_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    payment = rh.executed(ctx)
    successor = suppliers.update_supplier(rh.act(ctx["ngo"]), payment.supplier_id, {"bank_account": "0099-88-777777"})
    db.session.commit()
    assert rh.find("payment_supplier_not_validated") == []  # superseded after the payment: it was valid then
    # SIMULATION: the new version (another bank account) existed before the payment was executed.
    rh.simulate(Supplier, Supplier.id == successor.id, created_at=payment.executed_at - timedelta(hours=1))
    [found] = rh.find("payment_supplier_not_validated")
    assert found.evidence["reason"] == "superseded_before_payment"
    assert found.evidence["supplier_status"] == "superseded"


# --- budget_line_overspent -------------------------------------------------------------------

def test_a_budget_line_spent_beyond_its_approved_amount_is_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    payment = rh.executed(ctx, [ph.line(budget_line=3, unit_price="14999.50")])
    assert rh.find("budget_line_overspent") == []  # exactly the approved amount
    # SIMULATION: a payment line raised by one cent behind the ledger's back.
    rh.simulate(PaymentLine, PaymentLine.payment_id == payment.id, invoiced=Decimal("14999.51"),
                payable=Decimal("14999.51"))
    [found] = rh.find("budget_line_overspent")
    assert found.amount == Decimal("0.01")
    assert (found.evidence["budget_line"], found.evidence["approved"], found.evidence["spent"]) == (
        3, Decimal("14999.50"), Decimal("14999.51"))


# --- split_invoices --------------------------------------------------------------------------

def _invoice(ctx, day: str, amount: str):
    return ph.register(ctx, [ph.line(unit_price=amount)], issue_date=day)


def test_invoices_split_under_the_threshold_are_found_once(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    a = _invoice(ctx, iso("2026-04-01"), "2000.00")
    b = _invoice(ctx, iso("2026-04-08"), "2000.00")
    c = _invoice(ctx, iso("2026-04-16"), "1500.00")
    _invoice(ctx, iso("2026-06-01"), "2000.00")  # far later: not part of the series
    [found] = rh.find("split_invoices")
    assert (found.entity_type, found.entity_id) == ("invoice_series", str(a.id))
    assert [i["id"] for i in found.evidence["invoices"]] == [a.id, b.id, c.id]
    assert found.amount == Decimal("5500.00")


def test_invoices_that_stay_under_the_threshold_or_are_far_apart_are_not_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    _invoice(ctx, iso("2026-04-01"), "2500.00")
    _invoice(ctx, iso("2026-04-10"), "2500.00")  # together 5,000.00: not over the threshold
    _invoice(ctx, iso("2026-05-01"), "4000.00")
    _invoice(ctx, iso("2026-05-17"), "4000.00")  # 16 days apart
    _invoice(ctx, iso("2026-07-01"), "6000.00")
    _invoice(ctx, iso("2026-07-02"), "100.00")  # the big one is not under the threshold
    assert rh.find("split_invoices") == []


# --- supplier_concentration ------------------------------------------------------------------

def test_one_supplier_with_most_of_the_spending_is_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    rh.executed(ctx, [ph.line(unit_price="300.00")])
    advance = rh.disbursed_advance(ctx)
    rh.receipts(ctx, advance, [rh.row(amount="100.00"), rh.row(supplier_tax_id=rh.other_nit(), amount="100.00")],
                accept=True)
    [found] = rh.find("supplier_concentration")
    assert found.entity_id == f"{ctx['agreement'].id}:{ph.SUPPLIER_NIT}"
    assert (found.amount, found.evidence["agreement_spending"], found.evidence["share"]) == (
        Decimal("300.00"), Decimal("500.00"), Decimal("0.6000"))


def test_spending_spread_among_suppliers_is_not_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    rh.executed(ctx, [ph.line(unit_price="100.00")])
    advance = rh.disbursed_advance(ctx)
    rh.receipts(ctx, advance, [rh.row(amount="100.00"), rh.row(supplier_tax_id=rh.other_nit(), amount="100.00")],
                accept=True)
    rh.receipts(ctx, advance, [rh.row(supplier_tax_id=rh.other_nit(), amount="900.00")], accept=False)  # rejected
    assert rh.find("supplier_concentration") == []


# --- money_after_suspension ------------------------------------------------------------------

def _suspend_and_resume(ctx):
    legal = rh.act(ctx["legal"])
    agreements.suspend_agreement(legal, ctx["agreement"].id, "Incumplimiento de informes")
    db.session.commit()
    agreements.resume_agreement(legal, ctx["agreement"].id, "Informes presentados")
    db.session.commit()
    return db.session.scalars(select(AgreementStatusChange).where(
        AgreementStatusChange.agreement_id == ctx["agreement"].id).order_by(AgreementStatusChange.id)).all()[-2:]


def test_a_payment_executed_while_the_agreement_was_suspended_is_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    payment = rh.executed(ctx)
    suspended, resumed = _suspend_and_resume(ctx)
    assert rh.find("money_after_suspension") == []  # paid before the suspension
    # SIMULATION: the service refuses money on a suspended agreement; the execution moved into the suspension.
    rh.simulate(Payment, Payment.id == payment.id, executed_at=suspended.at + (resumed.at - suspended.at) / 2)
    [found] = rh.find("money_after_suspension")
    assert (found.entity_type, found.entity_id, found.evidence["agreement_status"]) == (
        "payment", str(payment.id), "suspended")


def test_money_moved_after_a_resumption_is_not_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    _suspend_and_resume(ctx)
    rh.executed(ctx)
    rh.disbursed_advance(ctx)
    assert rh.find("money_after_suspension") == []


# --- transfers_above_allocation --------------------------------------------------------------

def test_transfers_above_the_allocation_or_the_agreement_are_found(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    rh.executed(ctx, [ph.line(unit_price="100.00")])
    assert rh.find("transfers_above_allocation") == []
    agreement = ctx["agreement"]
    # SIMULATION: the decree amended downwards after the money moved; then the agreement's amount too.
    rh.simulate(Allocation, Allocation.id == agreement.allocation_id, amount=Decimal("60.00"))
    [found] = rh.find("transfers_above_allocation")
    assert (found.entity_type, found.amount) == ("allocation", Decimal("40.00"))
    rh.simulate(Agreement, Agreement.id == agreement.id, amount=Decimal("99.99"))
    found = rh.find("transfers_above_allocation")
    assert sorted((f.entity_type, f.amount) for f in found) == [("agreement", Decimal("0.01")),
                                                                  ("allocation", Decimal("40.00"))]


# --- scope -----------------------------------------------------------------------------------

def test_rules_look_only_at_the_agreements_in_scope(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    other = rh.payments_ctx(beneficiaries=False)
    rh.executed(ctx)
    rh.executed(other)
    agreement_ids = {f.agreement_id for f in rh.find("supplier_concentration")}
    assert agreement_ids == {ctx["agreement"].id, other["agreement"].id}
    assert {f.agreement_id for f in rh.find("supplier_concentration", Scope(ctx["agreement"].id))} == {
        ctx["agreement"].id}
    assert rh.find("supplier_concentration", Scope(None, year(2025))) == []
    assert len(rh.find("supplier_concentration", Scope(None, year()))) == 2
    assert db.session.scalar(select(Allocation.fiscal_year).where(
        Allocation.id == ctx["agreement"].allocation_id)) == year()
