"""«Mi trabajo» (/trabajo): what waits for each person, with its age and the link where it is done;
an item appears when it starts waiting and disappears once done; other people's and other
organizations' work never appears; segregation of duties (the preparer never sees a payment to
authorize). The queues that follow a model's refusal_for find, in SQL, exactly the rows that
refusal_for lets the user act on."""
import re
from datetime import timedelta

import pytest
from sqlalchemy import select

from grants import clock
from grants.extensions import db
from grants.models import User
from grants.services import agreements, payments
from grants.web import work_queues
from tests.factories import make_user, valid_dui, valid_nit
from tests.followup import helpers as followup_helpers
from tests.helpers import html_of, login
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.web import money_page_helpers as mh
from tests.web.test_beneficiary_pages import GOOD

invariants = mh.invariants


@pytest.fixture
def ctx(app):
    return ph.payments_setup(beneficiaries=False)


def queue_links(client, key: str) -> list[str]:
    """The links of the list ``key`` on the user's «Mi trabajo» page (shown in full)."""
    response = client.get(f"/trabajo?kind={key}")
    assert response.status_code == 200
    section = re.search(rf'<section class="card" data-queue="{key}".*?</section>', html_of(response), re.S)
    return re.findall(r'<tr data-item="([^"]+)"', section.group(0))


def keys_on_page(client) -> list[str]:
    return re.findall(r'<section class="card" data-queue="(\w+)"', html_of(client.get("/trabajo")))


def test_treasury_follows_an_invoice_from_certified_to_paid_with_segregation_of_duties(client, ctx):
    invoice = ph.certified(ctx)
    invoice_page = f"/invoices/{invoice.id}"
    login(client, ctx["treasury"])
    assert queue_links(client, "invoices_to_pay") == [invoice_page]

    payment = payments.prepare_payment(ph.act(ctx["treasury"]), invoice.id)
    db.session.commit()
    payment_page = f"/payments/{payment.id}"
    assert queue_links(client, "invoices_to_pay") == []
    assert queue_links(client, "payments_to_authorize") == []      # the preparer never authorizes it
    login(client, ctx["treasury2"])
    assert queue_links(client, "payments_to_authorize") == [payment_page]
    assert queue_links(client, "payments_to_execute") == []

    payments.authorize_payment(ph.act(ctx["treasury2"]), payment.id)
    db.session.commit()
    assert queue_links(client, "payments_to_authorize") == []
    assert queue_links(client, "payments_to_execute") == [payment_page]

    payments.execute_payment(ph.act(ctx["treasury"]), payment.id, "TRF-1", clock.today())
    db.session.commit()
    assert queue_links(client, "payments_to_execute") == []
    login(client, ctx["treasury"])
    assert all(queue_links(client, key) == [] for key in ("invoices_to_pay", "payments_to_authorize",
                                                          "payments_to_execute"))


def test_a_certified_invoice_of_a_suspended_agreement_cannot_be_paid_so_it_waits_for_nobody(client, ctx):
    invoice = ph.certified(ctx)
    login(client, ctx["treasury"])
    assert queue_links(client, "invoices_to_pay") == [f"/invoices/{invoice.id}"]
    agreements.suspend_agreement(ph.act(ctx["legal"]), ctx["agreement"].id, "Incumplimiento grave en trámite.")
    db.session.commit()
    assert queue_links(client, "invoices_to_pay") == []


def test_the_nav_counts_the_work_and_the_home_counters_link_to_the_lists(client, ctx):
    ph.certified(ctx)
    ph.certified(ctx)
    login(client, ctx["treasury"])
    html = html_of(client.get("/"))
    assert re.search(r'data-testid="work-count"[^>]*>2<', html)
    assert 'href="/trabajo?kind=payments_to_authorize"' in html and 'href="/trabajo?kind=invoices_to_pay"' in html
    assert re.search(r'data-queue="invoices_to_pay"><strong>2</strong>', html)


