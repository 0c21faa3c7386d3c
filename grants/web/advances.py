"""Advances (anticipos): the NGO requests one per tranche; financial approves or rejects; treasury
prepares and another treasury officer disburses (idempotent form, G7); the advance page shows its
statements, outstanding balance, liquidated share and refunds: the NGO declares one with its deposit
slip (idempotent form), treasury confirms it against the bank or rejects it with the reason.
Expense statements: the XLSX template, the upload with its per-row error table, and the statement
page where financial accepts or rejects each receipt. Routes are thin: the services decide."""
from __future__ import annotations

import io

from flask import Blueprint, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from wtforms import SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from grants import formats
from grants.context import current_actor
from grants.extensions import db
from grants.web.paging import db_id
from grants.models import Advance, Agreement, ExpenseStatement, Receipt, Refund
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import advance_common
from grants.services import advances as advance_service
from grants.services import attachments
from grants.services import refunds as refund_service
from grants.services import expense_statements as statements
from grants.services import invoices as invoice_service  # El Salvador's date for date defaults
from grants.domain_errors import NotFound, ValidationFailed
from grants.validation import receipts as receipt_rows
from grants.web import idempotent_forms
from grants.web.actions import submit
from grants.web.forms import DepositForm, apply_errors, date_field
from grants.web.money import is_owner, load_agreement, money_labels
from grants.web.payments import bank_trail
from grants.web.confirm import confirmation
from grants.workflows.advance import AdvanceAction, AdvanceState

bp = Blueprint("advance_pages", __name__)



class RequestForm(FlaskForm):
    tranche_number = SelectField(_l("Desembolso de la programación financiera"), coerce=db_id, validate_choice=False)
    amount = StringField(_l("Monto solicitado (US$)"), validators=[Optional(), Length(max=20)],
                         render_kw={"inputmode": "decimal"},
                         description=_l("Vacío: todo lo que queda del desembolso. Lo que no se pida queda disponible "
                                        "para una solicitud posterior del mismo desembolso."))
    purpose = TextAreaField(_l("Destino del anticipo"), validators=[Optional(), Length(max=5000)])


class RejectForm(FlaskForm):
    reason = TextAreaField(_l("Motivo del rechazo"), validators=[Optional(), Length(max=5000)])


class DisburseForm(FlaskForm):
    bank_reference = StringField(_l("Referencia bancaria de la transferencia"), validators=[Optional(), Length(max=60)])
    transfer_date = date_field(_l("Fecha de la transferencia"))
    confirm = confirmation("disburse_advance")


class RefundForm(DepositForm):
    amount = StringField(_l("Monto reintegrado (US$)"), validators=[Optional(), Length(max=20)],
                         render_kw={"inputmode": "decimal"})
    refunded_on = date_field(_l("Fecha del depósito"))


class RefundRejectForm(FlaskForm):
    reason = TextAreaField(_l("Motivo del rechazo"), validators=[Optional(), Length(max=2000)])


class StatementUploadForm(FlaskForm):
    file = FileField(_l("Liquidación (XLSX)"), render_kw={"accept": ".xlsx"},
                     description=_l("Use la plantilla: una fila por comprobante."))


def load_advance(advance_id: int) -> Advance:
    require(current_user, Permission.MONEY_READ)
    return visible(current_user, db.session.get(Advance, advance_id))


# --- request ---------------------------------------------------------------------------------

def _tranche_choices(agreement: Agreement):
    choices = []
    for t in sorted(agreement.plan_version.tranches, key=lambda t: t.number):
        room = advance_service.tranche_room(agreement.id, t)
        if room > 0:
            choices.append(SelectChoice(t.number, _l(
                "Desembolso %(n)s · %(day)s · disponible %(room)s de %(amount)s", n=t.number,
                day=formats.day(t.planned_date), room=formats.usd(room), amount=formats.usd(t.amount))))
    return choices


def _render_request(form, agreement, status=200, refused=None):
    form.tranche_number.choices = _tranche_choices(agreement)
    return render_template("money/advance_request.html", form=form, agreement=agreement, refused=refused), status


@bp.route("/agreements/<int:agreement_id>/advances/new", methods=["GET", "POST"])
@login_required
def new_advance(agreement_id):
    agreement = load_agreement(agreement_id)
    require(current_user, Permission.ADVANCES_REQUEST)
    if request.method == "GET":
        return _render_request(RequestForm(formdata=None), agreement)
    form = RequestForm()
    form.tranche_number.choices = _tranche_choices(agreement)
    return submit(form, lambda: advance_service.request_advance(current_actor(), agreement.id, {
        "tranche_number": form.tranche_number.data, "purpose": form.purpose.data or "",
        "amount": (form.amount.data or "").strip() or None}),
        done=_l("Anticipo solicitado: la revisión financiera lo aprobará."),
        then=lambda advance: url_for("advance_pages.advance_page", advance_id=advance.id),
        render=lambda status, refused: _render_request(form, db.session.get(Agreement, agreement_id), status, refused))


