"""Who may act on an advance is one rule (``Advance.refusal_for``; issue 13 §3): the service refuses
with that rule's code and the page offers the buttons it allows."""
import pytest

from grants import clock
from grants.extensions import db
from grants.models import Advance
from grants.services import advances
from grants.workflows.advance import AdvanceAction as A
from tests.helpers import login, outcome
from tests.money.advance_helpers import TRANSFER_DAY, act, approved, money_setup, prepared, requested

PEOPLE = ("ngo", "financial", "treasury", "treasury2", "administrator")
SERVICE_CODE = {"own_organization": "forbidden"}   # both are Forbidden to the caller


@pytest.fixture
def ctx(app):
    return money_setup()


def attempt(action: A, user, advance_id: int) -> str | None:
    call = {A.APPROVE: lambda: advances.approve_advance(act(user), advance_id),
            A.REJECT: lambda: advances.reject_advance(act(user), advance_id, "Motivo"),
            A.PREPARE: lambda: advances.prepare_disbursement(act(user), advance_id),
            A.DISBURSE: lambda: advances.disburse_advance(act(user), advance_id, "TRF-9", TRANSFER_DAY)}[action]
    with clock.at(TRANSFER_DAY):
        return outcome(call)


@pytest.mark.parametrize("stage", [requested, approved, prepared], ids=lambda f: f.__name__)
def test_the_rule_is_what_the_service_does(ctx, stage):
    advance = stage(ctx)
    seen = set()
    for name in PEOPLE:
        for action in (A.APPROVE, A.REJECT, A.PREPARE, A.DISBURSE):
            expected = db.session.get(Advance, advance.id).refusal_for(ctx[name], action)
            assert attempt(action, ctx[name], advance.id) == SERVICE_CODE.get(expected, expected), (name, action)
            seen.add(expected)
    assert {None, "forbidden", "invalid_transition"} <= seen
    if stage is prepared:
        assert "segregation_of_duties" in seen


def test_nobody_liquidates_by_hand(ctx):
    assert not approved(ctx).can(ctx["treasury"], A.LIQUIDATE)


def test_the_page_offers_what_the_rule_allows(client, ctx):
    advance = prepared(ctx)
    login(client, ctx["treasury"])    # the preparer waits for another officer
    page = client.get(f"/advances/{advance.id}").get_data(as_text=True)
    login(client, ctx["treasury2"])
    other = client.get(f"/advances/{advance.id}").get_data(as_text=True)
    assert 'data-testid="preparer-cannot-disburse"' in page and 'data-testid="disburse"' not in page
    assert 'data-testid="disburse"' in other and 'data-testid="preparer-cannot-disburse"' not in other


def test_the_api_lists_the_callers_actions(client, ctx):
    from tests.helpers import api_headers

    advance = prepared(ctx)
    actions = {name: client.get(f"/api/v1/advances/{advance.id}", headers=api_headers(client, ctx[name]))
               .get_json()["actions"] for name in ("treasury", "treasury2", "financial", "ngo")}
    assert actions == {"treasury": [], "treasury2": ["disburse"], "financial": [], "ngo": []}
