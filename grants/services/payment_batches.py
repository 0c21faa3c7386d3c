"""Payment batches (lotes de pago) and their ISO 20022 pain.001.001.09 files. Flush, never commit.

* :func:`create_batch` — treasury groups authorized payments and prepared advances for one of the
  ministry's accounts (``TREASURY_ACCOUNTS``) and an execution date. The chosen payments and
  advances are locked FOR UPDATE in id order (payments first), so two officers building batches at
  once queue on the same rows and the second sees the first's batch; the partial UNIQUE indexes on
  the live items are the last line. The creditor (the validated supplier version the payment goes
  to, or the NGO) is copied into each item.
* :func:`issue_batch` — the first download: the file is built, validated against the XSD, its bytes
  and SHA-256 stored (audited) and the batch is issued; it never changes again. Later downloads
  (:func:`batch_file`) return the stored bytes.
* :func:`cancel_batch` — with a reason (an issued one: the bank did not take it); its items are
  freed (``live`` false) for another batch.
* :func:`issued_batch_holding` — the guard of the manual operations: a payment or advance in an
  issued live batch is executed by the bank statement, not by hand (``payments.execute_payment``,
  ``payments.cancel_payment``, ``advances.disburse_advance`` refuse it).
"""
from __future__ import annotations

import hashlib
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from grants.audit import Actor, record_event, snapshot
from grants.clock import today
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from grants.extensions import db
from grants.labels import ADVANCE_STATE_LABELS, PAYMENT_BATCH_STATE_LABELS, PAYMENT_STATE_LABELS
from grants.models import Advance, Agreement, Invoice, Organization, Payment, PaymentBatch, PaymentBatchItem, Supplier
from grants.models.base import utcnow
from grants.models.payment_batch import batch_number
from grants.permissions import Permission, Role
from grants.reports import pain001
from grants.services.bank_ids import end_to_end_id
from grants.workflows import TransitionRefused
from grants.workflows.advance import TRANSFERRED_STATES, AdvanceAction, AdvanceState
from grants.workflows.agreement import AgreementState
from grants.workflows.payment import PaymentState
from grants.workflows.payment_batch import PaymentBatchAction, PaymentBatchItemKind, PaymentBatchState, next_state
from grants.workflows.supplier import SupplierState

MAX_ITEMS = 500
REASON_LIMIT = 2000
CONTENT_TYPE = "application/xml"
K = PaymentBatchItemKind

__all__ = ["accounts", "account", "create_batch", "issue_batch", "batch_file", "cancel_batch", "load_batch",
           "items_by_end_to_end_id", "refuse_if_in_issued_batch",
           "issued_batch_holding", "candidates", "audit_view", "file_name", "CONTENT_TYPE"]


# --- the ministry's accounts -------------------------------------------------------------------

def accounts() -> list[dict]:
    """The debtor accounts treasury may pay from (``TREASURY_ACCOUNTS``)."""
    return list(current_app.config.get("TREASURY_ACCOUNTS") or [])


def account(account_id) -> dict | None:
    return next((a for a in accounts() if a["id"] == account_id), None)


# --- shared ----------------------------------------------------------------------------------

def may_see_batches(user) -> bool:
    return user is not None and (user.can(Permission.PAYMENTS_EXECUTE) or user.has_role(Role.AUDITOR))


def _treasury(actor: Actor, advances: bool = False) -> None:
    user = actor.user
    if user is None or not user.can(Permission.PAYMENTS_EXECUTE) or (
            advances and not user.can(Permission.ADVANCES_DISBURSE)):
        raise Forbidden(_l("Solo tesorería arma, descarga y anula lotes de pago."))


def audit_view(batch: PaymentBatch) -> dict:
    data = snapshot(batch)
    data["items"] = [snapshot(item) for item in batch.items]
    return data


def load_batch(actor: Actor, batch_id, lock: bool = False) -> PaymentBatch:
    """The batch (FOR UPDATE with ``lock``); only treasury and internal audit see batches."""
    if not may_see_batches(actor.user):
        raise NotFound()
    batch = (db.session.get(PaymentBatch, batch_id, with_for_update=True if lock else None,
                            populate_existing=lock) if isinstance(batch_id, int) and batch_id > 0 else None)
    if batch is None:
        raise NotFound()
    return batch


