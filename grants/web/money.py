"""Money pages of an agreement: balances and the budget-vs-executed chart, its invoices, payments
and advances; the NGO's invoice form (rows of lines added and removed with buttons, no script),
the invoice page with the eligibility preview, the administrator's receipt certificate and the
void form. Payments live in grants/web/payments.py, advances and statements in advances.py.
Routes are thin: the services validate and write; a refusal is shown on the page, in Spanish."""
from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import BooleanField, FieldList, Form, FormField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from grants import labels
from grants.context import current_actor
from grants.extensions import db
from grants.models import Advance, Agreement, Invoice, Payment, Supplier
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import attachments
from grants.services import invoices as invoice_service
from grants.services import search
from grants.services import ledger, served_people
from grants.services import payments as payment_service
from grants.services.enrollments import mask_document
from grants.domain_errors import ValidationFailed
from grants.web.actions import submit
from grants.web.forms import apply_errors, date_field
from grants.web.paging import db_id, page_of
from grants.web.search import search_args
from grants.web.served_picker import Picker
from grants.money import ZERO
from grants.workflows.agreement import AgreementState
from grants.workflows.payment import InvoiceAction, InvoiceState, PaymentState
from grants.workflows.supplier import SupplierState

bp = Blueprint("money_pages", __name__)

CHART_WIDTH = Decimal(560)
ROW_HEIGHT = 64
PIXEL = Decimal("0.1")


def money_labels() -> dict:
    return {"invoice_state_labels": labels.INVOICE_STATE_LABELS,
            "payment_state_labels": labels.PAYMENT_STATE_LABELS,
            "advance_state_labels": labels.ADVANCE_STATE_LABELS,
            "statement_state_labels": labels.STATEMENT_STATE_LABELS,
            "receipt_state_labels": labels.RECEIPT_STATE_LABELS}


def load_agreement(agreement_id: int) -> Agreement:
    require(current_user, Permission.MONEY_READ)
    return visible(current_user, db.session.get(Agreement, agreement_id))


def is_owner(organization_id: int) -> bool:
    """An NGO user acting for this organization."""
    return current_user.acts_for(organization_id)


# --- budget-vs-executed chart ----------------------------------------------------------------

@dataclass(frozen=True)
class Bar:
    number: int
    category: str
    approved: Decimal
    spent: Decimal
    committed: Decimal
    available: Decimal
    share: Decimal          # spent / approved, percent
    y: int
    approved_width: Decimal
    spent_width: Decimal
    committed_x: Decimal
    committed_width: Decimal


def _px(amount: Decimal, top: Decimal) -> Decimal:
    return (amount * CHART_WIDTH / top).quantize(PIXEL) if top > 0 else ZERO


def budget_chart(lines) -> dict:
    """Geometry of one bar group per budget line, scaled to the largest line (no floats)."""
    top = max((line.approved for line in lines), default=ZERO)
    bars = []
    for i, line in enumerate(lines):
        spent_width = _px(line.spent, top)
        share = (line.spent * 100 / line.approved).quantize(Decimal("0.01")) if line.approved else ZERO
        bars.append(Bar(line.number, line.category, line.approved, line.spent, line.committed, line.available,
                        share, i * ROW_HEIGHT, _px(line.approved, top), spent_width, spent_width,
                        _px(line.committed, top)))
    return {"bars": bars, "width": int(CHART_WIDTH) + 20, "height": max(len(bars), 1) * ROW_HEIGHT + 8}


# --- the agreement's money page --------------------------------------------------------------

