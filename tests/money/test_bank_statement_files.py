"""Bank statements that are not what they should be: the CSV fallback with a bad row (each row's error,
nothing saved), a file that is not a statement, an XML with a DTD / external entity (XXE), a camt.053
that breaks the ISO schema; and the manual resolution of unmatched lines by treasury (audited, once)."""
from __future__ import annotations

import pytest
from sqlalchemy import select

from grants.domain_errors import Conflict, FileTooLarge, Forbidden, ValidationFailed
from grants.extensions import db
from grants.models import AuditEvent, BankStatementLine
from grants.services import bank_statements
from grants.services.bank_ids import end_to_end_id
from grants.workflows.bank_statement import LineState
from grants.workflows.payment import PaymentState
from tests.helpers import outcome
from tests.money import advance_helpers as ah
from tests.money.bank_statement_helpers import ACCOUNT, authorized, by_number, camt, events, setup, statements, upload
from tests.timeline import today

HEADER = "fecha,tipo,monto,referencia_banco,id_extremo_a_extremo,descripcion,cuenta"


@pytest.fixture
def ctx(app):
    return setup()


def refused(ctx, data: bytes, filename: str = "extracto.csv", user: str = "treasury3") -> list[str]:
    before = (events(), statements())
    with pytest.raises(ValidationFailed) as error:
        bank_statements.upload_statement(ah.act(ctx[user]), filename, data)
    db.session.rollback()
    assert (events(), statements()) == before
    return [str(m) for m in error.value.errors["file"]]


def test_a_csv_statement_is_matched_like_a_camt_one(ctx):
    payment = authorized(ctx, "150.25")
    data = (f"{HEADER}\n{today().isoformat()},debito,150.25,TRF-CSV-1,{end_to_end_id('payment', payment.id)},"
            f"Pago a proveedor,{ACCOUNT}\n"
            f"{today().strftime('%d/%m/%Y')},credito,10.00,DEP-XYZ,,Depósito sin declarar,{ACCOUNT}\n").encode()
    statement, created = upload(ctx, data, filename="extracto.csv")
    lines = by_number(statement)
    assert created and statement.format == "csv" and statement.account == ACCOUNT
    assert (lines[1].status, lines[2].reason_code) == (LineState.MATCHED, "unknown_reference")
    db.session.refresh(payment)
    assert (payment.status, payment.bank_reference, payment.transfer_date) == \
        (PaymentState.EXECUTED, "TRF-CSV-1", today())


def test_a_csv_with_a_bad_row_saves_nothing_and_says_which_row(ctx):
    payment = authorized(ctx)
    data = (f"{HEADER}\n{today().isoformat()},debito,100.00,TRF-1,{end_to_end_id('payment', payment.id)},x,{ACCOUNT}\n"
            f"31/02/2026,debito,\"1,000.00\",TRF-2,,x,{ACCOUNT}\n"
            f"{today().isoformat()},retiro,5.00,TRF-3,,x,{ACCOUNT}\n").encode()
    messages = refused(ctx, data)
    assert messages[0].startswith("El extracto no se guardó")
    assert messages[1].startswith("Fila 3:") and "fecha" in messages[1] and "monto" in messages[1]
    assert messages[2].startswith("Fila 4:") and "tipo" in messages[2]
    db.session.refresh(payment)
    assert payment.status == PaymentState.AUTHORIZED


