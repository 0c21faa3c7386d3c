"""Direct payments (pagos directos) to suppliers: eligibility, prepare, authorize, execute, cancel,
and the payment order PDF. Flush, never commit.

**Eligibility** (``grants.services.payment_eligibility``, re-exported here): only units of
beneficiaries active the whole service period, on days that are over, are paid; see that module for
the rule. It is computed when the payment is prepared and **again at each authorization**: if the
list changed since (a person inactivated from a past day), the authorization is refused with the
changes, person by person (``eligibility_changed``), and treasury prepares it again
(``reprepare_payment``). An advance invoice is never paid directly.

**Supplier.** The payment goes to the supplier's *current* version on the agreement (same NIT/DUI,
not superseded), which must be validated when the payment is prepared and still validated when it
is executed: a changed bank account pays nothing until a reviewer validates it.

**Money** moves only through ``grants.services.ledger``: preparing reserves each budget line
(in budget-line id order, so concurrent preparations never deadlock) and then the agreement;
executing settles; cancelling releases. The agreement row is locked FOR SHARE first, so a
suspension (FOR UPDATE) waits for payments in flight and blocks every later one.
"""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from decimal import Decimal

from flask import current_app
from flask_babel import force_locale
from flask_babel import lazy_gettext as _l, lazy_ngettext
from sqlalchemy import select

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.labels import PAYMENT_STATE_LABELS, SUPPLIER_STATE_LABELS
from grants.models import (
    Agreement,
    Enrollment,
    Invoice,
    Payment,
    PaymentAuthorization,
    PaymentDeduction,
    PaymentLine,
    Supplier,
)
from grants.clock import local_day, today
from grants.models.base import utcnow
from grants.permissions import Permission, Role
from grants.services import ledger
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from grants.services.invoices import TEXT_LIMIT, agreement_state_refusal, load_invoice, lock_agreement, parse_date
from grants.services.payment_eligibility import Deduction, Eligibility, LineEligibility, changes_since, eligibility
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.services.payment_batches import refuse_if_in_issued_batch
from grants.workflows import TransitionRefused
from grants.workflows.agreement import AgreementState
from grants.workflows.payment import (
    COMMITTED_STATES,
    InvoiceState,
    PaymentAction,
    PaymentState,
    authorization_complete,
    next_state,
)
from grants.money import ZERO
from grants.workflows.supplier import SupplierState


__all__ = ["Deduction", "Eligibility", "LineEligibility", "changes_since", "eligibility", "current_supplier",
           "prepare_payment", "authorize_payment", "execute_payment", "cancel_payment", "reprepare_payment",
           "payment_order_pdf", "audit_view"]


# --- shared checks ---------------------------------------------------------------------------

def _require(actor: Actor, permission: Permission, message) -> None:
    if actor.user is None or not actor.user.can(permission):
        raise Forbidden(message)


def _in_execution(agreement: Agreement, what) -> None:
    if agreement.status != AgreementState.IN_EXECUTION:
        raise agreement_state_refusal(agreement, what)


def _load(actor: Actor, payment_id: int) -> tuple[Payment, Agreement]:
    """The payment (FOR UPDATE) after its agreement (FOR SHARE); 404 for another organization."""
    payment = db.session.get(Payment, payment_id) if payment_id else None
    if payment is None or actor.user is None or not payment.is_visible_to(actor.user):
        raise NotFound()
    agreement = lock_agreement(payment.agreement_id)
    return db.session.get(Payment, payment_id, with_for_update=True, populate_existing=True), agreement


def _next(payment: Payment, action: PaymentAction) -> str:
    try:
        return next_state(payment.status, action)
    except TransitionRefused:
        raise Conflict(_l("El pago está «%(state)s» y no admite esta acción.",
                          state=PAYMENT_STATE_LABELS[payment.status]), code="invalid_transition") from None


def current_supplier(invoice: Invoice) -> Supplier:
    """The supplier's current version on the agreement (FOR SHARE); refused unless validated."""
    supplier = db.session.scalar(select(Supplier).where(
        Supplier.agreement_id == invoice.agreement_id, Supplier.tax_id == invoice.supplier_tax_id,
        Supplier.status != SupplierState.SUPERSEDED).with_for_update(read=True))
    if supplier is None or supplier.status != SupplierState.VALIDATED:
        supplier = supplier or invoice.supplier
        raise Conflict(_l("El proveedor %(name)s está «%(state)s»: solo se paga a proveedores validados.",
                          name=supplier.legal_name, state=SUPPLIER_STATE_LABELS[supplier.status]),
                       code="supplier_not_validated")
    return supplier


