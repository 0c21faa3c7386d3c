"""Closing pages: an agreement's final liquidation (the figures as they stand and what still
blocks it; the administrator's proposal and its revisions; the three disciplines' sign-offs and a
decision form for each discipline the reviewer holds; the acta PDF) and the report to the
Legislative Assembly (choose a year, download PDF/XLSX/JSON, send with an explicit confirmation)."""
from __future__ import annotations

import io

from flask import Blueprint, Response, abort, render_template, request, send_file, url_for
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
from grants.labels import DISCIPLINE_LABELS
from grants.models.closing import VERDICTS
from grants.permissions import DISCIPLINE_ROLES, Permission
from grants.security import require, visible
from grants.services import final_liquidation as closing
from grants.services import final_liquidation_acta
from grants.services import legislature, signing
from grants.web.generated_files import request_and_serve
from grants.web.paging import int_arg
from grants.web.actions import submit
from grants.web.confirm import confirmation
from grants.workflows.final_liquidation import LiquidationState

bp = Blueprint("closing_pages", __name__)

MIMETYPES = {"pdf": "application/pdf",
             "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
             "json": "application/json"}


class LiquidationForm(FlaskForm):
    verdict = RadioField(_l("Dictamen propuesto"), choices=[SelectChoice(v, closing.VERDICT_LABELS[v]) for v in VERDICTS],
                         validators=[Optional()], validate_choice=False)
    reasoning = TextAreaField(_l("Fundamentación del dictamen"), validators=[Optional(), Length(max=20000)],
                              description=_l("Qué cumplió la organización, qué no, y por qué."))


class SignOffForm(FlaskForm):
    """One discipline's sign-off (the form is prefixed with the discipline: a reviewer of two
    disciplines sees two forms on the page)."""

    decision = RadioField(_l("Decisión"), choices=[
        SelectChoice("approve", _l("Aprobar la liquidación final")),
        SelectChoice("send_back", _l("Devolver al administrador con observaciones"))],
        validators=[Optional()], validate_choice=False)
    observations = TextAreaField(_l("Observaciones"), validators=[Optional(), Length(max=5000)],
                                 description=_l("Obligatorias al devolver: qué debe corregir el administrador."))
    confirm = confirmation("sign_off")


class SendForm(FlaskForm):
    confirm = BooleanField(_l("Confirmo que el informe se envía a la Asamblea Legislativa: los convenios liquidados "
                              "del ejercicio pasan a «Informado a la Asamblea» y el envío no se repite."))


# --- final liquidation ---------------------------------------------------------------------

def _agreement(agreement_id: int) -> Agreement:
    require(current_user, Permission.AGREEMENTS_READ)
    require(current_user, Permission.MONEY_READ)
    return visible(current_user, db.session.get(Agreement, agreement_id))


def _liquidation_form(state: dict) -> LiquidationForm:
    """Empty for the first revision; the returned revision's verdict and reasoning to revise."""
    latest = state["current"]
    if latest is not None and latest.status == LiquidationState.RETURNED:
        return LiquidationForm(formdata=None, data={"verdict": latest.verdict, "reasoning": latest.reasoning})
    return LiquidationForm(formdata=None)


def _render_liquidation(agreement: Agreement, status: int = 200, refused=None, form=None, signoff_forms=None):
    state = closing.liquidation_state(agreement)
    may_prepare = (state["status"] in ("none", "returned") and current_user.can(Permission.LIQUIDATION_DECIDE)
                   and current_user.id == agreement.administrator_id)
    signable, cannot_sign = closing.signable_disciplines(current_user, agreement, state)
    forms = {d: SignOffForm(formdata=None, prefix=d) for d in signable}
    forms.update({d: f for d, f in (signoff_forms or {}).items() if d in forms})
    return render_template(
        "closing/liquidation.html", agreement=agreement, state=state, preview=state["preview"],
        current=state["current"], form=form or _liquidation_form(state), may_prepare=may_prepare,
        signoff_forms=forms, cannot_sign=cannot_sign, refused=refused, verdict_labels=closing.VERDICT_LABELS,
        liquidation_state_labels=closing.LIQUIDATION_STATE_LABELS,
        signoff_decision_labels=closing.SIGNOFF_DECISION_LABELS), status


@bp.get("/agreements/<int:agreement_id>/final-liquidation")
@login_required
def liquidation_page(agreement_id):
    return _render_liquidation(_agreement(agreement_id))


