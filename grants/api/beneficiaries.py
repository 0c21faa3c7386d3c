"""/api/v1: beneficiary lists (imports), enrollments and their status, personal data reveal."""
from __future__ import annotations

from flask import Response, request, stream_with_context, url_for
from flask.views import MethodView
from flask_babel import gettext as _
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from grants import models
from grants.api.blueprint import Blueprint
from grants.api.generated_files import GeneratedFileSchema, request_and_serve
from grants.api.fields import PageArgsSchema, nullable_from, page_schema, paginate
from grants.api.idempotency import idempotent
from grants import jobs
from grants.context import acting_user, current_actor, request_id
from grants.extensions import db
from grants.models import Agreement, Enrollment, ImportBatch, ImportRow
from grants.permissions import Permission
from grants.reports.import_errors import errors_csv_stream
from grants.security import require, visible
from grants.services import beneficiary_imports as imports
from grants.services import import_results
from grants.services import enrollments as enrollment_service
from grants.domain_errors import ValidationFailed
from grants.workflows.enrollment import EnrollmentState

blp = Blueprint("beneficiaries", __name__, url_prefix="/api/v1", description="Beneficiarios e inscripciones")


@nullable_from(models.ImportBatch)
class BatchSchema(Schema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    status = fields.String(dump_only=True)
    filename = fields.String(dump_only=True)
    file_sha256 = fields.String(dump_only=True)
    file_size = fields.Integer(dump_only=True)
    rows_total = fields.Integer(dump_only=True)
    rows_valid = fields.Integer(dump_only=True)
    rows_warning = fields.Integer(dump_only=True)
    rows_error = fields.Integer(dump_only=True)
    failure = fields.String(dump_only=True)
    headers = fields.List(fields.String(), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    confirmed_at = fields.DateTime(dump_only=True)
    validated_at = fields.DateTime(dump_only=True)


class UploadSchema(Schema):
    kind = fields.String(load_default="enrollment", validate=validate.OneOf(["enrollment", "status"]))


class RowArgsSchema(PageArgsSchema):
    outcome = fields.String(validate=validate.OneOf(["valid", "warning", "error"]))


@nullable_from(models.ImportRow)
class RowSchema(Schema):
    row_number = fields.Integer()
    outcome = fields.String()
    document_type = fields.String()
    document_number = fields.Method("_document", metadata={
        "description": "In full for the organization that gave the list; masked for everyone else"})
    findings = fields.Function(lambda r: import_results.row_messages(r), metadata={
        "description": "column (as headed in the file; the document column for the person's findings), code, "
                       "message"})

    def _document(self, row):
        number = row.document_number
        if number is None or row.batch.rows_readable_by(acting_user()):
            return number
        return enrollment_service.mask_document(number)


@nullable_from(models.Enrollment)
class EnrollmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    beneficiary_id = fields.Integer(dump_only=True)
    status = fields.String(dump_only=True)
    enrolled_on = fields.Date(dump_only=True)
    double_enrollment = fields.String(dump_only=True)
    name = fields.Function(lambda e: e.beneficiary.full_name)
    document_type = fields.Function(lambda e: e.beneficiary.document_type)
    document_number = fields.Method("_document")
    birth_date = fields.Method("_birth")
    sex = fields.Function(lambda e: e.beneficiary.sex)
    municipality_code = fields.Function(lambda e: e.beneficiary.municipality_code)

    def _full(self, e) -> bool:
        return enrollment_service.sees_personal_data(self.context_user(), e)

    def context_user(self):
        return acting_user()

    def _document(self, e):
        number = e.beneficiary.document_number
        return number if self._full(e) else enrollment_service.mask_document(number)

    def _birth(self, e):
        day = e.beneficiary.birth_date
        return day.isoformat() if self._full(e) else enrollment_service.mask_birth_date(day)


class EnrollmentArgsSchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in EnrollmentState]))
    active_on = fields.Date(metadata={"description": "Only those active on this day"})


class EnrollmentStatusChangeSchema(Schema):
    status = fields.String(required=True, validate=validate.OneOf([s.value for s in EnrollmentState if s != EnrollmentState.PENDING]))
    effective_date = fields.Date(required=True)
    reason = fields.String(load_default=None, validate=validate.Length(max=2000))


class DecisionSchema(Schema):
    allow = fields.Boolean(required=True)
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class RevealSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=2000))


class BeneficiarySchema(Schema):
    id = fields.Integer()
    document_type = fields.String()
    document_number = fields.String()
    first_names = fields.String()
    last_names = fields.String()
    birth_date = fields.Date()
    sex = fields.String()
    municipality_code = fields.String()


BatchPageSchema = page_schema(BatchSchema, "ImportBatchPage")
RowPageSchema = page_schema(RowSchema, "ImportRowPage")
EnrollmentPageSchema = page_schema(EnrollmentSchema, "EnrollmentPage")