def test_each_item_shows_its_age_oldest_first(client, ctx):
    today = clock.today()
    with clock.at(today - timedelta(days=9)):
        older = ph.certified(ctx)
    newer = ph.certified(ctx)
    login(client, ctx["treasury"])
    html = html_of(client.get("/trabajo"))
    assert queue_links(client, "invoices_to_pay") == [f"/invoices/{older.id}", f"/invoices/{newer.id}"]
    ages = re.findall(r'<td data-age="(\d+)">([^<]+)</td>', html)
    assert ages[:2] == [("9", "9 días"), ("0", "0 días")]


def test_lists_are_paginated_each_with_its_own_page(client, ctx):
    invoices = [ph.certified(ctx) for _ in range(12)]
    login(client, ctx["treasury"])
    html = html_of(client.get("/trabajo"))
    assert html.count('data-item="/invoices/') == 10 and "Página 1 de 2" in html
    assert 'href="/trabajo?page_invoices_to_pay=2#invoices_to_pay"' in html
    second = html_of(client.get("/trabajo?page_invoices_to_pay=2"))
    assert re.findall(r'data-item="(/invoices/\d+)"', second) == [f"/invoices/{i.id}" for i in invoices[10:]]
    assert len(queue_links(client, "invoices_to_pay")) == 12        # ?kind= shows one kind in full
    assert client.get("/trabajo?kind=reviews_legal").status_code == 404   # not a treasury list


def test_advances_move_through_the_queues_of_their_roles(client, app):
    ctx = ah.money_setup()
    advance = ah.requested(ctx)
    page = f"/advances/{advance.id}"
    login(client, ctx["financial"])
    assert queue_links(client, "advances_to_approve") == [page]
    ah.advances.approve_advance(ah.act(ctx["financial"]), advance.id)
    db.session.commit()
    assert queue_links(client, "advances_to_approve") == []
    login(client, ctx["treasury"])
    assert queue_links(client, "advances_to_prepare") == [page]
    ah.advances.prepare_disbursement(ah.act(ctx["treasury"]), advance.id)
    db.session.commit()
    assert queue_links(client, "advances_to_prepare") == [] and queue_links(client, "advances_to_disburse") == []
    login(client, ctx["treasury2"])
    assert queue_links(client, "advances_to_disburse") == [page]
    ah.advances.disburse_advance(ah.act(ctx["treasury2"]), advance.id, "TRF-9", clock.today())
    db.session.commit()
    assert queue_links(client, "advances_to_disburse") == []
    login(client, ctx["ngo"])                                       # now the NGO owes its statement
    assert queue_links(client, "statements_due") == [page]


def test_the_administrator_certifies_only_invoices_of_agreements_they_administer(client, ctx):
    invoice = ph.register(ctx)
    other = ph.payments_setup(beneficiaries=False)
    ph.register(other)
    login(client, ctx["administrator"])
    assert queue_links(client, "invoices_to_certify") == [f"/invoices/{invoice.id}"]
    ph.invoices.certify_receipt(ph.act(ctx["administrator"]), invoice.id,
                                {"received_on": ph.iso("2026-04-03"), "conforming": True, "differences": None})
    db.session.commit()
    assert queue_links(client, "invoices_to_certify") == []


def test_an_ngo_sees_its_own_work_only_and_no_ministry_lists(client, ctx):
    ah.disbursed(ctx)
    other = ph.payments_setup(beneficiaries=False)
    ah.disbursed(other)
    login(client, ctx["ngo"])
    keys = keys_on_page(client)
    assert "statements_due" in keys and "commitments_due" in keys
    assert not {"invoices_to_pay", "payments_to_authorize", "advances_to_approve", "reviews_legal"} & set(keys)
    links = queue_links(client, "statements_due")
    assert len(links) == 1 and links == [f"/advances/{a}" for a in _advance_ids(ctx)]


def _advance_ids(ctx):
    from grants.models import Advance
    return db.session.scalars(select(Advance.id).where(Advance.organization_id == ctx["organization"].id)).all()