def _next(batch: PaymentBatch, action: PaymentBatchAction) -> PaymentBatchState:
    try:
        return next_state(batch.status, action)
    except TransitionRefused:
        raise Conflict(_l("El lote está «%(state)s» y no admite esta acción.",
                          state=PAYMENT_BATCH_STATE_LABELS[batch.status]), code="invalid_transition") from None


def file_name(batch: PaymentBatch) -> str:
    return f"{batch.number}.pain001.xml"


def issued_batch_holding(kind: str, record_id: int) -> PaymentBatch | None:
    """The issued live batch that holds this payment (``kind="payment"``) or advance, or None."""
    column = PaymentBatchItem.payment_id if kind == K.PAYMENT else PaymentBatchItem.advance_id
    return db.session.scalar(select(PaymentBatch).join(PaymentBatchItem).where(
        column == record_id, PaymentBatchItem.live.is_(True), PaymentBatch.status == PaymentBatchState.ISSUED))


def refuse_if_in_issued_batch(kind: str, record_id: int) -> None:
    """The manual operations' guard: the bank statement executes what an issued batch sent."""
    batch = issued_batch_holding(kind, record_id)
    if batch is not None:
        raise Conflict(_l("Está en el lote de pago %(number)s, ya enviado al banco: el estado de cuenta del banco lo "
                          "ejecutará. Si el banco no tomó el archivo, anule primero el lote.", number=batch.number),
                       code="in_issued_batch")


# --- what may go in a batch ------------------------------------------------------------------

def _live_item_ids() -> tuple[set[int], set[int]]:
    rows = db.session.execute(select(PaymentBatchItem.payment_id, PaymentBatchItem.advance_id)
                              .where(PaymentBatchItem.live.is_(True))).all()
    return {p for p, _ in rows if p}, {a for _, a in rows if a}


def candidates() -> tuple[list[Payment], list[Advance]]:
    """Authorized payments and prepared advances on agreements in execution, not in a live batch
    (what the new-batch form offers), oldest first."""
    in_payments, in_advances = _live_item_ids()
    payments = [p for p in db.session.scalars(
        select(Payment).join(Agreement, Agreement.id == Payment.agreement_id)
        .where(Payment.status == PaymentState.AUTHORIZED, Agreement.status == AgreementState.IN_EXECUTION)
        .order_by(Payment.id)) if p.id not in in_payments]
    advances = [a for a in db.session.scalars(
        select(Advance).join(Agreement, Agreement.id == Advance.agreement_id)
        .where(Advance.status == AdvanceState.PREPARED, Agreement.status == AgreementState.IN_EXECUTION)
        .order_by(Advance.id)) if a.id not in in_advances]
    return payments, advances


def _ids(value, field: str, errors: FieldErrors) -> list[int]:
    if value in (None, ""):
        return []
    values = value if isinstance(value, (list, tuple)) else [value]
    try:
        ids = [int(v) for v in values if not isinstance(v, bool) and str(v).strip().isdigit()]
    except (TypeError, ValueError):
        ids = []
    if len(ids) != len(values) or any(i <= 0 or i > 2**31 - 1 for i in ids):
        errors.add(field, _l("Lista de identificadores no válida."))
        return []
    if len(set(ids)) != len(ids):
        errors.add(field, _l("Un mismo elemento está elegido dos veces."))
    return sorted(set(ids))


def _execution_date(value, errors: FieldErrors) -> date | None:
    day = None
    if isinstance(value, date):
        day = value
    elif isinstance(value, str):
        try:
            day = date.fromisoformat(value.strip())
        except ValueError:
            pass
    if day is None:
        errors.add("execution_date", _l("Indique la fecha de ejecución (AAAA-MM-DD)."))
    elif day < today():
        errors.add("execution_date", _l("La fecha de ejecución no puede ser pasada."))
    elif (day - today()).days > 90:
        errors.add("execution_date", _l("La fecha de ejecución no puede pasar de %(n)s días desde hoy.", n=90))
    return day


