"""Idempotency keys for the money forms people submit (execute a payment, disburse an advance,
record a refund): a double click, a reload or a retried POST moves the money once (G7).

The page makes a key when it renders the form (a hidden field); the handler claims it before
calling the service and, after success, stores the redirect in the same transaction as the money
change. A second POST with the same key finds the stored redirect and follows it instead of
running the operation again.
"""
from __future__ import annotations

from uuid import uuid4

from flask import flash, redirect, request
from flask_babel import lazy_gettext as _l
from flask_login import current_user

from grants.services import idempotency

FIELD = "idempotency_key"
_NOT_PAYLOAD = {"csrf_token", FIELD}


def new_key() -> str:
    """A fresh key for a form being rendered."""
    return uuid4().hex


def form_key() -> str:
    """The key the form came with (kept when the form is shown again after an error), or a new one."""
    key = request.form.get(FIELD, "") if request.method == "POST" else ""
    return key if idempotency.KEY_PATTERN.match(key or "") else new_key()


def _payload() -> dict:
    return {k: request.form.getlist(k) for k in sorted(request.form) if k not in _NOT_PAYLOAD}


class Replay(Exception):
    """The operation already ran (or is running) with this key: answer with ``response``."""

    def __init__(self, response):
        super().__init__("replay")
        self.response = response


def claim(fallback_url: str) -> idempotency.Claim:
    """Claim the submitted key for this request, or raise :class:`Replay` with the answer to give.

    A replay follows the stored redirect (303). A key used for another request, or one whose first
    request is still running, sends the person back to ``fallback_url`` with an explanation
    instead of an error page: nothing ran twice either way.
    """
    try:
        result = idempotency.claim(current_user.id, request.form.get(FIELD), f"POST {request.path}", _payload())
    except idempotency.KeyInProgress:
        flash(_l("Esta operación ya se está procesando. Espere unos segundos y revise el resultado."), "info")
        raise Replay(redirect(fallback_url, 303)) from None
    except idempotency.KeyReused:
        flash(_l("Este formulario ya se había enviado con otros datos; no se repitió la operación. "
                 "Revise el resultado y, si hace falta, use el formulario nuevo."), "info")
        raise Replay(redirect(fallback_url, 303)) from None
    if result.replay is not None:
        flash(_l("Esta operación ya se había registrado: no se repitió."), "info")
        raise Replay(redirect(result.replay.location or fallback_url, 303))
    return result


def remember(claim_: idempotency.Claim, location: str) -> None:
    """Store the redirect for the key, in the same transaction as the operation."""
    idempotency.remember(claim_, 303, "text/html", b"", location)


def done(claim_: idempotency.Claim, location: str):
    """Store the redirect for the key (same transaction as the operation) and return it."""
    remember(claim_, location)
    return redirect(location, 303)