def _agreement(agreement_id: int) -> Agreement:
    user = acting_user()
    require(user, Permission.BENEFICIARIES_READ)
    return visible(user, db.session.get(Agreement, agreement_id))


def _batch(batch_id: int) -> ImportBatch:
    user = acting_user()
    require(user, Permission.BENEFICIARIES_READ)
    return visible(user, db.session.get(ImportBatch, batch_id))


@blp.route("/agreements/<int:agreement_id>/beneficiary-imports")
class AgreementImports(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, BatchPageSchema)
    def get(self, args, agreement_id):
        _agreement(agreement_id)
        query = select(ImportBatch).where(ImportBatch.agreement_id == agreement_id).order_by(ImportBatch.id.desc())
        return paginate(db.session, query, args)

    @idempotent(required=False)
    @blp.arguments(UploadSchema, location="form")
    @blp.response(202, BatchSchema, description="Accepted: the batch (status ``processing``) is stored and its "
                  "rows are checked by a job; follow ``Location`` until the status is ``ready`` (or ``failed``).",
                  headers={"Location": {"description": "The batch: GET it for its status and counts",
                                        "schema": {"type": "string"}}})
    def post(self, args, agreement_id):
        """Upload a list (multipart ``file``: CSV or XLSX; ``kind``: enrollment or status). A file that
        is not a readable spreadsheet is refused at once (422, nothing kept); otherwise the batch is
        stored and answered ``202 Accepted`` while a job checks its rows. Nothing is enrolled until
        the batch is confirmed."""
        _agreement(agreement_id)
        require(acting_user(), Permission.BENEFICIARIES_IMPORT)
        upload = request.files.get("file")
        if upload is None:
            raise ValidationFailed(errors={"file": [_("Adjunte el archivo.")]})
        data = upload.stream.read(imports.max_upload_bytes() + 1)  # over the limit: the service's 413
        batch = imports.start_import(current_actor(), agreement_id, upload.filename or "lista", data, args["kind"])
        jobs.defer("process_beneficiary_list", batch_id=batch.id, user_id=acting_user().id,
                   request_id=request_id(), remote_addr=request.remote_addr)  # committed with the batch
        return batch, 202, {"Location": url_for("beneficiaries.get_batch", batch_id=batch.id)}


@blp.route("/beneficiary-imports/<int:batch_id>")
@blp.response(200, BatchSchema)
def get_batch(batch_id):
    return _batch(batch_id)


@blp.route("/beneficiary-imports/<int:batch_id>/rows")
@blp.arguments(RowArgsSchema, location="query")
@blp.response(200, RowPageSchema)
def batch_rows(args, batch_id):
    _batch(batch_id)
    query = (select(ImportRow).where(ImportRow.batch_id == batch_id).order_by(ImportRow.row_number)
             .options(joinedload(ImportRow.batch)))
    if args.get("outcome"):
        query = query.where(ImportRow.outcome == args["outcome"])
    return paginate(db.session, query, args)


@blp.route("/beneficiary-imports/<int:batch_id>/errors.csv")
@blp.response(200, content_type="text/csv")
def errors_as_csv(batch_id):
    """The rejected rows as they came, plus the error column (formula-like cells neutralized, control
    characters replaced). Only the organization that gave the list (403 for ministry staff).
    Streamed (bounded memory, a connection of its own, closed when the client leaves): see
    ``import_results.error_rows``."""
    batch = _batch(batch_id)
    rows = import_results.readable_error_rows(acting_user(), batch)  # the rows as typed: the NGO's personal data
    headers = [h or f"col{i + 1}" for i, h in enumerate(batch.headers or [])]
    body = errors_csv_stream(headers, rows, _("Errores"), _("Fila"))
    return Response(stream_with_context(body), mimetype="text/csv", headers={
        "Content-Disposition": f'attachment; filename="errores-lista-{batch.id}.csv"'})