def test_each_queue_with_a_refusal_rule_finds_exactly_what_refusal_for_allows(app):
    """The SQL of each queue against the model's refusal_for, for everyone, on rows in every state."""
    ctx = ph.payments_setup()                       # with enrollment lists and a validated supplier
    ph.certified(ctx)
    ph.prepared(ctx)
    ph.authorized(ctx)
    ph.register(ctx)
    ah.requested(ctx)
    ah.prepared(ah.money_setup())
    ah.approved(ah.money_setup())
    ph.suppliers.propose_supplier(ph.act(ctx["ngo"]), ctx["agreement"].id, ph.supplier_data(
        legal_name="Otra Proveedora", tax_id=valid_nit(777)))
    db.session.commit()
    followup_helpers.recorded(ctx, "suspension")                       # waits for the NGO's reply
    followup_helpers.recorded(ctx, "observation")                      # waits for nobody
    rows = f"{ph.HEADER}\n{GOOD.format(dui=valid_dui(901), name='Rosa')}\n".encode()
    batch = ph.beneficiary_imports.import_file(ph.act(ctx["ngo"]), ctx["agreement"].id, "lista.csv", rows, "enrollment")
    ph.beneficiary_imports.confirm_batch(ph.act(ctx["ngo"]), batch.id)  # waits for monitoring's validation
    db.session.commit()
    make_user(["treasury", "financial_reviewer"])
    waiting = {}
    for queue in work_queues.QUEUES:
        if queue.refusal is None:
            continue
        model, action, where = queue.refusal
        candidates = db.session.scalars(select(model).where(where)).all()
        for user in db.session.scalars(select(User)).all():
            expected = {row.id for row in candidates if row.refusal_for(user, action) is None}
            found = ({row.id for row in db.session.scalars(queue.query(user))} if queue.applies(user) else set())
            assert found == expected, (queue.key, user.email)
            waiting[queue.key] = waiting.get(queue.key, 0) + len(expected)
    assert all(waiting.values()), waiting              # each rule was compared on something waiting


def test_the_lists_speak_english_in_english_mode(client, ctx):
    with clock.at(clock.today() - timedelta(days=1)):
        invoice = ph.certified(ctx)
    login(client, ctx["treasury"])
    client.set_cookie("fondos_lang", "en")
    html = html_of(client.get("/trabajo"))
    assert ">My work<" in html and "Certified invoices to pay" in html and "Payments to authorize" in html
    assert f"{ctx['agreement'].number} · invoice {invoice.number} · " in html and ">1 day<" in html
    assert "1 item waits for your action; the oldest first." in html
    assert not re.search(r"Facturas|días|Nada pendiente|Asunto", html)


def test_what_is_at_the_bank_leaves_the_hand_lists_and_unmatched_bank_lines_wait_for_treasury(client, ctx):
    """A payment sent in an issued batch is the bank's to execute: not in «Pagos por ejecutar» (by hand
    it is refused) until the batch is cancelled; the statement's unmatched lines wait in their own list."""
    from decimal import Decimal

    from grants.services import bank_statements, payment_batches
    from grants.services.bank_answer import statement_for_batch
    from tests.money.batch_helpers import issued, made_batch, some_payments

    kept, sent = some_payments(ctx, ("10.00", "20.00"))
    login(client, ctx["treasury3"])
    assert queue_links(client, "payments_to_execute") == [f"/payments/{kept.id}", f"/payments/{sent.id}"]
    batch = made_batch(ctx, [sent])
    assert queue_links(client, "payments_to_execute") == [f"/payments/{kept.id}", f"/payments/{sent.id}"]  # open
    issued(ctx, batch)
    assert queue_links(client, "payments_to_execute") == [f"/payments/{kept.id}"]
    assert queue_links(client, "statement_lines_to_resolve") == []

    statement, _ = bank_statements.upload_statement(ph.act(ctx["treasury3"]), "extracto.xml",
                                                    statement_for_batch(batch, fee=Decimal("1.10")))
    db.session.commit()
    assert queue_links(client, "statement_lines_to_resolve") == [f"/bank-statements/{statement.id}"]
    assert "$1.10" in html_of(client.get("/trabajo?kind=statement_lines_to_resolve"))
    login(client, ctx["ngo"])
    assert "statement_lines_to_resolve" not in keys_on_page(client)

    other = made_batch(ctx, [kept])
    issued(ctx, other)
    payment_batches.cancel_batch(ph.act(ctx["treasury2"]), other.id, "El banco no tomó el archivo")
    db.session.commit()
    login(client, ctx["treasury3"])
    assert queue_links(client, "payments_to_execute") == [f"/payments/{kept.id}"]  # back in hand
