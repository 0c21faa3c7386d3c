"""Direct payments: treasury's queue by state, the payment page (deductions, authorizations) with
its forms (authorize, execute with bank reference and date, cancel), preparing a payment from
the invoice page, and the payment order PDF. Executing carries an idempotency key (G7); the
authorize form is not offered to the payment's preparer, and the service refuses it anyway (G4)."""
from __future__ import annotations

import io

from flask import Blueprint, render_template, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import func, select
from wtforms import StringField, TextAreaField
from wtforms.validators import Length, Optional

from grants import formats
from grants.context import current_actor
from grants.extensions import db
from grants.models import Payment
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import invoices as invoice_service  # El Salvador's date for date defaults
from grants.services import payments as payment_service
from grants.services import bank_statements, payment_batches, search, signing
from grants.web import idempotent_forms
from grants.web.actions import submit
from grants.web.forms import apply_errors, date_field
from grants.web.money import load_invoice, money_labels, render_invoice
from grants.web.paging import page_of
from grants.web.search import search_args
from grants.web.confirm import confirmation, unconfirmed
from grants.workflows.payment import PaymentAction, PaymentState

bp = Blueprint("payment_pages", __name__)

QUEUE_STATES = tuple(s.value for s in PaymentState)
QUEUE_TITLES = {
    "prepared": _l("Por autorizar"),
    "authorized": _l("Por ejecutar"),
    "executed": _l("Ejecutados"),
    "cancelled": _l("Cancelados"),
}


class ExecuteForm(FlaskForm):
    bank_reference = StringField(_l("Referencia bancaria de la transferencia"),
                                 validators=[Optional(), Length(max=60)])
    transfer_date = date_field(_l("Fecha de la transferencia"))
    confirm = confirmation("execute_payment")


class CancelForm(FlaskForm):
    reason = TextAreaField(_l("Motivo de la cancelación"), validators=[Optional(), Length(max=5000)])


def load_payment(payment_id: int) -> Payment:
    require(current_user, Permission.MONEY_READ)
    return visible(current_user, db.session.get(Payment, payment_id))


def bank_trail(kind: str, record_id: int):
    """The batch and statement line of a payment or advance, for ministry staff who read them (None
    for the NGO: the ministry's bank files are not theirs)."""
    if not payment_batches.may_see_batches(current_user):
        return None
    return bank_statements.bank_trail(kind, record_id)


def render_payment(payment: Payment, status: int = 200, refused=None, execute_form=None, cancel_form=None):
    authorizing = payment.refusal_for(current_user, PaymentAction.AUTHORIZE)
    trail = bank_trail("payment", payment.id)
    if execute_form is None:
        execute_form = ExecuteForm(formdata=None, data={"transfer_date": invoice_service.today().isoformat()})
    changes = payment_service.changes_since(payment) if payment.status == PaymentState.PREPARED else []
    return render_template(
        "money/payment.html", payment=payment, invoice=payment.invoice, agreement=payment.agreement,
        refused=refused, execute_form=execute_form, cancel_form=cancel_form or CancelForm(formdata=None),
        eligibility_changes=changes,
        can_reprepare=bool(changes) and current_user.can(Permission.PAYMENTS_PREPARE),
        idempotency_key=idempotent_forms.form_key(),
        may_authorize=authorizing not in ("forbidden", "invalid_transition"),
        is_preparer=authorizing == "segregation_of_duties", already_authorized=authorizing == "already_authorized",
        can_authorize=authorizing is None, trail=trail,
        can_execute=payment.can(current_user, PaymentAction.EXECUTE) and not (trail and trail.at_the_bank),
        can_cancel=payment.can(current_user, PaymentAction.CANCEL),
        **money_labels()), status


# --- queue -----------------------------------------------------------------------------------

@bp.get("/payments")
@login_required
def queue():
    require(current_user, Permission.MONEY_READ)
    found = search_args(PaymentState, default_state=PaymentState.PREPARED, agreement=True)
    state = found.filters["state"]
    counts = _counts(search.payments(current_user, {**found.filters, "state": None}))
    query = search.payments(current_user, found.filters)
    if state not in (PaymentState.EXECUTED, PaymentState.CANCELLED):  # the oldest waiting first
        query = query.order_by(None).order_by(Payment.id)
    items, paging = page_of(query)
    return render_template("money/payments.html", payments=items, paging=paging, state=state.value,
                           states=QUEUE_STATES, titles=QUEUE_TITLES, counts=counts, search=found, **money_labels())