def _by_budget_line(payment_lines) -> list[tuple[int, Decimal]]:
    sums: dict[int, Decimal] = defaultdict(lambda: ZERO)
    for line in payment_lines:
        sums[line.budget_line_id] += line.payable
    return sorted((k, v) for k, v in sums.items() if v > 0)


def audit_view(payment: Payment) -> dict:
    data = snapshot(payment)
    data["lines"] = [snapshot(x) for x in payment.lines]
    data["deductions"] = [snapshot(x) for x in payment.deductions]
    data["authorizations"] = [{"user_id": a.user_id, "at": a.at} for a in payment.authorizations]
    return data


def _others_in_treasury(actor: Actor) -> list:
    return [u for u in users_with_role(Role.TREASURY) if u.id != actor.user_id]


# --- prepare ---------------------------------------------------------------------------------

def prepare_payment(actor: Actor, invoice_id: int) -> Payment:
    """Treasury prepares the payment of a certified invoice: the eligible amount only, reserved on
    its budget lines and under the agreement's amount."""
    _require(actor, Permission.PAYMENTS_PREPARE, _l("Solo tesorería prepara pagos."))
    invoice, agreement = load_invoice(actor, invoice_id)
    _in_execution(agreement, _l("no se preparan pagos."))
    if invoice.status == InvoiceState.PAID:
        raise Conflict(_l("La factura %(number)s ya fue pagada.", number=invoice.number), code="invoice_already_paid")
    if invoice.status == InvoiceState.VOIDED:
        raise Conflict(_l("La factura %(number)s está anulada.", number=invoice.number), code="invoice_voided")
    live = db.session.scalar(select(Payment.id).where(Payment.invoice_id == invoice.id,
                                                      Payment.status.in_(COMMITTED_STATES)))
    if live is not None:
        raise Conflict(_l("La factura %(number)s ya tiene el pago N.º %(id)s en curso.", number=invoice.number,
                          id=live), code="payment_in_progress")
    if invoice.status != InvoiceState.CERTIFIED or invoice.certificate is None:
        raise Conflict(_l("La factura %(number)s no tiene acta de recepción del administrador del convenio.",
                          number=invoice.number), code="invoice_not_certified")
    if not invoice.certificate.conforming:
        raise Conflict(_l("El acta de recepción registra diferencias con lo facturado: la organización debe anular "
                          "la factura y registrar una corregida."), code="receipt_with_differences")
    if invoice.advance_invoice:
        raise Conflict(_l("La factura %(number)s es anticipada (factura un servicio antes de prestarlo): no se paga "
                          "directamente.", number=invoice.number), code="advance_invoice")
    supplier = current_supplier(invoice)
    result = eligibility(invoice)
    if result.payable <= 0:
        raise Conflict(_l("Nada que pagar: todas las unidades facturadas fueron deducidas (%(amount)s).",
                          amount=formats.usd(result.deducted)), code="nothing_payable")
    for budget_line_id, amount in _by_budget_line(result.lines):
        ledger.reserve_line(agreement.id, budget_line_id, amount)
    ledger.reserve(agreement.id, result.payable)
    threshold = Decimal(str(current_app.config["PAYMENT_DUAL_AUTHORIZATION_THRESHOLD"]))
    payment = Payment(
        agreement_id=agreement.id, organization_id=invoice.organization_id, invoice_id=invoice.id,
        supplier_id=supplier.id, status=PaymentState.PREPARED, invoiced_amount=result.invoiced,
        deducted_amount=result.deducted, amount=result.payable,
        required_authorizations=2 if result.payable > threshold else 1, prepared_by_id=actor.user_id,
        prepared_at=utcnow(),
        lines=[PaymentLine(invoice_line_id=x.invoice_line.id, budget_line_id=x.budget_line_id, invoiced=x.invoiced,
                           deducted=x.deducted, payable=x.payable) for x in result.lines],
        deductions=[PaymentDeduction(invoice_line_id=d.invoice_line.id,
                                     enrollment_id=d.enrollment.id if d.enrollment else None, units=d.units,
                                     amount=d.amount, reason_code=d.reason_code, reason=d.reason)
                    for d in result.deductions])
    db.session.add(payment)
    db.session.flush()
    record_event(db.session, actor, "payment.prepared", "payment", payment.id, after=audit_view(payment),
                 organization_id=payment.organization_id)
    notify(_others_in_treasury(actor), "payment.prepared",
           _l("Pago por autorizar: $%(amount)s a %(supplier)s", amount=formats.grouped(payment.amount),
              supplier=supplier.legal_name),
           lazy_ngettext("Factura %(number)s del convenio %(agreement)s. Requiere %(num)s autorización de otra "
                         "persona.", "Factura %(number)s del convenio %(agreement)s. Requiere %(num)s autorizaciones "
                         "de otras personas.", payment.required_authorizations, number=invoice.number,
                         agreement=agreement.number),
           link=f"/payments/{payment.id}")
    return payment


