"""Collecting a fine (a sanction of an incident, once in effect). Flush, never commit.

Two ways, both in the agreement's ledger (``fines_assessed`` / ``fines_declared`` /
``fines_collected``) and in the reports:

* **By deposit** — the NGO declares it (amount, bank, reference, date, deposit slip); it counts for
  nothing until a treasury officer who did not declare it confirms it against the bank, or rejects
  it with the reason (the lifecycle of refunds, ``grants.workflows.deposit``).
* **Deducted from a later advance** — the NGO accepts it in writing (``accept_deduction``); when
  treasury disburses the agreement's next advance, what is still owed of the accepted fines is
  withheld from the transfer (``withhold_from``): the advance's ``amount`` becomes what was
  transferred, ``fine_withheld`` what was kept, and the fine is collected at once.

Nothing is collected beyond what is owed (the ledger's ``fines_within_assessed`` CHECK).
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.clock import today
from grants.extensions import db
from grants.models import Advance, FinePayment, Incident
from grants.models.base import utcnow
from grants.permissions import Permission, Role
from grants.services import attachments, ledger
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from grants.money import parse_amount
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.workflows import TransitionRefused
from grants.workflows.deposit import DepositAction, DepositState
from grants.workflows.deposit import next_state as deposit_next
from grants.money import ZERO
from grants.workflows.incident import MeasureState



def _fine(incident_id: int, user) -> Incident:
    incident = db.session.get(Incident, incident_id) if incident_id else None
    if incident is None or user is None or not incident.is_visible_to(user):
        raise NotFound()
    incident = db.session.get(Incident, incident_id, with_for_update=True, populate_existing=True)
    if incident.sanction_type != "fine" or incident.measure_status != MeasureState.IN_EFFECT:
        raise Conflict(_l("Este incumplimiento no tiene una multa en vigor."), code="no_fine_in_effect")
    return incident


def _own_ngo(actor: Actor, incident: Incident) -> None:
    user = actor.user
    if not user.acts_for(incident.organization_id):
        raise Forbidden(_l("La organización sancionada paga su multa."))


def owed(incident: Incident) -> Decimal:
    """What of the fine is neither collected nor declared and waiting for treasury."""
    counted = db.session.scalar(select(func.sum(FinePayment.amount)).where(
        FinePayment.incident_id == incident.id, FinePayment.status != DepositState.REJECTED)) or 0
    return (incident.fine_amount - Decimal(counted)).quantize(Decimal("0.01"))


def payments_of(incident: Incident) -> list[FinePayment]:
    return list(db.session.scalars(select(FinePayment).where(FinePayment.incident_id == incident.id)
                                   .order_by(FinePayment.id)))


def collected(incident: Incident) -> Decimal:
    return Decimal(db.session.scalar(select(func.sum(FinePayment.amount)).where(
        FinePayment.incident_id == incident.id, FinePayment.status == DepositState.CONFIRMED)) or 0).quantize(
        Decimal("0.01"))


def declare_fine_deposit(actor: Actor, incident_id: int, data: dict,
                         slip: tuple[str, bytes] | None = None) -> FinePayment:
    incident = _fine(incident_id, actor.user)
    _own_ngo(actor, incident)
    data = data if isinstance(data, dict) else {}
    errors = FieldErrors()
    amount = None
    try:
        amount = parse_amount(data.get("amount"))
        if amount <= 0:
            raise ValueError
    except (ValueError, TypeError):
        errors.add("amount", _l("Indique un monto mayor que cero, con dos decimales como máximo."))
    bank = " ".join(str(data.get("bank_name") or "").split())[:120]
    reference = " ".join(str(data.get("bank_reference") or "").split())
    if not bank:
        errors.add("bank_name", _l("Indique el banco del depósito."))
    if not reference or len(reference) > 60:
        errors.add("bank_reference", _l("Indique la referencia bancaria del depósito (hasta 60 caracteres)."))
    from grants.services.advances import _as_date

    day = _as_date(data.get("deposited_on"), "deposited_on", errors)
    if day is not None and day > today():
        errors.add("deposited_on", _l("La fecha del depósito no puede ser futura."))
    elif day is not None and day < incident.occurred_on:
        errors.add("deposited_on", _l("El depósito es anterior al incumplimiento que se sanciona."))
    errors.raise_if_any()
    if amount > owed(incident):
        raise Conflict(_l("La multa tiene pendientes $%(owed)s: el depósito no puede superarlo.",
                          owed=formats.grouped(owed(incident))), code="exceeds_fine")
    payment = FinePayment(incident_id=incident.id, agreement_id=incident.agreement_id,
                          organization_id=incident.organization_id, method="deposit", amount=amount, bank_name=bank,
                          bank_reference=reference, deposited_on=day, status=DepositState.DECLARED,
                          recorded_by_id=actor.user_id, recorded_at=utcnow())
    db.session.add(payment)
    db.session.flush()
    ledger.declare_fine(incident.agreement_id, amount)
    record_event(db.session, actor, "fine.deposit_declared", "incident", incident.id,
                 after={"fine_payment": snapshot(payment)}, organization_id=incident.organization_id)
    if slip is not None:
        attach_slip(actor, payment.id, *slip)
    notify(users_with_role(Role.TREASURY), "fine.declared",
           _l("Depósito de multa por confirmar: $%(amount)s (incumplimiento N.º %(id)s)", amount=formats.grouped(amount),
              id=incident.id), _l("%(bank)s, referencia %(ref)s.", bank=bank, ref=reference),
           link=f"/incidents/{incident.id}")
    return payment


def _payment(payment_id: int, user) -> tuple[FinePayment, Incident]:
    payment = db.session.get(FinePayment, payment_id) if payment_id else None
    if payment is None or user is None or not payment.is_visible_to(user):
        raise NotFound()
    incident = db.session.get(Incident, payment.incident_id, with_for_update=True)
    return db.session.get(FinePayment, payment_id, with_for_update=True, populate_existing=True), incident


def attach_slip(actor: Actor, payment_id: int, filename: str | None, data: bytes | None) -> FinePayment:
    payment, incident = _payment(payment_id, actor.user)
    _own_ngo(actor, incident)
    if payment.status != DepositState.DECLARED:
        raise Conflict(_l("El depósito ya fue decidido: su boleta no cambia."), code="invalid_transition")
    attachments.attach(actor, payment, "deposit_slip", filename, data, organization_id=payment.organization_id,
                       field="slip")
    return payment


def decide_fine_deposit(actor: Actor, payment_id: int, confirm: bool, reason: str | None = None) -> FinePayment:
    """Treasury confirms the deposit against the bank (the fine is collected) or rejects it with the reason."""
    if actor.user is None or not actor.user.can(Permission.DEPOSITS_CONFIRM):
        raise Forbidden(_l("Solo tesorería confirma o rechaza depósitos contra el banco."))
    payment, incident = _payment(payment_id, actor.user)
    try:
        new_state = deposit_next(payment.status, DepositAction.CONFIRM if confirm else DepositAction.REJECT)
    except TransitionRefused:
        raise Conflict(_l("El depósito ya fue decidido."), code="invalid_transition") from None
    if payment.recorded_by_id == actor.user_id:
        raise Conflict(_l("Quien declaró el depósito no puede decidirlo."), code="segregation_of_duties")
    text = (reason or "").strip() if isinstance(reason, (str, type(None))) else ""
    if not confirm and not text:
        raise ValidationFailed(errors={"reason": [_l("Indique el motivo del rechazo.")]})
    if confirm and not attachments.attachments_of(payment, "deposit_slip"):
        raise Conflict(_l("Falta la boleta de depósito: no se confirma sin ella."), code="slip_missing")
    before = snapshot(payment)
    ledger.decide_fine(payment.agreement_id, payment.amount, confirmed=confirm)
    payment.status, payment.decided_by_id, payment.decided_at = new_state, actor.user_id, utcnow()
    payment.rejection_reason = text or None if not confirm else None
    db.session.flush()
    record_event(db.session, actor, "fine.deposit_confirmed" if confirm else "fine.deposit_rejected", "incident",
                 incident.id, before={"fine_payment": before}, after={"fine_payment": snapshot(payment)},
                 organization_id=incident.organization_id)
    notify(users_of_organization(incident.organization_id), "fine.decided",
           _l("Depósito de multa confirmado: $%(amount)s", amount=formats.grouped(payment.amount)) if confirm else
           _l("Depósito de multa rechazado: referencia %(ref)s", ref=payment.bank_reference), text,
           link=f"/incidents/{incident.id}")
    return payment


def accept_deduction(actor: Actor, incident_id: int) -> Incident:
    """The NGO accepts in writing that what it owes of the fine is withheld from its next advance."""
    incident = _fine(incident_id, actor.user)
    _own_ngo(actor, incident)
    if incident.deduction_accepted_at is not None:
        raise Conflict(_l("La organización ya aceptó el descuento."), code="deduction_accepted")
    if owed(incident) <= 0:
        raise Conflict(_l("La multa no tiene saldo pendiente."), code="fine_paid")
    before = snapshot(incident)
    incident.deduction_accepted_at, incident.deduction_accepted_by_id = utcnow(), actor.user_id
    db.session.flush()
    record_event(db.session, actor, "fine.deduction_accepted", "incident", incident.id, before=before,
                 after=snapshot(incident), organization_id=incident.organization_id)
    notify(users_with_role(Role.TREASURY), "fine.deduction_accepted",
           _l("Multa por descontar del próximo anticipo: $%(amount)s (incumplimiento N.º %(id)s)",
              amount=formats.grouped(owed(incident)), id=incident.id), link=f"/incidents/{incident.id}")
    return incident


def withholding_for(agreement_id: int) -> list[tuple[Incident, Decimal]]:
    """Fines of the agreement whose deduction was accepted, with what is still owed of each."""
    found = db.session.scalars(select(Incident).where(
        Incident.agreement_id == agreement_id, Incident.sanction_type == "fine",
        Incident.measure_status == MeasureState.IN_EFFECT, Incident.deduction_accepted_at.is_not(None))
        .order_by(Incident.id).with_for_update()).all()
    return [(incident, owed(incident)) for incident in found if owed(incident) > 0]


def withhold_from(actor: Actor, advance: Advance) -> Decimal:
    """Withhold accepted fines from the advance about to be transferred (called by the disbursement,
    in its transaction, before the ledger moves): returns the amount withheld (the transfer is
    ``advance.amount`` afterwards). Never the whole advance: at least one cent is transferred."""
    withheld = ZERO
    for incident, due in withholding_for(advance.agreement_id):
        take = min(due, advance.amount - withheld - Decimal("0.01"))
        if take <= 0:
            break
        payment = FinePayment(incident_id=incident.id, agreement_id=incident.agreement_id,
                              organization_id=incident.organization_id, method="deduction", amount=take,
                              advance_id=advance.id, status=DepositState.CONFIRMED, recorded_by_id=actor.user_id,
                              recorded_at=utcnow(), decided_by_id=actor.user_id, decided_at=utcnow())
        db.session.add(payment)
        db.session.flush()
        ledger.collect_fine(incident.agreement_id, take)
        record_event(db.session, actor, "fine.withheld", "incident", incident.id,
                     after={"fine_payment": snapshot(payment), "advance_id": advance.id},
                     organization_id=incident.organization_id)
        withheld += take
    return withheld