def _payment_item(payment: Payment) -> PaymentBatchItem:
    if payment.status != PaymentState.AUTHORIZED:
        raise Conflict(_l("El pago N.º %(id)s está «%(state)s»: solo van al banco pagos autorizados.", id=payment.id,
                          state=PAYMENT_STATE_LABELS[payment.status]), code="payment_not_authorized")
    agreement = db.session.get(Agreement, payment.agreement_id)
    supplier = db.session.get(Supplier, payment.supplier_id, with_for_update={"read": True}, populate_existing=True)
    if agreement.status != AgreementState.IN_EXECUTION:
        raise Conflict(_l("El convenio %(number)s del pago N.º %(id)s no está en ejecución.", number=agreement.number,
                          id=payment.id), code="agreement_not_in_execution")
    if supplier.status != SupplierState.VALIDATED:
        raise Conflict(_l("El proveedor %(name)s del pago N.º %(id)s ya no está validado: cancele el pago y prepare "
                          "otro.", name=supplier.legal_name, id=payment.id), code="supplier_not_validated")
    invoice = db.session.get(Invoice, payment.invoice_id)
    return PaymentBatchItem(
        kind=K.PAYMENT, payment_id=payment.id, amount=payment.amount,
        end_to_end_id=end_to_end_id("payment", payment.id), creditor_name=supplier.legal_name[:200],
        creditor_account=supplier.bank_account, creditor_bank=supplier.bank_name,
        remittance=pain001.clean(f"Factura {invoice.number} / Orden de pago OP-{payment.id:06d}", 140), live=True)


def _advance_item(actor: Actor, advance: Advance) -> PaymentBatchItem:
    refusal = advance.refusal_for(actor.user, AdvanceAction.DISBURSE)
    if refusal == "segregation_of_duties":
        raise Conflict(_l("Usted preparó el desembolso del anticipo N.º %(id)s: otra persona de tesorería lo envía al "
                          "banco (segregación de funciones).", id=advance.id), code="segregation_of_duties")
    if advance.status != AdvanceState.PREPARED or refusal is not None:
        raise Conflict(_l("El anticipo N.º %(id)s está «%(state)s»: solo van al banco anticipos con el desembolso "
                          "preparado.", id=advance.id, state=ADVANCE_STATE_LABELS[advance.status]),
                       code="advance_not_prepared")
    agreement = db.session.get(Agreement, advance.agreement_id)
    if agreement.status != AgreementState.IN_EXECUTION:
        raise Conflict(_l("El convenio %(number)s del anticipo N.º %(id)s no está en ejecución.",
                          number=agreement.number, id=advance.id), code="agreement_not_in_execution")
    organization = db.session.get(Organization, advance.organization_id)
    return PaymentBatchItem(
        kind=K.ADVANCE, advance_id=advance.id, amount=advance.amount,
        end_to_end_id=end_to_end_id("advance", advance.id), creditor_name=organization.legal_name[:200],
        creditor_account=organization.bank_account, creditor_bank=organization.bank_name,
        remittance=pain001.clean(f"Anticipo N.º {advance.id} / Convenio {agreement.number} desembolso "
                                 f"{advance.tranche_number}", 140), live=True)


# --- create, issue, cancel -------------------------------------------------------------------