# --- authorize, execute, cancel --------------------------------------------------------------

def authorize_payment(actor: Actor, payment_id: int) -> Payment:
    """Someone other than the preparer authorizes; above the threshold two different people."""
    _require(actor, Permission.PAYMENTS_AUTHORIZE, _l("Solo tesorería autoriza pagos."))
    payment, agreement = _load(actor, payment_id)
    _in_execution(agreement, _l("no se autorizan pagos."))
    refusal = payment.refusal_for(actor.user, PaymentAction.AUTHORIZE)
    if refusal == "invalid_transition":
        _next(payment, PaymentAction.AUTHORIZE)  # raises invalid_transition naming the state
    elif refusal == "segregation_of_duties":
        raise Conflict(_l("Quien preparó el pago no puede autorizarlo (segregación de funciones)."), code=refusal)
    elif refusal == "already_authorized":
        raise Conflict(_l("Usted ya autorizó este pago: la segunda autorización es de otra persona."), code=refusal)
    changes = changes_since(payment)
    if changes:
        raise Conflict(lazy_ngettext(
            "La elegibilidad de los beneficiarios cambió desde que se preparó el pago (%(num)s cambio): prepárelo de "
            "nuevo con la lista vigente.", "La elegibilidad de los beneficiarios cambió desde que se preparó el pago "
            "(%(num)s cambios): prepárelo de nuevo con la lista vigente.", len(changes)), code="eligibility_changed",
                       errors={"eligibility": [c.message for c in changes]})
    before = audit_view(payment)
    now = utcnow()
    payment.authorizations.append(PaymentAuthorization(user_id=actor.user_id, preparer_id=payment.prepared_by_id,
                                                       at=now))
    complete = authorization_complete(len(payment.authorizations), payment.required_authorizations)
    if complete:
        payment.status, payment.authorized_at = _next(payment, PaymentAction.AUTHORIZE), now
    db.session.flush()
    record_event(db.session, actor, "payment.authorized" if complete else "payment.authorization_recorded",
                 "payment", payment.id, before=before, after=audit_view(payment),
                 organization_id=payment.organization_id)
    title = (_l("Pago autorizado: N.º %(id)s, $%(amount)s", id=payment.id, amount=formats.grouped(payment.amount)) if complete
             else _l("Pago por autorizar (segunda firma): N.º %(id)s, $%(amount)s", id=payment.id,
                     amount=formats.grouped(payment.amount)))
    notify(_others_in_treasury(actor), "payment.authorized" if complete else "payment.prepared", title,
           link=f"/payments/{payment.id}")
    return payment


