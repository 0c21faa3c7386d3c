"""Internal audit pages: the liquidation checks (run form, the rule catalogue with what each rule
detects and why, recent runs; a run asked for here is done by a job and has a page of its own that
refreshes itself until the run ends), the findings (text search and filters, pages, XLSX/PDF export of
the same filters) and a finding
(evidence, decision with a note). Auditors run and decide; admins read."""
from __future__ import annotations

import io
from datetime import timedelta

from flask import Blueprint, abort, render_template, request, send_file, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from sqlalchemy import select
from wtforms import IntegerField, SelectField, TextAreaField
from wtforms.validators import InputRequired, Length, NumberRange, Optional

from grants.audit.rules import RULES, RULES_BY_CODE
from grants import jobs
from grants.clock import today
from grants.context import current_actor, request_id
from grants.extensions import db
from grants.labels import CHECK_RUN_STATE_LABELS, FINDING_ENTITY_LABELS, FINDING_SEVERITY_LABELS, FINDING_STATE_LABELS
from grants.models import Agreement, AuditCheckRun, AuditFinding
from grants.models.base import utcnow
from grants.permissions import Permission
from grants.security import require
from grants.services import audit_checks as service
from grants.services import signing
from grants.web.actions import submit
from grants.web.paging import int_arg, page_of
from grants.web.search import search_args
from grants.workflows.audit_check import FindingState, RunState, allowed_actions
from grants.workflows.agreement import AgreementState

bp = Blueprint("audit_check_pages", __name__)

EXPORT_LIMIT = 5000


class RunForm(FlaskForm):
    agreement_id = SelectField(_l("Convenio"), coerce=str, validators=[Optional()])
    fiscal_year = IntegerField(_l("Año fiscal"), validators=[Optional(), NumberRange(min=2000, max=2100)])


class DecisionForm(FlaskForm):
    status = SelectField(_l("Decisión"), validators=[InputRequired()])
    note = TextAreaField(_l("Nota (obligatoria)"), validators=[Optional(), Length(max=5000)])


def _reader() -> None:
    require(current_user, Permission.AUDIT_READ)


def _agreement_choices() -> list[tuple[str, str]]:
    rows = db.session.execute(select(Agreement.id, Agreement.number).where(Agreement.status != AgreementState.DRAFT)
                              .order_by(Agreement.number)).all()
    return [("", str(_l("Todos los convenios")))] + [(str(i), n) for i, n in rows]


def _labels() -> dict:
    return {"finding_state_labels": FINDING_STATE_LABELS, "severity_labels": FINDING_SEVERITY_LABELS,
            "entity_labels": FINDING_ENTITY_LABELS,
            "rules_by_code": RULES_BY_CODE, "run_state_labels": CHECK_RUN_STATE_LABELS}


def _checks_page(form: RunForm, status: int = 200, refused=None):
    runs = db.session.scalars(select(AuditCheckRun).order_by(AuditCheckRun.id.desc()).limit(10)).all()
    numbers = dict(db.session.execute(select(Agreement.id, Agreement.number).where(
        Agreement.id.in_({r.agreement_id for r in runs if r.agreement_id}))).all()) if runs else {}
    return render_template("audit_checks/checks.html", form=form, rules=RULES, runs=runs, numbers=numbers,
                           refused=refused, can_run=current_user.can(Permission.CHECKS_RUN), **_labels()), status


@bp.get("/audit/checks")
@login_required
def checks():
    _reader()
    form = RunForm(formdata=None)
    form.agreement_id.choices = _agreement_choices()
    return _checks_page(form)


@bp.post("/audit/checks")
@login_required
def run():
    require(current_user, Permission.CHECKS_RUN)
    form = RunForm()
    form.agreement_id.choices = _agreement_choices()

    def ask():
        agreement_id = int(form.agreement_id.data) if form.agreement_id.data else None
        check_run = service.request_run(current_actor(), agreement_id, form.fiscal_year.data)
        jobs.defer("run_check_run", run_id=check_run.id, user_id=current_user.id, request_id=request_id())
        return check_run

    return submit(form, ask, then=lambda r: url_for("audit_check_pages.run_page", run_id=r.id),
                  done=lambda r: _l("Revisión %(id)s solicitada: se ejecuta en segundo plano.", id=r.id),
                  render=lambda status, refused: _checks_page(form, status, refused))


# A run still "running" this long after it started has most likely lost its job (a worker killed on
# SQLite's in-process mode; the queue retries its own): the page says so and offers to run again.
RUN_LOOKS_STALLED = timedelta(minutes=15)