@pytest.mark.parametrize("data, expected", [
    (b"", "Adjunte el archivo"),
    (b"%PDF-1.7\n\x00\x01binary", "se revisa su contenido"),
    (b"nombre,apellido\nAna,Prueba\n", "faltan las columnas"),
    (b"<html><body>hola</body></html>", "se revisa su contenido"),
    (b"<?xml version=\"1.0\"?><pain001/>", "no es un extracto ISO 20022"),
    (b"<Document", "no es un XML válido"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE d [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'
     b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&xxe;</Document>', "DTD"),
    (b'<?xml version="1.0"?>\n<!DOCTYPE lol [<!ENTITY a "aaaaaaaaaa"><!ENTITY b "&a;&a;&a;&a;&a;">]>\n'
     b'<Document xmlns="urn:iso:std:iso:20022:tech:xsd:camt.053.001.08">&b;</Document>', "DTD"),
], ids=["empty", "binary", "other-csv", "html", "other-xml", "broken-xml", "xxe", "entity-expansion"])
def test_a_file_that_is_not_a_statement_is_refused_clearly(ctx, data, expected):
    messages = refused(ctx, data, filename="extracto.xml" if data.startswith(b"<") else "extracto.csv")
    assert any(expected in m for m in messages), messages


def test_a_camt_file_that_breaks_the_schema_is_refused(ctx):
    payment = authorized(ctx)
    data = camt([{"direction": "debit", "amount": str(payment.amount), "bank_reference": "B",
                  "end_to_end_id": end_to_end_id("payment", payment.id)}])
    broken = data.replace(b"<CdtDbtInd>DBIT</CdtDbtInd>", b"<CdtDbtInd>SALIDA</CdtDbtInd>", 1)
    messages = refused(ctx, broken, filename="extracto.xml")
    assert "no cumple el esquema camt.053.001.08" in messages[0]
    db.session.refresh(payment)
    assert payment.status == PaymentState.AUTHORIZED


def test_size_limit_and_who_uploads(ctx, app, monkeypatch):
    monkeypatch.setitem(app.config, "BANK_STATEMENT_MAX_BYTES", 1024)
    with pytest.raises(FileTooLarge):
        bank_statements.upload_statement(ah.act(ctx["treasury3"]), "x.xml", b"<" + b"a" * 2000)
    db.session.rollback()
    data = camt([])
    for role in ("ngo", "financial", "administrator"):
        with pytest.raises(Forbidden):
            bank_statements.upload_statement(ah.act(ctx[role]), "x.xml", data)
        db.session.rollback()


def _unmatched_line(ctx, amount: str):
    statement, _ = upload(ctx, camt([{"direction": "debit", "amount": amount, "bank_reference": "SIN-REF",
                                       "remittance": "Transferencia"}]))
    line = by_number(statement)[1]
    assert line.reason_code == "unknown_reference"
    return line


def test_treasury_matches_an_unmatched_line_by_hand_with_a_reason_once(ctx):
    payment = authorized(ctx, "321.00")
    other = authorized(ctx, "321.50")
    line = _unmatched_line(ctx, "321.00")
    assert [(k, r.id) for k, r in bank_statements.candidates(line)] == [("payment", payment.id)]
    treasury = ah.act(ctx["treasury3"])
    assert outcome(lambda: bank_statements.match_line(treasury, line.id, "payment", payment.id, " ")) \
        == "validation_error"
    assert outcome(lambda: bank_statements.match_line(treasury, line.id, "payment", other.id, "Es este")) \
        == "wrong_amount"
    assert outcome(lambda: bank_statements.match_line(ah.act(ctx["financial"]), line.id, "payment", payment.id,
                                                      "Es este")) == "forbidden"
    bank_statements.match_line(treasury, line.id, "payment", payment.id, "El banco omitió la referencia")
    db.session.commit()
    db.session.refresh(line)
    db.session.refresh(payment)
    assert (line.status, line.match_method, line.payment_id, line.resolved_by_id) == \
        (LineState.MATCHED, "manual", payment.id, ctx["treasury3"].id)
    assert (payment.status, payment.transfer_date, payment.bank_reference) == \
        (PaymentState.EXECUTED, today(), "SIN-REF")
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.entity_type == "bank_statement", AuditEvent.entity_id == str(line.statement_id))
        .order_by(AuditEvent.seq)).all()
    assert actions[-2:] == ["bank_statement.line_matched", "bank_statement.line_resolved"]
    with pytest.raises(Conflict) as again:
        bank_statements.ignore_line(treasury, line.id, "Otra cosa")
    assert again.value.code == "already_resolved"


def test_treasury_marks_a_line_as_not_fondos_with_a_reason(ctx):
    line = _unmatched_line(ctx, "12.34")
    treasury = ah.act(ctx["treasury3"])
    assert outcome(lambda: bank_statements.ignore_line(treasury, line.id, "")) == "validation_error"
    before = events()
    bank_statements.ignore_line(treasury, line.id, "Comisión bancaria del mes")
    db.session.commit()
    stored = db.session.get(BankStatementLine, line.id)
    assert (stored.status, stored.manual_reason, stored.resolved_by_id) == \
        (LineState.IGNORED, "Comisión bancaria del mes", ctx["treasury3"].id)
    last = db.session.scalars(select(AuditEvent).order_by(AuditEvent.seq.desc())).first()
    assert events() == before + 1 and last.action == "bank_statement.line_ignored"
    assert outcome(lambda: bank_statements.match_line(treasury, line.id, "payment", 1, "x")) == "already_resolved"
