"""Documents where people expect them (issue 10 §5): who may attach which document to which object.
The file itself is checked, stored and audited by ``grants.services.attachments`` (one mechanism);
this module only decides who and when. Flush, never commit.

* **Invoice** — its document (the supplier's PDF, or the DTE — the electronic invoice — as JSON): the
  NGO that registered it, while the invoice is not voided. The **signed acta de recepción** (PDF):
  the agreement's administrator, once the invoice is certified.
* **Supplier** — NIT card, bank account certificate, tax solvency (with its expiry date): the NGO
  that proposed the supplier, while it is not superseded. An expired solvency is shown as such.
* **Follow-up report** — annexes (PDF, JPEG, PNG): the agreement's administrator.
"""
from __future__ import annotations

from datetime import date

from flask_babel import lazy_gettext as _l

from grants.audit import Actor
from grants.clock import today
from grants.extensions import db
from grants.models import Attachment, FollowUpReport, Invoice, Supplier
from grants.permissions import Permission
from grants.services import attachments
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from grants.workflows.payment import InvoiceState
from grants.workflows.supplier import SupplierState

INVOICE_KINDS = ("invoice_document", "receipt_certificate")
SUPPLIER_KINDS = ("nit_card", "bank_certificate", "tax_solvency")


def _visible(model, object_id: int, user):
    found = db.session.get(model, object_id) if object_id else None
    if found is None or user is None or not found.is_visible_to(user):
        raise NotFound()
    return found


def _own_ngo(user, organization_id: int) -> bool:
    return user.acts_for(organization_id)


def attach_invoice_document(actor: Actor, invoice_id: int, kind: str, filename: str | None,
                            data: bytes | None) -> Attachment:
    invoice = _visible(Invoice, invoice_id, actor.user)
    if kind not in INVOICE_KINDS:
        raise ValidationFailed(errors={"kind": [_l("Tipo de documento desconocido.")]})
    if invoice.status == InvoiceState.VOIDED:
        raise Conflict(_l("La factura está anulada: no recibe documentos."), code="invoice_voided")
    if kind == "invoice_document":
        if not (_own_ngo(actor.user, invoice.organization_id) and actor.user.can(Permission.INVOICES_REGISTER)):
            raise Forbidden(_l("La factura la adjunta la organización que la registró."))
    else:
        if not (actor.user.can(Permission.INVOICES_CERTIFY) and actor.user.id == invoice.agreement.administrator_id):
            raise Forbidden(_l("El acta firmada la adjunta el administrador del convenio."))
        if invoice.certificate is None:
            raise Conflict(_l("Primero se emite el acta de recepción; después se adjunta firmada."),
                           code="invoice_not_certified")
    return attachments.attach(actor, invoice, kind, filename, data, organization_id=invoice.organization_id)


def attach_supplier_document(actor: Actor, supplier_id: int, kind: str, filename: str | None, data: bytes | None,
                             expires_on: date | None = None) -> Attachment:
    supplier = _visible(Supplier, supplier_id, actor.user)
    if kind not in SUPPLIER_KINDS:
        raise ValidationFailed(errors={"kind": [_l("Tipo de documento desconocido.")]})
    if not (_own_ngo(actor.user, supplier.organization_id) and actor.user.can(Permission.SUPPLIERS_PROPOSE)):
        raise Forbidden(_l("Los documentos del proveedor los adjunta la organización que lo propuso."))
    if supplier.status == SupplierState.SUPERSEDED:
        raise Conflict(_l("Esta versión del proveedor fue reemplazada: adjunte a la vigente."), code="superseded")
    if kind == "tax_solvency" and expires_on is not None and expires_on < today():
        raise ValidationFailed(errors={"expires_on": [_l("La solvencia ya venció: adjunte una vigente.")]})
    return attachments.attach(actor, supplier, kind, filename, data, organization_id=supplier.organization_id,
                              expires_on=expires_on if kind == "tax_solvency" else None)


def attach_report_annex(actor: Actor, report_id: int, filename: str | None, data: bytes | None) -> Attachment:
    report = _visible(FollowUpReport, report_id, actor.user)
    agreement = report.agreement
    if not (actor.user.can(Permission.FOLLOW_UP_WRITE) and actor.user.id == agreement.administrator_id):
        raise Forbidden(_l("Los anexos del informe los adjunta el administrador del convenio."))
    return attachments.attach(actor, report, "followup_annex", filename, data,
                              organization_id=report.organization_id)


def supplier_documents(supplier: Supplier) -> dict[str, list[Attachment]]:
    """The supplier's documents by kind, with its earlier versions' (same NIT, same agreement)."""
    found = {kind: [] for kind in SUPPLIER_KINDS}
    for attachment in attachments.attachments_of(supplier):
        if attachment.kind in found:
            found[attachment.kind].append(attachment)
    return found


def solvency_expired(supplier: Supplier) -> bool:
    """True when the latest tax solvency attached has expired (or none was attached)."""
    solvencies = attachments.attachments_of(supplier, "tax_solvency")
    return not solvencies or solvencies[-1].expires_on < today()