@bp.post("/agreements/<int:agreement_id>/final-liquidation")
@login_required
def prepare(agreement_id):
    """The administrator prepares the final liquidation, or its next revision after a send-back."""
    agreement = _agreement(agreement_id)
    form = LiquidationForm()
    return submit(form, lambda: closing.prepare_liquidation(current_actor(), agreement.id, form.verdict.data or "",
                                                            form.reasoning.data or ""),
                  done=lambda liquidation: _l("Revisión %(n)s de la liquidación final preparada: espera la aprobación "
                                              "de las disciplinas jurídica, financiera y de seguimiento.",
                                              n=liquidation.revision),
                  then=url_for("closing_pages.liquidation_page", agreement_id=agreement_id),
                  render=lambda status, refused: _render_liquidation(_agreement(agreement_id), status, refused, form))


@bp.post("/agreements/<int:agreement_id>/final-liquidation/sign-off")
@login_required
def sign_off(agreement_id):
    """A reviewer approves the revision for their discipline, or sends it back with observations."""
    agreement = _agreement(agreement_id)
    discipline = request.form.get("discipline") or ""
    if discipline not in DISCIPLINE_ROLES:
        abort(400)
    form = SignOffForm(prefix=discipline)
    revision = int_arg("revision", source=request.form) or 0

    def said(signed) -> str:
        if signed.liquidation.status == LiquidationState.APPROVED:
            return _l("Las tres disciplinas aprobaron la liquidación final: el convenio queda liquidado.")
        if signed.liquidation.status == LiquidationState.RETURNED:
            return _l("Liquidación final devuelta al administrador con sus observaciones.")
        return _l("Aprobación registrada por %(d)s.", d=DISCIPLINE_LABELS[discipline])

    return submit(form, lambda: closing.sign_off(current_actor(), agreement.id, revision, discipline,
                                                 form.decision.data or "", form.observations.data),
                  done=said, then=url_for("closing_pages.liquidation_page", agreement_id=agreement_id),
                  render=lambda status, refused: _render_liquidation(_agreement(agreement_id), status, refused,
                                                                     signoff_forms={discipline: form}))


@bp.get("/agreements/<int:agreement_id>/final-liquidation.pdf")
@login_required
def acta_pdf(agreement_id):
    """The acta de liquidación final (PDF) of the latest revision."""
    agreement = _agreement(agreement_id)
    pdf = signing.issue("final_liquidation_acta", agreement, lambda day: final_liquidation_acta.acta_pdf(agreement, day), actor=current_actor())
    response = send_file(io.BytesIO(pdf), mimetype="application/pdf", as_attachment=True,
                         download_name=f"acta-liquidacion-final-{agreement.number}.pdf")
    response.headers["Cache-Control"] = "private, no-store"
    return response


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
    verdict_labels = {**closing.VERDICT_LABELS, "en_ejecucion": _l("En ejecución"),
                      "terminado": _l("Terminado sin liquidación"), "sin_convenio": _l("Sin convenio")}
    return render_template("closing/legislature.html", year=year, years=years, data=data, reports=reports,
                           verdict_labels=verdict_labels,
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
    elif kind == "json":
        content = legislature.build_file(legislature.report_data(year), kind)
        response = Response(content, mimetype=MIMETYPES[kind],
                            headers={"Content-Disposition": f'attachment; filename="{name}"'})
    else:  # the draft's PDF and workbook take long to build for a whole year: a job builds them
        return request_and_serve(f"legislature_{kind}", {"year": year})
    response.headers["Cache-Control"] = "private, no-store"
    return response


@bp.post("/legislature-reports/<int:year>/send")
@login_required
def send(year):
    require(current_user, Permission.LEGISLATURE_REPORTS)
    year = legislature.check_year(year)
    form = SendForm()
    if form.validate_on_submit() and not form.confirm.data:
        form.confirm.errors = [str(_l("Marque la confirmación para enviar el informe."))]
        return _render_reports(year, 422, form=form)
    return submit(form, lambda: legislature.send_report(current_actor(), year),
                  done=lambda report: _l("Informe del ejercicio %(year)s enviado a la Asamblea Legislativa "
                                         "(%(n)s convenios).", year=year, n=report.agreements),
                  then=url_for("closing_pages.reports_page", year=year),
                  render=lambda status, refused: _render_reports(year, status, refused, form))
