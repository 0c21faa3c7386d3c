"""/api/v1/attachments/{id}: a document attached to an object of the mechanism, for whoever sees
that object (another organization's: 404). Each object's own endpoint lists and takes its files."""
from __future__ import annotations

from flask import send_file
from flask_smorest.fields import Upload
from marshmallow import Schema, fields

from grants.api.blueprint import Blueprint
from grants.context import acting_user
from grants.services import attachments

blp = Blueprint("attachments", __name__, url_prefix="/api/v1", description="Documentos adjuntos")


class AttachmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True, metadata={"enum": sorted(attachments.KINDS)})
    kind_label = fields.Function(lambda a: attachments.kind_label(a.kind), dump_only=True)
    filename = fields.String(dump_only=True)
    content_type = fields.String(dump_only=True)
    size = fields.Integer(dump_only=True)
    sha256 = fields.String(dump_only=True)
    expires_on = fields.Date(dump_only=True, allow_none=True)
    uploaded_by_id = fields.Integer(dump_only=True, allow_none=True)
    uploaded_at = fields.DateTime(dump_only=True)
    url = fields.Function(lambda a: f"/api/v1/attachments/{a.id}", dump_only=True)


@blp.route("/attachments/<int:attachment_id>")
@blp.response(200, content_type="application/octet-stream")
def download(attachment_id):
    """The file, with its real content type (PDF, JPEG, PNG or JSON)."""
    attachment = attachments.load_visible(acting_user(), attachment_id)
    response = send_file(attachments.path_of(attachment), mimetype=attachment.content_type, as_attachment=True,
                         download_name=attachment.filename)
    response.headers["X-Content-Type-Options"] = "nosniff"
    return response


# --- documents of invoices, suppliers and follow-up reports --------------------------------------

class DocumentUploadSchema(Schema):
    kind = fields.String(required=True, metadata={
        "description": "invoice: invoice_document | receipt_certificate; supplier: nit_card | bank_certificate | "
                       "tax_solvency; follow-up report: followup_annex"})
    expires_on = fields.Date(load_default=None, allow_none=True, metadata={"description": "tax_solvency only"})


class DocumentFileSchema(Schema):
    file = Upload(required=True, metadata={"description": "Checked by content: PDF, JPEG, PNG (or DTE JSON)"})


def _documents(owner_type: str, model, owner_id: int) -> list:
    from grants.extensions import db
    from grants.domain_errors import NotFound

    owner = db.session.get(model, owner_id)
    user = acting_user()
    if owner is None or not owner.is_visible_to(user):
        raise NotFound()
    return attachments.attachments_of(owner)


def _upload(owner_type: str, owner_id: int, form: dict):
    from flask import request

    from grants.context import current_actor
    from grants.services import documents

    upload = request.files.get("file")
    kind = form.get("kind") or ""
    limit = attachments.kind_limit(kind if kind in attachments.KINDS else "followup_annex")
    data = upload.stream.read(limit + 1) if upload else b""
    name = upload.filename if upload else None
    if owner_type == "invoice":
        return documents.attach_invoice_document(current_actor(), owner_id, kind, name, data)
    if owner_type == "supplier":
        return documents.attach_supplier_document(current_actor(), owner_id, kind, name, data, form.get("expires_on"))
    return documents.attach_report_annex(current_actor(), owner_id, name, data)


def _document_routes(path: str, owner_type: str, model_name: str, who: str):
    from grants import models

    model = getattr(models, model_name)

    @blp.route(f"/{path}/<int:owner_id>/documents", endpoint=f"{owner_type}_documents")
    @blp.response(200, AttachmentSchema(many=True))
    def listing(owner_id):
        return _documents(owner_type, model, owner_id)

    @blp.route(f"/{path}/<int:owner_id>/documents", methods=["POST"], endpoint=f"{owner_type}_documents_upload")
    @blp.arguments(DocumentUploadSchema, location="form")
    @blp.arguments(DocumentFileSchema, location="files")
    @blp.response(201, AttachmentSchema)
    def upload(form, _files, owner_id):
        _documents(owner_type, model, owner_id)
        return _upload(owner_type, owner_id, form)

    listing.__doc__ = f"The documents attached to the {owner_type.replace('_', ' ')}."
    upload.__doc__ = f"multipart/form-data ``kind``, ``file``: attach a document ({who})."


_document_routes("invoices", "invoice", "Invoice",
                 "the invoice's PDF or DTE JSON by the NGO; the signed acta de recepción by the administrator")
_document_routes("suppliers", "supplier", "Supplier", "the NGO that proposed the supplier")
_document_routes("follow-up-reports", "follow_up_report", "FollowUpReport", "the agreement's administrator")
