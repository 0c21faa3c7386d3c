"""Advances (anticipos) per tranche of the financial programming. Flush, never commit.
Refunds are in ``grants.services.refunds``.

Lifecycle (``grants.workflows.advance``): the NGO requests → a financial reviewer approves (the
amount is reserved under the agreement's ceiling) or rejects → treasury prepares the
disbursement → **another** treasury officer disburses it (bank reference) → liquidated when
accepted receipts plus **confirmed** refunds equal the amount (``maybe_close``).

Decisions documented here:

* amount = the whole tranche, or part of it: the rest stays available to a later request of the
  same tranche. The tranche's row lock serializes requests, so the live advances of a tranche
  never add up to more than the tranche.
* Receipts are dated in ``[period_start, period_end]`` (``period_of``): planned when requested
  (the tranche's planned date, not before the term, to the day before the next tranche's planned
  date, or the term's end); **from the transfer date** once disbursed (a transfer after the planned
  end gets the period's planned length from the transfer, never past the term); ``liquidation_due`` = the period's end +
  ``ADVANCE_LIQUIDATION_DAYS``. A receipt dated before the transfer is refused unless the agreement
  allows pre-financing (``prefinancing_days``), and then by at most that many days.
* Tranches are requested in order: an earlier tranche without a live (not rejected) advance
  refuses the request (``earlier_tranche_first``).
* The liquidation gate (``liquidation_gate``): every earlier advance (of an earlier tranche, or of
  the same tranche and requested before) must be disbursed and accounted for (accepted receipts +
  confirmed refunds) to at least the agreement's ``liquidation_threshold`` percent. Checked at
  request, approval and disbursement.
* New money (request, approval, preparation, disbursement) needs the agreement **in execution**,
  read under ``FOR SHARE``; suspend/terminate take ``FOR UPDATE``, so a suspension blocks them at
  once.
* Segregation of duties (G4): the reviewer is not an NGO user nor of the organization; the
  disburser is not the preparer (service check, and the ``disburser_not_preparer`` CHECK).
* Every money movement goes through ``grants.services.ledger``; the advance's own running totals
  (``liquidated_amount``, ``refunded_amount``) move with conditional UPDATEs, backed by the
  ``within_amount`` and ``liquidated_is_whole`` CHECKs (G3).
"""
from __future__ import annotations

from datetime import date, timedelta
from decimal import ROUND_FLOOR, Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants import formats
from grants.clock import local_day, today
from grants.audit import Actor
from grants.extensions import db
from grants.labels import ADVANCE_STATE_LABELS
from grants.models import Advance, Agreement, PlanTranche
from grants.models.base import utcnow
from grants.permissions import Permission, Role
from grants.services import fines, ledger
from grants.services.advance_common import (
    agreement_for_money,
    audit_view,
    event,
    load_advance,
    ministry_reviewer,
    own_organization,
    treasury,
)
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from grants.money import parse_amount
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.services.payment_batches import refuse_if_in_issued_batch
from grants.workflows.advance import TRANSFERRED_STATES, AdvanceAction, AdvanceState
from grants.workflows.advance import next_state as advance_next_state

S = AdvanceState
MAX_PURPOSE = 5000
MAX_REASON = 5000


def _transition(advance: Advance, action: AdvanceAction) -> AdvanceState:
    try:
        return advance_next_state(advance.status, action)
    except Exception:
        raise Conflict(_l("El anticipo está «%(state)s»: no admite esta acción.",
                          state=ADVANCE_STATE_LABELS.get(advance.status, advance.status)),
                       code="invalid_transition") from None


# --- the tranche, its period and the liquidation gate --------------------------------------------

def _tranches(agreement: Agreement) -> list:
    return sorted(agreement.plan_version.tranches, key=lambda t: t.number)