@bp.get("/agreements/<int:agreement_id>/money")
@login_required
def agreement_money(agreement_id):
    agreement = load_agreement(agreement_id)
    balances = ledger.balances(agreement)
    found = search_args(InvoiceState)  # the invoices' search: number, supplier name or NIT, state
    invoices, invoice_paging = page_of(search.invoices(current_user, {**found.filters, "agreement_id": agreement.id}),
                                       arg="invoices_page")
    payments, payment_paging = page_of(
        select(Payment).where(Payment.agreement_id == agreement.id).order_by(Payment.id.desc()), arg="payments_page")
    advances = db.session.scalars(
        select(Advance).where(Advance.agreement_id == agreement.id).order_by(Advance.tranche_number, Advance.id)).all()
    in_execution = agreement.status == AgreementState.IN_EXECUTION
    return render_template(
        "money/agreement.html", agreement=agreement, balances=balances, chart=budget_chart(balances.lines),
        invoices=invoices, invoice_paging=invoice_paging, search=found, payments=payments, payment_paging=payment_paging,
        advances=advances,
        can_register=in_execution and is_owner(agreement.organization_id)
        and current_user.can(Permission.INVOICES_REGISTER),
        can_request=in_execution and is_owner(agreement.organization_id)
        and current_user.can(Permission.ADVANCES_REQUEST),
        **money_labels())


# --- invoice form ----------------------------------------------------------------------------


class InvoiceLineForm(Form):
    budget_line = SelectField(_l("Línea presupuestaria"), coerce=db_id, validate_choice=False)
    description = StringField(_l("Descripción"), validators=[Optional(), Length(max=300)])
    quantity = StringField(_l("Cantidad"), validators=[Optional(), Length(max=14)], render_kw={"inputmode": "decimal"})
    unit_price = StringField(_l("Precio unitario (US$)"), validators=[Optional(), Length(max=20)],
                             render_kw={"inputmode": "decimal"})
    per_beneficiary = BooleanField(_l("Por beneficiario"),
                                   description=_l("Una unidad por cada persona atendida elegida abajo."))

    def is_blank(self) -> bool:
        return not any(str(f.data or "").strip() for f in (self.description, self.quantity, self.unit_price))


class InvoiceForm(FlaskForm):
    supplier_id = SelectField(_l("Proveedor"), coerce=db_id, validate_choice=False)
    number = StringField(_l("Número de factura"), validators=[Optional(), Length(max=40)])
    issue_date = date_field(_l("Fecha de emisión"))
    period_start = date_field(_l("Período del servicio: desde"))
    period_end = date_field(_l("Período del servicio: hasta"))
    advance_invoice = BooleanField(
        _l("Factura anticipada"),
        description=_l("El proveedor factura un servicio que aún no termina. Se registra, pero no se paga "
                       "directamente."))
    lines = FieldList(FormField(InvoiceLineForm), min_entries=1)
    people_q = StringField(_l("Buscar por nombre o número de documento"), validators=[Optional(), Length(max=100)])
    served_all = BooleanField(_l("Todas las personas activas en el período del servicio"))
    served_file = FileField(_l("O adjunte un CSV con sus números de documento"), render_kw={"accept": ".csv,.txt"},
                            description=_l("Una columna de números de documento (DUI u otro), con o sin encabezado."))

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.list_errors: list[str] = []
        self.served_errors: dict[str, list[str]] = {}

    def rows(self) -> list[InvoiceLineForm]:
        return [entry.form for entry in self.lines if not entry.form.is_blank()]

    def set_choices(self, agreement: Agreement) -> None:
        suppliers = db.session.scalars(select(Supplier).where(
            Supplier.agreement_id == agreement.id, Supplier.status == SupplierState.VALIDATED).order_by(Supplier.legal_name)).all()
        self.supplier_id.choices = [SelectChoice(0, "—")] + [
            SelectChoice(s.id, f"{s.legal_name} · {s.tax_id}") for s in suppliers]
        budget = [SelectChoice(b.number, f"{b.number} · {b.category}") for b in agreement.plan_version.budget_lines]
        for entry in self.lines:
            entry.form.budget_line.choices = budget

    def apply_row_action(self, formdata) -> bool:
        """``add_line`` / ``remove_line-3`` buttons change the rows and save nothing."""
        if "add_line" in formdata:
            self.lines.append_entry()
            return True
        for key in formdata:
            if key.startswith("remove_line-") and key[12:].isdigit():
                index = int(key[12:])
                if index < len(self.lines.entries):
                    self.lines.pop_entry(index)
                if not self.lines.entries:
                    self.lines.append_entry()
                return True
        return False

    def to_data(self, served: list[int]) -> dict:
        """The service's data; every per-beneficiary line serves the people chosen."""
        lines = []
        for row in self.rows():
            per_beneficiary = bool(row.per_beneficiary.data)
            quantity = (row.quantity.data or "").strip()  # blank on a per-beneficiary line: one per person
            lines.append({"budget_line": row.budget_line.data, "description": row.description.data or "",
                          "quantity": quantity, "unit_price": row.unit_price.data or "",
                          "per_beneficiary": per_beneficiary, "enrollment_ids": served if per_beneficiary else []})
        return {"supplier_id": self.supplier_id.data or None, "number": self.number.data or "",
                "issue_date": self.issue_date.data or "", "period_start": self.period_start.data or "",
                "period_end": self.period_end.data or "", "advance_invoice": bool(self.advance_invoice.data),
                "lines": lines}

    def apply_errors(self, errors: dict) -> None:
        rows = self.rows()
        leftover = {}
        for key, messages in errors.items():
            parts = key.split(".")
            texts = [str(m) for m in messages]
            if key == "lines":
                self.list_errors.extend(texts)
            elif key.startswith("served"):
                self.served_errors.setdefault(key, []).extend(texts)
            elif parts[0] == "lines" and len(parts) >= 3 and parts[2] == "enrollment_ids":
                self.served_errors.setdefault("served", []).extend(
                    str(_l("Línea %(n)s: %(error)s", n=int(parts[1]) + 1, error=t)) for t in texts)
            elif parts[0] == "lines" and len(parts) >= 3 and parts[1].isdigit() and int(parts[1]) < len(rows):
                name = {"amount": "unit_price"}.get(parts[2], parts[2])
                target = getattr(rows[int(parts[1])], name, None) or rows[int(parts[1])].description
                target.errors = list(target.errors) + texts
            else:
                leftover[key] = messages
        apply_errors(self, leftover)


