"""Schemas of suppliers, their items and automatic checks, and of the debarment list."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from grants import models
from grants.api.fields import MoneyField, PageArgsSchema, nullable_from, page_schema, person_name
from grants.api.schemas import ID_RANGE
from grants.workflows.supplier import SupplierState
from grants.validation.supplier import CHECK_NAMES, failed

DECIMAL = {"type": "string", "example": "12.50"}


class SupplierItemSchema(Schema):
    description = fields.String(required=True, validate=validate.Length(max=300))
    unit = fields.String(required=True, validate=validate.Length(max=40), metadata={"example": "unidad"})
    unit_price = MoneyField(required=True, metadata=DECIMAL)


@nullable_from(models.Supplier)
class SupplierSchema(Schema):
    id = fields.Integer(dump_only=True)
    agreement_id = fields.Integer(dump_only=True)
    agreement_number = fields.Function(lambda s: s.agreement.number, dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    version = fields.Integer(dump_only=True)
    supersedes_id = fields.Integer(dump_only=True)
    tax_id = fields.String(required=True, validate=validate.Length(max=20), metadata={
        "description": "NIT (14 digits) or, for a natural person, DUI (9 digits)", "example": "0614-050707-104-8"})
    tax_id_type = fields.String(dump_only=True, metadata={"enum": ["nit", "dui"]})
    nrc = fields.String(allow_none=True, validate=validate.Length(max=10), metadata={"example": "123456-7"})
    legal_name = fields.String(required=True, validate=[validate.Length(max=200), person_name])
    address = fields.String(required=True, validate=validate.Length(max=300))
    phone = fields.String(allow_none=True, validate=validate.Length(max=30), metadata={"example": "2260-1234"})
    bank_name = fields.String(required=True, validate=validate.Length(max=120))
    bank_account = fields.String(required=True, validate=validate.Length(max=60))
    items = fields.List(fields.Nested(SupplierItemSchema), required=True,
                        metadata={"description": "Goods and services with their unit prices (at least one)"})
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in SupplierState]})
    checks = fields.Dict(dump_only=True, metadata={
        "description": f"Automatic checks by name ({', '.join(CHECK_NAMES)}): ok, code, detail (Spanish); "
                       "conflict_of_interest also lists its matches"})
    failed_checks = fields.Function(lambda s: failed(s.checks or {}), dump_only=True)
    decision_reason = fields.String(dump_only=True)
    proposed_by_id = fields.Integer(dump_only=True)
    decided_by_id = fields.Integer(dump_only=True)
    decided_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class SupplierUpdateSchema(SupplierSchema):
    """PATCH (loaded with ``partial=True``). A validated supplier gets a new version."""


class SupplierQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in SupplierState]))
    agreement_id = fields.Integer(validate=ID_RANGE)


class AgreementSuppliersQuerySchema(PageArgsSchema):
    include_superseded = fields.Boolean(load_default=False)


class SupplierReasonSchema(Schema):
    reason = fields.String(load_default="", validate=validate.Length(max=5000))


@nullable_from(models.DebarredSupplier)
class DebarredSupplierSchema(Schema):
    id = fields.Integer(dump_only=True)
    tax_id = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    reason = fields.String(dump_only=True)
    listed_on = fields.Date(dump_only=True)
    source = fields.String(dump_only=True)


class DebarredQuerySchema(PageArgsSchema):
    q = fields.String(validate=validate.Length(max=200), metadata={"description": "Part of the NIT/DUI or name"})


class DebarredImportSchema(Schema):
    file = Upload(required=True, metadata={
        "description": "CSV (comma or semicolon): NIT (or DUI), nombre, motivo, fecha (dd/mm/aaaa or "
                       "AAAA-MM-DD), fuente. All rows valid or nothing is stored."})


class DebarredImportResultSchema(Schema):
    rows = fields.Integer()
    created = fields.Integer()
    updated = fields.Integer()
    unchanged = fields.Integer()
    suppliers_flagged = fields.Integer()


SupplierPageSchema = page_schema(SupplierSchema, "SupplierPage")
DebarredSupplierPageSchema = page_schema(DebarredSupplierSchema, "DebarredSupplierPage")
