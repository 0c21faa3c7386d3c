"""The report to the Assembly tells the whole truth (issue 10 §7): its headline starts from what was
legislated, by decree; an allocation without an agreement counts entirely as not executed; refunds
count once confirmed; fines are shown; a reconciliation section proves the identities, and the PDF,
XLSX and JSON say the same."""
import io
import json
from decimal import Decimal

import pytest
from openpyxl import load_workbook
from pypdf import PdfReader

from grants.extensions import db
from grants.services import expense_statements, legislature
from tests.factories import make_allocation, make_organization
from tests.money.advance_helpers import act, money_setup, refunded, row
from tests.money.payment_helpers import executed, payments_setup
from tests.money.timeline_advances import declared, disbursed_on
from tests.timeline import day, year


@pytest.fixture
def report(app):
    # D.L. 100: an agreement with a direct payment (its allocation is $100,000.00).
    paid = payments_setup(beneficiaries=False)
    executed(paid)  # $100.00 paid directly
    # D.L. 100 too: an allocation that never got an agreement.
    make_allocation(make_organization(legal_name="Asociación Sin Convenio"), amount="37500.50",
                    decree_number="D.L. 100")
    # D.L. 200: an agreement with an advance: receipts accepted, a refund confirmed, another only declared.
    money = money_setup()
    advance = disbursed_on(money, day("2026-03-02"), amount="10000.00")
    statement = expense_statements.submit_statement(act(money["ngo"]), advance.id, [row(amount="6000.00",
                                                                                         issue_date=day("2026-03-10").isoformat())])
    expense_statements.decide_receipt(act(money["financial"]), statement.receipts[0].id, True, None)
    db.session.commit()
    refunded(money, advance, "1000.00", "DEP-OK", day=day("2026-06-01").isoformat())
    declared(money, advance, "500.00", reference="DEP-WAIT")  # not confirmed: counts for nothing
    from sqlalchemy import update

    from grants.models import Allocation

    db.session.execute(update(Allocation).where(Allocation.id == paid["agreement"].allocation_id)
                       .values(decree_number="D.L. 100"))
    db.session.execute(update(Allocation).where(Allocation.id == money["agreement"].allocation_id)
                       .values(decree_number="D.L. 200"))
    db.session.commit()
    return legislature.report_data(year())


def test_the_headline_starts_from_what_was_legislated_by_decree(report):
    by = {d["decree_number"]: d for d in report["decrees"]}
    assert set(by) == {"D.L. 100", "D.L. 200"}
    d100, d200 = by["D.L. 100"], by["D.L. 200"]
    assert (d100["legislated"], d100["under_agreements"], d100["without_agreement"]) == (
        Decimal("137500.50"), Decimal("100000.00"), Decimal("37500.50"))
    assert (d100["executed"], d100["not_executed"]) == (Decimal("100.00"), Decimal("137400.50"))
    # receipts 6,000 executed; 1,000 refunded (confirmed); 3,000 still with the NGO; the 500 declared are nowhere
    assert (d200["executed"], d200["refunded"], d200["outstanding"]) == (
        Decimal("6000.00"), Decimal("1000.00"), Decimal("3000.00"))
    assert d200["never_transferred"] == Decimal("90000.00")
    assert d200["not_executed"] == d200["refunded"] + d200["outstanding"] + d200["never_transferred"]


def test_the_reconciliation_holds_to_the_cent(report):
    rec = report["reconciliation"]
    assert rec["holds"] and all(c["holds"] for c in rec["checks"])
    assert rec["totals"]["legislated"] == sum(r["allocation_amount"] for r in report["rows"])
    assert rec["totals"]["legislated"] == sum(d["legislated"] for d in report["decrees"]) == Decimal("237500.50")
    assert rec["totals"]["not_executed"] == Decimal("237500.50") - Decimal("6100.00")


def test_pdf_xlsx_and_json_say_the_same(report):
    files = legislature.build_files(report)
    document = json.loads(files["json"])
    legislature.validate_json(document)
    assert {d["decree_number"]: d["not_executed"] for d in document["decrees"]} == {
        "D.L. 100": "137400.50", "D.L. 200": "94000.00"}
    assert document["reconciliation"]["holds"] is True
    text = " ".join(" ".join(p.extract_text() for p in PdfReader(io.BytesIO(files["pdf"])).pages).split())
    assert "Legislado $237,500.50" in text and "no ejecutado $231,400.50" in text
    assert "Conciliación" in text and "NO CUADRA" not in text
    sheet = load_workbook(io.BytesIO(files["xlsx"]))["Por decreto"]
    values = [[c.value for c in r] for r in sheet.iter_rows()]
    totals = next(r for r in values if r[0] == "Totales")
    assert Decimal(str(totals[1])) == Decimal("237500.50") and Decimal(str(totals[-3])) == Decimal("231400.50")