def _counts(query) -> dict[str, int]:
    sub = query.subquery()
    return dict(db.session.execute(select(sub.c.status, func.count()).group_by(sub.c.status)).all())


# --- state changes ---------------------------------------------------------------------------

@bp.post("/invoices/<int:invoice_id>/payment")
@login_required
def prepare(invoice_id):
    invoice = load_invoice(invoice_id)
    require(current_user, Permission.PAYMENTS_PREPARE)
    return submit(None, lambda: payment_service.prepare_payment(current_actor(), invoice.id),
                  done=lambda payment: _l("Pago preparado por %(amount)s: otra persona de tesorería debe autorizarlo.",
                                          amount=formats.usd(payment.amount)),
                  then=lambda payment: url_for("payment_pages.payment_page", payment_id=payment.id),
                  render=lambda status, refused: render_invoice(load_invoice(invoice_id), status, refused))


@bp.get("/payments/<int:payment_id>")
@login_required
def payment_page(payment_id):
    return render_payment(load_payment(payment_id))


@bp.post("/payments/<int:payment_id>/authorize")
@login_required
def authorize(payment_id):
    payment = load_payment(payment_id)
    require(current_user, Permission.PAYMENTS_AUTHORIZE)
    if (refused := unconfirmed(url_for("payment_pages.payment_page", payment_id=payment.id))) is not None:
        return refused
    return submit(None, lambda: payment_service.authorize_payment(current_actor(), payment.id),
                  done=lambda done: _l("Pago autorizado: puede ejecutarse.") if done.status == PaymentState.AUTHORIZED else
                  _l("Autorización registrada: este pago requiere una segunda autorización de otra persona."),
                  then=url_for("payment_pages.payment_page", payment_id=payment_id),
                  render=lambda status, refused: render_payment(load_payment(payment_id), status, refused))


@bp.post("/payments/<int:payment_id>/reprepare")
@login_required
def reprepare(payment_id):
    payment = load_payment(payment_id)
    require(current_user, Permission.PAYMENTS_PREPARE)
    return submit(None, lambda: payment_service.reprepare_payment(current_actor(), payment.id),
                  done=lambda new: _l("Pago preparado de nuevo por %(amount)s con la lista vigente; el anterior "
                                      "quedó cancelado.", amount=formats.usd(new.amount)),
                  then=lambda new: url_for("payment_pages.payment_page", payment_id=new.id),
                  render=lambda status, refused: render_payment(load_payment(payment_id), status, refused))


@bp.post("/payments/<int:payment_id>/execute")
@login_required
def execute(payment_id):
    payment = load_payment(payment_id)
    require(current_user, Permission.PAYMENTS_EXECUTE)
    page = url_for("payment_pages.payment_page", payment_id=payment.id)
    form = ExecuteForm()
    if not form.validate_on_submit():
        return render_payment(payment, 422, execute_form=form)
    try:
        claim = idempotent_forms.claim(page)
    except idempotent_forms.Replay as replay:  # the same form sent again: the first answer, nothing run twice
        return replay.response

    def run():
        payment_service.execute_payment(current_actor(), payment.id, form.bank_reference.data or "",
                                        form.transfer_date.data or "")
        idempotent_forms.remember(claim, page)

    return submit(None, run, done=_l("Pago ejecutado y registrado."), then=page,
                  place_errors=lambda errors: apply_errors(form, errors),
                  render=lambda status, refused: render_payment(load_payment(payment_id), status, refused,
                                                                execute_form=form))


@bp.post("/payments/<int:payment_id>/cancel")
@login_required
def cancel(payment_id):
    payment = load_payment(payment_id)
    require(current_user, Permission.PAYMENTS_PREPARE)
    form = CancelForm()
    return submit(form, lambda: payment_service.cancel_payment(current_actor(), payment.id, form.reason.data or ""),
                  done=_l("Pago cancelado: el monto vuelve a estar disponible."),
                  then=url_for("payment_pages.payment_page", payment_id=payment_id),
                  render=lambda status, refused: render_payment(load_payment(payment_id), status, refused,
                                                                cancel_form=form))


@bp.get("/payments/<int:payment_id>/order.pdf")
@login_required
def order_pdf(payment_id):
    payment = load_payment(payment_id)
    pdf = signing.issue("payment_order", payment, lambda day: payment_service.payment_order_pdf(payment, day), actor=current_actor())
    response = send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                         download_name=f"orden-de-pago-{payment.id}.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response
