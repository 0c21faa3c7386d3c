"""Login throttling, shared by the web form and the token endpoint. Only failures count."""
from __future__ import annotations

from flask import current_app, g, request
from flask_limiter.util import get_remote_address


def account_key() -> str:
    email = request.form.get("email")
    if email is None:
        body = request.get_json(silent=True)
        email = body.get("email") if isinstance(body, dict) else None
    email = str(email or "").strip().lower()[:254]
    return f"account:{email}" if email else f"address:{get_remote_address()}"


def count_failure(response) -> bool:
    return bool(g.get("login_failed"))


LOGIN_LIMITS = {
    "account": lambda: current_app.config["LOGIN_LIMIT_PER_ACCOUNT"],
    "address": lambda: current_app.config["LOGIN_LIMIT_PER_ADDRESS"],
}
