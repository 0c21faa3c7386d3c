"""The two WSGI applications that ``api_throughput.py`` serves with gunicorn, from the environment:

* ``bench._throughput_app:app`` — Fondos itself (``create_app("production")``) on ``BENCH_DATABASE_URL``;
* ``bench._throughput_app:bare`` — a bare Flask app whose one endpoint answers the JSON body stored in
  ``BENCH_BARE_BODY`` (a file): the same bytes as the Fondos read it is compared with, encoded on
  every request by Flask's JSON provider, nothing else (no database, no authentication, no hooks).
"""
from __future__ import annotations

import json
import os
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _without_token_write() -> None:
    """``BENCH_TOKEN_WRITE=off``: authenticate as usual but leave out the token's last-use write (a
    what-if figure: what a last use recorded at most once a minute gives on a sustained run)."""
    from sqlalchemy import select
    from sqlalchemy.orm import joinedload

    from grants.extensions import db
    from grants.models import ApiToken, User
    from grants.models.base import utcnow
    from grants.security import token_digest
    from grants.services import auth

    def user_for_token(raw):
        token = db.session.scalar(select(ApiToken).where(ApiToken.token_hash == token_digest(raw))
                                  .options(joinedload(ApiToken.user).joinedload(User.role_rows)))
        if token is None or not token.is_usable(utcnow()):
            return None
        return token.user, token

    auth.user_for_token = user_for_token


def _fondos():
    from grants import create_app

    if os.environ.get("BENCH_TOKEN_WRITE") == "off":
        _without_token_write()

    return create_app("production", SQLALCHEMY_DATABASE_URI=os.environ["BENCH_DATABASE_URL"],
                      SECRET_KEY=os.environ["BENCH_SECRET_KEY"], UPLOAD_DIR=os.environ["BENCH_UPLOAD_DIR"])


def _bare():
    from flask import Flask

    bare_app = Flask("bare")
    payload = json.loads(Path(os.environ["BENCH_BARE_BODY"]).read_text())

    @bare_app.get("/bare")
    def body():
        return bare_app.json.response(payload)

    return bare_app


def __getattr__(name):  # gunicorn imports one of them; the other is never built
    if name == "app":
        return _fondos()
    if name == "bare":
        return _bare()
    raise AttributeError(name)
