"""The demo's bank statements (camt.053.001.08, written by grants/reports/camt053.py as the bank
would) of the ministry's account, uploaded by treasury through the real service: the day of the
first advance's transfer (day 16) and the day of the first direct payment (day 66), each the day
after. Both were registered by hand by treasury, so the statements confirm them without running
anything again; the second also carries the bank's transfer fee, which stays unmatched
(«Referencia desconocida») for treasury to mark as not Fondos'."""
from __future__ import annotations

from decimal import Decimal

from flask import current_app
from sqlalchemy import select

from grants import clock
from grants.extensions import db
from grants.models import Advance, Invoice, Payment
from grants.reports.camt053 import statement_xml
from grants.services import bank_statements
from grants.services.bank_ids import end_to_end_id



def demo_bank_statements(t, as_, agreement_id: int) -> None:
    """``t``: the demo's Timeline; ``as_(key)``: the Actor of a demo user; ngo2's agreement."""
    year = t.fiscal_year
    advance = db.session.scalars(select(Advance).where(Advance.agreement_id == agreement_id)
                                 .order_by(Advance.id)).first()
    payment = db.session.scalars(select(Payment).join(Invoice, Invoice.id == Payment.invoice_id).where(
        Payment.agreement_id == agreement_id, Invoice.number == "A-0311")).first()
    account = current_app.config["TREASURY_ACCOUNTS"][0]["account"]  # the ministry's account payments leave
    opening = Decimal("1500000.00")
    with clock.at(t.day(17)):
        data = statement_xml(account, f"EXT-{year}-{t.day(16):%m%d}", t.day(16), [
            {"direction": "debit", "amount": advance.amount, "bank_reference": advance.bank_reference,
             "end_to_end_id": end_to_end_id("advance", advance.id), "counterparty": advance.agreement.organization.legal_name,
             "remittance": "Anticipo, primer desembolso"}], opening_balance=opening)
        bank_statements.upload_statement(as_("treasury2"), f"extracto-EXT-{year}-{t.day(16):%m%d}.xml", data)
    opening -= advance.amount
    with clock.at(t.day(67)):
        data = statement_xml(account, f"EXT-{year}-{t.day(66):%m%d}", t.day(66), [
            {"direction": "debit", "amount": payment.amount, "bank_reference": payment.bank_reference,
             "end_to_end_id": end_to_end_id("payment", payment.id), "counterparty": payment.supplier.legal_name,
             "remittance": "Pago factura A-0311"},
            {"direction": "debit", "amount": "2.50", "bank_reference": f"COM-{year}-0066",
             "remittance": "Comisión por transferencia"}], opening_balance=opening)
        bank_statements.upload_statement(as_("treasury2"), f"extracto-EXT-{year}-{t.day(66):%m%d}.xml", data)
