"""/api/v1 technical meetings (mesas técnicas): the meetings of a case, listed from its allocation,
plan or agreement and recorded on the case's current record; the signed minutes; commitments
added, marked done or cancelled; the caller's own (overdue) commitments.

Reading a meeting needs the read permission of its record; an NGO user sees only its own
organization's meetings (another's: 404). The service decides who writes
(``grants.services.meetings``): 403 ``forbidden``, 409 ``meeting_stage`` (not the case's current
record), 409 ``commitment_closed``, 422 ``validation_error`` with field errors.
"""
from __future__ import annotations

from flask import request
from flask.views import MethodView
from sqlalchemy.orm import joinedload, selectinload

from grants.api.blueprint import Blueprint
from grants.api.fields import PageArgsSchema, paginate
from grants.api.meeting_schemas import (
    CloseSchema,
    CommitmentPageSchema,
    CommitmentQuerySchema,
    CommitmentSchema,
    MeetingPageSchema,
    MeetingSchema,
    MinutesUploadSchema,
)
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import Commitment, Meeting
from grants.permissions import Permission
from grants.security import require, visible
from grants.services.attachments import prefetch_attachments
from grants.services import attachments, meetings

blp = Blueprint("meetings", __name__, url_prefix="/api/v1",
                description="Mesas técnicas: actas, participantes y compromisos")

READ = {"allocation": Permission.ALLOCATIONS_READ, "plan": Permission.PLANS_READ,
        "agreement": Permission.AGREEMENTS_READ}


def _record(stage: str, record_id: int):
    user = acting_user()
    require(user, READ[stage])
    return meetings.load_record(user, stage, record_id)


# What MeetingSchema dumps, loaded in a fixed number of queries for a whole page.
MEETING_LOAD = (selectinload(Meeting.participants), selectinload(Meeting.commitments).joinedload(Commitment.owner))


def _meeting(meeting_id: int, options=()) -> Meeting:
    user = acting_user()
    meeting = visible(user, db.session.get(Meeting, meeting_id, options=options))
    require(user, READ[meeting.stage])
    return meeting


def _list(stage: str, record_id: int, args: dict) -> dict:
    page = paginate(db.session, meetings.case_query(_record(stage, record_id)).options(*MEETING_LOAD), args)
    prefetch_attachments(page["items"], "meeting_minutes")
    return page


def _create(stage: str, record_id: int, data: dict) -> Meeting:
    _record(stage, record_id)
    return meetings.record_meeting(current_actor(), stage, record_id, data)


@blp.route("/allocations/<int:allocation_id>/meetings")
class AllocationMeetings(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MeetingPageSchema)
    def get(self, args, allocation_id):
        """Every meeting of the allocation's case (before the plan, the plan's, the agreement's), oldest first."""
        return _list("allocation", allocation_id, args)

    @blp.arguments(MeetingSchema)
    @blp.response(201, MeetingSchema)
    def post(self, data, allocation_id):
        """Record a meeting held before the NGO has a plan for this allocation (409 ``meeting_stage`` once it has one)."""
        return _create("allocation", allocation_id, data)


@blp.route("/plans/<int:plan_id>/meetings")
class PlanMeetings(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MeetingPageSchema)
    def get(self, args, plan_id):
        """Every meeting of the plan's case (before the plan, the plan's, the agreement's), oldest first."""
        return _list("plan", plan_id, args)

    @blp.arguments(MeetingSchema)
    @blp.response(201, MeetingSchema)
    def post(self, data, plan_id):
        """Record a meeting on the plan, until it has an agreement (409 ``meeting_stage`` then)."""
        return _create("plan", plan_id, data)


@blp.route("/agreements/<int:agreement_id>/meetings")
class AgreementMeetings(MethodView):
    @blp.arguments(PageArgsSchema, location="query")
    @blp.response(200, MeetingPageSchema)
    def get(self, args, agreement_id):
        """Every meeting of the agreement's case (before the plan, the plan's, the agreement's), oldest first."""
        return _list("agreement", agreement_id, args)

    @blp.arguments(MeetingSchema)
    @blp.response(201, MeetingSchema)
    def post(self, data, agreement_id):
        """Record a meeting on the agreement (its administrator, the legal team, monitoring, system
        administration); not once it was reported to the Legislative Assembly."""
        return _create("agreement", agreement_id, data)


@blp.route("/meetings/<int:meeting_id>")
@blp.response(200, MeetingSchema)
def get_meeting(meeting_id):
    """The meeting: participants, minutes, signed minutes, commitments."""
    return _meeting(meeting_id, MEETING_LOAD)


@blp.route("/meetings/<int:meeting_id>/minutes", methods=["POST"])
@blp.arguments(MinutesUploadSchema, location="files")
@blp.response(201, MeetingSchema)
def upload_minutes(files, meeting_id):
    """multipart/form-data ``file``: the signed minutes, a PDF (checked by its content, not its name).
    A later upload is kept beside the earlier ones; the newest counts."""
    _meeting(meeting_id)
    upload = request.files.get("file")
    data = upload.stream.read(attachments.kind_limit("meeting_minutes") + 1) if upload else b""
    meetings.attach_minutes(current_actor(), meeting_id, upload.filename if upload else None, data)
    return db.session.get(Meeting, meeting_id)


@blp.route("/meetings/<int:meeting_id>/commitments", methods=["POST"])
@blp.arguments(CommitmentSchema)
@blp.response(201, CommitmentSchema)
def add_commitment(data, meeting_id):
    """A commitment agreed at the meeting; its owner is notified."""
    _meeting(meeting_id)
    return meetings.add_commitment(current_actor(), meeting_id, data)


def _commitment(commitment_id: int) -> Commitment:
    commitment = visible(acting_user(), db.session.get(Commitment, commitment_id))
    _meeting(commitment.meeting_id)
    return commitment


@blp.route("/commitments/<int:commitment_id>")
@blp.response(200, CommitmentSchema)
def get_commitment(commitment_id):
    return _commitment(commitment_id)


@blp.route("/commitments/<int:commitment_id>/done", methods=["POST"])
@blp.arguments(CloseSchema)
@blp.response(200, CommitmentSchema)
def complete(data, commitment_id):
    """Its owner, the meeting's recorder or the legal team / system administration marks it done."""
    _commitment(commitment_id)
    return meetings.complete_commitment(current_actor(), commitment_id, data["note"])


@blp.route("/commitments/<int:commitment_id>/cancel", methods=["POST"])
@blp.arguments(CloseSchema)
@blp.response(200, CommitmentSchema)
def cancel(data, commitment_id):
    """The meeting's recorder or the legal team / system administration cancels it; ``note`` (why) required."""
    _commitment(commitment_id)
    return meetings.cancel_commitment(current_actor(), commitment_id, data["note"])


@blp.route("/commitments")
@blp.arguments(CommitmentQuerySchema, location="query")
@blp.response(200, CommitmentPageSchema)
def my_commitments(args):
    """The caller's own commitments, by due date; ``overdue=true``: the open ones due before today."""
    query = meetings.owned_query(acting_user(), args.get("status"), args["overdue"])
    return paginate(db.session, query.options(joinedload(Commitment.owner)), args)
