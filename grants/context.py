"""Who is acting in this request: the web user (cookie) or the API user (bearer token)."""
from __future__ import annotations

from flask import g, has_request_context, request
from flask_login import current_user

from grants.audit import Actor
from grants.logs import clean_request_id


def request_id() -> str:
    """This request's id (the one in its log lines and its X-Request-Id response header)."""
    if "request_id" not in g:  # set by grants.logs before any other hook; this is for other contexts
        g.request_id = clean_request_id(request.headers.get("X-Request-Id") if has_request_context() else None)
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
