"""The OpenAPI document tells the truth about errors: every error response of every operation is
``application/problem+json`` (RFC 9457) with the ``Problem`` schema, which is what
``grants.errors`` sends. flask-smorest registers one component response per HTTP status and a
``default`` one for every operation; here they all point at the Problem schema and content type.
"""
from __future__ import annotations

import http

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
