"""Follow-up reports (informes de seguimiento) of an agreement by its designated administrator,
and the indicator progress that the final liquidation and the reports read. Flush, never commit.

Rules of a report (decided here):

* only the agreement's designated administrator writes it (``Agreement.administrator_id`` and
  ``Permission.FOLLOW_UP_WRITE``); the agreement is in execution, suspended or closing;
* the period lies inside the agreement's term, is not in the future (El Salvador's date) and does
  not overlap the period of another report of the agreement (periods may leave gaps; two reports
  never count the same day twice);
* every activity of the agreement's plan version is reported once, with its progress (percent
  done, 0 to 100, two decimals at most) and optional notes;
* indicators are reported only when measured in the period: each at most once, a value (≥ 0,
  two decimals at most) and optional notes;
* ``active_beneficiaries`` is never typed: it is counted from the enrollment history, the
  enrollments of the agreement active on the period's last day
  (``grants.services.enrollments.active_on``).

``indicator_progress(agreement)`` gives, per indicator of the plan version, the latest value
reported (from the report with the latest period end that measured it) and how far it went
from the baseline towards the target.
"""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.clock import today
from grants.extensions import db
from grants.labels import AGREEMENT_STATE_LABELS
from grants.models import Agreement, FollowUpActivity, FollowUpIndicator, FollowUpReport
from grants.permissions import Permission
from grants.services.enrollments import active_on
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound
from grants.money import parse_amount
from grants.services.notifications import notify, users_of_organization
from grants.workflows.agreement import AgreementState

# Agreement states in which the administrator reports on it.
REPORTING_STATES = (AgreementState.IN_EXECUTION, AgreementState.SUSPENDED, AgreementState.CLOSING)
MAX_OBSERVATIONS = 10000
MAX_NOTES = 2000
HUNDRED = Decimal("100")
PERCENT = Decimal("0.01")


# --- who and when --------------------------------------------------------------------------------

def load_agreement(actor: Actor, agreement_id: int, lock=None) -> Agreement:
    """The agreement as this user may see it (another organization's: 404)."""
    agreement = db.session.get(Agreement, agreement_id, with_for_update=lock) if agreement_id else None
    if agreement is None or actor.user is None or not agreement.is_visible_to(actor.user):
        raise NotFound()
    return agreement


def require_administrator(actor: Actor, agreement: Agreement, message) -> None:
    user = actor.user
    if user is None or not user.can(Permission.FOLLOW_UP_WRITE) or user.id != agreement.administrator_id:
        raise Forbidden(message)


def require_state(agreement: Agreement, states, what) -> None:
    if agreement.status not in states:
        raise Conflict(_l("El convenio %(number)s está «%(state)s»: %(what)s", number=agreement.number,
                          state=AGREEMENT_STATE_LABELS[agreement.status], what=what),
                       code="agreement_not_in_follow_up")


def as_date(value, field: str, errors: FieldErrors) -> date | None:
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value.strip():
        try:
            return date.fromisoformat(value.strip())
        except ValueError:
            pass
        errors.add(field, _l("Fecha no válida: use AAAA-MM-DD."))
        return None
    errors.add(field, _l("Indique la fecha."))
    return None


def clean_text(value, field: str, limit: int, errors: FieldErrors, required: bool = False) -> str:
    text = str(value or "").strip()
    if required and not text:
        errors.add(field, _l("Este campo es obligatorio."))
    elif len(text) > limit:
        errors.add(field, _l("Máximo %(n)s caracteres.", n=limit))
    return text


def _decimal(value, field: str, errors: FieldErrors, low: Decimal, high: Decimal | None, message) -> Decimal | None:
    try:
        if value is None or (isinstance(value, str) and not value.strip()):
            raise ValueError("missing")
        number = parse_amount(value)
        if number < low or (high is not None and number > high):
            raise ValueError("out of range")
        return number
    except ValueError:
        errors.add(field, message)
        return None


# --- validation ----------------------------------------------------------------------------------

