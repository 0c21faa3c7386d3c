"""Refunds (reintegros) of advances: the NGO declares, treasury confirms against the bank. Flush,
never commit.

* **Declare** — the NGO (or treasury on its behalf, when the bank told the ministry first), for a
  disbursed advance: amount, bank, reference, date and the deposit slip (an attachment, PDF/JPEG/PNG;
  through the API it may follow in a second call, but nothing is confirmed without it). The date is
  not in the future nor before the disbursement; the reference is declared once per advance. The
  amount must fit in what is still outstanding once pending receipts and other pending declarations
  are set aside (a courtesy check; the hard one is at confirmation). A declaration moves
  ``refunds_declared`` in the ledger and **nothing else** (G10).
* **Confirm** — a treasury officer who did not declare it, once the deposit is seen in the bank:
  the advance's ``refunded_amount`` and the agreement's ``refunded`` move (conditional UPDATEs; a
  declaration that no longer fits is refused ``exceeds_outstanding``); the advance may close.
* **Reject** — treasury, with the reason (deposit not found, amount differs…); the reference is
  freed so the NGO can declare again with the right data.
"""
from __future__ import annotations

from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select

from grants import formats
from grants.audit import Actor, snapshot
from grants.clock import today
from grants.extensions import db
from grants.labels import ADVANCE_STATE_LABELS
from grants.models import Advance, Refund
from grants.models.base import utcnow
from grants.permissions import Permission, Role
from grants.services import attachments, ledger
from grants.services.advance_common import (
    add_to_advance,
    audit_view,
    event,
    exceeds_outstanding,
    load_advance,
    maybe_close,
    movement,
    pending_receipts,
)
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from grants.money import parse_amount
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.workflows import TransitionRefused
from grants.workflows.advance import AdvanceState
from grants.workflows.deposit import DepositAction, DepositState
from grants.workflows.deposit import next_state as deposit_next

MAX_REASON = 2000
DEPOSIT_STATE_LABELS = {
    "declared": _l("Declarado, por confirmar"),
    "confirmed": _l("Confirmado por tesorería"),
    "rejected": _l("Rechazado"),
}


def _declarer(actor: Actor, advance: Advance) -> None:
    user = actor.user
    if user is None or not user.can(Permission.REFUNDS_RECORD):
        raise Forbidden(_l("Solo la organización (o tesorería en su nombre) declara reintegros."))
    if not advance.is_visible_to(user):
        raise NotFound()


def _confirmer(actor: Actor) -> None:
    if actor.user is None or not actor.user.can(Permission.DEPOSITS_CONFIRM):
        raise Forbidden(_l("Solo tesorería confirma o rechaza depósitos contra el banco."))


def _text(value, field: str, limit: int, errors: FieldErrors, message) -> str:
    text = " ".join(str(value or "").split()) if isinstance(value, (str, type(None))) else ""
    if not text:
        errors.add(field, message)
    elif len(text) > limit:
        errors.add(field, _l("Máximo %(n)s caracteres.", n=limit))
    return text


def pending_declarations(advance_id: int) -> Decimal:
    return Decimal(db.session.scalar(select(func.sum(Refund.amount)).where(
        Refund.advance_id == advance_id, Refund.status == DepositState.DECLARED)) or 0).quantize(Decimal("0.01"))


def declare_refund(actor: Actor, advance_id: int, data: dict, slip: tuple[str, bytes] | None = None) -> Refund:
    """The NGO declares a refund of a disbursed advance (``slip`` = (file name, bytes), optional here)."""
    advance = load_advance(advance_id)
    _declarer(actor, advance)
    data = data if isinstance(data, dict) else {}
    errors = FieldErrors()
    amount = None
    try:
        raw = data.get("amount")
        if raw is None or (isinstance(raw, str) and not raw.strip()):
            raise ValueError("missing")
        amount = parse_amount(raw)
        if amount <= 0:
            raise ValueError("not positive")
    except (ValueError, TypeError):
        errors.add("amount", _l("Indique un monto mayor que cero, con dos decimales como máximo."))
    bank = _text(data.get("bank_name"), "bank_name", 120, errors, _l("Indique el banco del depósito."))
    reference = _text(data.get("bank_reference"), "bank_reference", 60, errors,
                      _l("Indique la referencia bancaria del depósito."))
    from grants.services.advances import _as_date  # one date parser for the advance's forms

    day = _as_date(data.get("refunded_on"), "refunded_on", errors)
    if day is not None and day > today():
        errors.add("refunded_on", _l("La fecha del depósito no puede ser futura."))
    elif day is not None and advance.transfer_date is not None and day < advance.transfer_date:
        errors.add("refunded_on", _l("La fecha del depósito es anterior al desembolso (%(day)s).",
                                     day=formats.day(advance.transfer_date)))
    if reference and db.session.scalar(select(Refund.id).where(
            Refund.advance_id == advance.id, Refund.bank_reference == reference,
            Refund.status != DepositState.REJECTED)):
        errors.add("bank_reference", _l("Ya se declaró un reintegro con esta referencia bancaria."))
    errors.raise_if_any()
    if advance.status == AdvanceState.LIQUIDATED:
        raise Conflict(_l("El anticipo ya está liquidado: no queda saldo por reintegrar."), code="advance_liquidated")
    if advance.status != AdvanceState.DISBURSED:
        raise Conflict(_l("El anticipo está «%(state)s»: solo se reintegra lo desembolsado.",
                          state=ADVANCE_STATE_LABELS[advance.status]), code="advance_not_disbursed")
    room = advance.outstanding - pending_receipts(advance.id) - pending_declarations(advance.id)
    if amount > room:
        raise Conflict(_l("El reintegro supera lo que queda por liquidar: pendiente $%(outstanding)s, de los que "
                          "$%(pending)s esperan decisión (comprobantes o reintegros declarados).",
                          outstanding=formats.grouped(advance.outstanding), pending=formats.grouped(advance.outstanding - room)),
                       code="exceeds_outstanding")
    refund = Refund(advance_id=advance.id, agreement_id=advance.agreement_id, amount=amount, bank_name=bank,
                    bank_reference=reference, refunded_on=day, status=DepositState.DECLARED,
                    recorded_by_id=actor.user_id, recorded_at=utcnow())
    db.session.add(refund)
    db.session.flush()
    ledger.declare_refund(advance.agreement_id, amount)
    event(actor, "advance.refund_declared", advance, None, {"refund": snapshot(refund)})
    if slip is not None:
        attach_slip(actor, refund.id, *slip)
    notify(users_with_role(Role.TREASURY), "refund.declared",
           _l("Reintegro por confirmar: $%(amount)s, desembolso %(n)s", amount=formats.grouped(amount), n=advance.tranche_number),
           _l("%(bank)s, referencia %(ref)s del %(day)s. Confírmelo contra el banco o recházelo con el motivo.",
              bank=bank, ref=reference, day=formats.day(day)), link=f"/advances/{advance.id}")
    return refund


