"""Shared marshmallow fields and schemas for the API."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate

from grants.money import format_amount, parse_amount
from grants.validation.identity import IdentityError, check_person_name


class MoneyField(fields.Field):
    """USD amount: dumped as a string with two decimals; loaded from a string or exact number."""

    def _serialize(self, value, attr, obj, **kwargs):
        return None if value is None else format_amount(value)

    def _deserialize(self, value, attr, data, **kwargs):
        try:
            return parse_amount(value)
        except ValueError:
            raise ValidationError(
                str(_l("Monto inválido: use una cadena como \"1500.00\" con dos decimales como máximo."))
            ) from None


MAX_PAGE = 1_000_000  # 200 million rows at the largest page size: beyond any list, within any integer


def person_name(value) -> None:
    """marshmallow validator of a person's or organization's name (``identity.check_person_name``)."""
    try:
        check_person_name(value)
    except IdentityError as exc:
        raise ValidationError(str(exc.message)) from None


class PageArgsSchema(Schema):
    page = fields.Integer(load_default=1, validate=validate.Range(min=1, max=MAX_PAGE))
    page_size = fields.Integer(load_default=50, validate=validate.Range(min=1, max=200))


def page_schema(item_schema: type[Schema], name: str) -> type[Schema]:
    """A paginated envelope: ``{items, page, page_size, total}``."""
    return Schema.from_dict(
        {
            "items": fields.List(fields.Nested(item_schema)),
            "page": fields.Integer(),
            "page_size": fields.Integer(),
            "total": fields.Integer(),
        },
        name=name,
    )


def paginate(session, query, args: dict) -> dict:
    from sqlalchemy import func, select

    total = session.scalar(select(func.count()).select_from(query.order_by(None).subquery()))
    page, size = args["page"], args["page_size"]
    items = session.scalars(query.limit(size).offset((page - 1) * size)).all()
    return {"items": items, "page": page, "page_size": size, "total": total}


def nullable_from(model):
    """Class decorator: a field whose model column may be NULL is declared nullable (``allow_none``),
    so the OpenAPI document says ``nullable: true`` exactly where a response can carry ``null``.
    The model is the one source: a column made nullable later is documented without a second edit."""
    import sqlalchemy as sa

    columns = {attr.key: attr for attr in sa.inspect(model).column_attrs}

    def apply(schema_cls):
        for name, field in schema_cls._declared_fields.items():
            attr = columns.get(field.attribute or name)
            if attr is not None and all(column.nullable for column in attr.columns):
                field.allow_none = True
        return schema_cls

    return apply