def _render_invoice_form(form: InvoiceForm, agreement: Agreement, status: int = 200, refused=None,
                         picker: Picker | None = None):
    form.set_choices(agreement)
    picker = (picker or Picker()).prepare(agreement, form.period_start.data, form.period_end.data)
    return render_template("money/invoice_form.html", form=form, agreement=agreement, refused=refused, picker=picker,
                           action=url_for("money_pages.new_invoice", agreement_id=agreement.id)), status


@bp.route("/agreements/<int:agreement_id>/invoices/new", methods=["GET", "POST"])
@login_required
def new_invoice(agreement_id):
    agreement = load_agreement(agreement_id)
    require(current_user, Permission.INVOICES_REGISTER)
    if request.method == "GET":
        return _render_invoice_form(InvoiceForm(formdata=None), agreement)
    form = InvoiceForm()
    form.set_choices(agreement)
    picker = Picker.of(request.form)
    if form.apply_row_action(request.form) or picker.navigating(request.form):
        return _render_invoice_form(form, agreement, picker=picker)
    errors: dict = {}   # the page's own: the choice of people served

    def register():
        # The service still checks everything else so every error shows at once; a registration
        # that passed anyway is rolled back.
        served = picker.resolve(agreement, form.period_start.data, form.period_end.data, bool(form.served_all.data),
                                form.served_file.data, errors)
        invoice = invoice_service.register_invoice(current_actor(), agreement.id, form.to_data(served))
        if errors:
            raise ValidationFailed(errors={})
        return invoice

    def place(exc: ValidationFailed) -> str | None:
        form.apply_errors({**exc.errors, **errors})
        return None if exc.errors or errors else exc.detail

    return submit(form, register, done=lambda invoice: _l(
                      "Factura %(number)s registrada: el administrador del convenio certificará la recepción.",
                      number=invoice.number),
                  then=lambda invoice: url_for("money_pages.invoice_page", invoice_id=invoice.id),
                  place_refusal=place, render=lambda status, refused: _render_invoice_form(
                      form, db.session.get(Agreement, agreement_id), status, refused, picker))


# --- invoice page ----------------------------------------------------------------------------

