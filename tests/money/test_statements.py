"""Expense statements: automatic refusals per row, the XLSX template and upload, receipt decisions."""
from __future__ import annotations

import io
from datetime import datetime, time
from decimal import Decimal

import pytest
from openpyxl import Workbook, load_workbook
from sqlalchemy import select

from grants.extensions import db
from grants.models import AuditEvent, ExpenseStatement, Receipt
from grants.services import agreements, attachments, expense_statements, ledger
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.factories import valid_dui, valid_nit
from tests.money.advance_helpers import SUPPLIER_NIT, act, approved, disbursed, money_setup, row
from tests.pdfs import broken_xlsx, tiny_pdf, tiny_png
from tests.timeline import day, dmy, iso


def submit(ctx, advance, rows):
    statement = expense_statements.submit_statement(act(ctx["ngo"]), advance.id, rows)
    db.session.commit()
    return statement


def statement_count(advance) -> int:
    return len(db.session.scalars(select(ExpenseStatement.id).where(ExpenseStatement.advance_id == advance.id)).all())


def refused(ctx, advance, rows) -> ValidationFailed:
    """Refused, and nothing stored."""
    before = statement_count(advance)
    with pytest.raises(ValidationFailed) as caught:
        expense_statements.submit_statement(act(ctx["ngo"]), advance.id, rows)
    assert statement_count(advance) == before
    return caught.value


def test_a_valid_statement_is_stored_with_pending_receipts(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    statement = submit(ctx, advance, [row(amount="1250.50", supplier_tax_id="0614 050707 104 8"),
                                      row(document_type="Comprobante de crédito fiscal", budget_line=2,
                                          supplier_tax_id=valid_dui(12345), issue_date=dmy("2026-06-14"))])
    assert (statement.number, statement.status, statement.total) == (1, "submitted", Decimal("1350.50"))
    first, second = statement.receipts
    assert (first.supplier_tax_id, first.status, first.position) == ("0614-050707-104-8", "pending", 1)
    assert (second.document_type, second.issue_date) == ("ccf", day("2026-06-14"))
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(advance.id)).order_by(AuditEvent.seq)).all()
    assert actions[-1] == "expense_statement.submitted"
    assert submit(ctx, advance, [row()]).number == 2


