"""Verification of a PDF Fondos issued, for machines: ``POST /api/v1/documents/verify`` (public, no
token), multipart/form-data with the PDF as ``file``. The same verdict as the page ``/verificar``
(``grants.services.verification``); nothing is stored or audited."""
from __future__ import annotations

from flask import current_app, request
from flask_babel import lazy_gettext as _l
from marshmallow import Schema, fields

from grants.api.auth import public
from grants.api.blueprint import Blueprint
from grants.domain_errors import ValidationFailed
from grants.metrics import count_verification
from grants.services import verification
from grants.services.attachments import too_large

blp = Blueprint("documents", __name__, url_prefix="/api/v1/documents",
                description="Verificación de documentos firmados por el ministerio")


class IssuedDocumentSchema(Schema):
    kind = fields.String(metadata={"description": "agreement | payment_order | final_liquidation_acta | findings | "
                                                  "legislature_report"})
    kind_label = fields.String()
    object_type = fields.String()
    object_key = fields.String()
    description = fields.String()
    version = fields.Integer()
    issued_at = fields.String()
    signed = fields.Boolean()
    later_version = fields.Integer(allow_none=True, metadata={"description": "the latest version when later"})


class VerdictSchema(Schema):
    state = fields.String(metadata={"description": "valid | invalid | unsigned | not_pdf"})
    valid = fields.Boolean()
    message = fields.String()
    problem = fields.String(allow_none=True, metadata={"description": "altered | untrusted | not_whole_file"})
    problem_message = fields.String(allow_none=True)
    sha256 = fields.String(allow_none=True)
    signer = fields.String(allow_none=True)
    signer_organization = fields.String(allow_none=True)
    signed_at = fields.String(allow_none=True)
    signed_at_local = fields.String(allow_none=True, metadata={"description": "dd/mm/yyyy HH:MM, El Salvador"})
    timestamped = fields.Boolean()
    document = fields.Nested(IssuedDocumentSchema, allow_none=True)


@blp.route("/verify", methods=["POST"])
@blp.response(200, VerdictSchema)
@blp.doc(security=[])
@public
def verify():
    """Verify a PDF (multipart/form-data, field ``file``, at most 20 MB). Public: no token."""
    limit = current_app.config["VERIFY_MAX_BYTES"]
    verification.limit_per_address()
    upload = request.files.get("file")
    data = upload.stream.read(limit + 1) if upload else b""
    if not data:
        raise ValidationFailed(errors={"file": [_l("Adjunte el archivo PDF que quiere verificar.")]})
    if len(data) > limit:
        raise too_large(limit, "file")
    verdict = verification.verify(data)
    count_verification(verdict.state)
    return verdict.as_dict()