class CertificateForm(FlaskForm):
    received_on = date_field(_l("Fecha de recepción"))
    conforming = SelectField(_l("¿Se recibió conforme a la factura?"), choices=[
        SelectChoice("yes", _l("Sí, conforme")), SelectChoice("no", _l("No, con diferencias"))], default="yes")
    differences = TextAreaField(_l("Diferencias encontradas"), validators=[Optional(), Length(max=5000)],
                                description=_l("Obligatorio si la recepción no es conforme."))


class VoidForm(FlaskForm):
    reason = TextAreaField(_l("Motivo de la anulación"), validators=[Optional(), Length(max=5000)])


def load_invoice(invoice_id: int) -> Invoice:
    require(current_user, Permission.MONEY_READ)
    return visible(current_user, db.session.get(Invoice, invoice_id))


def render_invoice(invoice: Invoice, status: int = 200, refused=None, **forms):
    live_payment = db.session.scalar(select(Payment).where(
        Payment.invoice_id == invoice.id, Payment.status != PaymentState.CANCELLED))
    payments = db.session.scalars(select(Payment).where(Payment.invoice_id == invoice.id).order_by(Payment.id)).all()
    eligibility = None
    if invoice.status in (InvoiceState.REGISTERED, InvoiceState.CERTIFIED):
        eligibility = payment_service.eligibility(invoice)
    agreement = invoice.agreement
    return render_template(
        "money/invoice.html", invoice=invoice, agreement=agreement, eligibility=eligibility,
        payments=payments, live_payment=live_payment, refused=refused,
        certificate_form=forms.get("certificate_form") or CertificateForm(formdata=None),
        void_form=forms.get("void_form") or VoidForm(formdata=None),
        can_certify=invoice.can(current_user, InvoiceAction.CERTIFY),
        can_void=invoice.can(current_user, InvoiceAction.VOID) and live_payment is None,
        can_prepare=invoice.status == InvoiceState.CERTIFIED and live_payment is None
        and current_user.can(Permission.PAYMENTS_PREPARE) and agreement.status == AgreementState.IN_EXECUTION,
        documents=attachments.attachments_of(invoice), document_kinds=_document_kinds(invoice),
        served=served_people.people(sorted({b.enrollment_id for line in invoice.lines for b in line.beneficiaries})),
        mask_document=mask_document, **money_labels()), status


def _document_kinds(invoice: Invoice) -> list[str]:
    """What this user may attach to the invoice (the service checks again)."""
    if invoice.status == InvoiceState.VOIDED:
        return []
    kinds = []
    if is_owner(invoice.organization_id) and current_user.can(Permission.INVOICES_REGISTER):
        kinds.append("invoice_document")
    if invoice.certificate is not None and current_user.can(Permission.INVOICES_CERTIFY) \
            and invoice.agreement.administrator_id == current_user.id:
        kinds.append("receipt_certificate")
    return kinds


@bp.get("/invoices/<int:invoice_id>")
@login_required
def invoice_page(invoice_id):
    return render_invoice(load_invoice(invoice_id))


def _invoice_action(invoice_id: int, form, form_name: str, call, done):
    return submit(form, call, done=done, then=url_for("money_pages.invoice_page", invoice_id=invoice_id),
                  render=lambda status, refused: render_invoice(db.session.get(Invoice, invoice_id), status, refused,
                                                                **{form_name: form}))


@bp.post("/invoices/<int:invoice_id>/receipt-certificate")
@login_required
def certify(invoice_id):
    invoice = load_invoice(invoice_id)
    require(current_user, Permission.INVOICES_CERTIFY)
    form = CertificateForm()
    data = {"received_on": form.received_on.data or "", "conforming": form.conforming.data != "no",
            "differences": form.differences.data or ""}
    return _invoice_action(invoice.id, form, "certificate_form",
                           lambda: invoice_service.certify_receipt(current_actor(), invoice.id, data),
                           _l("Acta de recepción registrada: tesorería puede preparar el pago."))


@bp.post("/invoices/<int:invoice_id>/void")
@login_required
def void(invoice_id):
    invoice = load_invoice(invoice_id)
    form = VoidForm()
    return _invoice_action(invoice.id, form, "void_form",
                           lambda: invoice_service.void_invoice(current_actor(), invoice.id, form.reason.data or ""),
                           _l("Factura anulada."))
