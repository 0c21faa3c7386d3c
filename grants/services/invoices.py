"""Supplier invoices (facturas) and the administrator's receipt certificate (acta de recepción).
Flush, never commit.

* **Register** — a user of the NGO that holds the agreement (``invoices:register``; the ministry
  does not type the NGO's invoices, so financial reviewers do not register). The agreement is in
  execution or suspended (goods received before a suspension may be invoiced; paying them waits
  for the resumption). The supplier is a *validated* supplier of this agreement. The number is
  kept in capitals with single spaces and is unique per supplier NIT/DUI across the supplier's
  versions, voided invoices included (the database's ``UNIQUE(supplier_tax_id, number)``). Issue
  date not in the future; service period inside the agreement's term, ending no later than the issue
  date + ``INVOICE_SERVICE_AFTER_ISSUE_DAYS`` (default 0: only what was delivered is invoiced) unless
  the invoice says it is an **advance invoice** (``advance_invoice``), which is registered but never
  paid directly. Each line bills a budget
  line of the agreement's plan version, by its number: ``amount = quantity × unit_price`` rounded
  to the cent (half up). A per-beneficiary line bills one unit per enrollment it lists, so its
  quantity is the number of enrollments (taken as such when omitted); the enrollments belong to
  this agreement and are not repeated within the line. Every field error is collected and raised
  together; nothing is stored on error.
* **Certify** — only the agreement's designated administrator: received as invoiced
  (``conforming``) or with the differences written down, dated neither before the end of the
  service period (a service is received when it is over) nor in the future. ``registered → certified``.
* **Void** — the NGO or a financial reviewer, with a reason, while no payment is in progress
  (cancel it first) and the invoice is not paid.
"""
from __future__ import annotations

from datetime import date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.clock import today
from grants.extensions import db
from grants.labels import AGREEMENT_STATE_LABELS, INVOICE_STATE_LABELS
from grants.models import (
    Agreement,
    Enrollment,
    Invoice,
    InvoiceLine,
    InvoiceLineBeneficiary,
    Payment,
    ReceiptCertificate,
    Supplier,
)
from grants.models.base import utcnow
from grants.money import CENT
from grants.permissions import Permission, Role
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound, ValidationFailed
from grants.money import parse_amount
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.workflows import TransitionRefused
from grants.workflows.agreement import AgreementState
from grants.workflows.payment import COMMITTED_STATES, INVOICE_LIFECYCLE, InvoiceAction, InvoiceState
from grants.workflows.supplier import SupplierState

# Agreement states in which invoices are registered and certified (paying them needs in_execution).
INVOICING_STATES = (AgreementState.IN_EXECUTION, AgreementState.SUSPENDED)
MAX_LINES = 200
MAX_QUANTITY = Decimal("9999999999.99")  # Numeric(12, 2)
TEXT_LIMIT = 5000


def parse_date(value) -> date:
    """A ``date`` or an ISO ``YYYY-MM-DD`` string; ValueError otherwise."""
    if isinstance(value, datetime):
        raise ValueError("a date, not a datetime")
    if isinstance(value, date):
        return value
    if isinstance(value, str):
        return date.fromisoformat(value.strip())
    raise ValueError("not a date")


def audit_view(invoice: Invoice) -> dict:
    data = snapshot(invoice)
    data["lines"] = [{**snapshot(line), "enrollment_ids": sorted(b.enrollment_id for b in line.beneficiaries)}
                     for line in invoice.lines]
    if invoice.certificate is not None:
        data["certificate"] = snapshot(invoice.certificate)
    return data


def agreement_state_refusal(agreement: Agreement, what) -> Conflict:
    return Conflict(_l("El convenio %(number)s está «%(state)s»: %(what)s",
                       number=agreement.number, state=AGREEMENT_STATE_LABELS[agreement.status], what=what),
                    code="agreement_not_in_execution")


def lock_agreement(agreement_id: int) -> Agreement:
    """FOR SHARE: many money operations at once, but a suspension (FOR UPDATE) waits for them and
    every later one sees it."""
    agreement = db.session.get(Agreement, agreement_id, with_for_update={"read": True}, populate_existing=True)
    if agreement is None:
        raise NotFound()
    return agreement


def load_invoice(actor: Actor, invoice_id: int) -> tuple[Invoice, Agreement]:
    """The invoice (FOR UPDATE) after its agreement (FOR SHARE); 404 for another organization."""
    invoice = db.session.get(Invoice, invoice_id) if invoice_id else None
    if invoice is None or actor.user is None or not invoice.is_visible_to(actor.user):
        raise NotFound()
    agreement = lock_agreement(invoice.agreement_id)
    invoice = db.session.get(Invoice, invoice_id, with_for_update=True, populate_existing=True)
    return invoice, agreement


