"""Who may act on a payment (and on an invoice) is one rule (``Payment.refusal_for``,
``Invoice.refusal_for``; issue 13 §3): the service refuses with that rule's code, the API lists the
caller's ``actions`` from it, and the page offers the same buttons. Also the two predicates on people that every floor uses: ``acts_for`` and ``reviews``."""
import pytest

from grants.extensions import db
from grants.models import Invoice, Payment
from grants.services import invoices, payments
from grants.workflows.payment import InvoiceAction as IA
from grants.workflows.payment import PaymentAction as A
from tests.factories import make_organization, make_user
from tests.helpers import api_headers, login, outcome
from tests.money.payment_helpers import act, authorized, certified, line, payments_setup, prepared, register

PEOPLE = ("treasury", "treasury2", "treasury3", "ngo", "financial", "administrator")


@pytest.fixture
def ctx(app):
    return payments_setup(beneficiaries=False)


def attempt(action: A, user, payment_id: int) -> str | None:
    """What the service does: None (done) or the refusal's code; rolled back either way."""
    call = {A.AUTHORIZE: lambda: payments.authorize_payment(act(user), payment_id),
            A.EXECUTE: lambda: payments.execute_payment(act(user), payment_id, "TRF-1", invoices.today()),
            A.CANCEL: lambda: payments.cancel_payment(act(user), payment_id, "Motivo")}[action]
    return outcome(call)


@pytest.mark.parametrize("stage", ["prepared", "authorized", "second_signature"])
def test_the_rule_is_what_the_service_does(ctx, app, monkeypatch, stage):
    if stage == "second_signature":   # above the threshold, treasury2 signed once
        monkeypatch.setitem(app.config, "PAYMENT_DUAL_AUTHORIZATION_THRESHOLD", "100.00")
        payment = prepared(ctx, [line(1, "1", "100.01")])
        payments.authorize_payment(act(ctx["treasury2"]), payment.id)
        db.session.commit()
    else:
        payment = prepared(ctx) if stage == "prepared" else authorized(ctx)
    seen = set()
    for name in PEOPLE:
        for action in A:
            expected = db.session.get(Payment, payment.id).refusal_for(ctx[name], action)
            assert attempt(action, ctx[name], payment.id) == expected, (name, action)
            seen.add(expected)
    wanted = {None, "forbidden", "invalid_transition"} | (
        {"segregation_of_duties"} if stage == "prepared" else
        {"segregation_of_duties", "already_authorized"} if stage == "second_signature" else set())
    assert wanted <= seen   # the comparison met every kind of answer this stage has


def test_the_api_lists_the_callers_actions(client, ctx):
    payment = prepared(ctx)
    actions = {name: client.get(f"/api/v1/payments/{payment.id}", headers=api_headers(client, ctx[name]))
               .get_json()["actions"] for name in ("treasury", "treasury2", "financial")}
    assert actions == {"treasury": ["cancel"],                    # the preparer may not authorize
                       "treasury2": ["authorize", "cancel"],
                       "financial": []}


def test_the_page_offers_the_same_buttons(client, ctx):
    payment = prepared(ctx)
    login(client, ctx["treasury"])                 # the preparer: told why, no button
    page = client.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert 'data-testid="preparer-cannot-authorize"' in page and 'data-testid="authorize"' not in page
    login(client, ctx["treasury2"])                # another treasurer: the button
    page = client.get(f"/payments/{payment.id}").get_data(as_text=True)
    assert 'data-testid="authorize"' in page and 'data-testid="preparer-cannot-authorize"' not in page


def test_acts_for_and_reviews(app):
    mine, other = make_organization(), make_organization()
    ngo, stranger, treasury = make_user(["ngo"], organization=mine), make_user(["ngo"], organization=other), \
        make_user(["treasury"])
    assert (ngo.acts_for(mine.id), stranger.acts_for(mine.id), treasury.acts_for(mine.id)) == (True, False, False)
    assert ngo.acts_for(None) is False
    assert (ngo.reviews(mine.id), stranger.reviews(mine.id), treasury.reviews(mine.id)) == (False, False, True)


@pytest.mark.parametrize("stage", [register, certified], ids=lambda f: f.__name__)
def test_the_invoice_rule_is_what_the_service_does(ctx, stage):
    invoice = stage(ctx)
    calls = {IA.CERTIFY: lambda user: invoices.certify_receipt(
                 act(user), invoice.id, {"received_on": invoices.today().isoformat(), "conforming": True}),
             IA.VOID: lambda user: invoices.void_invoice(act(user), invoice.id, "Motivo")}
    seen = set()
    for name in PEOPLE:
        for action, call in calls.items():
            expected = db.session.get(Invoice, invoice.id).refusal_for(ctx[name], action)
            assert outcome(lambda: call(ctx[name])) == expected, (name, action)
            seen.add(expected)
    assert {None, "forbidden"} <= seen and (stage is register or "invalid_transition" in seen)
