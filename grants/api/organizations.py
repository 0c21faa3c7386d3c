"""/api/v1/organizations"""
from __future__ import annotations

from flask.views import MethodView
from grants.api.blueprint import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import selectinload

from grants.api.fields import PageArgsSchema, paginate
from grants.api.schemas import OrganizationPageSchema, OrganizationSchema, OrganizationUpdateSchema
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import Organization
from grants.permissions import Permission
from grants.security import require, scope_to_user, visible
from grants.services import organizations as service

blp = Blueprint("organizations", __name__, url_prefix="/api/v1/organizations",
                description="Organizaciones (ONG)")


@blp.route("")
class Organizations(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, OrganizationPageSchema)
    def get(self, args):
        """List organizations (an NGO user sees only its own)."""
        user = acting_user()
        require(user, Permission.ORGANIZATIONS_READ)
        query = scope_to_user(user, select(Organization).order_by(Organization.legal_name), Organization.id)
        query = query.options(selectinload(Organization.phones), selectinload(Organization.board_members))
        return paginate(db.session, query, args)

    @blp.arguments(OrganizationSchema)
    @blp.response(201, OrganizationSchema)
    def post(self, data):
        """Create an organization (admin)."""
        require(acting_user(), Permission.ORGANIZATIONS_MANAGE)
        return service.create_organization(current_actor(), data)


@blp.route("/<int:org_id>")
class OrganizationById(MethodView):
    @blp.response(200, OrganizationSchema)
    def get(self, org_id):
        user = acting_user()
        require(user, Permission.ORGANIZATIONS_READ)
        return visible(user, db.session.get(Organization, org_id))

    @blp.arguments(OrganizationUpdateSchema(partial=True))
    @blp.response(200, OrganizationSchema)
    def patch(self, data, org_id):
        """Change an organization (admin); only the fields sent change."""
        user = acting_user()
        visible(user, db.session.get(Organization, org_id))
        require(user, Permission.ORGANIZATIONS_MANAGE)
        return service.update_organization(current_actor(), org_id, data)
