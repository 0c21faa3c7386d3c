"""Treasury's pages of payment batches with the test client: build a batch from the form (a double
submit makes one batch), download its pain.001 file (the first download issues it; the same bytes
afterwards), cancel it with a reason and confirmation; other people do not see the pages."""
import hashlib

import pytest
from sqlalchemy import func, select

from grants.clock import today
from grants.extensions import db
from grants.models import PaymentBatch
from grants.reports import pain001
from grants.services.bank_ids import end_to_end_id
from tests.helpers import csrf_token, html_of, login
from tests.money.batch_helpers import ACCOUNT, prepared_advance, some_payments
from tests.money.payment_helpers import payments_setup
from tests.web.money_page_helpers import events, field_errors, key_of


@pytest.fixture
def ctx(app):
    return payments_setup(beneficiaries=False)


def batches() -> int:
    return db.session.scalar(select(func.count()).select_from(PaymentBatch))


def test_treasury_builds_downloads_and_cancels_a_batch(ctx, client):
    paid = some_payments(ctx)
    advance = prepared_advance(ctx)
    login(client, ctx["treasury2"])
    assert 'data-testid="nav-batches"' in html_of(client.get("/"))
    html = html_of(client.get("/payment-batches/new"))
    for p in paid:
        assert f'name="payment_ids" value="{p.id}"' in html
    assert f'name="advance_ids" value="{advance.id}"' in html
    form = {"csrf_token": csrf_token(client, "/payment-batches/new"), "idempotency_key": key_of(html, "batch-form"),
            "debtor_account_id": ACCOUNT, "execution_date": today().strftime("%d/%m/%Y"),
            "payment_ids": [str(p.id) for p in paid], "advance_ids": [str(advance.id)]}
    first = client.post("/payment-batches/new", data=form)
    second = client.post("/payment-batches/new", data=form)  # a double click
    assert first.status_code == second.status_code == 303
    assert first.headers["Location"] == second.headers["Location"] and batches() == 1
    page = first.headers["Location"]
    batch = db.session.scalars(select(PaymentBatch)).one()
    assert page.endswith(f"/payment-batches/{batch.id}")
    html = html_of(client.get(page))
    assert batch.number in html and "$40,350.55" in html and 'data-testid="issue-form"' in html
    assert all(f'data-item="{end_to_end_id("payment", p.id)}"' in html for p in paid)

    token = csrf_token(client, page)
    unconfirmed = client.post(f"{page}/file", data={"csrf_token": token})
    assert unconfirmed.status_code == 303 and db.session.get(PaymentBatch, batch.id).status == "open"
    download = client.post(f"{page}/file", data={"csrf_token": token, "confirm": "y"})
    assert download.status_code == 200 and download.mimetype == "application/xml"
    assert f"{batch.number}.pain001.xml" in download.headers["Content-Disposition"]
    data = download.get_data()
    pain001.validate(data)
    assert [t.end_to_end_id for t in pain001.parse(data)["transfers"]] == [i.end_to_end_id for i in batch.items]
    batch = db.session.get(PaymentBatch, batch.id)
    assert batch.status == "issued" and batch.file_sha256 == hashlib.sha256(data).hexdigest()
    again = client.get(f"{page}/pain001.xml")
    assert again.status_code == 200 and again.get_data() == data
    html = html_of(client.get(page))
    assert batch.file_sha256 in html and 'data-testid="issue-form"' not in html

    no_reason = client.post(f"{page}/cancel", data={"csrf_token": token, "reason": "", "confirm": "y"})
    assert no_reason.status_code == 422 and field_errors(html_of(no_reason), "reason")
    done = client.post(f"{page}/cancel", data={"csrf_token": token, "reason": "El banco rechazó el archivo",
                                               "confirm": "y"})
    assert done.status_code == 303 and db.session.get(PaymentBatch, batch.id).status == "cancelled"
    assert events("payment_batch", batch.id, "payment_batch.cancelled") == 1
    html = html_of(client.get("/payment-batches/new"))  # free again
    assert all(f'name="payment_ids" value="{p.id}"' in html for p in paid)


def test_a_refused_batch_shows_why_and_keeps_the_choice(ctx, client):
    paid = some_payments(ctx, ("100.00",))
    login(client, ctx["treasury2"])
    html = html_of(client.get("/payment-batches/new"))
    form = {"csrf_token": csrf_token(client, "/payment-batches/new"), "idempotency_key": key_of(html, "batch-form"),
            "debtor_account_id": "otra", "execution_date": "31/02/2026", "payment_ids": [str(paid[0].id)]}
    response = client.post("/payment-batches/new", data=form)
    assert response.status_code == 422 and batches() == 0
    html = html_of(response)
    assert field_errors(html, "execution_date")
    assert f'value="{paid[0].id}" id="pay-{paid[0].id}" data-amount="100.00" checked' in html
    response = client.post("/payment-batches/new", data=dict(form, execution_date=today().strftime("%d/%m/%Y")))
    assert response.status_code == 422 and batches() == 0
    html = html_of(response)
    assert field_errors(html, "debtor_account_id") == "Elija una de las cuentas del ministerio."
    assert f'value="{paid[0].id}" id="pay-{paid[0].id}" data-amount="100.00" checked' in html


def test_other_people_do_not_see_batches(ctx, client):
    for user in (ctx["ngo"], ctx["legal"]):
        login(client, user)
        assert client.get("/payment-batches").status_code == 404
        assert client.get("/payment-batches/new").status_code == 404