def _next(invoice: Invoice, action: InvoiceAction) -> str:
    try:
        return INVOICE_LIFECYCLE.next_state(invoice.status, action)
    except TransitionRefused:
        raise Conflict(_l("La factura está «%(state)s» y no admite esta acción.",
                          state=INVOICE_STATE_LABELS[invoice.status]), code="invalid_transition") from None


# --- registration ------------------------------------------------------------------------------

def _date_field(data: dict, name: str, errors: FieldErrors) -> date | None:
    if data.get(name) in (None, ""):
        errors.add(name, _l("Este campo es obligatorio."))
        return None
    try:
        return parse_date(data[name])
    except (ValueError, TypeError):
        errors.add(name, _l("Indique una fecha válida (AAAA-MM-DD)."))
        return None


def _id(raw) -> int | None:
    """An id given as an int or as digits (forms); None otherwise."""
    if isinstance(raw, str) and raw.strip().isdigit():
        raw = int(raw.strip())
    return raw if isinstance(raw, int) and not isinstance(raw, bool) and 0 < raw < 2**31 else None


def _supplier(agreement: Agreement, raw, errors: FieldErrors) -> Supplier | None:
    supplier = db.session.get(Supplier, _id(raw)) if _id(raw) else None
    if supplier is None or supplier.agreement_id != agreement.id:
        errors.add("supplier_id", _l("Indique un proveedor de este convenio."))
        return None
    if supplier.status != SupplierState.VALIDATED:
        errors.add("supplier_id", _l("El proveedor %(name)s no está validado: solo se registran facturas de "
                                     "proveedores validados.", name=supplier.legal_name))
        return None
    return supplier


def _quantity(raw, path: str, errors: FieldErrors) -> Decimal | None:
    try:
        value = parse_amount(raw) if raw is not None and raw != "" else None
        if value is None or value <= 0 or value > MAX_QUANTITY:
            raise ValueError
        return value
    except (ValueError, TypeError):
        errors.add(path, _l("Indique una cantidad mayor que cero, con dos decimales como máximo."))
        return None


def _enrollments(agreement: Agreement, raw, path: str, errors: FieldErrors) -> list[int] | None:
    ids = [_id(i) for i in raw] if isinstance(raw, (list, tuple)) else []
    if not ids or None in ids:
        errors.add(path, _l("Indique las inscripciones de los beneficiarios atendidos (al menos una)."))
        return None
    raw = ids
    if len(set(raw)) != len(raw):
        errors.add(path, _l("Una misma inscripción aparece más de una vez en la línea."))
        return None
    found = set(db.session.scalars(select(Enrollment.id).where(
        Enrollment.id.in_(raw), Enrollment.agreement_id == agreement.id)))
    missing = [i for i in raw if i not in found]
    if missing:
        errors.add(path, _l("Estas inscripciones no pertenecen a este convenio: %(ids)s.",
                            ids=", ".join(str(i) for i in missing)))
        return None
    return list(raw)