@bp.get("/audit/check-runs/<int:run_id>")
@login_required
def run_page(run_id):
    _reader()
    check_run = db.session.get(AuditCheckRun, run_id)
    if check_run is None:
        abort(404)
    number = db.session.scalar(select(Agreement.number).where(Agreement.id == check_run.agreement_id)) \
        if check_run.agreement_id else None
    stalled = check_run.status == RunState.RUNNING and utcnow() - check_run.started_at > RUN_LOOKS_STALLED
    return render_template("audit_checks/run.html", run=check_run, number=number, stalled=stalled,
                           can_run=current_user.can(Permission.CHECKS_RUN), **_labels())


def _filters() -> tuple[dict, list]:
    """The filters of the query string, and the messages of the values left out (an unknown state)."""
    args = request.args
    found = search_args(FindingState, state_arg="status")
    f: dict = {"q": found.filters["q"]} if found.q else {}
    if found.filters.get("state") is not None:
        f["status"] = found.filters["state"]
    if args.get("rule_code") in RULES_BY_CODE:
        f["rule_code"] = args["rule_code"]
    if args.get("severity") in FINDING_SEVERITY_LABELS:
        f["severity"] = args["severity"]
    for name in ("agreement_id", "run_id"):
        value = int_arg(name, source=args)
        if value:
            f[name] = value
    if args.get("present") in ("1", "0"):
        f["present"] = args["present"] == "1"
    return f, found.messages


def _query_args(f: dict) -> dict:
    """The filters back as the query string (the pager's and the exports' links)."""
    return {k: (("1" if v else "0") if k == "present" else str(v)) for k, v in f.items()}


@bp.get("/audit/findings")
@login_required
def findings():
    _reader()
    f, messages = _filters()
    items, paging = page_of(service.findings_query(f))
    numbers = dict(db.session.execute(select(Agreement.id, Agreement.number).where(
        Agreement.id.in_({x.agreement_id for x in items if x.agreement_id}))).all()) if items else {}
    return render_template("audit_checks/findings.html", findings=items, paging=paging, filters=f,
                           args=_query_args(f), rules=RULES, numbers=numbers, messages=messages,
                           agreements=_agreement_choices()[1:], **_labels())


def _export_findings() -> list[AuditFinding]:
    _reader()
    return db.session.scalars(service.findings_query(_filters()[0]).limit(EXPORT_LIMIT)).all()


@bp.get("/audit/findings.xlsx")
@login_required
def findings_xlsx():
    data = service.findings_xlsx(_export_findings())
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"hallazgos-{today().isoformat()}.xlsx",
                     mimetype="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")


@bp.get("/audit/findings.pdf")
@login_required
def findings_pdf():
    found = _export_findings()
    data = signing.issue("findings", ("findings_filter", signing.filter_key(request.args)),
                         lambda day: service.findings_pdf(found, generated_on=day), actor=current_actor())
    return send_file(io.BytesIO(data), as_attachment=True, download_name=f"hallazgos-{today().isoformat()}.pdf",
                     mimetype="application/pdf")


def _load(finding_id: int) -> AuditFinding:
    _reader()
    return db.get_or_404(AuditFinding, finding_id)


def _finding_page(finding: AuditFinding, form: DecisionForm | None = None, status: int = 200, refused=None):
    options = sorted(allowed_actions(finding.status))
    if form is None:
        form = DecisionForm(formdata=None)
    form.status.choices = [(s, str(FINDING_STATE_LABELS[s])) for s in options]
    can_decide = current_user.can(Permission.FINDINGS_DECIDE) and bool(options)
    return render_template("audit_checks/finding.html", finding=finding, form=form, can_decide=can_decide,
                           refused=refused, rule=RULES_BY_CODE.get(finding.rule_code), **_labels()), status


@bp.get("/audit/findings/<int:finding_id>")
@login_required
def finding_page(finding_id):
    return _finding_page(_load(finding_id))


@bp.post("/audit/findings/<int:finding_id>/decision")
@login_required
def decide(finding_id):
    finding = _load(finding_id)
    require(current_user, Permission.FINDINGS_DECIDE)
    form = DecisionForm()
    form.status.choices = [(s, s) for s in FINDING_STATE_LABELS]
    return submit(form, lambda: service.decide_finding(current_actor(), finding.id, form.status.data, form.note.data),
                  done=lambda _: _l("Decisión registrada: %(state)s.", state=FINDING_STATE_LABELS[form.status.data]),
                  then=url_for("audit_check_pages.finding_page", finding_id=finding_id),
                  render=lambda status, refused: _finding_page(_load(finding_id), form, status, refused))
