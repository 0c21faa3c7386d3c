"""Every closing test ends with the ledger invariants check, as the money tests do."""
from __future__ import annotations

from tests.money.conftest import money_invariants  # the autouse fixture, shared

__all__ = ["money_invariants"]