def execute_payment(actor: Actor, payment_id: int, bank_reference: str, transfer_date, *,
                    by_bank_statement: bool = False) -> Payment:
    """Treasury records the bank transfer of an authorized payment: committed money becomes paid.
    A payment sent to the bank in an issued payment batch is executed only from the bank's statement
    (``by_bank_statement=True``: a statement line matched it, grants.services.bank_matching), never by
    hand; the other rules are the same either way."""
    _require(actor, Permission.PAYMENTS_EXECUTE, _l("Solo tesorería ejecuta pagos."))
    payment, agreement = _load(actor, payment_id)
    _in_execution(agreement, _l("no se ejecutan pagos."))
    new_state = _next(payment, PaymentAction.EXECUTE)
    if not by_bank_statement:
        refuse_if_in_issued_batch("payment", payment.id)  # the bank statement executes it
    supplier = db.session.get(Supplier, payment.supplier_id, with_for_update={"read": True}, populate_existing=True)
    if supplier.status != SupplierState.VALIDATED:
        raise Conflict(_l("El proveedor %(name)s está «%(state)s»: cancele este pago y prepare otro con la versión "
                          "validada del proveedor.", name=supplier.legal_name,
                          state=SUPPLIER_STATE_LABELS[supplier.status]), code="supplier_not_validated")
    errors = FieldErrors()
    reference = " ".join(str(bank_reference or "").split()) if isinstance(bank_reference, (str, type(None))) else ""
    if not reference:
        errors.add("bank_reference", _l("Indique la referencia de la transferencia bancaria."))
    elif len(reference) > 60:
        errors.add("bank_reference", _l("Máximo %(n)s caracteres.", n=60))
    day = None
    try:
        day = parse_date(transfer_date) if transfer_date not in (None, "") else None
    except (ValueError, TypeError):
        pass
    authorized_on = local_day(payment.authorized_at)
    if day is None:
        errors.add("transfer_date", _l("Indique la fecha de la transferencia (AAAA-MM-DD)."))
    elif day > today():
        errors.add("transfer_date", _l("La fecha de la transferencia no puede ser futura."))
    elif day < authorized_on:
        errors.add("transfer_date", _l("La transferencia no puede ser anterior a la autorización (%(day)s).",
                                       day=formats.day(authorized_on)))
    errors.raise_if_any()
    for budget_line_id, amount in _by_budget_line(payment.lines):
        ledger.settle_line(agreement.id, budget_line_id, amount)
    ledger.record_payment(agreement.id, payment.amount)
    before = audit_view(payment)
    payment.status, payment.executed_by_id, payment.executed_at = new_state, actor.user_id, utcnow()
    payment.bank_reference, payment.transfer_date = reference, day
    invoice = db.session.get(Invoice, payment.invoice_id, with_for_update=True, populate_existing=True)
    invoice_before = snapshot(invoice)
    invoice.status = InvoiceState.PAID
    db.session.flush()
    record_event(db.session, actor, "payment.executed", "payment", payment.id, before=before,
                 after=audit_view(payment), organization_id=payment.organization_id)
    record_event(db.session, actor, "invoice.paid", "invoice", invoice.id, before=invoice_before,
                 after={**snapshot(invoice), "payment_id": payment.id}, organization_id=invoice.organization_id)
    notify(users_of_organization(payment.organization_id), "payment.executed",
           _l("Pago ejecutado: factura %(number)s, $%(amount)s", number=invoice.number,
              amount=formats.grouped(payment.amount)),
           _l("Transferencia %(reference)s del %(day)s.", reference=reference, day=formats.day(day)),
           link=f"/payments/{payment.id}")
    return payment


def cancel_payment(actor: Actor, payment_id: int, reason: str | None) -> Payment:
    """Treasury cancels a payment not yet executed: its reservations are released (allowed on a
    suspended or terminated agreement too) and the invoice may be paid again later."""
    _require(actor, Permission.PAYMENTS_PREPARE, _l("Solo tesorería cancela pagos."))
    payment, agreement = _load(actor, payment_id)
    new_state = _next(payment, PaymentAction.CANCEL)
    refuse_if_in_issued_batch("payment", payment.id)  # sent to the bank: cancel the batch first
    reason = (reason or "").strip() if isinstance(reason, (str, type(None))) else ""
    if not reason:
        raise ValidationFailed(errors={"reason": [_l("Indique el motivo de la cancelación.")]})
    if len(reason) > TEXT_LIMIT:
        raise ValidationFailed(errors={"reason": [_l("Máximo %(n)s caracteres.", n=TEXT_LIMIT)]})
    for budget_line_id, amount in _by_budget_line(payment.lines):
        ledger.release_line(agreement.id, budget_line_id, amount)
    ledger.release(agreement.id, payment.amount)
    before = audit_view(payment)
    payment.status, payment.cancelled_by_id, payment.cancel_reason = new_state, actor.user_id, reason
    db.session.flush()
    record_event(db.session, actor, "payment.cancelled", "payment", payment.id, before=before,
                 after=audit_view(payment), organization_id=payment.organization_id)
    notify(_others_in_treasury(actor), "payment.cancelled", _l("Pago N.º %(id)s cancelado", id=payment.id),
           _l("Motivo: %(reason)s", reason=reason), link=f"/payments/{payment.id}")
    return payment


