"""The OpenAPI document tells the truth about errors: every error response of every operation is
``application/problem+json`` (RFC 9457) with the ``Problem`` schema, which is what
``grants.errors`` sends. flask-smorest registers one component response per HTTP status and a
``default`` one for every operation; here they all point at the Problem schema and content type.
"""
from __future__ import annotations

import http

from apispec import BasePlugin
from flask_smorest import Api
from flask_smorest.utils import prepare_response
from marshmallow import Schema, fields

PROBLEM_JSON = "application/problem+json"


class ProblemSchema(Schema):
    """What every refusal looks like (``grants.errors.problem_response``)."""

    type = fields.String(required=True, metadata={"description": "urn:fondos:problem:<code>"})
    title = fields.String(required=True, metadata={"description": "Qué pasó, en el idioma de la solicitud."})
    status = fields.Integer(required=True, metadata={"minimum": 400, "maximum": 599})
    code = fields.String(required=True, metadata={"description": "Código estable para programas."})
    detail = fields.String(metadata={"description": "Explicación para este caso."})
    errors = fields.Dict(keys=fields.String(), values=fields.List(fields.String()),
                         metadata={"description": "Mensajes por campo (ruta con puntos: lines.0.amount)."})

    class Meta:
        name = "Problem"


class FondosApi(Api):
    ERROR_SCHEMA = ProblemSchema

    def _register_responses(self):
        for status in http.HTTPStatus:
            response = {"description": status.phrase}
            if status >= 400:
                response["schema"] = self.ERROR_SCHEMA
            prepare_response(response, self.spec, PROBLEM_JSON)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error (problem+json)", "schema": self.ERROR_SCHEMA}
        prepare_response(response, self.spec, PROBLEM_JSON)
        self.spec.components.response(self.DEFAULT_ERROR_RESPONSE_NAME, response, lazy=True)


class PatchNeedsAField(BasePlugin):
    """A PATCH body must carry at least one field (``grants.input_guard`` refuses an empty one with
    a 422): its schema is declared ``minProperties: 1`` (wrapped in ``allOf``, as a ``$ref`` takes no
    siblings in OpenAPI 3.0)."""

    def operation_helper(self, path=None, operations=None, **kwargs):
        body = (operations or {}).get("patch", {}).get("requestBody", {})
        for content in body.get("content", {}).values():
            if "schema" in content and "minProperties" not in content["schema"]:
                content["schema"] = {"allOf": [content["schema"]], "minProperties": 1}
