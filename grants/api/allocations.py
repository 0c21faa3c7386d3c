"""/api/v1/allocations"""
from __future__ import annotations

from flask.views import MethodView
from grants.api.blueprint import Blueprint
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from grants.api.fields import PageArgsSchema, paginate
from grants.api.schemas import (
    AllocationPageSchema,
    AllocationQuerySchema,
    AllocationSchema,
    AllocationUpdateSchema,
)
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import Allocation
from grants.permissions import Permission
from grants.security import require, scope_to_user, visible
from grants.services import allocations as service

blp = Blueprint("allocations", __name__, url_prefix="/api/v1/allocations",
                description="Asignaciones legislativas")


class AllocationListArgs(PageArgsSchema, AllocationQuerySchema):
    pass


@blp.route("")
class Allocations(MethodView):
    @blp.arguments(AllocationListArgs, location="query")
    @blp.response(200, AllocationPageSchema)
    def get(self, args):
        """List allocations, filtered by fiscal year or organization."""
        user = acting_user()
        require(user, Permission.ALLOCATIONS_READ)
        query = select(Allocation).order_by(Allocation.fiscal_year.desc(), Allocation.id)
        if args.get("fiscal_year"):
            query = query.where(Allocation.fiscal_year == args["fiscal_year"])
        if args.get("organization_id"):
            query = query.where(Allocation.organization_id == args["organization_id"])
        query = scope_to_user(user, query, Allocation.organization_id)
        return paginate(db.session, query.options(joinedload(Allocation.organization)), args)

    @blp.arguments(AllocationSchema)
    @blp.response(201, AllocationSchema)
    def post(self, data):
        """Record a legislative allocation (admin)."""
        require(acting_user(), Permission.ALLOCATIONS_MANAGE)
        return service.create_allocation(current_actor(), data)


@blp.route("/<int:allocation_id>")
class AllocationById(MethodView):
    @blp.response(200, AllocationSchema)
    def get(self, allocation_id):
        user = acting_user()
        require(user, Permission.ALLOCATIONS_READ)
        return visible(user, db.session.get(Allocation, allocation_id))

    @blp.arguments(AllocationUpdateSchema(partial=True))
    @blp.response(200, AllocationSchema)
    def patch(self, data, allocation_id):
        user = acting_user()
        visible(user, db.session.get(Allocation, allocation_id))
        require(user, Permission.ALLOCATIONS_MANAGE)
        return service.update_allocation(current_actor(), allocation_id, data)
