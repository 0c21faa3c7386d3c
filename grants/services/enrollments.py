"""Enrollments one by one: status changes with effective dates, double-enrollment decisions,
"who was active on date D", and personal data shown in full only as a logged action."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, bindparam, insert, or_, select, update

from grants import formats
from grants.audit import Actor, record_event
from grants.clock import today
from grants.extensions import db
from grants.labels import ENROLLMENT_STATE_LABELS
from grants.models import Beneficiary, Enrollment, EnrollmentPeriod
from grants.models.base import utcnow
from grants.permissions import Permission
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from grants.workflows.enrollment import NGO_REPORTABLE, EnrollmentState, allowed


def active_on(agreement_id: int, day: date) -> Select:
    """Enrollments of the agreement that were active on ``day`` (one query)."""
    return (select(Enrollment).join(EnrollmentPeriod, EnrollmentPeriod.enrollment_id == Enrollment.id)
            .where(Enrollment.agreement_id == agreement_id, EnrollmentPeriod.status == EnrollmentState.ACTIVE,
                   EnrollmentPeriod.valid_from <= day,
                   or_(EnrollmentPeriod.valid_to.is_(None), EnrollmentPeriod.valid_to > day)))


def _load(actor: Actor, enrollment_id: int) -> Enrollment:
    enrollment = db.session.get(Enrollment, enrollment_id, with_for_update=True)
    if enrollment is None or actor.user is None or not enrollment.is_visible_to(actor.user):
        raise NotFound()
    return enrollment


def _view(enrollment: Enrollment) -> dict:
    return {"agreement_id": enrollment.agreement_id, "beneficiary_id": enrollment.beneficiary_id,
            "status": enrollment.status, "double_enrollment": enrollment.double_enrollment,
            "double_enrollment_reason": enrollment.double_enrollment_reason}


def change_status(actor: Actor, enrollment_id: int, target: str, effective: date, reason: str | None) -> Enrollment:
    """A status change (the NGO reports active/inactive/withdrawn; monitoring any allowed move).

    It takes effect on ``effective``: inside the agreement's term, not before the current status
    began, never in the future; a past day needs a reason. It changes what later payment
    preparations see (and a payment waiting for authorization must be prepared again), never an
    executed payment: the liquidation check ``payment_basis_changed`` finds executed payments whose
    people changed status afterwards for a day they were paid for."""
    enrollment = _load(actor, enrollment_id)
    user = actor.user
    try:
        target = EnrollmentState(target)
    except ValueError:
        raise ValidationFailed(errors={"status": [_l("Estado desconocido.")]}) from None
    is_ngo = user.acts_for(enrollment.organization_id)
    is_monitoring = user.can(Permission.BENEFICIARIES_VALIDATE)
    if not (is_monitoring or (is_ngo and target in NGO_REPORTABLE)):
        raise Forbidden()
    if enrollment.double_enrollment == "pending" and target != EnrollmentState.WITHDRAWN:
        raise Conflict(_l("Inscripción doble pendiente de decisión de seguimiento."), code="double_enrollment_pending")
    if not allowed(enrollment.status, target):
        raise Conflict(_l("No puede pasar de «%(from)s» a «%(to)s».", **{
            "from": ENROLLMENT_STATE_LABELS[enrollment.status], "to": ENROLLMENT_STATE_LABELS[target]}),
            code="invalid_transition")
    current = enrollment.periods[-1]
    agreement = enrollment.agreement
    reason = (reason or "").strip() if isinstance(reason, (str, type(None))) else ""
    if not isinstance(effective, date) or effective < current.valid_from or not (
            agreement.start_date <= effective <= agreement.end_date):
        raise ValidationFailed(errors={"effective_date": [_l(
            "La fecha efectiva debe estar dentro del plazo del convenio y no antes del estado vigente (%(since)s).",
            since=formats.day(current.valid_from))]})
    if effective > today():
        raise ValidationFailed(errors={"effective_date": [_l(
            "La fecha efectiva no puede ser futura: un estado registra lo que ya ocurrió.")]})
    if effective < today() and not reason:
        raise ValidationFailed(errors={"reason": [_l(
            "Un cambio con fecha pasada necesita el motivo (queda en la auditoría y en el historial).")]})
    if len(reason) > 500:
        raise ValidationFailed(errors={"reason": [_l("Máximo %(n)s caracteres.", n=500)]})
    before = _view(enrollment)
    current.valid_to = effective
    enrollment.periods.append(EnrollmentPeriod(status=target, valid_from=effective,
                                               reason=reason or None, actor_id=actor.user_id))
    enrollment.status = target
    db.session.flush()
    record_event(db.session, actor, "enrollment.status_changed", "enrollment", enrollment.id, before=before,
                 after={**_view(enrollment), "effective_date": effective, "reason": reason,
               "back_dated": effective < today()},
                 organization_id=enrollment.organization_id)
    return enrollment


def activate_validated(actor: Actor, agreement_id: int, since: date, reason: str | None, *,
                       enrollment_ids: list[int] | None = None, batch_id: int | None = None) -> dict:
    """Activate validated people of an agreement from ``since``: the ones listed
    (``enrollment_ids``), or every validated person of one list (``batch_id``).

    Monitoring, or the NGO for its own agreement. ``since`` is inside the term and not in the
    future; a past day needs a reason. A person validated after ``since`` is active from their
    validation day (never before their current status began): the answer counts them
    (``from_validation``). Listed people who are not validated are refused together, by id. One
    audit event for the whole activation (who, from when, why, whom)."""
    from grants.models import Agreement

    agreement = db.session.get(Agreement, agreement_id, with_for_update={"read": True}) if agreement_id else None
    user = actor.user
    if agreement is None or user is None or not (
            user.sees_all_organizations or user.organization_id == agreement.organization_id):
        raise NotFound()
    is_ngo = user.acts_for(agreement.organization_id)
    if not (user.can(Permission.BENEFICIARIES_VALIDATE) or (is_ngo and user.can(Permission.BENEFICIARIES_IMPORT))):
        raise Forbidden(_l("Seguimiento y contraloría, o la organización, activan a las personas validadas."))
    reason = (reason or "").strip() if isinstance(reason, (str, type(None))) else ""
    errors: dict[str, list] = {}
    if not isinstance(since, date) or not agreement.start_date <= since <= agreement.end_date:
        errors["since"] = [_l("La fecha debe estar dentro del plazo del convenio (%(start)s a %(end)s).",
                              start=formats.day(agreement.start_date),
                              end=formats.day(agreement.end_date))]
    elif since > today():
        errors["since"] = [_l("La fecha no puede ser futura: un estado registra lo que ya ocurrió.")]
    elif since < today() and not reason:
        errors["reason"] = [_l("Una activación con fecha pasada necesita el motivo.")]
    if len(reason) > 500:
        errors["reason"] = [_l("Máximo %(n)s caracteres.", n=500)]
    if (enrollment_ids is None) == (batch_id is None):
        errors["enrollment_ids"] = [_l("Elija a las personas o una lista.")]
    if errors:
        raise ValidationFailed(errors=errors)
    query = select(Enrollment.id, Enrollment.status, Enrollment.double_enrollment).where(
        Enrollment.agreement_id == agreement.id)
    if batch_id is not None:
        query = query.where(Enrollment.batch_id == batch_id, Enrollment.status == EnrollmentState.VALIDATED)
    else:
        wanted = [i for i in enrollment_ids if isinstance(i, int) and not isinstance(i, bool)]
        if not wanted or len(wanted) != len(enrollment_ids):
            raise ValidationFailed(errors={"enrollment_ids": [_l("Elija al menos una persona.")]})
        query = query.where(Enrollment.id.in_(wanted))
    found = {row.id: row for row in db.session.execute(query.with_for_update())}
    if enrollment_ids is not None:
        refused = sorted(set(enrollment_ids) - {i for i, r in found.items() if r.status == EnrollmentState.VALIDATED
                                                 and r.double_enrollment in (None, "allowed")})
        if refused:
            raise ValidationFailed(errors={"enrollment_ids": [_l(
                "Solo se activan personas validadas de este convenio (sin inscripción doble pendiente): "
                "%(ids)s no lo están.", ids=", ".join(str(i) for i in refused[:20]))]})
    ids = sorted(i for i, r in found.items() if r.double_enrollment in (None, "allowed"))
    if not ids:
        raise Conflict(_l("No hay personas validadas que activar."), code="nothing_to_activate")
    current = dict(db.session.execute(select(EnrollmentPeriod.enrollment_id, EnrollmentPeriod.valid_from).where(
        EnrollmentPeriod.enrollment_id.in_(ids), EnrollmentPeriod.valid_to.is_(None))).all())
    starts = {i: max(since, current[i]) for i in ids}
    now = utcnow()
    periods = EnrollmentPeriod.__table__
    db.session.execute(update(periods).where(periods.c.enrollment_id == bindparam("e"), periods.c.valid_to.is_(None))
                       .values(valid_to=bindparam("start")), [{"e": i, "start": starts[i]} for i in ids])
    db.session.execute(insert(EnrollmentPeriod), [
        {"enrollment_id": i, "status": EnrollmentState.ACTIVE.value, "valid_from": starts[i],
         "reason": reason or None, "actor_id": actor.user_id, "recorded_at": now} for i in ids])
    db.session.execute(update(Enrollment).where(Enrollment.id.in_(ids)).values(
        status=EnrollmentState.ACTIVE.value, updated_at=now).execution_options(synchronize_session=False))
    db.session.expire_all()
    late = sum(1 for i in ids if starts[i] > since)
    result = {"activated": len(ids), "since": since, "from_validation": late}
    record_event(db.session, actor, "enrollments.activated", "agreement", agreement.id, after={
        **result, "reason": reason or None, "batch_id": batch_id, "enrollment_ids": ids,
        "back_dated": since < today()}, organization_id=agreement.organization_id)
    return result


def decide_double_enrollment(actor: Actor, enrollment_id: int, allow: bool, reason: str) -> Enrollment:
    """Monitoring allows or refuses an enrollment of a person active in another agreement."""
    enrollment = _load(actor, enrollment_id)
    if not actor.user.can(Permission.BENEFICIARIES_VALIDATE):
        raise Forbidden()
    if enrollment.double_enrollment != "pending":
        raise Conflict(_l("Esta inscripción no espera una decisión."), code="no_decision_pending")
    if not (reason or "").strip():
        raise ValidationFailed(errors={"reason": [_l("Indique el motivo.")]})
    before = _view(enrollment)
    enrollment.double_enrollment = "allowed" if allow else "refused"
    enrollment.double_enrollment_reason = reason.strip()
    enrollment.double_enrollment_decided_by_id = actor.user_id
    if not allow:
        current = enrollment.periods[-1]
        day = max(today(), current.valid_from)
        current.valid_to = day
        enrollment.periods.append(EnrollmentPeriod(status=EnrollmentState.WITHDRAWN, valid_from=day,
                                                   reason=reason.strip(), actor_id=actor.user_id))
        enrollment.status = EnrollmentState.WITHDRAWN
    db.session.flush()
    record_event(db.session, actor, "enrollment.double_enrollment_decided", "enrollment", enrollment.id,
                 before=before, after=_view(enrollment), organization_id=enrollment.organization_id)
    return enrollment


# --- personal data ----------------------------------------------------------------------------

def mask_document(number: str | None) -> str:
    if not number:
        return ""
    visible = number[-3:]
    return "•" * max(len(number) - 3, 0) + visible


def mask_birth_date(day: date | None) -> str:
    return f"{day.year}" if day else ""


def sees_personal_data(user, enrollment_or_org_id) -> bool:
    """The NGO sees the data it gave; everyone else sees it masked unless they unmask it."""
    org_id = getattr(enrollment_or_org_id, "organization_id", enrollment_or_org_id)
    return user.acts_for(org_id)


def reveal_beneficiary(actor: Actor, beneficiary_id: int, reason: str) -> Beneficiary:
    """Show a beneficiary's DUI and birth date in full: only with a reason, always logged."""
    user = actor.user
    if user is None or not user.can(Permission.PERSONAL_DATA_UNMASK):
        raise Forbidden()
    if not (reason or "").strip():
        raise ValidationFailed(errors={"reason": [_l("Indique para qué necesita ver los datos completos.")]})
    beneficiary = db.session.get(Beneficiary, beneficiary_id)
    if beneficiary is None:
        raise NotFound()
    record_event(db.session, actor, "personal_data.revealed", "beneficiary", beneficiary.id,
                 after={"fields": ["document_number", "birth_date"], "reason": reason.strip()})
    return beneficiary
