"""Money for the whole house (the kernel: every floor may import it, it imports nothing of the
package): USD amounts are Decimal end to end, never float; ``ZERO`` and ``CENT`` are defined here
only; parsing and the plain two-decimal text of an amount."""
from __future__ import annotations

from decimal import Decimal, InvalidOperation

ZERO = Decimal("0.00")
CENT = Decimal("0.01")
MAX_AMOUNT = Decimal("999999999999.99")  # Numeric(14,2)


def parse_amount(value) -> Decimal:
    """Accept Decimal, int or a string with at most two decimals; refuse floats and junk."""
    if isinstance(value, bool) or isinstance(value, float):
        raise ValueError("amounts must be given as strings or Decimal, never float")
    if isinstance(value, str):
        value = value.strip().replace(",", "").replace("$", "").strip()
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError):
        raise ValueError("not a number") from None
    if not amount.is_finite():
        raise ValueError("not a number")
    if abs(amount) > MAX_AMOUNT:
        raise ValueError("too large for Numeric(14,2)")
    if amount != amount.quantize(CENT):
        raise ValueError("more than two decimals")
    return amount.quantize(CENT)


def format_amount(value: Decimal) -> str:
    return f"{Decimal(value).quantize(CENT):.2f}"
