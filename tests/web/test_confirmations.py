"""Confirmation before every irreversible action of the pages (grants/web/confirm.py): without the
ticked «Confirmo que …» box the page says so and nothing changes — neither the state nor the audit
log; the same request with the box ticked does the action. The page shows the box."""
import re

import pytest
from sqlalchemy import func, select

from grants.audit import Actor
from grants.extensions import db
from grants.models import Advance, Agreement, AuditEvent, FinalLiquidationSignOff, ImportBatch, Payment, Plan
from grants.services import plans
from grants.web.confirm import CONFIRMATIONS
from tests.agreement_helpers import agreement_in_execution
from tests.closing import helpers as closing_helpers
from tests.factories import make_allocation, make_organization, make_user, plan_content, valid_dui
from tests.helpers import csrf_token, html_of, login
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.web.money_page_helpers import key_of
from tests.web.test_beneficiary_pages import GOOD, HEADER, batch_id_of, upload

MUST_CONFIRM = "Marque la casilla de confirmación: sin ella no se hizo nada."


def _plan():
    organization = make_organization()
    ngo = make_user(["ngo"], organization=organization)
    plan = plans.create_plan(Actor.for_user(ngo), make_allocation(organization).id, "Plan", plan_content())
    db.session.commit()
    page = f"/plans/{plan.id}"
    return ngo, page, f"{page}/submit", {}, lambda: db.session.get(Plan, plan.id).status


def _signed_agreement():
    ctx = agreement_in_execution(start=False)
    agreement = ctx["agreement"]
    page = f"/agreements/{agreement.id}"
    return ctx["legal"], page, f"{page}/start", {}, lambda: db.session.get(Agreement, agreement.id).status


def _ready_list(client, app, tmp_path):
    app.config["UPLOAD_DIR"] = str(tmp_path)
    ctx = agreement_in_execution()
    login(client, ctx["ngo"])
    rows = f"{HEADER}\n{GOOD.format(dui=valid_dui(1), name='Ana')}\n"
    batch_id = batch_id_of(upload(client, ctx["agreement"].id, rows))
    page = f"/beneficiary-imports/{batch_id}"
    return ctx["ngo"], page, f"{page}/confirm", {}, lambda: db.session.get(ImportBatch, batch_id).status


def _in_execution():
    ctx = agreement_in_execution()
    agreement = ctx["agreement"]
    return (ctx["administrator"], f"/agreements/{agreement.id}/follow-up", f"/agreements/{agreement.id}/closing", {},
            lambda: db.session.get(Agreement, agreement.id).status)


def _proposed_liquidation():
    ctx = closing_helpers.ready_in_closing()
    liquidation = closing_helpers.prepare(ctx)
    page = f"/agreements/{ctx['agreement'].id}/final-liquidation"
    data = {"discipline": "legal", "revision": str(liquidation.revision), "legal-decision": "approve"}
    return (ctx["legal"], page, f"{page}/sign-off", data,
            lambda: db.session.scalar(select(func.count()).select_from(FinalLiquidationSignOff)))


def _prepared_payment():
    ctx = ph.payments_setup(beneficiaries=False)
    payment = ph.prepared(ctx)
    page = f"/payments/{payment.id}"
    return ctx["treasury2"], page, f"{page}/authorize", {}, lambda: db.session.get(Payment, payment.id).status


def _authorized_payment():
    ctx = ph.payments_setup(beneficiaries=False)
    payment = ph.authorized(ctx)
    page = f"/payments/{payment.id}"
    return (ctx["treasury"], page, f"{page}/execute", {"bank_reference": "TRF-77", "form": "execute-form"},
            lambda: db.session.get(Payment, payment.id).status)


def _prepared_advance():
    ctx = ah.money_setup()
    advance = ah.prepared(ctx)
    page = f"/advances/{advance.id}"
    return (ctx["treasury2"], page, f"{page}/disburse", {"bank_reference": "TRF-78", "form": "disburse-form"},
            lambda: db.session.get(Advance, advance.id).status)


CASES = {
    "submit_plan": _plan, "start_execution": _signed_agreement, "confirm_list": _ready_list,
    "begin_closing": _in_execution, "sign_off": _proposed_liquidation, "authorize_payment": _prepared_payment,
    "execute_payment": _authorized_payment, "disburse_advance": _prepared_advance,
}


def audit_count() -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent))


@pytest.mark.parametrize("action", list(CASES))
def test_an_irreversible_action_needs_its_box_ticked(client, app, tmp_path, action):
    build = CASES[action]
    user, page, url, data, state = build(client, app, tmp_path) if action == "confirm_list" else build()
    login(client, user)
    html = html_of(client.get(page))
    assert str(CONFIRMATIONS[action]) in html and "No se puede deshacer." in str(CONFIRMATIONS[action])
    data = dict(data, csrf_token=csrf_token(client, page))
    if form := data.pop("form", None):
        data.update(idempotency_key=key_of(html, form), transfer_date=ph.invoices.today().isoformat())
    prefix = "legal-" if action == "sign_off" else ""
    before, events = state(), audit_count()

    response = client.post(url, data=data, follow_redirects=True)
    assert MUST_CONFIRM in html_of(response)
    db.session.expire_all()
    assert (state(), audit_count()) == (before, events)

    response = client.post(url, data={**data, f"{prefix}confirm": "y"})
    assert response.status_code in (302, 303), html_of(response)
    db.session.expire_all()
    assert state() != before and audit_count() > events
    assert not re.search(MUST_CONFIRM, html_of(client.get(page)))