def create_batch(actor: Actor, data: dict) -> PaymentBatch:
    """A new open batch: ``data`` = {debtor_account_id, execution_date, payment_ids, advance_ids}."""
    data = data if isinstance(data, dict) else {}
    errors = FieldErrors()
    payment_ids = _ids(data.get("payment_ids"), "payment_ids", errors)
    advance_ids = _ids(data.get("advance_ids"), "advance_ids", errors)
    _treasury(actor, advances=bool(advance_ids))
    debtor = account(data.get("debtor_account_id"))
    if debtor is None:
        errors.add("debtor_account_id", _l("Elija una de las cuentas del ministerio."))
    day = _execution_date(data.get("execution_date"), errors)
    if not errors and not payment_ids and not advance_ids:
        errors.add("payment_ids", _l("Elija al menos un pago o anticipo."))
    if len(payment_ids) + len(advance_ids) > MAX_ITEMS:
        errors.add("payment_ids", _l("Un lote lleva a lo sumo %(n)s transferencias.", n=MAX_ITEMS))
    errors.raise_if_any()
    # The rows, FOR UPDATE in id order: a second officer choosing the same payment waits here.
    payments = list(db.session.scalars(select(Payment).where(Payment.id.in_(payment_ids)).order_by(Payment.id)
                                       .with_for_update().execution_options(populate_existing=True)))
    advances = list(db.session.scalars(select(Advance).where(Advance.id.in_(advance_ids)).order_by(Advance.id)
                                       .with_for_update().execution_options(populate_existing=True)))
    if len(payments) != len(payment_ids) or len(advances) != len(advance_ids):
        raise NotFound()
    in_payments, in_advances = _live_item_ids()
    taken = [end_to_end_id("payment", p.id) for p in payments if p.id in in_payments]
    taken += [end_to_end_id("advance", a.id) for a in advances if a.id in in_advances]
    if taken:
        raise Conflict(_l("Ya están en otro lote de pago vigente: %(ids)s. Anule ese lote para moverlos.",
                          ids=", ".join(taken)), code="already_in_batch")
    items = [_payment_item(p) for p in payments] + [_advance_item(actor, a) for a in advances]
    batch = PaymentBatch(
        debtor_account_id=debtor["id"], debtor_name=debtor["name"][:140], debtor_account=debtor["account"],
        debtor_bank=debtor["bank"][:140], debtor_bic=debtor.get("bic") or None, execution_date=day,
        status=PaymentBatchState.OPEN, item_count=len(items),
        control_sum=sum((i.amount for i in items), Decimal("0.00")), created_by_id=actor.user_id, items=items)
    db.session.add(batch)
    try:
        db.session.flush()  # the partial UNIQUE indexes refuse a payment already in a live batch
    except IntegrityError:
        raise Conflict(_l("Otro lote de pago tomó alguno de estos pagos o anticipos al mismo tiempo. Revise los lotes "
                          "vigentes."), code="already_in_batch") from None
    batch.number = batch_number(batch.id)
    db.session.flush()
    record_event(db.session, actor, "payment_batch.created", "payment_batch", batch.id, after=audit_view(batch))
    return batch


def _document(batch: PaymentBatch) -> pain001.Pain001:
    return pain001.Pain001(
        message_id=batch.number, created_at=utcnow(), initiating_party=current_app.config["MINISTRY_NAME"],
        debtor_name=batch.debtor_name, debtor_account=batch.debtor_account, debtor_bank=batch.debtor_bank,
        debtor_bic=batch.debtor_bic, execution_date=batch.execution_date,
        transfers=tuple(pain001.Transfer(i.end_to_end_id, i.amount, i.creditor_name, i.creditor_account,
                                         i.creditor_bank, i.remittance) for i in batch.items))


def _still_payable(batch: PaymentBatch) -> None:
    """Before the file is made: every payment still authorized, every advance still prepared."""
    stale = []
    for item in batch.items:
        if item.kind == K.PAYMENT:
            payment = db.session.get(Payment, item.payment_id, with_for_update=True, populate_existing=True)
            if payment.status != PaymentState.AUTHORIZED:
                stale.append(item.end_to_end_id)
        else:
            advance = db.session.get(Advance, item.advance_id, with_for_update=True, populate_existing=True)
            if advance.status != AdvanceState.PREPARED:
                stale.append(item.end_to_end_id)
    if stale:
        raise Conflict(_l("Estos pagos o anticipos cambiaron desde que se armó el lote (ejecutados o cancelados): "
                          "%(ids)s. Anule el lote y arme otro.", ids=", ".join(stale)), code="batch_stale")


