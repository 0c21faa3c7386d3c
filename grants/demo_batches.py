"""The demo's payments ready for the bank (issue 15): two more months of ngo2's refreshments,
invoiced, received, prepared by ``treasury`` and authorized by ``treasury2``, so that treasury can
build a payment batch (Tesorería → Lotes de pago), download its pain.001 file and, with the bank
statement, see them executed. Through the real services, each step on its day of the demo's
calendar (``grants.demo.Timeline``: day 0 is the start of execution, today is day 150)."""
from __future__ import annotations

from grants import clock


def demo_batches(t, as_, agreement_id: int, supplier_id: int) -> None:
    from sqlalchemy import select

    from grants.extensions import db
    from grants.models import Enrollment
    from grants.services import invoices, payments

    people = db.session.scalars(select(Enrollment).where(Enrollment.agreement_id == agreement_id)
                                .order_by(Enrollment.id)).all()
    served = [e.id for e in people[:20]]  # the twenty active participants
    for number, first, last in (("A-0530", 89, 118), ("A-0611", 119, 140)):
        with clock.at(t.day(last + 2)):
            invoice = invoices.register_invoice(as_("ngo2"), agreement_id, {
                "supplier_id": supplier_id, "number": number, "issue_date": t.iso(last + 2),
                "period_start": t.iso(first), "period_end": t.iso(last),
                "lines": [{"budget_line": 4, "description": "Refrigerios de las sesiones del mes (12 por participante)",
                           "quantity": str(len(served)), "unit_price": "21.00", "per_beneficiary": True,
                           "enrollment_ids": served}]})
        with clock.at(t.day(last + 3)):
            invoices.certify_receipt(as_("administrator"), invoice.id, {
                "received_on": t.iso(last + 3), "conforming": True, "differences": None})
        with clock.at(t.day(last + 5)):
            payment = payments.prepare_payment(as_("treasury"), invoice.id)
        with clock.at(t.day(last + 6)):
            payments.authorize_payment(as_("treasury2"), payment.id)