def planned_period(agreement: Agreement, tranche) -> tuple[date, date]:
    """The tranche's planned receipt period: from its planned date (not before the term) to the day
    before the next tranche's planned date (the term's end for the last one)."""
    tranches = _tranches(agreement)
    later = [t for t in tranches if t.number > tranche.number]
    start = max(tranche.planned_date, agreement.start_date)
    end = (later[0].planned_date - timedelta(days=1)) if later else agreement.end_date
    return start, max(start, min(end, agreement.end_date))


def period_of(agreement: Agreement, tranche, disbursed_on: date | None = None) -> tuple[date, date, date]:
    """(period_start, period_end, liquidation_due) of an advance of ``tranche``.

    Before the money leaves, the planned period. Once disbursed, the period **starts on the transfer
    date** (or the planned start, if later): nothing spent before the money arrived is paid with it
    (unless the agreement allows pre-financing). It keeps its planned end, unless the transfer came
    after it: then it runs its planned length from the transfer, never past the term. The statement
    is due ``ADVANCE_LIQUIDATION_DAYS`` after that real end."""
    start, end = planned_period(agreement, tranche)
    if disbursed_on is not None and disbursed_on > start:
        length = end - start
        start = min(disbursed_on, agreement.end_date)
        if start > end:  # the money came after the planned period: it gets the planned length from now
            end = min(start + length, agreement.end_date)
    days = int(current_app.config.get("ADVANCE_LIQUIDATION_DAYS", 30))
    return start, end, end + timedelta(days=days)


def _live_advances(agreement_id: int) -> list[Advance]:
    return db.session.scalars(select(Advance).where(
        Advance.agreement_id == agreement_id, Advance.status != S.REJECTED)
        .order_by(Advance.id).execution_options(populate_existing=True)).all()


def tranche_room(agreement_id: int, tranche) -> Decimal:
    """What of the tranche no live advance has taken yet."""
    taken = sum((a.amount + a.fine_withheld for a in _live_advances(agreement_id) if a.tranche_id == tranche.id),
                Decimal("0.00"))
    return tranche.amount - taken


def check_gate(agreement: Agreement, tranche_number: int, advance_id: int | None = None) -> None:
    """Every earlier tranche has a live advance, and every advance before this one (of an earlier
    tranche, or of this tranche and requested first) is disbursed and accounted for to the threshold."""
    live = _live_advances(agreement.id)
    threshold = agreement.liquidation_threshold
    tranches_with_advance = {a.tranche_number for a in live}
    for tranche in _tranches(agreement):
        if tranche.number >= tranche_number:
            break
        if tranche.number not in tranches_with_advance:
            raise Conflict(_l("Solicite primero el anticipo del desembolso %(n)s: los desembolsos se solicitan "
                              "en el orden de la programación financiera.", n=tranche.number),
                           code="earlier_tranche_first")
    earlier = [a for a in live if a.tranche_number < tranche_number
               or (a.tranche_number == tranche_number and advance_id is not None and a.id < advance_id)
               or (a.tranche_number == tranche_number and advance_id is None)]
    for previous in earlier:
        if previous.status not in TRANSFERRED_STATES:
            raise Conflict(_l("El anticipo n.º %(id)s (desembolso %(n)s) aún no se ha desembolsado: el convenio exige "
                              "liquidarlo al %(threshold)s %% antes del siguiente anticipo.",
                              id=previous.id, n=previous.tranche_number, threshold=threshold), code="liquidation_gate")
        accounted = (previous.liquidated_amount + previous.refunded_amount) * 100
        if accounted < threshold * previous.amount:  # exact: 74.9999 % is not 75 %
            share = (accounted / previous.amount).quantize(Decimal("0.01"), rounding=ROUND_FLOOR)
            raise Conflict(_l("El anticipo del desembolso %(n)s (n.º %(id)s) está liquidado en un %(share)s %%; el "
                              "convenio exige al menos el %(threshold)s %% antes del siguiente anticipo.",
                              n=previous.tranche_number, id=previous.id, share=share, threshold=threshold),
                           code="liquidation_gate")


