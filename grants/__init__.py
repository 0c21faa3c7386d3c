"""Fondos: grant-disbursement and liquidation control service."""
from __future__ import annotations

import logging
from pathlib import Path

from flask import Flask, g, request, session
from werkzeug.routing import IntegerConverter

from config import load_config

class DatabaseIdConverter(IntegerConverter):
    """``<int:id>`` beyond a 32-bit key is simply not found (never a database overflow)."""

    def __init__(self, map, *args, **kwargs):
        kwargs.setdefault("max", 2**31 - 1)
        super().__init__(map, *args, **kwargs)


MIGRATIONS_DIR = str(Path(__file__).resolve().parent.parent / "migrations")
log = logging.getLogger(__name__)


def create_app(profile: str | None = None, **overrides) -> Flask:
    app = Flask(__name__, template_folder="web/templates", static_folder="web/static")
    app.config.from_mapping(load_config(profile, **overrides))
    app.url_map.converters["int"] = DatabaseIdConverter  # before any route is added
    if int(app.config.get("PROXY_HOPS") or 0) > 0:  # behind N proxies: the client's address, not theirs
        from werkzeug.middleware.proxy_fix import ProxyFix

        hops = int(app.config["PROXY_HOPS"])
        app.wsgi_app = ProxyFix(app.wsgi_app, x_for=hops, x_proto=hops)
    if app.config["SQLALCHEMY_DATABASE_URI"].startswith("sqlite:///"):
        Path(app.config["SQLALCHEMY_DATABASE_URI"][len("sqlite:///"):]).parent.mkdir(
            parents=True, exist_ok=True
        )

    from flask_sqlalchemy.session import Session as FlaskSQLAlchemySession

    from grants import extensions as ext
    from grants.audit.guard import install as install_audit_guard
    from grants.db import install_engine_events

    install_engine_events()
    ext.db.init_app(app)
    install_audit_guard(FlaskSQLAlchemySession)  # and every subclass, test sessions included
    ext.migrate.init_app(app, ext.db, directory=MIGRATIONS_DIR)
    ext.csrf.init_app(app)

    from grants.throttle import check_settings

    check_settings(app.config)  # a mistyped LOGIN_LIMIT_* stops the start, not the first login

    from grants.i18n import init_i18n

    init_i18n(app)

    from grants import health, logs, metrics

    logs.configure(app)
    logs.install(app)  # request id and timing first: they also cover requests a later hook refuses
    metrics.install(app)
    health.install(app)

    from grants.input_guard import install as install_input_guard

    install_input_guard(app)  # before any hook that reads the request (API tokens, login)

    from grants.web.auth import init_login

    init_login(app)

    from grants.api import init_api

    init_api(app)

    from grants.web import register_web

    register_web(app)

    from grants.errors import register_error_handlers

    register_error_handlers(app)

    from grants.cli import register_cli

    register_cli(app)

    from grants.jobs import register as register_jobs

    register_jobs(app)  # flask worker

    _register_unit_of_work(app)
    _register_security_headers(app)
    return app


def _register_unit_of_work(app: Flask) -> None:
    """One request = one unit of work: commit once if the response is a success, else roll back."""
    from grants.extensions import db
    from grants.errors import HTTP_CODES, problem_response
    from grants.services.notifications import OUTBOX_WRITTEN

    from grants import jobs

    @app.after_request
    def commit_or_roll_back(response):
        outbox_written = db.session.info.pop(OUTBOX_WRITTEN, False)  # never left for a later request
        if response.status_code >= 400 or g.get("rollback_only"):
            db.session.rollback()
            g.pop("inline_jobs", None)
            return response
        try:
            if outbox_written:  # e-mails go out once committed: a job (queue) or after the response
                jobs.defer("deliver_mail")
            db.session.commit()
        except Exception:
            db.session.rollback()
            g.pop("inline_jobs", None)
            log.exception("commit failed on %s %s", request.method, request.path)
            code, title = HTTP_CODES[500]
            return problem_response(500, code, title)
        jobs.after_response(app, response)  # inline mode: the jobs this request deferred
        return response




def _docs_policy(html: str) -> str:
    """Swagger UI's page starts itself with an inline script and styles itself inline: allow exactly
    that script (by its hash, computed from the page sent) and inline styles, nothing from elsewhere."""
    import base64
    import hashlib
    import re

    hashes = " ".join(
        "'sha256-" + base64.b64encode(hashlib.sha256(script.encode()).digest()).decode() + "'"
        for script in re.findall(r"<script>(.*?)</script>", html, flags=re.S))
    return ("default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; "
            f"script-src 'self' {hashes}; connect-src 'self'; frame-ancestors 'none'; form-action 'self'")


def _register_security_headers(app: Flask) -> None:
    @app.after_request
    def security_headers(response):
        response.headers.setdefault("X-Content-Type-Options", "nosniff")
        response.headers.setdefault("Referrer-Policy", "same-origin")
        response.headers.setdefault("X-Frame-Options", "DENY")
        if request.path == "/api/docs" and response.mimetype == "text/html":
            response.headers.setdefault("Content-Security-Policy", _docs_policy(response.get_data(as_text=True)))
        else:
            response.headers.setdefault(
                "Content-Security-Policy",
                "default-src 'self'; img-src 'self' data:; style-src 'self'; "
                "script-src 'self'; frame-ancestors 'none'; form-action 'self'",
            )
        if session.modified or request.path.startswith("/api/"):
            response.headers.setdefault("Cache-Control", "no-store")
        return response
