"""Payment batches (lotes de pago), treasury's pages: the list, the new-batch form (a debtor account,
an execution date, authorized payments and prepared advances ticked), and the batch page with its
file (pain.001.001.09: the first download issues the batch, later ones give the same bytes) and its
cancellation with a reason. Making a batch carries an idempotency key (G7): a double click makes
one batch."""
from __future__ import annotations

import io

from flask import Blueprint, abort, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from grants.clock import today
from grants.context import current_actor
from grants.domain_errors import DomainError
from grants.extensions import db
from grants.labels import ADVANCE_STATE_LABELS, PAYMENT_BATCH_STATE_LABELS, PAYMENT_STATE_LABELS
from grants.models import PaymentBatch
from grants.permissions import Permission
from grants.services import payment_batches as batch_service
from grants.web import idempotent_forms
from grants.web.actions import submit
from grants.web.confirm import confirmation, unconfirmed
from grants.web.forms import apply_errors, date_field
from grants.web.paging import page_of
from grants.workflows.payment_batch import PaymentBatchAction

bp = Blueprint("batch_pages", __name__)


class BatchForm(FlaskForm):
    debtor_account_id = SelectField(_l("Cuenta del ministerio que paga"), validate_choice=False)
    execution_date = date_field(_l("Fecha de ejecución solicitada al banco"))


class CancelBatchForm(FlaskForm):
    reason = TextAreaField(_l("Motivo de la anulación"), validators=[Optional(), Length(max=2000)])
    confirm = confirmation("cancel_batch")


def _account_choices():
    return [(a["id"], f'{a["name"]} · {a["bank"]} · {a["account"]}') for a in batch_service.accounts()]


def _labels() -> dict:
    return {"batch_state_labels": PAYMENT_BATCH_STATE_LABELS, "payment_state_labels": PAYMENT_STATE_LABELS,
            "advance_state_labels": ADVANCE_STATE_LABELS}


def _may_see() -> None:
    if not batch_service.may_see_batches(current_user):
        abort(404)


def _load(batch_id: int) -> PaymentBatch:
    _may_see()
    return db.get_or_404(PaymentBatch, batch_id)


@bp.get("/payment-batches")
@login_required
def batch_list():
    _may_see()
    items, paging = page_of(select(PaymentBatch).order_by(PaymentBatch.id.desc()))
    return render_template("money/batches.html", batches=items, paging=paging,
                           may_create=current_user.can(Permission.PAYMENTS_EXECUTE), **_labels())


def render_new(form: BatchForm, status: int = 200, refused=None, chosen=None):
    payments, advances = batch_service.candidates()
    chosen = chosen or {"payment_ids": set(), "advance_ids": set()}
    return render_template("money/batch_new.html", form=form, payments=payments, advances=advances,
                           chosen=chosen, refused=refused, idempotency_key=idempotent_forms.form_key(),
                           **_labels()), status


@bp.route("/payment-batches/new", methods=["GET", "POST"])
@login_required
def new_batch():
    _may_see()
    if not current_user.can(Permission.PAYMENTS_EXECUTE):
        abort(403)
    form = BatchForm() if request.method == "POST" else BatchForm(
        formdata=None, data={"execution_date": today().isoformat()})
    form.debtor_account_id.choices = _account_choices()
    if request.method == "GET":
        return render_new(form)
    chosen = {"payment_ids": set(request.form.getlist("payment_ids")),
              "advance_ids": set(request.form.getlist("advance_ids"))}
    if not form.validate_on_submit():
        return render_new(form, 422, chosen=chosen)
    back = url_for("batch_pages.new_batch")
    try:
        claim = idempotent_forms.claim(back)
    except idempotent_forms.Replay as replay:  # the same form sent again: the batch made the first time
        return replay.response

    def run():
        batch = batch_service.create_batch(current_actor(), {
            "debtor_account_id": form.debtor_account_id.data, "execution_date": form.execution_date.data or "",
            "payment_ids": request.form.getlist("payment_ids"), "advance_ids": request.form.getlist("advance_ids")})
        idempotent_forms.remember(claim, url_for("batch_pages.batch_page", batch_id=batch.id))
        return batch

    return submit(None, run,
                  done=lambda batch: _l("Lote %(number)s armado: descargue su archivo para enviarlo al banco.",
                                        number=batch.number),
                  then=lambda batch: url_for("batch_pages.batch_page", batch_id=batch.id),
                  place_errors=lambda errors: apply_errors(form, errors),
                  render=lambda status, refused: render_new(form, status, refused, chosen))


def render_batch(batch: PaymentBatch, status: int = 200, refused=None, cancel_form=None):
    return render_template(
        "money/batch.html", batch=batch, refused=refused, cancel_form=cancel_form or CancelBatchForm(formdata=None),
        can_issue=batch.can(current_user, PaymentBatchAction.ISSUE),
        can_cancel=batch.can(current_user, PaymentBatchAction.CANCEL),
        can_download=batch.can_download(current_user) or (batch.file_bytes is not None
                                                          and batch_service.may_see_batches(current_user)),
        **_labels()), status


@bp.get("/payment-batches/<int:batch_id>")
@login_required
def batch_page(batch_id):
    return render_batch(_load(batch_id))


def _file_response(batch: PaymentBatch, data: bytes):
    response = send_file(io.BytesIO(data), mimetype=batch_service.CONTENT_TYPE, as_attachment=True,
                         download_name=batch_service.file_name(batch))
    response.headers["Cache-Control"] = "private, no-store"
    response.headers["X-Content-SHA256"] = batch.file_sha256
    return response


@bp.post("/payment-batches/<int:batch_id>/file")
@login_required
def issue(batch_id):
    """The first download: confirmed, it issues the batch; an issued batch gives its stored file."""
    batch = _load(batch_id)
    page = url_for("batch_pages.batch_page", batch_id=batch.id)
    if batch.file_bytes is None and (refused := unconfirmed(page)) is not None:
        return refused
    try:
        batch, data = batch_service.issue_batch(current_actor(), batch.id)
    except DomainError as exc:
        db.session.rollback()
        if exc.status == 404:
            abort(404)
        return render_batch(_load(batch_id), exc.status, exc.detail)
    return _file_response(batch, data)


@bp.get("/payment-batches/<int:batch_id>/pain001.xml")
@login_required
def download(batch_id):
    """The stored file of an issued batch (what the bank received), byte for byte."""
    batch = _load(batch_id)
    if batch.file_bytes is None:
        abort(404)
    return _file_response(batch, batch.file_bytes)


@bp.post("/payment-batches/<int:batch_id>/cancel")
@login_required
def cancel(batch_id):
    batch = _load(batch_id)
    form = CancelBatchForm()
    return submit(form, lambda: batch_service.cancel_batch(current_actor(), batch.id, form.reason.data or ""),
                  done=_l("Lote anulado: sus pagos y anticipos quedan libres para otro lote."),
                  then=url_for("batch_pages.batch_page", batch_id=batch_id),
                  render=lambda status, refused: render_batch(_load(batch_id), status, refused, cancel_form=form))
