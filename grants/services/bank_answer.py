"""What the bank sends back for an issued payment batch: its end-of-day statement (camt.053.001.08)
with one debit per transfer of the batch, as the bank books them. Fondos never sends statements; this
is the bank's side of the round, for the demo (``flask bank statement``) and for the tests, so that what
treasury uploads is a real camt.053 file built from a real pain.001.

The statement carries the batch's debtor account, each transfer's end-to-end id, amount, creditor and
remittance, a bank reference per transfer (``<batch number>-<n>``) and, if asked, a bank fee (a debit
that is not Fondos', left unmatched for a person to resolve)."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from grants.clock import today
from grants.models import PaymentBatch
from grants.reports import camt053
from grants.workflows.payment_batch import PaymentBatchState


def statement_for_batch(batch: PaymentBatch, day: date | None = None, fee: Decimal | None = None,
                        omit: int = 0) -> bytes:
    """The bank's statement of ``day`` (the batch's execution date, or today if that is still ahead)
    for ``batch``: every live transfer booked, but the last ``omit`` ones (the bank did not take them),
    and a ``fee`` debit if given."""
    if batch.status != PaymentBatchState.ISSUED:
        raise ValueError(f"batch {batch.number} is {batch.status}: the bank only answers an issued file")
    day = day or min(batch.execution_date, today())
    items = [item for item in batch.items if item.live]
    booked = items[:len(items) - omit] if omit else items
    entries = [{"direction": "debit", "amount": item.amount, "end_to_end_id": item.end_to_end_id,
                "bank_reference": f"{batch.number}-{n}"[:35], "remittance": item.remittance,
                "counterparty": item.creditor_name, "booking_date": day}
               for n, item in enumerate(booked, start=1)]
    if fee:
        entries.append({"direction": "debit", "amount": Decimal(fee), "bank_reference": f"COMISION-{batch.number}"[:35],
                        "remittance": f"Comisión bancaria por transferencias del lote {batch.number}",
                        "counterparty": batch.debtor_bank, "booking_date": day})
    return camt053.statement_xml(batch.debtor_account, f"EC-{batch.number}-{day.isoformat()}"[:35], day, entries)