def _line(agreement: Agreement, i: int, raw, budget_lines: dict, errors: FieldErrors) -> dict:
    raw = raw if isinstance(raw, dict) else {}
    p = f"lines.{i}"
    out: dict = {"position": i + 1}
    line = budget_lines.get(_id(raw.get("budget_line")))
    if line is None:
        errors.add(f"{p}.budget_line", _l("Indique el número de una línea presupuestaria del convenio (%(numbers)s).",
                                          numbers=", ".join(str(n) for n in sorted(budget_lines))))
    out["budget_line_id"] = line.id if line else None
    description = " ".join(str(raw.get("description") or "").split())
    if not description:
        errors.add(f"{p}.description", _l("Este campo es obligatorio."))
    elif len(description) > 300:
        errors.add(f"{p}.description", _l("Máximo %(n)s caracteres.", n=300))
    out["description"] = description
    out["per_beneficiary"] = per_beneficiary = raw.get("per_beneficiary") is True
    enrollment_ids = raw.get("enrollment_ids") or []
    if per_beneficiary:
        out["enrollment_ids"] = ids = _enrollments(agreement, enrollment_ids, f"{p}.enrollment_ids", errors)
        quantity = raw.get("quantity")
        if quantity in (None, "") and ids:
            out["quantity"] = Decimal(len(ids)).quantize(CENT)
        else:
            out["quantity"] = _quantity(quantity, f"{p}.quantity", errors)
            if ids and out["quantity"] is not None and out["quantity"] != len(ids):
                errors.add(f"{p}.enrollment_ids", _l(
                    "Una línea por beneficiario factura una unidad por beneficiario: la cantidad (%(q)s) debe "
                    "ser igual al número de inscripciones (%(n)s).", q=format(out["quantity"].normalize(), "f"),
                    n=len(ids)))
    else:
        if enrollment_ids:
            errors.add(f"{p}.enrollment_ids", _l("Solo una línea por beneficiario lista inscripciones."))
        out["enrollment_ids"] = []
        out["quantity"] = _quantity(raw.get("quantity"), f"{p}.quantity", errors)
    try:
        price = raw.get("unit_price")
        out["unit_price"] = parse_amount(price) if price not in (None, "") else None
        if out["unit_price"] is None or out["unit_price"] <= 0:
            raise ValueError
    except (ValueError, TypeError):
        errors.add(f"{p}.unit_price", _l("Indique un precio unitario mayor que cero, con dos decimales como máximo."))
        out["unit_price"] = None
    out["amount"] = None
    if out["quantity"] is not None and out["unit_price"] is not None:
        out["amount"] = (out["quantity"] * out["unit_price"]).quantize(CENT, rounding=ROUND_HALF_UP)
        if out["amount"] <= 0:
            errors.add(f"{p}.quantity", _l("El monto de la línea redondeado al centavo es cero."))
    return out


def _clean(agreement: Agreement, data: dict, errors: FieldErrors) -> dict:
    out: dict = {"supplier": _supplier(agreement, data.get("supplier_id"), errors)}
    number = " ".join(str(data.get("number") or "").split()).upper()
    if not number:
        errors.add("number", _l("Este campo es obligatorio."))
    elif len(number) > 40:
        errors.add("number", _l("Máximo %(n)s caracteres.", n=40))
    elif out["supplier"] is not None and db.session.scalar(select(Invoice.id).where(
            Invoice.supplier_tax_id == out["supplier"].tax_id, Invoice.number == number)) is not None:
        errors.add("number", _l("El proveedor %(tax_id)s ya tiene registrada la factura %(number)s (también las "
                                "anuladas cuentan).", tax_id=out["supplier"].tax_id, number=number))
    out["number"] = number
    out["issue_date"] = issued = _date_field(data, "issue_date", errors)
    if issued and issued > today():
        errors.add("issue_date", _l("La fecha de emisión no puede ser futura."))
    out["period_start"] = start = _date_field(data, "period_start", errors)
    out["period_end"] = end = _date_field(data, "period_end", errors)
    term = _l("El período de servicio debe estar dentro del plazo del convenio (%(start)s a %(end)s).",
              start=formats.day(agreement.start_date), end=formats.day(agreement.end_date))
    if start and not agreement.start_date <= start <= agreement.end_date:
        errors.add("period_start", term)
    if end and not agreement.start_date <= end <= agreement.end_date:
        errors.add("period_end", term)
    if start and end and end < start:
        errors.add("period_end", _l("El fin del período no puede ser anterior a su inicio."))
    advance_invoice = data.get("advance_invoice", False)
    if not isinstance(advance_invoice, bool):
        errors.add("advance_invoice", _l("Indique sí o no."))
        advance_invoice = False
    out["advance_invoice"] = advance_invoice
    grace = int(current_app.config["INVOICE_SERVICE_AFTER_ISSUE_DAYS"])
    if issued and end and not advance_invoice and end > issued + timedelta(days=grace):
        errors.add("period_end", _l(
            "El período de servicio termina el %(end)s, después de la emisión de la factura (%(issued)s): solo se "
            "factura lo ya prestado. Si el proveedor factura por adelantado, márquela como factura anticipada "
            "(no se paga directamente).", end=formats.day(end), issued=formats.day(issued)))
    raw_lines = data.get("lines")
    if not isinstance(raw_lines, (list, tuple)) or not raw_lines:
        errors.add("lines", _l("Indique al menos una línea."))
        raw_lines = []
    elif len(raw_lines) > MAX_LINES:
        errors.add("lines", _l("Máximo %(n)s líneas.", n=MAX_LINES))
        raw_lines = []
    budget_lines = {b.number: b for b in agreement.plan_version.budget_lines}
    out["lines"] = [_line(agreement, i, raw, budget_lines, errors) for i, raw in enumerate(raw_lines)]
    if out["supplier"] is not None and start and end and start <= end:
        _already_billed(out["supplier"].tax_id, start, end, out["lines"], errors)
    return out


