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
    from grants.demo_money import refreshments_invoice
    from grants.services import payments

    people = db.session.scalars(select(Enrollment).where(Enrollment.agreement_id == agreement_id)
                                .order_by(Enrollment.id)).all()
    served = [e.id for e in people[:20]]  # the twenty active participants
    for number, first, last in (("A-0530", 89, 118), ("A-0611", 119, 140)):
        invoice = refreshments_invoice(t, as_, agreement_id, supplier_id, served, number, first, last)
        with clock.at(t.day(last + 5)):
            payment = payments.prepare_payment(as_("treasury"), invoice.id)
        with clock.at(t.day(last + 6)):
            payments.authorize_payment(as_("treasury2"), payment.id)
