"""Bank statements and reconciliation pages: the list of statements with the upload form (treasury),
a statement's lines (what each matched; the unmatched ones with their reason and treasury's forms to
resolve them), and the reconciliation per day and per account. Treasury, the auditor and the
financial reviewer read them; an NGO never (403). Routes are thin: grants/services/bank_statements.py
reads, matches and writes."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import SelectField, TextAreaField
from wtforms.validators import Length, Optional

from grants import formats
from grants.context import current_actor
from grants.extensions import db
from grants.models import BankStatement, BankStatementLine
from grants.permissions import Permission
from grants.security import require
from grants.services import bank_statements as service
from grants.services.bank_matching import KIND_LABELS, describe
from grants.services.bank_statement_files import CSV_COLUMNS, CSV_OPTIONAL
from grants.web.actions import submit
from grants.web.paging import page_of
from grants.workflows.bank_statement import LineState

bp = Blueprint("bank_statement_pages", __name__)

LINE_STATE_LABELS = {LineState.MATCHED: _l("Conciliada"), LineState.UNMATCHED: _l("Sin conciliar"),
                     LineState.IGNORED: _l("No es de Fondos")}
DIRECTION_LABELS = {"debit": _l("Débito"), "credit": _l("Crédito")}
METHOD_LABELS = {"e2e": _l("Identificador de extremo a extremo"), "amount_reference": _l("Monto y referencia"),
                 "manual": _l("A mano")}



class UploadForm(FlaskForm):
    file = FileField(_l("Extracto (camt.053 XML o CSV)"), render_kw={"accept": ".xml,.csv,text/xml,application/xml,text/csv"})


class MatchForm(FlaskForm):
    target = SelectField(_l("Corresponde a"), choices=[], validate_choice=False)
    reason = TextAreaField(_l("Motivo"), validators=[Optional(), Length(max=2000)])


class IgnoreForm(FlaskForm):
    reason = TextAreaField(_l("Motivo"), validators=[Optional(), Length(max=2000)])


def _reader() -> None:
    require(current_user, Permission.BANK_STATEMENTS_READ)


def _labels() -> dict:
    return {"line_state_labels": LINE_STATE_LABELS, "direction_labels": DIRECTION_LABELS,
            "method_labels": METHOD_LABELS, "kind_labels": KIND_LABELS, "target_link": target_link,
            "describe": describe, "csv_columns": CSV_COLUMNS, "csv_optional": CSV_OPTIONAL,
            "can_reconcile": current_user.can(Permission.BANK_STATEMENTS_RECONCILE)}


def target_link(line: BankStatementLine) -> tuple[str, str] | None:
    """(what the line matched, in words; its page)."""
    if line.payment is not None:
        return describe("payment", line.payment), url_for("payment_pages.payment_page", payment_id=line.payment_id)
    if line.advance is not None:
        return describe("advance", line.advance), url_for("advance_pages.advance_page", advance_id=line.advance_id)
    if line.refund is not None:
        return describe("refund", line.refund), url_for("advance_pages.advance_page", advance_id=line.refund.advance_id)
    if line.fine_payment is not None:
        return (describe("fine_payment", line.fine_payment),
                url_for("followup_pages.incident_page", incident_id=line.fine_payment.incident_id))
    return None


def render_list(status: int = 200, form: UploadForm | None = None, refused=None):
    items, paging = page_of(select(BankStatement).order_by(BankStatement.uploaded_at.desc(), BankStatement.id.desc()))
    days = [service.reconciliation(account, day) for account, day in service.reconciliation_days(limit=31)]
    return render_template("money/bank_statements.html", statements=items, paging=paging, days=days,
                           form=form or UploadForm(formdata=None), refused=refused,
                           max_mb=max(service.max_upload_bytes() // (1024 * 1024), 1), **_labels()), status


@bp.get("/bank-statements")
@login_required
def statement_list():
    _reader()
    return render_list()


@bp.post("/bank-statements")
@login_required
def upload():
    _reader()
    require(current_user, Permission.BANK_STATEMENTS_RECONCILE)
    form = UploadForm()
    if not form.validate_on_submit():
        return render_list(422, form)
    limit = service.max_upload_bytes()
    upload_file = request.files.get("file")
    data = upload_file.read(limit + 1) if upload_file else b""  # over the limit: the service's 413

    def place(errors):
        form.file.errors = list(form.file.errors or []) + [str(m) for ms in errors.values() for m in ms]

    def done(result):
        statement, created = result
        if not created:
            return _l("Este archivo ya se había subido (extracto %(ref)s): no cambió nada.",
                      ref=statement.statement_ref), "info"
        return _l("Extracto %(ref)s subido: %(n)s movimientos, %(matched)s conciliados.", ref=statement.statement_ref,
                  n=statement.line_count, matched=sum(1 for x in statement.lines if x.status == LineState.MATCHED))

    return submit(None, lambda: service.upload_statement(current_actor(), upload_file.filename if upload_file else "",
                                                         data),
                  done=done, place_errors=place,
                  then=lambda result: url_for("bank_statement_pages.statement_page", statement_id=result[0].id),
                  render=lambda status, refused: render_list(status, form, refused))


def render_statement(statement: BankStatement, status: int = 200, refused=None, forms: dict | None = None):
    forms = forms or {}
    resolve = {}
    if current_user.can(Permission.BANK_STATEMENTS_RECONCILE):
        for line in statement.lines:
            if line.status != LineState.UNMATCHED:
                continue
            match_form, ignore_form = forms.get(line.id, (None, None))
            match_form = match_form or MatchForm(formdata=None, prefix=f"m{line.id}")
            match_form.target.choices = [("", _l("Elija…"))] + [
                (f"{kind}:{record.id}", describe(kind, record)) for kind, record in service.candidates(line)]
            resolve[line.id] = (match_form, ignore_form or IgnoreForm(formdata=None, prefix=f"i{line.id}"))
    return render_template("money/bank_statement.html", statement=statement, resolve=resolve, refused=refused,
                           **_labels()), status


def _load(statement_id: int) -> BankStatement:
    _reader()
    return db.get_or_404(BankStatement, statement_id)


def _load_line(line_id: int) -> BankStatementLine:
    _reader()
    require(current_user, Permission.BANK_STATEMENTS_RECONCILE)
    return db.get_or_404(BankStatementLine, line_id)


@bp.get("/bank-statements/<int:statement_id>")
@login_required
def statement_page(statement_id):
    return render_statement(_load(statement_id))


@bp.post("/bank-statements/lines/<int:line_id>/match")
@login_required
def match(line_id):
    line = _load_line(line_id)
    form = MatchForm(prefix=f"m{line.id}")
    kind, _, record_id = (form.target.data or "").partition(":")
    page = url_for("bank_statement_pages.statement_page", statement_id=line.statement_id)
    return submit(form, lambda: service.match_line(current_actor(), line.id, kind, record_id or None,
                                                   form.reason.data),
                  done=_l("Línea %(n)s conciliada a mano.", n=line.line_number), then=page,
                  render=lambda status, refused: render_statement(
                      db.session.get(BankStatement, line.statement_id), status, refused, {line.id: (form, None)}))


@bp.post("/bank-statements/lines/<int:line_id>/ignore")
@login_required
def ignore(line_id):
    line = _load_line(line_id)
    form = IgnoreForm(prefix=f"i{line.id}")
    page = url_for("bank_statement_pages.statement_page", statement_id=line.statement_id)
    return submit(form, lambda: service.ignore_line(current_actor(), line.id, form.reason.data),
                  done=_l("Línea %(n)s marcada como ajena a Fondos.", n=line.line_number), then=page,
                  render=lambda status, refused: render_statement(
                      db.session.get(BankStatement, line.statement_id), status, refused, {line.id: (None, form)}))


@bp.get("/bank-statements/reconciliation")
@login_required
def reconciliation_page():
    _reader()
    account = (request.args.get("account") or "").strip()
    try:
        day = date.fromisoformat(request.args.get("day") or "")
    except ValueError:
        day = None
    if not account or day is None:
        flash(_l("Indique la cuenta y el día (AAAA-MM-DD)."), "error")
        return redirect(url_for("bank_statement_pages.statement_list"), 303)
    figures = service.reconciliation(account, day)
    lines = db.session.scalars(select(BankStatementLine).join(BankStatement).where(
        BankStatement.account == account, BankStatementLine.booking_date == day)
        .order_by(BankStatement.id, BankStatementLine.line_number)).all()
    return render_template("money/bank_reconciliation.html", figures=figures, lines=lines,
                           day_label=formats.day(day), **_labels())