# --- request, approve, reject ---------------------------------------------------------------------

def request_advance(actor: Actor, agreement_id: int, data: dict) -> Advance:
    """The NGO requests an advance of one tranche of its agreement (in execution): the whole tranche,
    or ``amount`` of it (the rest stays available to a later request of the same tranche)."""
    agreement = db.session.get(Agreement, agreement_id) if agreement_id else None
    if agreement is None:
        raise NotFound()
    own_organization(actor, agreement.organization_id, Permission.ADVANCES_REQUEST,
                     _l("Solo la organización titular del convenio solicita sus anticipos."))
    agreement = agreement_for_money(agreement_id)
    errors = FieldErrors()
    raw_number = data.get("tranche_number")
    tranche = None
    if isinstance(raw_number, bool) or not isinstance(raw_number, int):
        errors.add("tranche_number", _l("Indique el número del desembolso de la programación financiera."))
    else:
        tranche = next((t for t in _tranches(agreement) if t.number == raw_number), None)
        if tranche is None:
            errors.add("tranche_number", _l("El plan del convenio no tiene el desembolso %(n)s.", n=raw_number))
    purpose = " ".join(str(data.get("purpose") or "").split())
    if len(purpose) > MAX_PURPOSE:
        errors.add("purpose", _l("Máximo %(n)s caracteres.", n=MAX_PURPOSE))
    errors.raise_if_any()
    # The tranche's row lock serializes requests for it: two can never together take more than it has.
    db.session.get(PlanTranche, tranche.id, with_for_update=True, populate_existing=True)
    room = tranche_room(agreement.id, tranche)
    if room <= 0:
        raise Conflict(_l("El desembolso %(n)s ya fue solicitado por completo ($%(amount)s).", n=tranche.number,
                          amount=formats.grouped(tranche.amount)), code="advance_exists")
    amount = room
    if data.get("amount") not in (None, ""):
        try:
            amount = parse_amount(data["amount"])
            if amount <= 0:
                raise ValueError
        except (ValueError, TypeError):
            raise ValidationFailed(errors={"amount": [_l(
                "Indique un monto mayor que cero, con dos decimales como máximo.")]}) from None
        if amount > room:
            raise ValidationFailed(errors={"amount": [_l(
                "El desembolso %(n)s tiene disponibles $%(room)s de $%(total)s.", n=tranche.number, room=formats.grouped(room),
                total=formats.grouped(tranche.amount))]})
    check_gate(agreement, tranche.number)
    start, end, due = period_of(agreement, tranche)
    advance = Advance(agreement_id=agreement.id, organization_id=agreement.organization_id, tranche_id=tranche.id,
                      tranche_number=tranche.number, amount=amount, status=S.REQUESTED,
                      period_start=start, period_end=end, liquidation_due=due, purpose=purpose,
                      requested_by_id=actor.user_id)
    db.session.add(advance)
    db.session.flush()
    event(actor, "advance.requested", advance, None)
    notify(users_with_role(Role.FINANCIAL_REVIEWER), "advance.requested",
           _l("Anticipo por aprobar: convenio %(number)s, desembolso %(n)s", number=agreement.number, n=tranche.number),
           _l("%(org)s solicita $%(amount)s.", org=agreement.organization.legal_name, amount=formats.grouped(advance.amount)),
           link=f"/advances/{advance.id}")
    return advance


