"""flask-smorest Blueprint whose JSON bodies are parsed with Decimal for fractions."""
from __future__ import annotations

import flask_smorest
from flask import request
from webargs import core
from webargs.flaskparser import FlaskParser


class FondosParser(FlaskParser):
    """webargs parses JSON with the stdlib by default (floats); use the app's provider instead."""

    def _raw_load_json(self, req):
        if not (req.mimetype and core.is_json(req.mimetype)):
            return core.missing
        data = req.get_data(cache=True)
        if not data:
            return core.missing
        try:
            return request.json_module.loads(data)
        except ValueError as exc:
            self._handle_invalid_json_error(exc, req)


class Blueprint(flask_smorest.Blueprint):
    ARGUMENTS_PARSER = FondosParser()
