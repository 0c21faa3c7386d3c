"""Every money test ends with the ledger invariants check (DESIGN.md §3 money invariants).

After the test body, ``grants.services.ledger.check_invariants`` recomputes every balance from the
payments, advances, receipts and refunds, in the same database the test used (its savepoint for
``app``, the committed data for ``live_app``), and the test fails if anything differs.
"""
from __future__ import annotations

import pytest

from grants.extensions import db
from grants.services import ledger


@pytest.fixture(autouse=True)
def money_invariants(request):
    # Ask for the test's app now, so that this fixture is torn down first, while it still stands.
    live = request.getfixturevalue("live_app") if "live_app" in request.fixturenames else None
    if live is None and "app" in request.fixturenames:
        request.getfixturevalue("app")
    yield
    if live is not None:
        with live.app_context():
            problems = ledger.check_invariants()
            db.session.remove()
    elif "app" in request.fixturenames:
        problems = ledger.check_invariants()
    else:
        return
    assert problems == [], "money invariants broken after the test:\n" + "\n".join(problems)