def issue_batch(actor: Actor, batch_id: int) -> tuple[PaymentBatch, bytes]:
    """The batch's file. The first time (batch open) it is built, validated against the XSD, stored
    with its SHA-256 and the batch is issued; an issued batch returns its stored bytes unchanged."""
    _treasury(actor)
    batch = load_batch(actor, batch_id, lock=True)
    if batch.status == PaymentBatchState.ISSUED:
        return batch, batch.file_bytes
    new_state = _next(batch, PaymentBatchAction.ISSUE)
    _still_payable(batch)
    try:
        data = pain001.build(_document(batch))
    except pain001.InvalidPaymentFile as exc:
        current_app.logger.warning("pain.001 of batch %s refused by the schema: %s", batch.id, exc.errors[:5])
        raise Conflict(_l("El archivo del lote no cumple el esquema pain.001.001.09 y no se emitió: %(why)s",
                          why="; ".join(exc.errors[:3])), code="invalid_payment_file") from None
    before = audit_view(batch)
    batch.status, batch.issued_by_id, batch.issued_at = new_state, actor.user_id, utcnow()
    batch.file_bytes, batch.file_sha256 = data, hashlib.sha256(data).hexdigest()
    db.session.flush()
    record_event(db.session, actor, "payment_batch.issued", "payment_batch", batch.id, before=before,
                 after={**audit_view(batch), "file_size": len(data)})
    return batch, data


def batch_file(actor: Actor, batch_id: int) -> tuple[PaymentBatch, bytes]:
    """The stored file of an issued batch (what the bank received); refused before it is issued."""
    batch = load_batch(actor, batch_id)
    if batch.file_bytes is None:
        raise Conflict(_l("El lote aún no tiene archivo: se genera al descargarlo por primera vez."),
                       code="batch_not_issued")
    return batch, batch.file_bytes


def _executed_items(batch: PaymentBatch) -> list[str]:
    """The end-to-end ids of the batch's items already executed (payments) or disbursed (advances)."""
    done = []
    for item in batch.items:
        if item.kind == K.PAYMENT:
            if db.session.get(Payment, item.payment_id).status == PaymentState.EXECUTED:
                done.append(item.end_to_end_id)
        elif db.session.get(Advance, item.advance_id).status in TRANSFERRED_STATES:
            done.append(item.end_to_end_id)
    return done


def cancel_batch(actor: Actor, batch_id: int, reason) -> PaymentBatch:
    """Cancel with a reason; its payments and advances are free for another batch."""
    _treasury(actor)
    reason = " ".join(reason.split()) if isinstance(reason, str) else ""
    if not reason:
        raise ValidationFailed(errors={"reason": [_l("Indique el motivo de la anulación.")]})
    if len(reason) > REASON_LIMIT:
        raise ValidationFailed(errors={"reason": [_l("Máximo %(n)s caracteres.", n=REASON_LIMIT)]})
    batch = load_batch(actor, batch_id, lock=True)
    new_state = _next(batch, PaymentBatchAction.CANCEL)
    done = _executed_items(batch)
    if done:
        raise Conflict(_l("El banco ya ejecutó parte de este lote (%(ids)s): no se anula.", ids=", ".join(done)),
                       code="batch_partly_executed")
    before = audit_view(batch)
    batch.status, batch.cancel_reason = new_state, reason
    batch.cancelled_by_id, batch.cancelled_at = actor.user_id, utcnow()
    for item in batch.items:
        item.live = False
    db.session.flush()
    record_event(db.session, actor, "payment_batch.cancelled", "payment_batch", batch.id, before=before,
                 after=audit_view(batch))
    return batch


def items_by_end_to_end_id(end_to_end_ids) -> dict[str, PaymentBatchItem]:
    """For the statement reconciliation: the live item of each end-to-end id (issued batches only)."""
    rows = db.session.scalars(select(PaymentBatchItem).join(PaymentBatch).where(
        PaymentBatchItem.end_to_end_id.in_(list(end_to_end_ids)), PaymentBatchItem.live.is_(True),
        PaymentBatch.status == PaymentBatchState.ISSUED))
    return {item.end_to_end_id: item for item in rows}