def _load(refund_id: int, user) -> tuple[Refund, Advance]:
    peek = db.session.get(Refund, refund_id) if refund_id else None
    if peek is None or user is None or not peek.is_visible_to(user):
        raise NotFound()
    advance = load_advance(peek.advance_id)
    return db.session.get(Refund, refund_id, with_for_update=True, populate_existing=True), advance


def attach_slip(actor: Actor, refund_id: int, filename: str | None, data: bytes | None) -> Refund:
    """The deposit slip of a declared refund (PDF, JPEG or PNG by content)."""
    refund, advance = _load(refund_id, actor.user)
    _declarer(actor, advance)
    if refund.status != DepositState.DECLARED:
        raise Conflict(_l("El reintegro ya fue decidido: su boleta no cambia."), code="invalid_transition")
    attachments.attach(actor, refund, "deposit_slip", filename, data, organization_id=advance.organization_id,
                       field="slip")
    return refund


def _decide(actor: Actor, refund_id: int, action: DepositAction) -> tuple[Refund, Advance, DepositState]:
    _confirmer(actor)
    refund, advance = _load(refund_id, actor.user)
    try:
        new_state = deposit_next(refund.status, action)
    except TransitionRefused:
        raise Conflict(_l("El reintegro está «%(state)s»: ya fue decidido.",
                          state=DEPOSIT_STATE_LABELS[refund.status]), code="invalid_transition") from None
    if refund.recorded_by_id == actor.user_id:
        raise Conflict(_l("Quien declaró el reintegro no puede confirmarlo ni rechazarlo (segregación de funciones)."),
                       code="segregation_of_duties")
    return refund, advance, new_state


def _record_decision(actor: Actor, refund: Refund, new_state: DepositState) -> None:
    refund.status, refund.decided_by_id, refund.decided_at = new_state, actor.user_id, utcnow()


def confirm_refund(actor: Actor, refund_id: int) -> Refund:
    """Treasury saw the deposit in the bank: the refund now counts toward the advance's liquidation."""
    refund, advance, new_state = _decide(actor, refund_id, DepositAction.CONFIRM)
    if not attachments.attachments_of(refund, "deposit_slip"):
        raise Conflict(_l("Falta la boleta de depósito: no se confirma un reintegro sin ella."), code="slip_missing")
    before = {**audit_view(advance), "refund": snapshot(refund)}
    with movement(advance):
        if not add_to_advance(advance, refunded=refund.amount):
            raise exceeds_outstanding(advance, refund.amount)
        ledger.decide_refund(advance.agreement_id, refund.amount, confirmed=True)
    _record_decision(actor, refund, new_state)
    event(actor, "advance.refund_confirmed", advance, before, {"refund": snapshot(refund)})
    maybe_close(actor, advance)
    notify(users_of_organization(advance.organization_id), "refund.confirmed",
           _l("Reintegro confirmado: $%(amount)s (referencia %(ref)s)", amount=formats.grouped(refund.amount),
              ref=refund.bank_reference),
           _l("Saldo pendiente del anticipo: $%(outstanding)s.", outstanding=formats.grouped(advance.outstanding)),
           link=f"/advances/{advance.id}")
    return refund


def reject_refund(actor: Actor, refund_id: int, reason: str | None) -> Refund:
    """Treasury did not find the deposit as declared: the refund counts for nothing, with the reason."""
    reason = (reason or "").strip() if isinstance(reason, (str, type(None))) else ""
    if not reason:
        raise ValidationFailed(errors={"reason": [_l("Indique el motivo del rechazo.")]})
    if len(reason) > MAX_REASON:
        raise ValidationFailed(errors={"reason": [_l("Máximo %(n)s caracteres.", n=MAX_REASON)]})
    refund, advance, new_state = _decide(actor, refund_id, DepositAction.REJECT)
    before = {**audit_view(advance), "refund": snapshot(refund)}
    ledger.decide_refund(advance.agreement_id, refund.amount, confirmed=False)
    _record_decision(actor, refund, new_state)
    refund.rejection_reason = reason
    event(actor, "advance.refund_rejected", advance, before, {"refund": snapshot(refund)})
    notify(users_of_organization(advance.organization_id), "refund.rejected",
           _l("Reintegro rechazado por tesorería: referencia %(ref)s", ref=refund.bank_reference),
           _l("Motivo: %(reason)s", reason=reason), link=f"/advances/{advance.id}")
    return refund
