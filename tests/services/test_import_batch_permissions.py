"""Who may confirm, discard or validate an uploaded list is one rule (``ImportBatch.refusal_for``;
issue 13 §3): the service refuses with it, the page offers what it allows."""
import pytest

from grants import clock
from grants.extensions import db
from grants.models import ImportBatch
from grants.services import beneficiary_imports as imports
from grants.workflows.import_batch import BatchAction as A
from tests.factories import make_user, valid_dui
from tests.helpers import outcome
from tests.money.payment_helpers import HEADER, act, payments_setup
from tests.timeline import day, years_before

# What the service says for each of the rule's codes.
SERVICE = {"forbidden": "forbidden", "own_upload": "forbidden", "invalid_transition": ("batch_not_ready",
           "batch_not_confirmed"), "empty": "batch_empty"}


def a_list(ctx, rows: int, name: str):
    """An enrollment list of ``rows`` good rows (0: only a bad one), uploaded by the NGO."""
    enrolled = day("2026-02-01")   # the reference calendar, moved to the suite's day (tests/timeline.py)
    born = years_before(enrolled, 20).strftime("%d/%m/%Y")
    lines = [f"DUI,{valid_dui(70_000_000 + i)},Persona,Prueba {i},{born},F,San Salvador Centro,{enrolled.isoformat()}"
             for i in range(rows)] or [f"DUI,123,Persona,Prueba,{born},F,San Salvador Centro,{enrolled.isoformat()}"]
    batch = imports.import_file(act(ctx["ngo"]), ctx["agreement"].id, name,
                                (HEADER + "\n" + "\n".join(lines) + "\n").encode())
    db.session.commit()
    return batch


@pytest.fixture
def ctx(app):
    ctx = payments_setup(beneficiaries=False)
    ctx["monitoring2"] = make_user(["monitoring_reviewer"])
    return ctx


def attempt(action: A, user, batch_id: int) -> str | None:
    call = {A.CONFIRM: lambda: imports.confirm_batch(act(user), batch_id),
            A.DISCARD: lambda: imports.discard_batch(act(user), batch_id),
            A.VALIDATE: lambda: imports.validate_batch(act(user), batch_id)}[action]
    return outcome(call)


@pytest.mark.parametrize("on", [day("2026-02-10")], ids=["within the term"])
def test_the_rule_is_what_the_service_does(ctx, on):
    # replayed on a day of the agreement's term, after the people's enrollment (any real day may be before it)
    with clock.at(on):
        ready, empty, confirmed = a_list(ctx, 2, "lista.csv"), a_list(ctx, 0, "mala.csv"), a_list(ctx, 1, "otra.csv")
        imports.confirm_batch(act(ctx["ngo"]), confirmed.id)
        db.session.commit()
        seen = set()
        for batch in (ready, empty, confirmed):
            for name in ("ngo", "monitoring", "monitoring2", "treasury", "financial"):
                for action in (A.CONFIRM, A.DISCARD, A.VALIDATE):
                    expected = db.session.get(ImportBatch, batch.id).refusal_for(ctx[name], action)
                    got = attempt(action, ctx[name], batch.id)
                    wanted = SERVICE.get(expected, expected)
                    assert got in (wanted if isinstance(wanted, tuple) else (wanted,)), (batch.filename, name, action)
                    seen.add(expected)
    assert {None, "forbidden", "invalid_transition", "empty"} <= seen
