"""The follow-up tests move money too (payments, advances, suspensions): every one of them ends
with the ledger invariants check, as in tests/money."""
from __future__ import annotations

from tests.money import conftest as money_conftest

money_invariants = money_conftest.money_invariants
