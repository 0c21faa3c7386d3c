"""Who may validate or reject a supplier is one rule (``Supplier.refusal_for``; issue 13 §3): the
service refuses with it, the page offers the decision only to whom it allows."""
import pytest

from grants.extensions import db
from grants.models import Supplier
from grants.services import suppliers
from grants.workflows.supplier import SupplierAction as A
from tests.factories import make_user, valid_nit
from tests.helpers import login, outcome
from tests.money.payment_helpers import act, payments_setup, supplier_data

SERVICE = {"own_organization": "forbidden"}


@pytest.fixture
def ctx(app):
    ctx = payments_setup(beneficiaries=False)
    ctx["financial2"] = make_user(["financial_reviewer"])
    ctx["proposed"] = suppliers.propose_supplier(act(ctx["ngo"]), ctx["agreement"].id,
                                                 supplier_data(tax_id=valid_nit(424242), legal_name="Otro S.A."))
    db.session.commit()
    return ctx


def attempt(action: A, user, supplier_id: int) -> str | None:
    call = {A.VALIDATE: lambda: suppliers.validate_supplier(act(user), supplier_id),
            A.REJECT: lambda: suppliers.reject_supplier(act(user), supplier_id, "Motivo")}[action]
    return outcome(call)


def test_the_rule_is_what_the_service_does(ctx):
    seen = set()
    for supplier in (ctx["proposed"], ctx["supplier"]):   # proposed, and the validated one of the setup
        for name in ("ngo", "financial", "financial2", "treasury", "monitoring"):
            for action in (A.VALIDATE, A.REJECT):
                expected = db.session.get(Supplier, supplier.id).refusal_for(ctx[name], action)
                assert attempt(action, ctx[name], supplier.id) == SERVICE.get(expected, expected), (name, action)
                seen.add(expected)
    assert {None, "forbidden", "invalid_transition"} <= seen


def test_the_page_offers_the_decision_to_whom_the_rule_allows(client, ctx):
    url = f"/suppliers/{ctx['proposed'].id}"
    login(client, ctx["financial2"])
    assert 'data-testid="validate-form"' in client.get(url).get_data(as_text=True)
    login(client, ctx["treasury"])
    assert 'data-testid="validate-form"' not in client.get(url).get_data(as_text=True)
