"""/api/v1/attachments/{id}: a document attached to an object of the mechanism, for whoever sees
that object (another organization's: 404). Each object's own endpoint lists and takes its files."""
from __future__ import annotations

from flask import send_file
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
