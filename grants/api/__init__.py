"""JSON API under /api/v1 (flask-smorest), OpenAPI 3 at /api/openapi.json, docs at /api/docs."""
from __future__ import annotations

from decimal import Decimal

from flask import Flask, request, send_from_directory
from flask.json.provider import DefaultJSONProvider
from swagger_ui_bundle import swagger_ui_path

from grants.extensions import api, csrf
from grants.openapi import PatchNeedsAField


class FondosJSONProvider(DefaultJSONProvider):
    """JSON numbers with a fraction parse as Decimal (money is never float); Decimal dumps as string."""

    def loads(self, s, **kwargs):
        kwargs.setdefault("parse_float", Decimal)
        return super().loads(s, **kwargs)


def init_api(app: Flask) -> None:
    app.json = FondosJSONProvider(app)
    api.init_app(app, spec_kwargs={"info": {
        "description": "API de Fondos: control de transferencias a ONG y su liquidación (MJSP).",
    }, "extra_plugins": [PatchNeedsAField()]})
    api.spec.components.security_scheme("bearerAuth", {"type": "http", "scheme": "bearer"})
    api.spec.options["security"] = [{"bearerAuth": []}]

    from grants.api import (
        advances,
        agreements,
        allocations,
        attachments,
        audit,
        audit_checks,
        auth,
        bank_statements,
        beneficiaries,
        closing,
        documents,
        followup,
        generated_files,
        meetings,
        notifications,
        organizations,
        payment_batches,
        payments,
        plans,
        suppliers,
        users,
    )

    modules = (auth, organizations, allocations, plans, agreements, beneficiaries, suppliers, notifications,
               users, audit, advances, payments, followup, closing, audit_checks, attachments, meetings,
               generated_files, documents, payment_batches, bank_statements)
    for module in modules:
        csrf.exempt(module.blp)  # the API authenticates with bearer tokens only, never cookies
        api.register_blueprint(module.blp)

    @app.before_request
    def _authenticate_api():
        if request.path.startswith("/api/v1/") and request.endpoint and not auth.is_public_view():
            auth.authenticate_api_request()

    @app.get("/api/docs/assets/<path:filename>")
    def swagger_assets(filename):
        return send_from_directory(swagger_ui_path, filename, max_age=3600)
