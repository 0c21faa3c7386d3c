"""Marshmallow schemas: unknown fields are rejected (marshmallow's RAISE), server-owned fields are dump-only."""
from __future__ import annotations

from marshmallow import Schema, fields, validate

from grants import models
from grants.api.fields import MoneyField, nullable_from, page_schema, person_name
from grants.permissions import Role
from grants.validation.territory import municipality_label


ID_RANGE = validate.Range(min=1, max=2**31 - 1)


class BoardMemberSchema(Schema):
    name = fields.String(required=True, validate=[validate.Length(min=1, max=160), person_name])
    dui = fields.String(required=True, metadata={"example": "00016297-5"})
    position = fields.String(required=True, validate=validate.Length(min=1, max=80))


class OrganizationSchema(Schema):
    id = fields.Integer(dump_only=True)
    legal_name = fields.String(required=True, validate=[validate.Length(max=200), person_name])
    nit = fields.String(required=True, metadata={"example": "0614-050707-104-8"})
    registry_number = fields.String(required=True, validate=validate.Length(max=40))
    legal_rep_name = fields.String(required=True, validate=[validate.Length(max=160), person_name])
    legal_rep_dui = fields.String(required=True, metadata={"example": "04567890-3"})
    address = fields.String(required=True, validate=validate.Length(max=300))
    municipality_code = fields.String(
        required=True, metadata={"description": "Código (0614) o nombre del municipio (D.L. 762)"}
    )
    municipality = fields.Function(lambda o: municipality_label(o.municipality_code), dump_only=True)
    bank_name = fields.String(required=True, validate=validate.Length(max=120))
    bank_account = fields.String(required=True, validate=validate.Length(max=34))
    email = fields.Email(allow_none=True)
    phones = fields.List(
        fields.String(validate=validate.Length(max=30)),
        required=True,
        metadata={"example": ["2222-3333"]},
    )
    board_members = fields.List(fields.Nested(BoardMemberSchema), required=True)
    active = fields.Boolean(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)

    def get_attribute(self, obj, attr, default):
        if attr == "phones":
            return obj.phone_numbers
        return super().get_attribute(obj, attr, default)


class OrganizationUpdateSchema(OrganizationSchema):
    """PATCH: every field optional (loaded with ``partial=True``); admins may change ``active``."""

    active = fields.Boolean()


class AllocationSchema(Schema):
    id = fields.Integer(dump_only=True)
    decree_number = fields.String(required=True, validate=validate.Length(max=40))
    fiscal_year = fields.Integer(required=True, validate=validate.Range(min=2000, max=2100))
    budget_line_code = fields.String(required=True, validate=validate.Length(max=40))
    organization_id = fields.Integer(required=True, validate=ID_RANGE)
    organization_name = fields.Function(lambda a: a.organization.legal_name, dump_only=True)
    amount = MoneyField(required=True, metadata={"type": "string", "example": "150000.00"})
    purpose = fields.String(required=True, validate=validate.Length(min=1, max=4000))
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class AllocationUpdateSchema(AllocationSchema):
    """PATCH: loaded with ``partial=True``."""


class AllocationQuerySchema(Schema):
    fiscal_year = fields.Integer(validate=validate.Range(min=2000, max=2100))
    organization_id = fields.Integer(validate=ID_RANGE)


@nullable_from(models.User)
class UserSchema(Schema):
    id = fields.Integer(dump_only=True)
    email = fields.Email(required=True)
    full_name = fields.String(required=True, validate=[validate.Length(min=1, max=160), person_name])
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    roles = fields.List(fields.String(validate=validate.OneOf([r.value for r in Role])), required=True)
    organization_id = fields.Integer(allow_none=True, validate=ID_RANGE)
    active = fields.Boolean(dump_only=True)
    locale = fields.String(allow_none=True, validate=validate.OneOf(["es", "en"]))
    last_login_at = fields.DateTime(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class UserUpdateSchema(UserSchema):
    """PATCH: loaded with ``partial=True``; passwords change through their own endpoint."""

    active = fields.Boolean()

    class Meta:
        exclude = ("password",)


class PasswordSchema(Schema):
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))


@nullable_from(models.AuditEvent)
class AuditEventSchema(Schema):
    seq = fields.Integer(dump_only=True)
    occurred_at = fields.DateTime(dump_only=True)
    actor_id = fields.Integer(dump_only=True)
    actor_email = fields.String(dump_only=True)
    actor_roles = fields.String(dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    action = fields.String(dump_only=True)
    entity_type = fields.String(dump_only=True)
    entity_id = fields.String(dump_only=True)
    before = fields.Dict(dump_only=True)
    after = fields.Dict(dump_only=True)
    request_id = fields.String(dump_only=True)
    prev_hash = fields.String(dump_only=True)
    hash = fields.String(dump_only=True)


class AuditQuerySchema(Schema):
    entity_type = fields.String()
    entity_id = fields.String()
    action = fields.String()


class ChainReportSchema(Schema):
    ok = fields.Boolean()
    events = fields.Integer()
    first_broken_seq = fields.Integer(allow_none=True)
    reason = fields.String(allow_none=True)


OrganizationPageSchema = page_schema(OrganizationSchema, "OrganizationPage")
AllocationPageSchema = page_schema(AllocationSchema, "AllocationPage")
UserPageSchema = page_schema(UserSchema, "UserPage")
AuditEventPageSchema = page_schema(AuditEventSchema, "AuditEventPage")
