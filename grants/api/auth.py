"""Bearer-token authentication for /api/v1 and the token endpoints."""
from __future__ import annotations

from datetime import timedelta


from flask import current_app, g, request
from flask.views import MethodView
from flask_babel import lazy_gettext as _l
from grants import models
from grants.api.fields import nullable_from
from grants.api.blueprint import Blueprint
from marshmallow import Schema, fields, validate
from sqlalchemy import select

from grants.context import current_actor
from grants import throttle
from grants.extensions import db
from grants.models import ApiToken
from grants.services import auth as auth_service
from grants.domain_errors import Unauthorized

blp = Blueprint("tokens", __name__, url_prefix="/api/v1/auth", description="Tokens de acceso")


def bearer_token() -> str | None:
    header = request.headers.get("Authorization", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "bearer" or not value.strip():
        return None
    return value.strip()


def authenticate_api_request() -> None:
    """Runs before every /api/v1 view except the token issue: sets g.api_user or refuses."""
    raw = bearer_token()
    if raw is None:
        raise Unauthorized(_l("Envíe el encabezado Authorization: Bearer <token>."), code="missing_token")
    user, token = auth_service.require_token(raw)
    g.api_user = user
    g.api_token = token


def public(view):
    view._fondos_public = True
    return view


class TokenRequestSchema(Schema):
    email = fields.String(required=True, validate=validate.Length(max=254))
    password = fields.String(required=True, load_only=True, validate=validate.Length(max=256))
    name = fields.String(validate=validate.Length(max=80))
    expires_in_hours = fields.Integer(validate=validate.Range(min=1, max=24 * 30))


@nullable_from(models.ApiToken)
class TokenSchema(Schema):
    id = fields.Integer(dump_only=True)
    prefix = fields.String(dump_only=True)
    name = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    expires_at = fields.DateTime(dump_only=True)
    revoked_at = fields.DateTime(dump_only=True)
    last_used_at = fields.DateTime(dump_only=True)


class IssuedTokenSchema(TokenSchema):
    token = fields.String(dump_only=True, metadata={"description": "Shown once; store it safely."})
    token_type = fields.String(dump_only=True)


@blp.route("/tokens")
class Tokens(MethodView):
    @public
    @blp.arguments(TokenRequestSchema)
    @blp.response(201, IssuedTokenSchema)
    @blp.doc(security=[])
    def post(self, args):
        """Issue a bearer token for an e-mail and password.

        Failed attempts are throttled per account and per client address, together with the
        web login form: past the limit the answer is 429 with `Retry-After`, even for the right
        password, until the window ends."""
        attempt = throttle.begin_login(args["email"])
        user = auth_service.authenticate(args["email"], args["password"])
        if user is None:
            raise Unauthorized(_l("Correo o contraseña incorrectos."), code="invalid_credentials")
        attempt.succeeded()
        actor = current_actor(user)
        auth_service.record_login(actor, user, channel="api")
        ttl = timedelta(hours=args["expires_in_hours"]) if args.get("expires_in_hours") else None
        token, raw = auth_service.issue_token(actor, user, args.get("name"), ttl)
        fields_ = ("id", "prefix", "name", "created_at", "expires_at", "revoked_at", "last_used_at")
        return {**{f: getattr(token, f) for f in fields_}, "token": raw, "token_type": "Bearer"}

    @blp.response(200, TokenSchema(many=True))
    def get(self):
        """The caller's own tokens (never their values)."""
        return db.session.scalars(
            select(ApiToken).where(ApiToken.user_id == g.api_user.id).order_by(ApiToken.id.desc())
        ).all()


@blp.route("/tokens/current")
class CurrentToken(MethodView):
    @blp.response(204)
    def delete(self):
        """Revoke the token used for this call."""
        auth_service.revoke_token(current_actor(), g.api_user, g.api_token.id)


@blp.route("/tokens/<int:token_id>")
class TokenById(MethodView):
    @blp.response(204)
    def delete(self, token_id):
        """Revoke one of the caller's tokens."""
        auth_service.revoke_token(current_actor(), g.api_user, token_id)


def is_public_view() -> bool:
    view = current_app.view_functions.get(request.endpoint) if request.endpoint else None
    if view is None:
        return False
    target = getattr(view, "view_class", None)
    if target is not None:
        method = getattr(target, request.method.lower(), None)
        return bool(getattr(method, "_fondos_public", False))
    return bool(getattr(view, "_fondos_public", False))


