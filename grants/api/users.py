"""/api/v1/users and /api/v1/me"""
from __future__ import annotations

from flask.views import MethodView
from grants.api.blueprint import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grants.api.fields import PageArgsSchema, paginate
from grants.api.schemas import PasswordSchema, UserPageSchema, UserSchema, UserUpdateSchema
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import User
from grants.permissions import Permission
from grants.security import require
from grants.services import users as service
from grants.domain_errors import NotFound

blp = Blueprint("users", __name__, url_prefix="/api/v1", description="Usuarios y roles")


@blp.route("/me")
@blp.response(200, UserSchema)
def me():
    """The authenticated user."""
    return acting_user()


@blp.route("/users")
class Users(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, UserPageSchema)
    def get(self, args):
        require(acting_user(), Permission.USERS_MANAGE)
        return paginate(db.session, select(User).order_by(User.email).options(selectinload(User.role_rows)), args)

    @blp.arguments(UserSchema)
    @blp.response(201, UserSchema)
    def post(self, data):
        require(acting_user(), Permission.USERS_MANAGE)
        return service.create_user(current_actor(), data)


@blp.route("/users/<int:user_id>")
class UserById(MethodView):
    @blp.response(200, UserSchema)
    def get(self, user_id):
        require(acting_user(), Permission.USERS_MANAGE)
        user = db.session.get(User, user_id)
        if user is None:
            raise NotFound()
        return user

    @blp.arguments(UserUpdateSchema(partial=True))
    @blp.response(200, UserSchema)
    def patch(self, data, user_id):
        require(acting_user(), Permission.USERS_MANAGE)
        return service.update_user(current_actor(), user_id, data)


@blp.route("/users/<int:user_id>/password")
class UserPassword(MethodView):
    @blp.arguments(PasswordSchema)
    @blp.response(204)
    def put(self, data, user_id):
        """Set a user's password; their sessions and tokens stop working."""
        require(acting_user(), Permission.USERS_MANAGE)
        service.set_password(current_actor(), user_id, data["password"])
