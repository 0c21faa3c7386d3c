"""How Fondos names its money movements to the bank (ISO 20022), one rule for both directions.

The **end-to-end id** travels unchanged from the payment file (pain.001) the ministry sends to the
bank back to the bank's statement (camt.053): it is how a debit on the statement finds its payment
or disbursement. It is stable (the record's kind and id, never a date nor a counter of the batch),
at most 35 characters (the ISO 20022 ``Max35Text``) and only in the SWIFT character set.

* a direct payment to a supplier: ``FONDOS-PAG-000123`` (``Payment.id``)
* an advance disbursed to an NGO:  ``FONDOS-ANT-000045`` (``Advance.id``)
"""
from __future__ import annotations

import re

PREFIX = "FONDOS"
KINDS = {"payment": "PAG", "advance": "ANT"}
_BY_CODE = {code: kind for kind, code in KINDS.items()}
_PATTERN = re.compile(rf"^{PREFIX}-({'|'.join(_BY_CODE)})-(\d{{6,12}})$")


def end_to_end_id(kind: str, record_id: int) -> str:
    """The end-to-end id of a payment (``kind="payment"``) or an advance (``kind="advance"``)."""
    if kind not in KINDS or not isinstance(record_id, int) or record_id <= 0:
        raise ValueError(f"no end-to-end id for {kind!r} {record_id!r}")
    return f"{PREFIX}-{KINDS[kind]}-{record_id:06d}"


def parse_end_to_end_id(value) -> tuple[str, int] | None:
    """``("payment", 123)`` for ``FONDOS-PAG-000123``; None for anything that is not one of ours."""
    match = _PATTERN.match(str(value or "").strip().upper())
    if not match:
        return None
    return _BY_CODE[match.group(1)], int(match.group(2))
