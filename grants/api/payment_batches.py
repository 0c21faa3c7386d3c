"""/api/v1/payment-batches: treasury's payment batches (lotes de pago) and their ISO 20022
pain.001.001.09 files — list, create (``Idempotency-Key``), read, the file (the first download
issues the batch; later ones return the same bytes), cancel with a reason."""
from __future__ import annotations

from flask import Response
from flask.views import MethodView
from marshmallow import Schema, fields, validate
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grants.api.blueprint import Blueprint
from grants.api.fields import MoneyField, PageArgsSchema, nullable_from, page_schema, paginate
from grants.api.idempotency import idempotent
from grants.api.schemas import ID_RANGE
from grants.context import acting_user, current_actor
from grants.domain_errors import NotFound
from grants.extensions import db
from grants.models import PaymentBatch, PaymentBatchItem
from grants.services import payment_batches as service
from grants.workflows.payment_batch import PaymentBatchState

blp = Blueprint("payment_batches", __name__, url_prefix="/api/v1",
                description="Lotes de pago y sus archivos ISO 20022 pain.001.001.09 (tesorería)")


@nullable_from(PaymentBatchItem)
class PaymentBatchItemSchema(Schema):
    kind = fields.String(dump_only=True, metadata={"enum": ["payment", "advance"]})
    payment_id = fields.Integer(dump_only=True)
    advance_id = fields.Integer(dump_only=True)
    amount = MoneyField(dump_only=True, metadata={"type": "string", "example": "120.00"})
    end_to_end_id = fields.String(dump_only=True, metadata={"example": "FONDOS-PAG-000123"})
    creditor_name = fields.String(dump_only=True)
    creditor_account = fields.String(dump_only=True)
    creditor_bank = fields.String(dump_only=True)
    remittance = fields.String(dump_only=True)
    live = fields.Boolean(dump_only=True)


@nullable_from(PaymentBatch)
class PaymentBatchSchema(Schema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True, metadata={"example": "FONDOS-LOTE-000012"})
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in PaymentBatchState]})
    debtor_account_id = fields.String(required=True, validate=validate.Length(min=1, max=40))
    debtor_name = fields.String(dump_only=True)
    debtor_account = fields.String(dump_only=True)
    debtor_bank = fields.String(dump_only=True)
    execution_date = fields.Date(required=True, metadata={"description": "Today or later (at most 90 days)"})
    item_count = fields.Integer(dump_only=True)
    control_sum = MoneyField(dump_only=True, metadata={"type": "string", "example": "40350.56"})
    file_sha256 = fields.String(dump_only=True)
    issued_at = fields.DateTime(dump_only=True)
    cancelled_at = fields.DateTime(dump_only=True)
    cancel_reason = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    payment_ids = fields.List(fields.Integer(validate=ID_RANGE), load_only=True, load_default=list,
                              validate=validate.Length(max=service.MAX_ITEMS),
                              metadata={"description": "Authorized payments"})
    advance_ids = fields.List(fields.Integer(validate=ID_RANGE), load_only=True, load_default=list,
                              validate=validate.Length(max=service.MAX_ITEMS),
                              metadata={"description": "Advances with the disbursement prepared"})
    items = fields.List(fields.Nested(PaymentBatchItemSchema), dump_only=True)


class PaymentBatchQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in PaymentBatchState]))


class PaymentBatchCancelSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=service.REASON_LIMIT))


PaymentBatchPageSchema = page_schema(PaymentBatchSchema, "PaymentBatchPage")


def _batch(batch_id: int) -> PaymentBatch:
    batch = db.session.get(PaymentBatch, batch_id, options=[selectinload(PaymentBatch.items)])
    if batch is None or not service.may_see_batches(acting_user()):
        raise NotFound()
    return batch


@blp.route("/payment-batches")
class Batches(MethodView):
    @blp.arguments(PaymentBatchQuerySchema, location="query")
    @blp.response(200, PaymentBatchPageSchema)
    def get(self, args):
        """Payment batches, newest first (treasury and internal audit); ``status`` filters."""
        if not service.may_see_batches(acting_user()):
            raise NotFound()
        query = select(PaymentBatch).options(selectinload(PaymentBatch.items)).order_by(PaymentBatch.id.desc())
        if args.get("status"):
            query = query.where(PaymentBatch.status == args["status"])
        return paginate(db.session, query, args)

    @idempotent
    @blp.arguments(PaymentBatchSchema)
    @blp.response(201, PaymentBatchSchema)
    def post(self, data):
        """Treasury groups authorized payments and prepared advances for one of the ministry's accounts
        (``TREASURY_ACCOUNTS``) and an execution date. Requires ``Idempotency-Key``. Refusals:
        409 ``already_in_batch`` (in another live batch), ``payment_not_authorized``,
        ``advance_not_prepared``, ``segregation_of_duties`` (the advance's preparer),
        ``agreement_not_in_execution``, ``supplier_not_validated``; 422 for bad fields."""
        return service.create_batch(current_actor(), data)


@blp.route("/payment-batches/<int:payment_batch_id>")
@blp.response(200, PaymentBatchSchema)
def get_batch(payment_batch_id):
    return _batch(payment_batch_id)


@blp.route("/payment-batches/<int:payment_batch_id>/pain001.xml")
class BatchFile(MethodView):
    @blp.response(200, content_type="application/xml")
    def get(self, payment_batch_id):
        """The stored file of an issued batch, byte for byte (409 ``batch_not_issued`` before)."""
        _batch(payment_batch_id)
        batch, data = service.batch_file(current_actor(), payment_batch_id)
        return _file(batch, data)

    @blp.response(200, content_type="application/xml")
    def post(self, payment_batch_id):
        """The batch's pain.001.001.09 file. The first call builds it, validates it against the XSD,
        stores it with its SHA-256 (``X-Content-SHA256``) and issues the batch (it no longer changes);
        later calls return the same bytes. 409 ``batch_stale`` if a payment changed since the batch was
        made, ``invalid_payment_file`` if the schema refuses it."""
        _batch(payment_batch_id)
        batch, data = service.issue_batch(current_actor(), payment_batch_id)
        return _file(batch, data)


def _file(batch: PaymentBatch, data: bytes) -> Response:
    return Response(data, mimetype="application/xml", headers={
        "Content-Disposition": f'attachment; filename="{service.file_name(batch)}"',
        "X-Content-SHA256": batch.file_sha256, "Cache-Control": "private, no-store"})


@blp.route("/payment-batches/<int:payment_batch_id>/cancel", methods=["POST"])
@blp.arguments(PaymentBatchCancelSchema)
@blp.response(200, PaymentBatchSchema)
def cancel_batch(data, payment_batch_id):
    """Cancel with a reason (an issued batch: the bank did not take the file); its payments and
    advances are free for another batch."""
    _batch(payment_batch_id)
    return service.cancel_batch(current_actor(), payment_batch_id, data["reason"])
