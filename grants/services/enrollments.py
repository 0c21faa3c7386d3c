"""Enrollments one by one: status changes with effective dates, double-enrollment decisions,
"who was active on date D", and personal data shown in full only as a logged action."""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l
from sqlalchemy import Select, or_, select

from grants.audit import Actor, record_event
from grants.clock import today
from grants.extensions import db
from grants.labels import ENROLLMENT_STATE_LABELS
from grants.models import Beneficiary, Enrollment, EnrollmentPeriod
from grants.permissions import Permission, Role
from grants.services.errors import Conflict, Forbidden, NotFound, ValidationFailed
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
    is_ngo = Role.NGO in user.roles and user.organization_id == enrollment.organization_id
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
            since=current.valid_from.strftime("%d/%m/%Y"))]})
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
    return Role.NGO in user.roles and user.organization_id == org_id


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