def _refuse(actor: Actor, advance: Advance, action: AdvanceAction) -> None:
    """The advance's own rule (``Advance.refusal_for``, which the page's buttons follow too), as the
    refusal people read. The role was checked before the advance was locked."""
    code = advance.refusal_for(actor.user, action)
    if code is None:
        return
    if code in ("forbidden", "own_organization"):
        raise Forbidden(_l("Un usuario de la organización no decide sobre sus propios anticipos ni liquidaciones.")
                        if code == "own_organization" else None)
    state = ADVANCE_STATE_LABELS[advance.status]
    raise Conflict({
        "invalid_transition": {
            AdvanceAction.APPROVE: _l("El anticipo está «%(state)s»: solo se decide sobre un anticipo solicitado.",
                                      state=state),
            AdvanceAction.REJECT: _l("El anticipo está «%(state)s»: solo se decide sobre un anticipo solicitado.",
                                     state=state),
            AdvanceAction.PREPARE: _l("El anticipo está «%(state)s»: solo se prepara el desembolso de un anticipo "
                                      "aprobado.", state=state),
            AdvanceAction.DISBURSE: _l("El anticipo está «%(state)s»: solo se desembolsa un anticipo con el "
                                       "desembolso preparado.", state=state)}[action],
        "segregation_of_duties": _l("Quien preparó el desembolso no puede ejecutarlo (segregación de funciones)."),
    }[code], code=code)


def approve_advance(actor: Actor, advance_id: int) -> Advance:
    """A financial reviewer approves: the gate again, and the amount reserved under the ceiling."""
    peek = load_advance(advance_id, lock=False)
    ministry_reviewer(actor, peek.organization_id, Permission.ADVANCES_APPROVE,
                      _l("Solo la revisión financiera aprueba anticipos."))
    agreement = agreement_for_money(peek.agreement_id)
    advance = load_advance(advance_id)
    _refuse(actor, advance, AdvanceAction.APPROVE)
    check_gate(agreement, advance.tranche_number, advance.id)
    before = audit_view(advance)
    ledger.reserve(agreement.id, advance.amount)  # refused with "agreement_ceiling"
    advance.status = _transition(advance, AdvanceAction.APPROVE)
    advance.reviewed_by_id = actor.user_id
    advance.reviewed_at = utcnow()
    db.session.flush()
    event(actor, "advance.approved", advance, before)
    notify(users_of_organization(advance.organization_id) + users_with_role(Role.TREASURY), "advance.approved",
           _l("Anticipo aprobado: convenio %(number)s, desembolso %(n)s", number=agreement.number,
              n=advance.tranche_number),
           _l("$%(amount)s por desembolsar.", amount=formats.grouped(advance.amount)), link=f"/advances/{advance.id}")
    return advance


def reject_advance(actor: Actor, advance_id: int, reason: str | None) -> Advance:
    peek = load_advance(advance_id, lock=False)
    ministry_reviewer(actor, peek.organization_id, Permission.ADVANCES_APPROVE,
                      _l("Solo la revisión financiera rechaza anticipos."))
    reason = (reason or "").strip()
    if not reason:
        raise ValidationFailed(errors={"reason": [_l("El rechazo necesita un motivo.")]})
    if len(reason) > MAX_REASON:
        raise ValidationFailed(errors={"reason": [_l("Máximo %(n)s caracteres.", n=MAX_REASON)]})
    advance = load_advance(advance_id)
    _refuse(actor, advance, AdvanceAction.REJECT)
    before = audit_view(advance)
    advance.status = _transition(advance, AdvanceAction.REJECT)
    advance.rejection_reason = reason
    advance.reviewed_by_id = actor.user_id
    advance.reviewed_at = utcnow()
    db.session.flush()
    event(actor, "advance.rejected", advance, before)
    notify(users_of_organization(advance.organization_id), "advance.rejected",
           _l("Anticipo rechazado: desembolso %(n)s", n=advance.tranche_number),
           _l("Motivo: %(reason)s", reason=reason), link=f"/advances/{advance.id}")
    return advance


# --- prepare and disburse -------------------------------------------------------------------------