def reprepare_payment(actor: Actor, payment_id: int) -> Payment:
    """Treasury prepares again a payment whose eligibility changed (or any payment not yet
    authorized): the old one is cancelled, its reason listing what changed, and a new one is
    prepared with today's list, in one unit of work. The new preparer is ``actor``."""
    _require(actor, Permission.PAYMENTS_PREPARE, _l("Solo tesorería prepara pagos."))
    payment, _agreement = _load(actor, payment_id)
    if payment.status != PaymentState.PREPARED:
        _next(payment, PaymentAction.AUTHORIZE)  # authorized, executed or cancelled: refused, naming the state
    with force_locale("es"):
        changes = [c.message for c in changes_since(payment)]
        reason = (str(_l("Preparado de nuevo: la elegibilidad cambió. ")) + " ".join(changes) if changes
                  else str(_l("Preparado de nuevo con la lista vigente.")))
    cancel_payment(actor, payment.id, reason[:TEXT_LIMIT])
    return prepare_payment(actor, payment.invoice_id)


# --- the payment order PDF -------------------------------------------------------------------

def payment_order_pdf(payment: Payment, generated_on: date | None = None) -> bytes:
    from grants.reports.payment_order_pdf import (
        OrderDeduction,
        OrderLine,
        PaymentOrder,
        Signature,
        build_payment_order_pdf,
    )
    from grants.services.enrollments import mask_document

    invoice, agreement = payment.invoice, payment.agreement
    supplier = db.session.get(Supplier, payment.supplier_id)
    positions = {line.id: line.position for line in invoice.lines}
    enrollments = {e.id: e for e in db.session.scalars(select(Enrollment).where(
        Enrollment.id.in_([d.enrollment_id for d in payment.deductions if d.enrollment_id])))}
    with force_locale("es"):
        status_label = str(PAYMENT_STATE_LABELS[payment.status])
    cert = invoice.certificate
    certificate = (f"{'Conforme' if cert.conforming else 'Con diferencias'}, recibido el {formats.day(cert.received_on)} "
                   f"por {cert.issued_by.full_name}" if cert else "Sin acta")
    authorizers = [Signature("Autorizado por", a.user.full_name, local_day(a.at)) for a in payment.authorizations]
    authorizers += [Signature("Autorizado por", None, None)] * (payment.required_authorizations - len(authorizers))
    executed = payment.status == PaymentState.EXECUTED
    doc = PaymentOrder(
        number=f"OP-{payment.id:06d}", status=payment.status, status_label=status_label,
        agreement_number=agreement.number, organization_name=agreement.organization.legal_name,
        organization_nit=agreement.organization.nit, supplier_name=supplier.legal_name,
        supplier_tax_id=supplier.tax_id, supplier_bank=supplier.bank_name, supplier_account=supplier.bank_account,
        invoice_number=invoice.number, invoice_date=invoice.issue_date, period_start=invoice.period_start,
        period_end=invoice.period_end, certificate=certificate,
        lines=tuple(OrderLine(positions[x.invoice_line_id], x.invoice_line.budget_line.number,
                              x.invoice_line.description, x.invoice_line.quantity, x.invoice_line.unit_price,
                              x.invoiced, x.deducted, x.payable) for x in payment.lines),
        deductions=tuple(OrderDeduction(
            positions[d.invoice_line_id],
            enrollments[d.enrollment_id].beneficiary.full_name if d.enrollment_id else "",
            mask_document(enrollments[d.enrollment_id].beneficiary.document_number) if d.enrollment_id else "",
            d.units, d.amount, d.reason) for d in payment.deductions),
        invoiced=payment.invoiced_amount, deducted=payment.deducted_amount, payable=payment.amount,
        signatures=(Signature("Preparado por", payment.prepared_by.full_name, local_day(payment.prepared_at)),
                    *authorizers,
                    Signature("Ejecutado por", payment.executed_by.full_name if executed else None,
                              payment.transfer_date if executed else None,
                              f"Transferencia {payment.bank_reference}" if executed else "")),
        bank_reference=payment.bank_reference, transfer_date=payment.transfer_date,
        cancel_reason=payment.cancel_reason, generated_on=generated_on or today())
    return build_payment_order_pdf(doc)