def _period(agreement: Agreement, data: dict, errors: FieldErrors) -> tuple[date | None, date | None]:
    start = as_date(data.get("period_start"), "period_start", errors)
    end = as_date(data.get("period_end"), "period_end", errors)
    if start is None or end is None:
        return start, end
    term = _l("El periodo debe estar dentro del plazo del convenio (%(start)s – %(end)s).",
              start=formats.day(agreement.start_date), end=formats.day(agreement.end_date))
    if end < start:
        errors.add("period_end", _l("El fin del periodo es anterior a su inicio."))
    if start < agreement.start_date or start > agreement.end_date:
        errors.add("period_start", term)
    if end > agreement.end_date or end < agreement.start_date:
        errors.add("period_end", term)
    elif end > today():
        errors.add("period_end", _l("El periodo no puede terminar en el futuro: informe lo ocurrido hasta hoy."))
    if errors:
        return start, end
    overlapping = db.session.scalars(select(FollowUpReport).where(
        FollowUpReport.agreement_id == agreement.id, FollowUpReport.period_start <= end,
        FollowUpReport.period_end >= start).order_by(FollowUpReport.period_start)).all()
    for other in overlapping:
        errors.add("period_start", _l("El periodo se superpone con el informe N.º %(id)s (%(start)s – %(end)s).",
                                      id=other.id, start=formats.day(other.period_start),
                                      end=formats.day(other.period_end)))
    return start, end


def _rows(raw, field: str, errors: FieldErrors) -> list:
    if raw is None:
        return []
    if not isinstance(raw, (list, tuple)):
        errors.add(field, _l("Envíe una lista."))
        return []
    return [item if isinstance(item, dict) else {} for item in raw]


def _activities(agreement: Agreement, raw, errors: FieldErrors) -> list[FollowUpActivity]:
    known = {a.id: a for a in agreement.plan_version.activities}
    seen: set[int] = set()
    rows = []
    for i, item in enumerate(_rows(raw, "activities", errors)):
        activity_id = item.get("activity_id")
        if isinstance(activity_id, bool) or not isinstance(activity_id, int) or activity_id not in known:
            errors.add(f"activities.{i}.activity_id", _l("La actividad no es del plan del convenio."))
            continue
        if activity_id in seen:
            errors.add(f"activities.{i}.activity_id", _l("La actividad «%(name)s» se informa una sola vez.",
                                                         name=known[activity_id].name))
            continue
        seen.add(activity_id)
        progress = _decimal(item.get("progress"), f"activities.{i}.progress", errors, Decimal("0"), HUNDRED,
                            _l("Indique el avance en porcentaje, de 0 a 100, con dos decimales como máximo."))
        notes = clean_text(item.get("notes"), f"activities.{i}.notes", MAX_NOTES, errors)
        rows.append(FollowUpActivity(activity_id=activity_id, progress=progress, notes=notes))
    missing = [a.name for a in sorted(known.values(), key=lambda a: a.position) if a.id not in seen]
    if missing and not any(k.startswith("activities.") for k in errors.errors):
        errors.add("activities", _l("Informe el avance de todas las actividades del plan; faltan: %(names)s.",
                                    names="; ".join(missing)))
    return rows


def _indicators(agreement: Agreement, raw, errors: FieldErrors) -> list[FollowUpIndicator]:
    known = {i.id: i for i in agreement.plan_version.indicators}
    seen: set[int] = set()
    rows = []
    for i, item in enumerate(_rows(raw, "indicators", errors)):
        indicator_id = item.get("indicator_id")
        if isinstance(indicator_id, bool) or not isinstance(indicator_id, int) or indicator_id not in known:
            errors.add(f"indicators.{i}.indicator_id", _l("El indicador no es del plan del convenio."))
            continue
        if indicator_id in seen:
            errors.add(f"indicators.{i}.indicator_id", _l("El indicador «%(name)s» se informa una sola vez.",
                                                          name=known[indicator_id].name))
            continue
        seen.add(indicator_id)
        value = _decimal(item.get("value"), f"indicators.{i}.value", errors, Decimal("0"), None,
                         _l("Indique el valor medido: un número mayor o igual que cero, con dos decimales como "
                            "máximo."))
        notes = clean_text(item.get("notes"), f"indicators.{i}.notes", MAX_NOTES, errors)
        rows.append(FollowUpIndicator(indicator_id=indicator_id, value=value, notes=notes))
    return rows


def report_view(report: FollowUpReport) -> dict:
    data = snapshot(report)
    data["activities"] = [snapshot(a) for a in report.activities]
    data["indicators"] = [snapshot(i) for i in report.indicators]
    return data


# --- the report ----------------------------------------------------------------------------------

def count_active(agreement_id: int, day: date) -> int:
    """Enrollments of the agreement active on ``day`` (counted, never typed)."""
    return db.session.scalar(select(func.count()).select_from(active_on(agreement_id, day).subquery())) or 0