def test_empty_statement_is_refused(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    assert refused(ctx, advance, []).code == "empty_statement"


def test_dates_outside_the_advance_period_or_the_agreement_term(app):
    ctx = money_setup()
    # Tranche 1 is planned from 15/02; the money left on 16/02, so its period is 16/02 .. 14/06
    # (term 2026-02-01 .. 2026-11-30; no pre-financing clause).
    advance = disbursed(ctx)
    assert (advance.period_start, advance.period_end) == (day("2026-02-16"), day("2026-06-14"))
    error = refused(ctx, advance, [row(issue_date=iso("2026-02-15")), row(issue_date=iso("2026-06-15")),
                                   row(issue_date=iso("2026-01-31")), row(issue_date="31/02/2026"),
                                   row(issue_date=iso("2026-02-16")), row(issue_date=iso("2026-06-14"))])
    assert set(error.errors) == {"rows.1.issue_date", "rows.2.issue_date", "rows.3.issue_date", "rows.4.issue_date"}
    assert "no permite prefinanciar" in str(error.errors["rows.1.issue_date"][0])
    assert "período del anticipo" in str(error.errors["rows.2.issue_date"][0])
    assert "plazo del convenio" in str(error.errors["rows.3.issue_date"][0])


def test_invalid_supplier_identity(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    error = refused(ctx, advance, [row(supplier_tax_id="0614-050707-104-9"), row(supplier_tax_id="00000000-0"),
                                   row(supplier_tax_id=valid_nit(5))])
    assert set(error.errors) == {"rows.1.supplier_tax_id", "rows.2.supplier_tax_id"}


def test_every_field_is_checked(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    error = refused(ctx, advance, [{"document_type": "vale", "document_number": "F 1", "amount": "0",
                                    "budget_line": "x"}, row(amount=Decimal("1.005"))])
    assert set(error.errors) == {"rows.1.document_type", "rows.1.issue_date", "rows.1.supplier_tax_id",
                                 "rows.1.supplier_name", "rows.1.description", "rows.1.budget_line",
                                 "rows.1.amount", "rows.2.amount"}


def test_duplicate_receipts_in_one_statement_and_across_statements(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    same = row(document_number="F-777")
    error = refused(ctx, advance, [same, dict(same, document_number="f-777 ")])
    assert "fila 1" in str(error.errors["rows.2.document_number"][0])
    first = submit(ctx, advance, [same])
    error = refused(ctx, advance, [row(), dict(same, supplier_name="Otro nombre")])
    assert set(error.errors) == {"rows.2.document_number"}
    assert "liquidación 1" in str(error.errors["rows.2.document_number"][0])
    # Another type or another supplier is another document.
    submit(ctx, advance, [dict(same, document_type="recibo"), dict(same, supplier_tax_id=valid_nit(77))])
    # Once rejected, the document may be presented again.
    expense_statements.decide_receipt(act(ctx["financial"]), first.receipts[0].id, False, "Ilegible")
    db.session.commit()
    assert submit(ctx, advance, [same]).receipts[0].document_number == "F-777"


def test_duplicate_receipts_across_agreements(app):
    ctx = money_setup()
    other = money_setup()
    mine, theirs = disbursed(ctx), disbursed(other)
    document = row(document_number="CCF-42", document_type="ccf")
    submit(other, theirs, [document])
    error = refused(ctx, mine, [document])
    assert "otro convenio" in str(error.errors["rows.1.document_number"][0])


def test_budget_line_unknown_or_without_room(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    error = refused(ctx, advance, [row(budget_line=9)])
    assert "línea presupuestaria 9" in str(error.errors["rows.1.budget_line"][0])
    # Line 3 has 14,999.50: two rows that fit one by one but not together.
    error = refused(ctx, advance, [row(budget_line=3, amount="10000.00"), row(budget_line=3, amount="5000.00"),
                                   row(budget_line=1, amount="10.00")])
    assert set(error.errors) == {"rows.1.budget_line", "rows.2.budget_line"}
    assert "14,999.50" in str(error.errors["rows.1.budget_line"][0])
    assert submit(ctx, advance, [row(budget_line=3, amount="14999.50")]).total == Decimal("14999.50")


def test_more_than_the_outstanding_balance(app):
    ctx = money_setup()
    advance = disbursed(ctx)  # 40,000.00
    submit(ctx, advance, [row(amount="30000.00")])  # pending
    with pytest.raises(ValidationFailed) as caught:
        expense_statements.submit_statement(act(ctx["ngo"]), advance.id, [row(amount="10000.01")])
    assert caught.value.code == "exceeds_outstanding"
    assert "10,000.00" in str(caught.value.errors["rows"][0])
    assert submit(ctx, advance, [row(amount="5000.00", budget_line=2), row(amount="5000.00")]).total == \
        Decimal("10000.00")


def test_only_the_ngo_of_a_disbursed_advance_submits(app):
    ctx = money_setup()
    other = money_setup()
    advance = approved(ctx)
    with pytest.raises(Conflict) as caught:
        expense_statements.submit_statement(act(ctx["ngo"]), advance.id, [row()])
    assert caught.value.code == "advance_not_disbursed"
    with pytest.raises(NotFound):
        expense_statements.submit_statement(act(other["ngo"]), advance.id, [row()])
    with pytest.raises(Forbidden):
        expense_statements.submit_statement(act(ctx["financial"]), advance.id, [row()])


def test_statements_are_accepted_while_suspended(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    agreements.suspend_agreement(act(ctx["administrator"]), ctx["agreement"].id, "Auditoría")
    db.session.commit()
    statement = submit(ctx, advance, [row()])
    receipt = expense_statements.decide_receipt(act(ctx["financial"]), statement.receipts[0].id, True, None)
    assert receipt.status == "accepted"


def test_decisions_liquidate_the_advance_and_review_the_statement(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    statement = submit(ctx, advance, [row(amount="1000.00"), row(amount="500.00", budget_line=2)])
    first, second = statement.receipts
    with pytest.raises(Forbidden):
        expense_statements.decide_receipt(act(ctx["ngo"]), first.id, True, None)
    with pytest.raises(ValidationFailed):
        expense_statements.decide_receipt(act(ctx["financial"]), second.id, False, "")
    expense_statements.decide_receipt(act(ctx["financial"]), first.id, True, None)
    db.session.commit()
    assert (statement.status, advance.liquidated_amount, advance.outstanding) == (
        "submitted", Decimal("1000.00"), Decimal("39000.00"))
    with pytest.raises(Conflict) as caught:
        expense_statements.decide_receipt(act(ctx["financial"]), first.id, False, "Cambio de opinión")
    assert caught.value.code == "invalid_transition"
    expense_statements.decide_receipt(act(ctx["financial"]), second.id, False, "Factura a nombre de otra entidad")
    db.session.commit()
    assert (statement.status, second.decision_reason) == ("reviewed", "Factura a nombre de otra entidad")
    figures = ledger.balances(ctx["agreement"])
    assert (figures.liquidated, figures.outstanding) == (Decimal("1000.00"), Decimal("39000.00"))
    assert [(line.number, line.liquidated) for line in figures.lines] == [
        (1, Decimal("1000.00")), (2, Decimal("0.00")), (3, Decimal("0.00"))]
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(advance.id)).order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["receipt.accepted", "receipt.rejected"]


def test_accepting_receipts_for_the_whole_advance_liquidates_it(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    statement = submit(ctx, advance, [row(amount="30000.00"), row(amount="10000.00", budget_line=2)])
    for receipt in statement.receipts:
        expense_statements.decide_receipt(act(ctx["financial"]), receipt.id, True, None)
    db.session.commit()
    assert (advance.status, advance.outstanding, advance.liquidated_share) == (
        "liquidated", Decimal("0.00"), Decimal("100.00"))
    assert advance.liquidated_at is not None


def test_accept_is_refused_when_the_budget_line_filled_up_meanwhile(app):
    ctx = money_setup()
    first = disbursed(ctx, 1)
    statement = submit(ctx, first, [row(budget_line=3, amount="14000.00")])
    other = submit(ctx, first, [row(budget_line=3, amount="999.50"), row(budget_line=3, amount="1000.00")])
    expense_statements.decide_receipt(act(ctx["financial"]), statement.receipts[0].id, True, None)
    expense_statements.decide_receipt(act(ctx["financial"]), other.receipts[0].id, True, None)
    db.session.commit()
    with pytest.raises(Conflict) as caught:
        expense_statements.decide_receipt(act(ctx["financial"]), other.receipts[1].id, True, None)
    assert caught.value.code == "insufficient_balance"
    db.session.rollback()
    receipt = db.session.get(Receipt, other.receipts[1].id)
    assert receipt.status == "pending"
    assert db.session.get(type(first), first.id).liquidated_amount == Decimal("14999.50")


def test_receipt_scan(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    receipt = submit(ctx, advance, [row()]).receipts[0]
    with pytest.raises(ValidationFailed):
        expense_statements.attach_receipt_scan(act(ctx["ngo"]), receipt.id, b"GIF89a....")
    app.config["RECEIPT_SCAN_MAX_BYTES"] = 100
    try:
        with pytest.raises(ValidationFailed) as caught:
            expense_statements.attach_receipt_scan(act(ctx["ngo"]), receipt.id, tiny_pdf() + b" " * 200)
        assert (caught.value.code, caught.value.status) == ("payload_too_large", 413)
    finally:
        app.config["RECEIPT_SCAN_MAX_BYTES"] = 10 * 1024 * 1024
    with pytest.raises(ValidationFailed):  # a PNG signature without a PNG behind it
        expense_statements.attach_receipt_scan(act(ctx["ngo"]), receipt.id, b"\x89PNG\r\n\x1a\n" + b"\x00" * 32)
    png = tiny_png()
    expense_statements.attach_receipt_scan(act(ctx["ngo"]), receipt.id, png, "comprobante.png")
    [scan] = expense_statements.scans_of(receipt)
    assert (len(scan.sha256), scan.content_type, scan.filename) == (64, "image/png", "comprobante.png")
    assert attachments.path_of(scan).read_bytes() == png


# --- the XLSX template and the upload --------------------------------------------------------------

def test_template_has_the_headers_the_period_and_the_budget_lines(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    book = load_workbook(io.BytesIO(expense_statements.statement_template(advance)))
    data, notes = book.worksheets[0], book["Instrucciones"]
    assert [c.value for c in data[1]] == ["Tipo de documento", "Número de documento", "Fecha",
                                          "NIT o DUI del proveedor", "Nombre del proveedor", "Descripción",
                                          "Línea presupuestaria", "Monto"]
    text = " ".join(str(c.value) for r in notes.iter_rows() for c in r if c.value is not None)
    assert f"{dmy('2026-02-16')} – {dmy('2026-06-14')}" in text and "$40,000.00" in text
    assert "Servicios" in text and "Alimentación" in text
    assert len(data.data_validations.dataValidation) >= 2


def filled_template(advance, rows: list[list]) -> bytes:
    book = load_workbook(io.BytesIO(expense_statements.statement_template(advance)))
    sheet = book.worksheets[0]
    for r, values in enumerate(rows, start=2):  # as a person fills it: from the row under the headers
        for c, value in enumerate(values, start=1):
            sheet.cell(row=r, column=c, value=value)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def cell(reference: str) -> datetime:
    """A date cell as a spreadsheet stores it (a datetime at midnight), for a reference-calendar day."""
    return datetime.combine(day(reference), time())


def test_upload_of_the_filled_template(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    data = filled_template(advance, [
        ["Factura", "F-100", cell("2026-03-01"), SUPPLIER_NIT, "Proveedor", "Sillas", "1 - Servicios", 1250.5],
        ["Comprobante de crédito fiscal", 2001, dmy("2026-03-02"), valid_dui(7), "Persona", "Refrigerios", 3, 99],
    ])
    statement = expense_statements.import_statement(act(ctx["ngo"]), advance.id, data, "liquidacion.xlsx")
    db.session.commit()
    assert statement.total == Decimal("1349.50")
    assert statement.source_filename == "liquidacion.xlsx" and len(statement.file_sha256) == 64
    first, second = statement.receipts
    assert (first.issue_date, first.amount, first.budget_line.number) == (day("2026-03-01"), Decimal("1250.50"), 1)
    assert (second.document_type, second.document_number, second.budget_line.number) == ("ccf", "2001", 3)


def test_upload_errors_name_the_spreadsheet_row(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    data = filled_template(advance, [
        ["Factura", "F-1", cell("2026-03-01"), SUPPLIER_NIT, "Proveedor", "Sillas", 1, 10],
        ["Factura", "F-2", cell("2027-03-01"), SUPPLIER_NIT, "Proveedor", "Mesas", 1, 10.123],  # after the term
    ])
    with pytest.raises(ValidationFailed) as caught:
        expense_statements.import_statement(act(ctx["ngo"]), advance.id, data, "liquidacion.xlsx")
    assert set(caught.value.errors) == {"rows.3.issue_date", "rows.3.amount"}


def test_upload_with_headers_in_english_and_missing_columns(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    book = Workbook()
    book.active.append(["DOCUMENT TYPE", "Document number", "Date", "Supplier tax id", "Supplier name",
                        "Description", "Budget line", "Amount"])
    book.active.append(["invoice", "A-1", iso("2026-03-03"), SUPPLIER_NIT, "S", "D", 2, "12.30"])
    buffer = io.BytesIO()
    book.save(buffer)
    statement = expense_statements.import_statement(act(ctx["ngo"]), advance.id, buffer.getvalue(), "en.xlsx")
    assert statement.receipts[0].amount == Decimal("12.30")

    book = Workbook()
    book.active.append(["Tipo de documento", "Fecha", "Monto"])
    buffer = io.BytesIO()
    book.save(buffer)
    with pytest.raises(ValidationFailed) as caught:
        expense_statements.import_statement(act(ctx["ngo"]), advance.id, buffer.getvalue(), "x.xlsx")
    assert caught.value.code == "missing_columns"
    assert "Número de documento" in str(caught.value.errors["file"][0])


def test_upload_that_is_not_an_xlsx_or_too_large(app):
    ctx = money_setup()
    advance = disbursed(ctx)
    with pytest.raises(ValidationFailed) as caught:
        expense_statements.import_statement(act(ctx["ngo"]), advance.id, b"PK\x03\x04garbage", "x.xlsx")
    assert "se revisa su contenido" in str(caught.value.errors["file"][0])  # not a zip: not a spreadsheet
    with pytest.raises(ValidationFailed) as caught:
        expense_statements.import_statement(act(ctx["ngo"]), advance.id, broken_xlsx(), "x.xlsx")
    assert caught.value.code == "unreadable_file"
    app.config["EXPENSE_STATEMENT_MAX_BYTES"] = 1024
    try:
        with pytest.raises(ValidationFailed) as caught:
            expense_statements.import_statement(act(ctx["ngo"]), advance.id, b"x" * 2048, "x.xlsx")
        assert (caught.value.code, caught.value.status) == ("payload_too_large", 413)
    finally:
        app.config["EXPENSE_STATEMENT_MAX_BYTES"] = 10 * 1024 * 1024