# --- advance page ----------------------------------------------------------------------------

def render_advance(advance: Advance, status: int = 200, refused=None, **forms):
    user = current_user
    treasury = user.can(Permission.ADVANCES_DISBURSE)
    disburse_form = forms.get("disburse_form") or DisburseForm(
        formdata=None, data={"transfer_date": invoice_service.today().isoformat()})
    refund_form = forms.get("refund_form") or RefundForm(
        formdata=None, data={"refunded_on": invoice_service.today().isoformat()})
    key = idempotent_forms.form_key()
    trail = bank_trail("advance", advance.id)
    return render_template(
        "money/advance.html", advance=advance, agreement=advance.agreement, refused=refused,
        summary=advance_common.summary(advance), pending=advance_common.pending_receipts(advance.id),
        reject_form=forms.get("reject_form") or RejectForm(formdata=None),
        disburse_form=disburse_form, refund_form=refund_form,
        upload_form=forms.get("upload_form") or StatementUploadForm(formdata=None),
        row_errors=forms.get("row_errors") or [], general_errors=forms.get("general_errors") or [],
        disburse_key=key if forms.get("disburse_form") else idempotent_forms.new_key(),
        refund_key=key if forms.get("refund_form") else idempotent_forms.new_key(),
        can_decide=advance.can(user, AdvanceAction.APPROVE), can_prepare=advance.can(user, AdvanceAction.PREPARE),
        can_disburse=advance.can(user, AdvanceAction.DISBURSE) and not (trail and trail.at_the_bank), trail=trail,
        preparer_waits=advance.refusal_for(user, AdvanceAction.DISBURSE) == "segregation_of_duties",
        can_refund=advance.status == AdvanceState.DISBURSED and user.can(Permission.REFUNDS_RECORD)
        and (treasury or is_owner(advance.organization_id)),
        refund_reject_form=forms.get("refund_reject_form") or RefundRejectForm(formdata=None),
        refund_slips={r.id: attachments.attachments_of(r, "deposit_slip") for r in advance.refunds},
        can_confirm_refunds=user.can(Permission.DEPOSITS_CONFIRM),
        deposit_state_labels=refund_service.DEPOSIT_STATE_LABELS,
        refunds_declared=refund_service.pending_declarations(advance.id),
        can_submit=advance.status == AdvanceState.DISBURSED and is_owner(advance.organization_id)
        and user.can(Permission.STATEMENTS_SUBMIT),
        **money_labels()), status


@bp.get("/advances/<int:advance_id>")
@login_required
def advance_page(advance_id):
    return render_advance(load_advance(advance_id))


def _advance_action(advance_id: int, call, done, form=None, form_name=None):
    return submit(form, call, done=done, then=url_for("advance_pages.advance_page", advance_id=advance_id),
                  render=lambda status, refused: render_advance(load_advance(advance_id), status, refused,
                                                                **({form_name: form} if form is not None else {})))


@bp.post("/advances/<int:advance_id>/approve")
@login_required
def approve(advance_id):
    advance = load_advance(advance_id)
    require(current_user, Permission.ADVANCES_APPROVE)
    return _advance_action(advance.id, lambda: advance_service.approve_advance(current_actor(), advance.id),
                           _l("Anticipo aprobado: tesorería preparará el desembolso."))


@bp.post("/advances/<int:advance_id>/reject")
@login_required
def reject(advance_id):
    advance = load_advance(advance_id)
    require(current_user, Permission.ADVANCES_APPROVE)
    form = RejectForm()
    return _advance_action(advance.id, lambda: advance_service.reject_advance(current_actor(), advance.id,
                                                                              form.reason.data or ""),
                           _l("Anticipo rechazado."), form, "reject_form")


@bp.post("/advances/<int:advance_id>/prepare")
@login_required
def prepare(advance_id):
    advance = load_advance(advance_id)
    require(current_user, Permission.ADVANCES_DISBURSE)
    return _advance_action(advance.id, lambda: advance_service.prepare_disbursement(current_actor(), advance.id),
                           _l("Desembolso preparado: otra persona de tesorería debe ejecutarlo."))


