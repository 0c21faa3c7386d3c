"""``@idempotent`` for API views that move money: ``Idempotency-Key`` header, replay or run.

Put it between ``@blp.route`` and the schema decorators so it sees the finished response:

    @blp.route("/payments/<int:payment_id>/execute", methods=["POST"])
    @idempotent
    @blp.arguments(ExecuteSchema)
    @blp.response(201, PaymentSchema)
    def execute(args, payment_id): ...

Only successful responses are stored (a refused request rolls back, and may be retried with
the same key once the cause is fixed). A replay carries ``Idempotent-Replayed: true``.
"""
from __future__ import annotations

import hashlib
from functools import wraps

from flask import request

from grants.context import acting_user
from grants.services import idempotency

HEADER = "Idempotency-Key"
IDEMPOTENCY_PARAMETER = {
    "in": "header", "name": HEADER, "required": True, "schema": {"type": "string", "minLength": 8, "maxLength": 200},
    "description": "Clave única por operación (por usuario). La misma clave y el mismo cuerpo devuelven la misma "
                   "respuesta; otro cuerpo → 422; mientras la primera sigue en curso → 409.",
}


def _payload():
    """What makes two requests the same operation: the JSON body, or the form fields and the SHA-256
    of each uploaded file (another file under the same key is another operation: 422)."""
    if request.mimetype == "application/json":
        return request.get_json(silent=True)
    payload = {k: request.form.getlist(k) for k in sorted(request.form)}
    for name in sorted(request.files):
        digests = []
        for upload in request.files.getlist(name):
            digests.append(hashlib.sha256(upload.stream.read()).hexdigest())
            upload.stream.seek(0)  # the view reads it again
        payload[f"file:{name}"] = digests
    return payload


def idempotent(view=None, *, required: bool = True):
    """``required=False`` (uploads, check runs): without the header the request simply runs; with it, a
    client that retries after a timeout gets the first answer instead of a second batch."""
    if view is None:
        return lambda function: idempotent(function, required=required)

    @wraps(view)
    def wrapper(*args, **kwargs):
        if not required and not request.headers.get(HEADER):
            return view(*args, **kwargs)
        user = acting_user()
        claim = idempotency.claim(user.id, request.headers.get(HEADER), f"{request.method} {request.path}", _payload())
        if claim.replay is not None:
            stored = claim.replay
            response = current_response(stored.body, stored.status_code, stored.content_type)
            if stored.location:
                response.headers["Location"] = stored.location
            response.headers["Idempotent-Replayed"] = "true"
            return response
        from flask import make_response

        response = make_response(view(*args, **kwargs))
        if response.status_code < 400:
            idempotency.remember(claim, response.status_code, response.content_type, response.get_data(),
                                 response.headers.get("Location"))
        return response

    apidoc = getattr(wrapper, "_apidoc", None)
    if apidoc is not None:
        apidoc.setdefault("manual_doc", {}).setdefault("parameters", []).append(
            IDEMPOTENCY_PARAMETER if required else {**IDEMPOTENCY_PARAMETER, "required": False})
    return wrapper


def current_response(body: bytes, status: int, content_type: str):
    from flask import current_app

    return current_app.response_class(body, status=status, content_type=content_type)
