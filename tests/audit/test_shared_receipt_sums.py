"""The receipt rules read the receipts' sums once per run (a temporary table made by run_checks,
grants/audit/rules_base.receipt_sums); on their own they read the same sums inline. Both ways must
find exactly the same. And document_reused finds a repeated key among receipts alone, whatever
the case and spacing of the number and whether it is a factura or a crédito fiscal."""
from __future__ import annotations

from decimal import Decimal

from grants.audit import Actor
from grants.audit.rules import RULES_BY_CODE, Scope
from grants.audit.rules_base import drop_receipt_sums, share_receipt_sums
from grants.extensions import db
from grants.models import Receipt
from grants.services import audit_checks
from tests.audit import rule_helpers as rh
from tests.factories import valid_nit
from tests.money import advance_helpers as ah
from tests.timeline import day, year

RECEIPT_RULES = ("receipt_outside_term", "round_amount_receipts", "supplier_concentration", "budget_line_overspent")


def _plain(found) -> list:
    return sorted((f.entity_type, f.entity_id, f.summary, repr(f.plain_evidence()), f.amount) for f in found)


def _both_ways(code: str, scope: Scope) -> tuple[list, list]:
    alone = _plain(RULES_BY_CODE[code].find(db.session, scope, audit_checks.settings_for()))
    settings = audit_checks.settings_for()
    share_receipt_sums(scope, settings, "audit_receipt_sums_test")
    try:
        shared = _plain(RULES_BY_CODE[code].find(db.session, scope, settings))
    finally:
        drop_receipt_sums(settings)
    return alone, shared


def test_receipt_rules_find_the_same_from_the_shared_sums_as_on_their_own(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    other = valid_nit(987)
    statement = rh.receipts(ctx, advance, [rh.row(amount=a) for a in ("100.00", "200.00", "1300.00", "45.10")]
                            + [rh.row(amount="99.99", supplier_tax_id=other, supplier_name="Otro, S.A.")], accept=True)
    rh.receipts(ctx, advance, [rh.row(amount="7000.00", budget_line=3)], accept=False)   # rejected: not counted
    rh.receipts(ctx, advance, [rh.row(amount="500.00", budget_line=2)])                  # pending: counted, not spent
    # SIMULATION: one accepted receipt edited afterwards to a date outside the term, and one raised
    # beyond its budget line behind the ledger's back.
    first, second = statement.receipts[0], statement.receipts[1]
    rh.simulate(Receipt, Receipt.id == first.id, issue_date=day("2026-12-01"))
    rh.simulate(Receipt, Receipt.id == second.id, amount=Decimal("60000.00"))
    expected = {"receipt_outside_term": 1, "round_amount_receipts": 1, "supplier_concentration": 1,
                "budget_line_overspent": 1}
    for scope in (Scope(), Scope(agreement_id=ctx["agreement"].id), Scope(fiscal_year=year()),
                  Scope(fiscal_year=year(2027))):
        for code in RECEIPT_RULES:
            alone, shared = _both_ways(code, scope)
            assert alone == shared, (code, scope)
            assert len(alone) == (0 if scope.fiscal_year == year(2027) else expected[code]), (code, scope)

    [round_] = rh.find("round_amount_receipts")
    assert (round_.evidence["receipts"], round_.evidence["round_receipts"]) == (6, 4)  # the pending one too
    assert round_.evidence["round_amount"] == Decimal("61900.00")
    [line] = rh.find("budget_line_overspent")
    assert (line.evidence["budget_line"], line.evidence["liquidated"]) == (1, Decimal("61545.09"))
    [supplier] = rh.find("supplier_concentration")
    assert supplier.evidence["supplier_tax_id"] == ah.SUPPLIER_NIT

    run = audit_checks.run_checks(Actor.system("test"), fiscal_year=year())
    db.session.commit()
    assert {code: run.counts[code] for code in RECEIPT_RULES} == expected


def test_a_run_leaves_no_temporary_table_behind_and_runs_again(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    rh.receipts(ctx, advance, [rh.row(amount=a) for a in ("100.00", "200.00", "300.00", "400.00", "500.00")])
    first = audit_checks.run_checks(Actor.system("test"))
    second = audit_checks.run_checks(Actor.system("test"))   # same transaction: no name clash
    db.session.commit()
    assert first.counts["round_amount_receipts"] == second.counts["round_amount_receipts"] == 1


def test_a_number_repeated_among_receipts_in_another_case_and_spacing_is_reuse(app):
    ctx = rh.payments_ctx(beneficiaries=False)
    advance = rh.disbursed_advance(ctx)
    statement = rh.receipts(ctx, advance, [rh.row(document_type="factura", document_number="AB-7"),
                                           rh.row(document_type="ccf", document_number="AB-8")])
    assert rh.find("document_reused") == []
    later = statement.receipts[1]
    # SIMULATION: the second receipt's number edited afterwards to the first's, lower-cased and padded
    # (a crédito fiscal and a factura are the same kind of fiscal document).
    rh.simulate(Receipt, Receipt.id == later.id, document_number=" ab-7 ")
    [found] = rh.find("document_reused")
    assert (found.entity_type, found.entity_id) == ("receipt", str(later.id))
    assert [u["id"] for u in found.evidence["uses"]] == [statement.receipts[0].id, later.id]
    # A recibo with that number is another kind of document: not a reuse.
    rh.simulate(Receipt, Receipt.id == later.id, document_type="recibo")
    assert rh.find("document_reused") == []