def _already_billed(tax_id: str, start, end, lines: list[dict], errors: FieldErrors) -> None:
    """A beneficiary is billed once per supplier, budget line and day: a per-beneficiary line may not
    list someone that another live invoice of the same supplier bills on the same budget line for an
    overlapping service period (one query for the whole invoice)."""
    wanted = {(line["budget_line_id"], e): i for i, line in enumerate(lines) if line["per_beneficiary"]
              for e in (line["enrollment_ids"] or [])}
    if not wanted:
        return
    rows = db.session.execute(
        select(InvoiceLine.budget_line_id, InvoiceLineBeneficiary.enrollment_id, Invoice.number)
        .join(InvoiceLine, InvoiceLine.invoice_id == Invoice.id)
        .join(InvoiceLineBeneficiary, InvoiceLineBeneficiary.line_id == InvoiceLine.id)
        .where(Invoice.supplier_tax_id == tax_id, Invoice.status != InvoiceState.VOIDED,
               Invoice.period_start <= end, Invoice.period_end >= start,
               InvoiceLineBeneficiary.enrollment_id.in_({e for _, e in wanted}))).all()
    clashes: dict[int, dict[str, list[int]]] = {}
    for budget_line_id, enrollment_id, number in rows:
        if (budget_line_id, enrollment_id) in wanted:
            clashes.setdefault(wanted[(budget_line_id, enrollment_id)], {}).setdefault(number, []).append(enrollment_id)
    for i, by_invoice in sorted(clashes.items()):
        for number, ids in sorted(by_invoice.items()):
            errors.add(f"lines.{i}.enrollment_ids", _l(
                "Ya facturadas por este proveedor en la factura %(number)s, en la misma línea presupuestaria y "
                "un período que se superpone: inscripciones %(ids)s.", number=number,
                ids=", ".join(str(e) for e in sorted(ids))))


def register_invoice(actor: Actor, agreement_id: int, data: dict) -> Invoice:
    """The NGO registers a validated supplier's invoice on one of its agreements."""
    agreement = lock_agreement(agreement_id) if agreement_id else None
    if agreement is None:
        raise NotFound()
    user = actor.user
    if user is None or not user.can(Permission.INVOICES_REGISTER):
        raise Forbidden(_l("Solo la organización titular del convenio registra las facturas de sus proveedores."))
    if user.organization_id != agreement.organization_id:
        raise NotFound()
    if agreement.status not in INVOICING_STATES:
        raise agreement_state_refusal(agreement, _l("las facturas se registran con el convenio en ejecución."))
    errors = FieldErrors()
    values = _clean(agreement, data if isinstance(data, dict) else {}, errors)
    errors.raise_if_any()
    supplier = values["supplier"]
    invoice = Invoice(
        agreement_id=agreement.id, organization_id=agreement.organization_id, supplier_id=supplier.id,
        supplier_tax_id=supplier.tax_id, number=values["number"], issue_date=values["issue_date"],
        period_start=values["period_start"], period_end=values["period_end"], advance_invoice=values["advance_invoice"],
        total=sum((line["amount"] for line in values["lines"]), Decimal("0.00")),
        status=InvoiceState.REGISTERED, registered_by_id=actor.user_id)
    for line in values["lines"]:
        invoice.lines.append(InvoiceLine(
            position=line["position"], budget_line_id=line["budget_line_id"], description=line["description"],
            quantity=line["quantity"], unit_price=line["unit_price"], amount=line["amount"],
            per_beneficiary=line["per_beneficiary"],
            beneficiaries=[InvoiceLineBeneficiary(enrollment_id=e) for e in line["enrollment_ids"]]))
    db.session.add(invoice)
    db.session.flush()
    record_event(db.session, actor, "invoice.registered", "invoice", invoice.id, after=audit_view(invoice),
                 organization_id=invoice.organization_id)
    notify([agreement.administrator], "invoice.registered",
           _l("Factura por recibir: %(number)s de %(supplier)s", number=invoice.number, supplier=supplier.legal_name),
           _l("Emita el acta de recepción de la factura del convenio %(agreement)s.", agreement=agreement.number),
           link=f"/invoices/{invoice.id}")
    return invoice


# --- receipt certificate ---------------------------------------------------------------------

