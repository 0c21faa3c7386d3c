"""Closing pages: an agreement's final liquidation (the figures as they stand, what still blocks
it, the administrator's verdict form, or the recorded result) and the report to the Legislative
Assembly (choose a year, download PDF/XLSX/JSON, send with an explicit confirmation)."""
from __future__ import annotations

from flask import Blueprint, Response, flash, redirect, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import BooleanField, RadioField, SelectChoice, TextAreaField
from wtforms.validators import Length, Optional

from grants import clock
from grants.context import current_actor
from grants.extensions import db
from grants.models import Agreement, Allocation, LegislatureReport
from grants.models.closing import VERDICTS
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import final_liquidation as closing
from grants.services import legislature
from grants.services.errors import DomainError, ValidationFailed
from grants.web.forms import apply_errors
from grants.web.money import refusal

bp = Blueprint("closing_pages", __name__)

MIMETYPES = {"pdf": "application/pdf",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "json": "application/json"}


class LiquidationForm(FlaskForm):
    verdict = RadioField(_l("Dictamen"), choices=[SelectChoice(v, closing.VERDICT_LABELS[v]) for v in VERDICTS],
                         validators=[Optional()], validate_choice=False)
    reasoning = TextAreaField(_l("Fundamentación del dictamen"), validators=[Optional(), Length(max=20000)],
                              description=_l("Qué cumplió la organización, qué no, y por qué."))


class SendForm(FlaskForm):
    confirm = BooleanField(_l("Confirmo que el informe se envía a la Asamblea Legislativa: los convenios liquidados "
                              "del ejercicio pasan a «Informado a la Asamblea» y el envío no se repite."))


# --- final liquidation ---------------------------------------------------------------------

def _agreement(agreement_id: int) -> Agreement:
    require(current_user, Permission.AGREEMENTS_READ)
    require(current_user, Permission.MONEY_READ)
    return visible(current_user, db.session.get(Agreement, agreement_id))


def _render_liquidation(agreement: Agreement, status: int = 200, refused=None, form=None):
    done = closing.recorded(agreement.id)
    preview = None if done else closing.liquidation_preview(agreement)
    may_decide = (done is None and current_user.can(Permission.LIQUIDATION_DECIDE)
                  and current_user.id == agreement.administrator_id)
    return render_template("closing/liquidation.html", agreement=agreement, recorded=done, preview=preview,
                           form=form or LiquidationForm(formdata=None), may_decide=may_decide, refused=refused,
                           verdict_labels=closing.VERDICT_LABELS), status


@bp.get("/agreements/<int:agreement_id>/final-liquidation")
@login_required
def liquidation_page(agreement_id):
    return _render_liquidation(_agreement(agreement_id))


@bp.post("/agreements/<int:agreement_id>/final-liquidation")
@login_required
def liquidate(agreement_id):
    agreement = _agreement(agreement_id)
    form = LiquidationForm()
    if not form.validate_on_submit():
        return _render_liquidation(agreement, 422, form=form)
    try:
        closing.liquidate_agreement(current_actor(), agreement.id, form.verdict.data or "", form.reasoning.data or "")
    except ValidationFailed as exc:
        db.session.rollback()
        apply_errors(form, exc.errors)
        return _render_liquidation(_agreement(agreement_id), 422, None if exc.errors else exc.detail, form)
    except DomainError as exc:
        detail = refusal(exc)
        return _render_liquidation(_agreement(agreement_id), exc.status, detail, form)
    flash(_l("Liquidación final registrada: el convenio queda liquidado."), "success")
    return redirect(url_for("closing_pages.liquidation_page", agreement_id=agreement_id), 303)


# --- report to the legislature ----------------------------------------------------------------

def _years() -> list[int]:
    years = set(db.session.scalars(select(Allocation.fiscal_year).distinct()).all())
    years.add(clock.today().year)
    return sorted(years, reverse=True)


def _year_arg(years: list[int]) -> int:
    try:
        year = int(request.args.get("year") or 0)
    except ValueError:
        year = 0
    return year if year in years else years[0]


def _render_reports(year: int, status: int = 200, refused=None, form=None):
    years = _years()
    data = legislature.report_data(year)
    reports = db.session.scalars(select(LegislatureReport).where(LegislatureReport.fiscal_year == year)
                                 .order_by(LegislatureReport.id.desc())).all()
    return render_template("closing/legislature.html", year=year, years=years, data=data, reports=reports,
                           sent=legislature.sent_report(year), form=form or SendForm(formdata=None),
                           refused=refused), status


@bp.get("/legislature-reports")
@login_required
def reports_page():
    require(current_user, Permission.LEGISLATURE_REPORTS)
    return _render_reports(_year_arg(_years()))


@bp.get("/legislature-reports/<int:year>.<any(pdf, xlsx, json):kind>")
@login_required
def download(year, kind):
    require(current_user, Permission.LEGISLATURE_REPORTS)
    year = legislature.check_year(year)
    name = f"informe-asamblea-{year}.{kind}"
    sent = legislature.sent_report(year)
    if sent is not None:
        response = send_file(legislature.stored_file(sent, kind), mimetype=MIMETYPES[kind], as_attachment=True,
                             download_name=name)
    else:
        content = legislature.build_file(legislature.report_data(year), kind)
        response = Response(content, mimetype=MIMETYPES[kind],
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/legislature-reports/<int:year>/send")
@login_required
def send(year):
    require(current_user, Permission.LEGISLATURE_REPORTS)
    year = legislature.check_year(year)
    form = SendForm()
    if not form.validate_on_submit():
        return _render_reports(year, 422, form=form)
    if not form.confirm.data:
        form.confirm.errors = [str(_l("Marque la confirmación para enviar el informe."))]
        return _render_reports(year, 422, form=form)
    try:
        report = legislature.send_report(current_actor(), year)
    except DomainError as exc:
        detail = refusal(exc)
        return _render_reports(year, exc.status, detail, form)
    flash(_l("Informe del ejercicio %(year)s enviado a la Asamblea Legislativa (%(n)s convenios).", year=year,
             n=report.agreements), "success")
    return redirect(url_for("closing_pages.reports_page", year=year), 303)