def create_report(actor: Actor, agreement_id: int, data: dict) -> FollowUpReport:
    """The administrator's follow-up report for a period (see the module's rules)."""
    agreement = load_agreement(actor, agreement_id)
    require_administrator(actor, agreement, _l("Solo el administrador designado del convenio presenta sus informes "
                                              "de seguimiento."))
    # FOR UPDATE: two reports of one agreement are written one after the other (no overlap slips in).
    agreement = db.session.get(Agreement, agreement.id, with_for_update=True, populate_existing=True)
    require_state(agreement, REPORTING_STATES, _l("los informes de seguimiento se presentan con el convenio en "
                                                  "ejecución, suspendido o en cierre."))
    data = data if isinstance(data, dict) else {}
    errors = FieldErrors()
    start, end = _period(agreement, data, errors)
    activities = _activities(agreement, data.get("activities"), errors)
    indicators = _indicators(agreement, data.get("indicators"), errors)
    observations = clean_text(data.get("observations"), "observations", MAX_OBSERVATIONS, errors)
    errors.raise_if_any()
    report = FollowUpReport(agreement_id=agreement.id, organization_id=agreement.organization_id,
                            period_start=start, period_end=end, active_beneficiaries=count_active(agreement.id, end),
                            observations=observations, author_id=actor.user_id,
                            activities=activities, indicators=indicators)
    db.session.add(report)
    db.session.flush()
    record_event(db.session, actor, "follow_up_report.created", "follow_up_report", report.id,
                 after=report_view(report), organization_id=agreement.organization_id)
    notify(users_of_organization(agreement.organization_id), "follow_up_report.created",
           _l("Informe de seguimiento del convenio %(number)s", number=agreement.number),
           _l("El administrador del convenio registró el informe del periodo %(start)s – %(end)s: %(n)s "
              "beneficiarios activos al cierre del periodo.", start=formats.day(start),
              end=formats.day(end), n=report.active_beneficiaries),
           link=f"/follow-up-reports/{report.id}")
    return report


# --- indicator progress --------------------------------------------------------------------------

def percent_of_target(baseline: Decimal, target: Decimal, value: Decimal | None) -> Decimal | None:
    """How far ``value`` went from the baseline towards the target, in percent (two decimals):
    ``(value − baseline) / (target − baseline) × 100`` — with a baseline of 0 simply value / target.
    It works for indicators that must go down as well (target below the baseline); it is not
    capped (over 100 when the target was exceeded, negative when it went the wrong way). None when
    nothing was reported or the target equals the baseline."""
    if value is None or target == baseline:
        return None
    return ((value - baseline) * HUNDRED / (target - baseline)).quantize(PERCENT)


def indicator_progress(agreement: Agreement) -> list[dict]:
    """Per indicator of the agreement's plan version (in the plan's order): ``indicator_id``,
    ``position``, ``name``, ``unit``, ``expected_result``, ``baseline``, ``target``, ``latest_value``
    (Decimal or None), ``period_end`` and ``report_id`` of the report it comes from (the latest
    period end that measured it), and ``percent_of_target`` (see ``percent_of_target``). One query
    for the values."""
    rows = db.session.execute(
        select(FollowUpIndicator.indicator_id, FollowUpIndicator.value, FollowUpReport.period_end, FollowUpReport.id)
        .join(FollowUpReport, FollowUpReport.id == FollowUpIndicator.report_id)
        .where(FollowUpReport.agreement_id == agreement.id)
        .order_by(FollowUpReport.period_end.desc(), FollowUpReport.id.desc())).all()
    latest: dict[int, tuple] = {}
    for indicator_id, value, period_end, report_id in rows:
        latest.setdefault(indicator_id, (value, period_end, report_id))
    out = []
    for indicator in sorted(agreement.plan_version.indicators, key=lambda i: i.position):
        value, period_end, report_id = latest.get(indicator.id, (None, None, None))
        out.append({"indicator_id": indicator.id, "position": indicator.position, "name": indicator.name,
                    "unit": indicator.unit, "expected_result": indicator.expected_result,
                    "baseline": indicator.baseline, "target": indicator.target, "latest_value": value,
                    "period_end": period_end, "report_id": report_id,
                    "percent_of_target": percent_of_target(indicator.baseline, indicator.target, value)})
    return out