def prepare_disbursement(actor: Actor, advance_id: int) -> Advance:
    """Treasury prepares the transfer of an approved advance; another officer will disburse it."""
    treasury(actor)
    peek = load_advance(advance_id, lock=False)
    agreement_for_money(peek.agreement_id)
    advance = load_advance(advance_id)
    _refuse(actor, advance, AdvanceAction.PREPARE)
    before = audit_view(advance)
    advance.status = _transition(advance, AdvanceAction.PREPARE)
    advance.prepared_by_id = actor.user_id
    advance.prepared_at = utcnow()
    db.session.flush()
    event(actor, "advance.disbursement_prepared", advance, before)
    others = [u for u in users_with_role(Role.TREASURY) if u.id != actor.user_id]
    notify(others, "advance.prepared", _l("Desembolso de anticipo por ejecutar: desembolso %(n)s",
                                          n=advance.tranche_number),
           _l("$%(amount)s; otra persona de tesorería debe ejecutarlo.", amount=formats.grouped(advance.amount)),
           link=f"/advances/{advance.id}")
    return advance


def _as_date(value, field: str, errors: FieldErrors) -> date | None:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value or "").strip())
    except ValueError:
        errors.add(field, _l("Indique una fecha válida (AAAA-MM-DD)."))
        return None


def _bank_reference(value, errors: FieldErrors) -> str:
    reference = " ".join(str(value or "").split())
    if not reference:
        errors.add("bank_reference", _l("Indique la referencia bancaria de la transferencia."))
    elif len(reference) > 60:
        errors.add("bank_reference", _l("Máximo %(n)s caracteres.", n=60))
    return reference


def disburse_advance(actor: Actor, advance_id: int, bank_reference: str, transfer_date, *,
                     by_bank_statement: bool = False) -> Advance:
    """A treasury officer other than the preparer records the transfer; the ledger moves the money.
    An advance sent to the bank in an issued payment batch is disbursed only from the bank's statement
    (``by_bank_statement=True``: a statement line matched it, grants.services.bank_matching), never by
    hand; the other rules are the same either way."""
    treasury(actor)
    errors = FieldErrors()
    reference = _bank_reference(bank_reference, errors)
    day = _as_date(transfer_date, "transfer_date", errors)
    if day is not None and day > today():
        errors.add("transfer_date", _l("La fecha de la transferencia no puede ser futura."))
    errors.raise_if_any()
    peek = load_advance(advance_id, lock=False)
    agreement = agreement_for_money(peek.agreement_id)
    advance = load_advance(advance_id)
    _refuse(actor, advance, AdvanceAction.DISBURSE)
    if not by_bank_statement:
        refuse_if_in_issued_batch("advance", advance.id)  # the bank statement disburses it
    check_gate(agreement, advance.tranche_number, advance.id)
    if day < local_day(advance.prepared_at):
        raise ValidationFailed(errors={"transfer_date": [_l(
            "La transferencia no puede ser anterior a la preparación del desembolso (%(day)s).",
            day=formats.day(advance.prepared_at))]})
    before = audit_view(advance)
    # Fines the NGO accepted to have deducted are kept from this transfer (grants.services.fines).
    withheld = fines.withhold_from(actor, advance)
    if withheld:
        ledger.release(agreement.id, withheld)
        advance.amount, advance.fine_withheld = advance.amount - withheld, advance.fine_withheld + withheld
    ledger.record_advance(agreement.id, advance.amount)
    advance.status = _transition(advance, AdvanceAction.DISBURSE)
    advance.disbursed_by_id = actor.user_id
    advance.disbursed_at = utcnow()
    advance.bank_reference = reference
    advance.transfer_date = day
    advance.period_start, advance.period_end, advance.liquidation_due = period_of(agreement, advance.tranche, day)
    db.session.flush()
    event(actor, "advance.disbursed", advance, before)
    notify(users_of_organization(advance.organization_id), "advance.disbursed",
           _l("Anticipo desembolsado: convenio %(number)s, desembolso %(n)s", number=agreement.number,
              n=advance.tranche_number),
           _l("$%(amount)s transferidos (referencia %(ref)s). Liquídelo a más tardar el %(due)s.",
              amount=formats.grouped(advance.amount), ref=reference, due=formats.day(advance.liquidation_due)),
           link=f"/advances/{advance.id}")
    return advance