def certify_receipt(actor: Actor, invoice_id: int, data: dict) -> ReceiptCertificate:
    """The agreement's administrator certifies what was received (as invoiced, or with differences)."""
    invoice, agreement = load_invoice(actor, invoice_id)
    if invoice.refusal_for(actor.user, InvoiceAction.CERTIFY) == "forbidden":
        raise Forbidden(_l("Solo el administrador designado del convenio emite el acta de recepción."))
    if agreement.status not in INVOICING_STATES:
        raise agreement_state_refusal(agreement, _l("las actas de recepción se emiten con el convenio en ejecución."))
    new_state = _next(invoice, InvoiceAction.CERTIFY)
    data = data if isinstance(data, dict) else {}
    errors = FieldErrors()
    received = _date_field(data, "received_on", errors)
    if received and received > today():
        errors.add("received_on", _l("La fecha de recepción no puede ser futura."))
    elif received and received < invoice.period_end:
        errors.add("received_on", _l("Lo recibido se certifica cuando el servicio terminó: el período facturado termina "
                                     "el %(day)s.", day=formats.day(invoice.period_end)))
    conforming = data.get("conforming")
    if not isinstance(conforming, bool):
        errors.add("conforming", _l("Indique si lo recibido es conforme a lo facturado."))
    differences = (data.get("differences") or "").strip() if isinstance(data.get("differences"), (str, type(None))) \
        else None
    if differences is None:
        errors.add("differences", _l("Debe ser un texto."))
    elif conforming is False and not differences:
        errors.add("differences", _l("Describa las diferencias entre lo facturado y lo recibido."))
    elif conforming is True and differences:
        errors.add("differences", _l("Un acta conforme no registra diferencias; si las hay, el acta no es conforme."))
    elif len(differences) > TEXT_LIMIT:
        errors.add("differences", _l("Máximo %(n)s caracteres.", n=TEXT_LIMIT))
    errors.raise_if_any()
    before = audit_view(invoice)
    certificate = ReceiptCertificate(invoice=invoice, issued_by_id=actor.user_id, received_on=received,
                                     conforming=conforming, differences=differences or None, created_at=utcnow())
    db.session.add(certificate)
    invoice.status = new_state
    db.session.flush()
    record_event(db.session, actor, "invoice.certified", "invoice", invoice.id, before=before,
                 after=audit_view(invoice), organization_id=invoice.organization_id)
    if conforming:
        notify(users_with_role(Role.TREASURY), "invoice.certified",
               _l("Factura recibida conforme: %(number)s", number=invoice.number),
               _l("Puede prepararse su pago directo (convenio %(agreement)s).", agreement=agreement.number),
               link=f"/invoices/{invoice.id}")
    else:
        notify(users_of_organization(invoice.organization_id), "invoice.differences",
               _l("Acta de recepción con diferencias: factura %(number)s", number=invoice.number),
               _l("No se pagará así: anule la factura y registre una corregida. Diferencias: %(text)s",
                  text=differences), link=f"/invoices/{invoice.id}")
    return certificate


# --- void ------------------------------------------------------------------------------------

def void_invoice(actor: Actor, invoice_id: int, reason: str | None) -> Invoice:
    """The NGO (its own invoices) or a financial reviewer voids an invoice that is not paid."""
    invoice, agreement = load_invoice(actor, invoice_id)
    if invoice.refusal_for(actor.user, InvoiceAction.VOID) == "forbidden":
        raise Forbidden(_l("Solo la organización o la revisión financiera anulan una factura."))
    reason = (reason or "").strip() if isinstance(reason, (str, type(None))) else ""
    if not reason:
        raise ValidationFailed(errors={"reason": [_l("Indique el motivo de la anulación.")]})
    if len(reason) > TEXT_LIMIT:
        raise ValidationFailed(errors={"reason": [_l("Máximo %(n)s caracteres.", n=TEXT_LIMIT)]})
    live = db.session.scalar(select(Payment.id).where(Payment.invoice_id == invoice.id,
                                                      Payment.status.in_(COMMITTED_STATES)))
    if live is not None:
        raise Conflict(_l("La factura tiene el pago N.º %(id)s en curso: tesorería debe cancelarlo antes de anularla.",
                          id=live), code="payment_in_progress")
    new_state = _next(invoice, InvoiceAction.VOID)
    before = audit_view(invoice)
    invoice.status, invoice.void_reason = new_state, reason
    db.session.flush()
    record_event(db.session, actor, "invoice.voided", "invoice", invoice.id, before=before,
                 after=audit_view(invoice), organization_id=invoice.organization_id)
    notify(users_of_organization(invoice.organization_id) + ([agreement.administrator] if agreement.administrator
                                                             else []),
           "invoice.voided", _l("Factura anulada: %(number)s", number=invoice.number),
           _l("Motivo: %(reason)s", reason=reason), link=f"/invoices/{invoice.id}")
    return invoice