def _idempotent_action(advance_id: int, form, form_name: str, call, done):
    page = url_for("advance_pages.advance_page", advance_id=advance_id)
    if not form.validate_on_submit():
        return render_advance(load_advance(advance_id), 422, **{form_name: form})
    try:
        claim = idempotent_forms.claim(page)
    except idempotent_forms.Replay as replay:  # the same form sent again: the first answer, nothing run twice
        return replay.response

    def run():  # refused, everything rolls back: nothing is stored for the key either
        call()
        idempotent_forms.remember(claim, page)

    return submit(None, run, done=done, then=page, place_errors=lambda errors: apply_errors(form, errors),
                  render=lambda status, refused: render_advance(load_advance(advance_id), status, refused,
                                                                **{form_name: form}))


@bp.post("/advances/<int:advance_id>/disburse")
@login_required
def disburse(advance_id):
    advance = load_advance(advance_id)
    require(current_user, Permission.ADVANCES_DISBURSE)
    form = DisburseForm()
    return _idempotent_action(
        advance.id, form, "disburse_form",
        lambda: advance_service.disburse_advance(current_actor(), advance.id, form.bank_reference.data or "",
                                                 form.transfer_date.data or ""),
        _l("Anticipo desembolsado."))


@bp.post("/advances/<int:advance_id>/refunds")
@login_required
def refund(advance_id):
    advance = load_advance(advance_id)
    require(current_user, Permission.REFUNDS_RECORD)
    form = RefundForm()
    slip = request.files.get("slip")

    def declare():
        if slip is None or not slip.filename:
            raise ValidationFailed(errors={"slip": [_l("Adjunte la boleta de depósito.")]})
        refund_service.declare_refund(current_actor(), advance.id, {
            "amount": form.amount.data or "", "bank_name": form.bank_name.data or "",
            "bank_reference": form.bank_reference.data or "", "refunded_on": form.refunded_on.data or ""},
            slip=(slip.filename, slip.read()))

    return _idempotent_action(advance.id, form, "refund_form", declare,
                              _l("Reintegro declarado: tesorería lo confirmará contra el banco; hasta entonces no "
                                 "cuenta para la liquidación."))


def _load_refund(refund_id: int) -> Refund:
    require(current_user, Permission.DEPOSITS_CONFIRM)
    refund = db.session.get(Refund, refund_id)
    if refund is None or not refund.is_visible_to(current_user):
        raise NotFound()
    return refund


@bp.post("/refunds/<int:refund_id>/confirm")
@login_required
def confirm_refund(refund_id):
    refund = _load_refund(refund_id)
    return _advance_action(refund.advance_id, lambda: refund_service.confirm_refund(current_actor(), refund.id),
                           _l("Reintegro confirmado contra el banco: ahora cuenta para la liquidación."))


@bp.post("/refunds/<int:refund_id>/reject")
@login_required
def reject_refund(refund_id):
    refund = _load_refund(refund_id)
    form = RefundRejectForm()
    return _advance_action(refund.advance_id,
                           lambda: refund_service.reject_refund(current_actor(), refund.id, form.reason.data or ""),
                           _l("Reintegro rechazado: la organización puede declararlo de nuevo."), form,
                           "refund_reject_form")


# --- expense statements ----------------------------------------------------------------------

@bp.get("/advances/<int:advance_id>/statement-template.xlsx")
@login_required
def statement_template(advance_id):
    advance = load_advance(advance_id)
    response = send_file(io.BytesIO(statements.statement_template(advance)), as_attachment=True,
                         mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                         download_name=f"liquidacion-anticipo-{advance.id}.xlsx")
    response.headers["Cache-Control"] = "private, no-store"
    return response


def row_errors(errors: dict) -> tuple[list, list[tuple[int, str, str]]]:
    """Split ``rows.<n>.<field>`` errors into (general messages, [(row, column, message)]) by row."""
    general, rows = [], []
    for key, messages in errors.items():
        parts = key.split(".")
        if len(parts) == 3 and parts[0] == "rows" and parts[1].isdigit():
            column = receipt_rows.HEADER_LABELS.get(parts[2], parts[2])
            rows.extend((int(parts[1]), column, str(m)) for m in messages)
        else:
            general.extend(str(m) for m in messages)
    return general, sorted(rows, key=lambda r: r[0])