@blp.route("/beneficiary-imports/<int:batch_id>/errors.xlsx")
@blp.response(200, content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
@blp.alt_response(202, schema=GeneratedFileSchema, description="Being built: see Location (/api/v1/files/{id})")
def errors_as_xlsx(batch_id):
    """The same rows as a workbook, built by a job (once per list and language): 200 with the file
    when built, else 202 with the file's record (``Location``, ``Retry-After``)."""
    batch = _batch(batch_id)
    return request_and_serve("import_errors_xlsx", {"batch_id": batch.id}, localized=True)


def _batch_action(name, function, doc):
    @blp.route(f"/beneficiary-imports/<int:batch_id>/{name}", methods=["POST"], endpoint=f"batch_{name}")
    @blp.response(200, BatchSchema)
    def view(batch_id):
        _batch(batch_id)
        return function(current_actor(), batch_id)

    view.__doc__ = doc
    return view


confirm = _batch_action("confirm", imports.confirm_batch, "The NGO confirms: valid rows become enrollments.")
discard = _batch_action("discard", imports.discard_batch, "The NGO discards a list it will not confirm.")


class ValidationDaySchema(Schema):
    effective = fields.Date(load_default=None, allow_none=True, metadata={
        "description": "The day the documents were checked (not future, inside the term); people enrolled later are "
                       "validated from their enrollment date. Default: each person's enrollment date."})


@blp.route("/beneficiary-imports/<int:batch_id>/validate", methods=["POST"])
@blp.arguments(ValidationDaySchema, location="json", required=False)
@blp.response(200, BatchSchema)
def batch_validate(data, batch_id):
    """Monitoring validates a confirmed list (never someone who uploaded or confirmed it)."""
    _batch(batch_id)
    return imports.validate_batch(current_actor(), batch_id, (data or {}).get("effective"))


class ActivationSchema(Schema):
    since = fields.Date(required=True, metadata={"description": "Inside the term, not future; a past day needs a "
                                                                "reason"})
    reason = fields.String(load_default=None, allow_none=True, validate=validate.Length(max=500))
    enrollment_ids = fields.List(fields.Integer(validate=validate.Range(min=1, max=2**31 - 1)),
                                 validate=validate.Length(min=1, max=50000), load_default=None)
    batch_id = fields.Integer(validate=validate.Range(min=1, max=2**31 - 1), load_default=None,
                              metadata={"description": "Every validated person of this list (instead of the ids)"})


class ActivationResultSchema(Schema):
    activated = fields.Integer()
    since = fields.Date()
    from_validation = fields.Integer(metadata={"description": "People validated after ``since``, active from their "
                                                              "validation day"})


@blp.route("/agreements/<int:agreement_id>/enrollments/activate", methods=["POST"])
@blp.arguments(ActivationSchema)
@blp.response(200, ActivationResultSchema)
def activate_enrollments(data, agreement_id):
    """Monitoring (or the NGO) activates validated people from a day: the listed ``enrollment_ids``,
    or every validated person of the list ``batch_id``. One audit event."""
    _agreement(agreement_id)
    return enrollment_service.activate_validated(current_actor(), agreement_id, data["since"], data.get("reason"),
                                                 enrollment_ids=data.get("enrollment_ids"),
                                                 batch_id=data.get("batch_id"))


@blp.route("/agreements/<int:agreement_id>/enrollments")
@blp.arguments(EnrollmentArgsSchema, location="query")
@blp.response(200, EnrollmentPageSchema)
def agreement_enrollments(args, agreement_id):
    """Enrollments; ``active_on`` gives who was active on that day. DUIs and birth dates are
    masked except for the NGO itself (see ``/beneficiaries/{id}/reveal``)."""
    _agreement(agreement_id)
    if args.get("active_on"):
        query = enrollment_service.active_on(agreement_id, args["active_on"])
    else:
        query = select(Enrollment).where(Enrollment.agreement_id == agreement_id)
    if args.get("status"):
        query = query.where(Enrollment.status == args["status"])
    # The page's enrollments first (the index on (agreement_id, id) walks to any page), then their
    # people in one query: a join here would join the whole agreement's list before the offset.
    return paginate(db.session, query.order_by(Enrollment.id).options(selectinload(Enrollment.beneficiary)), args)


@blp.route("/enrollments/<int:enrollment_id>/status", methods=["POST"])
@blp.arguments(EnrollmentStatusChangeSchema)
@blp.response(200, EnrollmentSchema)
def enrollment_status(data, enrollment_id):
    require(acting_user(), Permission.BENEFICIARIES_READ)
    return enrollment_service.change_status(current_actor(), enrollment_id, data["status"], data["effective_date"],
                                            data.get("reason"))


@blp.route("/enrollments/<int:enrollment_id>/double-enrollment", methods=["POST"])
@blp.arguments(DecisionSchema)
@blp.response(200, EnrollmentSchema)
def double_enrollment(data, enrollment_id):
    """Monitoring allows or refuses the enrollment of a person active in another agreement."""
    require(acting_user(), Permission.BENEFICIARIES_VALIDATE)
    return enrollment_service.decide_double_enrollment(current_actor(), enrollment_id, data["allow"], data["reason"])


@blp.route("/beneficiaries/<int:beneficiary_id>/reveal", methods=["POST"])
@blp.arguments(RevealSchema)
@blp.response(200, BeneficiarySchema)
def reveal(data, beneficiary_id):
    """The full DUI and birth date, for those allowed, with a reason; always audited."""
    return enrollment_service.reveal_beneficiary(current_actor(), beneficiary_id, data["reason"])
