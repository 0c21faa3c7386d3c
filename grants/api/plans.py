"""/api/v1/plans: work plans, their versions, submission and the three-discipline review."""
from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import select
from sqlalchemy.orm import joinedload, selectinload

from grants.api.blueprint import Blueprint
from grants.api.fields import PageArgsSchema, paginate
from grants.api.plan_schemas import (
    DraftSchema,
    PlanPageSchema,
    PlanQuerySchema,
    PlanSchema,
    ReviewSchema,
    SectionDiffSchema,
    VersionSchema,
)
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import Plan, PlanVersion, Review
from grants.permissions import Permission
from grants.security import require, scope_to_user, visible
from grants.services import plans as service
from grants.domain_errors import NotFound
from grants.services.plan_content import diff_versions, read_content

blp = Blueprint("plans", __name__, url_prefix="/api/v1/plans", description="Planes de trabajo y su revisión")


def _plan(plan_id: int, options=()) -> Plan:
    user = acting_user()
    require(user, Permission.PLANS_READ)
    return visible(user, db.session.get(Plan, plan_id, options=options))


# Loader options for what the schemas dump, so that a read costs a fixed number of queries.
PLAN_LOAD = (joinedload(Plan.organization), joinedload(Plan.allocation), selectinload(Plan.versions))
_REVIEWS = selectinload(Plan.versions).selectinload(PlanVersion.reviews)
REVIEWS_LOAD = (_REVIEWS.joinedload(Review.reviewer), _REVIEWS.selectinload(Review.observations))
VERSIONS_LOAD = REVIEWS_LOAD + tuple(selectinload(Plan.versions).selectinload(part) for part in (
    PlanVersion.activities, PlanVersion.budget_lines, PlanVersion.indicators, PlanVersion.tranches))


def _version(plan: Plan, number: int) -> PlanVersion:
    for version in plan.versions:
        if version.number == number:
            return version
    raise NotFound()


class PlanListArgs(PageArgsSchema, PlanQuerySchema):
    pass


@blp.route("")
class Plans(MethodView):
    @blp.arguments(PlanListArgs, location="query")
    @blp.response(200, PlanPageSchema)
    def get(self, args):
        """Plans, oldest first (an NGO sees only its own)."""
        user = acting_user()
        require(user, Permission.PLANS_READ)
        query = select(Plan).order_by(Plan.id)
        if args.get("status"):
            query = query.where(Plan.status == args["status"])
        if args.get("organization_id"):
            query = query.where(Plan.organization_id == args["organization_id"])
        return paginate(db.session, scope_to_user(user, query, Plan.organization_id).options(*PLAN_LOAD), args)

    @blp.arguments(PlanSchema)
    @blp.response(201, PlanSchema)
    def post(self, data):
        """The NGO opens the work plan of one of its allocations (version 1, draft)."""
        require(acting_user(), Permission.PLANS_EDIT)
        return service.create_plan(current_actor(), data["allocation_id"], data["title"], data["content"])


@blp.route("/<int:plan_id>")
@blp.response(200, PlanSchema)
def get_plan(plan_id):
    return _plan(plan_id, PLAN_LOAD)


@blp.route("/<int:plan_id>/submit", methods=["POST"])
@blp.response(200, PlanSchema)
def submit_plan(plan_id):
    """Send the latest version to the legal, financial and monitoring reviewers."""
    plan = _plan(plan_id)
    require(acting_user(), Permission.PLANS_EDIT)
    service.submit_plan(current_actor(), plan.id)
    return plan


@blp.route("/<int:plan_id>/versions")
class Versions(MethodView):
    @blp.response(200, VersionSchema(many=True))
    def get(self, plan_id):
        return _plan(plan_id, VERSIONS_LOAD).versions

    @blp.response(201, VersionSchema)
    def post(self, plan_id):
        """After changes were requested: start the next version (a copy of the last one)."""
        plan = _plan(plan_id)
        require(acting_user(), Permission.PLANS_EDIT)
        return service.revise_plan(current_actor(), plan.id)


@blp.route("/<int:plan_id>/versions/<int:number>")
class VersionByNumber(MethodView):
    @blp.response(200, VersionSchema)
    def get(self, plan_id, number):
        return _version(_plan(plan_id, VERSIONS_LOAD), number)

    @blp.arguments(DraftSchema)
    @blp.response(200, VersionSchema)
    def put(self, data, plan_id, number):
        """Replace the content of the draft version (refused once it is submitted)."""
        plan = _plan(plan_id)
        require(acting_user(), Permission.PLANS_EDIT)
        version = _version(plan, number)
        if version is not plan.latest_version:
            raise NotFound()
        return service.save_draft(current_actor(), plan.id, data["content"], data.get("title"))


@blp.route("/<int:plan_id>/versions/<int:number>/diff")
@blp.response(200, SectionDiffSchema(many=True))
def version_diff(plan_id, number):
    """What changed, section by section, against the previous version."""
    plan = _plan(plan_id)
    version = _version(plan, number)
    previous = _version(plan, number - 1) if number > 1 else None
    return diff_versions(read_content(previous) if previous else None, read_content(version))


@blp.route("/<int:plan_id>/versions/<int:number>/reviews")
class Reviews(MethodView):
    @blp.response(200, ReviewSchema(many=True))
    def get(self, plan_id, number):
        return _version(_plan(plan_id, REVIEWS_LOAD), number).reviews

    @blp.arguments(ReviewSchema)
    @blp.response(201, ReviewSchema)
    def post(self, data, plan_id, number):
        """Record one discipline's decision (approve, request_changes, reject) with observations."""
        plan = _plan(plan_id)
        require(acting_user(), Permission.PLANS_REVIEW)
        return service.record_review(current_actor(), plan.id, number, data["discipline"], data["decision"],
                                     data.get("observations", []), data.get("reason"))
