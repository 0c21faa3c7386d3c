"""Who is acting in this request: the web user (cookie) or the API user (bearer token)."""
from __future__ import annotations

import uuid

from flask import g, has_request_context, request
from flask_login import current_user

from grants.audit import Actor


def request_id() -> str:
    if "request_id" not in g:
        incoming = request.headers.get("X-Request-Id", "") if has_request_context() else ""
        g.request_id = incoming[:64] if incoming.isprintable() and incoming else uuid.uuid4().hex
    return g.request_id


def acting_user():
    """The API user when the request carried a bearer token, else the logged-in web user."""
    api_user = g.get("api_user")
    if api_user is not None:
        return api_user
    if current_user and current_user.is_authenticated:
        return current_user._get_current_object()
    return None


def current_actor(user=None) -> Actor:
    user = user or acting_user()
    if user is None:
        return Actor.system("anonymous")
    return Actor.for_user(user, request_id=request_id(), remote_addr=request.remote_addr)