@bp.post("/advances/<int:advance_id>/expense-statements")
@login_required
def upload_statement(advance_id):
    advance = load_advance(advance_id)
    require(current_user, Permission.STATEMENTS_SUBMIT)
    form, upload, placed = StatementUploadForm(), request.files.get("file"), {}

    def place(exc: ValidationFailed) -> None:   # each receipt row's errors in a table, the rest above it
        general, rows = row_errors(exc.errors)
        if exc.detail != ValidationFailed.title and exc.detail not in general:
            general.insert(0, str(exc.detail))
        placed.update(row_errors=rows, general_errors=general)

    return submit(form, lambda: statements.import_statement(current_actor(), advance.id, upload.read() if upload else b"",
                                                            upload.filename if upload else ""),
                  done=lambda statement: _l("Liquidación %(n)s presentada con %(count)s comprobantes: la revisión "
                                            "financiera decidirá cada uno.", n=statement.number,
                                            count=len(statement.receipts)),
                  then=lambda statement: url_for("advance_pages.statement_page", statement_id=statement.id),
                  place_refusal=place, render=lambda status, refused: render_advance(
                      load_advance(advance_id), status, refused, upload_form=form, **placed))


class DecisionForm(FlaskForm):
    reason = StringField(_l("Motivo (obligatorio para rechazar)"), validators=[Optional(), Length(max=5000)])


def load_statement(statement_id: int) -> ExpenseStatement:
    require(current_user, Permission.MONEY_READ)
    statement = db.session.get(ExpenseStatement, statement_id)
    visible(current_user, statement.advance if statement is not None else None)
    return statement


def render_statement(statement: ExpenseStatement, status: int = 200, refused=None, errors_for=None,
                     reason_errors=(), scan_errors=()):
    advance = statement.advance
    can_review = current_user.can(Permission.STATEMENTS_REVIEW) and current_user.reviews(advance.organization_id)
    return render_template(
        "money/statement.html", statement=statement, advance=advance, agreement=advance.agreement,
        refused=refused, can_review=can_review, errors_for=errors_for, reason_errors=list(reason_errors),
        scan_errors=list(scan_errors),
        scans={r.id: statements.scans_of(r) for r in statement.receipts},
        can_attach=is_owner(advance.organization_id) and current_user.can(Permission.STATEMENTS_SUBMIT),
        document_types=receipt_rows.DOCUMENT_TYPES, **money_labels()), status


@bp.get("/expense-statements/<int:statement_id>")
@login_required
def statement_page(statement_id):
    return render_statement(load_statement(statement_id))


@bp.post("/receipts/<int:receipt_id>/scan")
@login_required
def receipt_scan(receipt_id):
    require(current_user, Permission.STATEMENTS_SUBMIT)
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound()
    statement = load_statement(receipt.statement_id)
    upload, placed = request.files.get("file"), {}

    def place(exc: ValidationFailed) -> None:   # next to the receipt's scan field
        placed.update(errors_for=receipt_id, scan_errors=_messages(exc))

    return submit(None, lambda: statements.attach_receipt_scan(current_actor(), receipt_id,
                                                               upload.read() if upload else b"",
                                                               upload.filename if upload else None),
                  done=_l("Escaneo adjuntado al comprobante %(n)s.", n=receipt.position),
                  then=_receipt_url(statement, receipt_id), place_refusal=place,
                  render=lambda status, refused: render_statement(load_statement(statement.id), status, refused,
                                                                  **placed))


@bp.post("/receipts/<int:receipt_id>/decision")
@login_required
def decide(receipt_id):
    require(current_user, Permission.STATEMENTS_REVIEW)
    receipt = db.session.get(Receipt, receipt_id)
    if receipt is None:
        raise NotFound()
    statement = load_statement(receipt.statement_id)
    form, decision, placed = DecisionForm(), request.form.get("decision"), {}

    def render(status, refused):   # a refusal about the reason goes next to this receipt's reason field
        if refused is not None:
            return render_statement(load_statement(statement.id), status, refused)
        return render_statement(load_statement(statement.id), status, errors_for=receipt_id,
                                reason_errors=placed.get("reason", form.reason.errors))

    if decision not in ("accept", "reject"):
        form.validate_on_submit()
        return render(422, None)
    return submit(form, lambda: statements.decide_receipt(current_actor(), receipt_id, decision == "accept",
                                                          form.reason.data or ""),
                  done=_l("Comprobante aceptado.") if decision == "accept" else _l("Comprobante rechazado."),
                  then=_receipt_url(statement, receipt_id), render=render,
                  place_refusal=lambda exc: placed.update(reason=_messages(exc, "reason")))


def _receipt_url(statement: ExpenseStatement, receipt_id: int) -> str:
    return url_for("advance_pages.statement_page", statement_id=statement.id) + f"#receipt-{receipt_id}"


def _messages(exc: ValidationFailed, field: str | None = None) -> list[str]:
    """A refusal's messages (one field's, or all), or its own message when it has none."""
    chosen = exc.errors.get(field, []) if field else [m for ms in exc.errors.values() for m in ms]
    return [str(m) for m in chosen] or [str(exc.detail)]
