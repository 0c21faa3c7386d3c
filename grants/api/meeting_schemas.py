"""Schemas of technical meetings (mesas técnicas), their participants and commitments."""
from __future__ import annotations

from flask_smorest.fields import Upload
from marshmallow import Schema, fields, validate

from grants.api.attachments import AttachmentSchema
from grants.api.fields import PageArgsSchema, page_schema, person_name
from grants.api.schemas import ID_RANGE
from grants.clock import today
from grants.models.meeting import INSTITUTIONS, STAGES
from grants.services import meetings
from grants.workflows.commitment import CommitmentState

SHORT = validate.Length(max=160)
LINE = validate.Length(max=200)
TEXT = validate.Length(max=meetings.MAX_TEXT)


class ParticipantSchema(Schema):
    name = fields.String(required=True, validate=[SHORT, person_name])
    institution = fields.String(required=True, validate=validate.OneOf(INSTITUTIONS), metadata={
        "description": "Who they speak for: the ministry or the NGO"})
    position = fields.String(load_default="", validate=SHORT, metadata={"description": "Cargo"})


class CommitmentSchema(Schema):
    id = fields.Integer(dump_only=True)
    meeting_id = fields.Integer(dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    description = fields.String(required=True, validate=TEXT)
    owner_id = fields.Integer(required=True, validate=ID_RANGE, metadata={
        "description": "An active ministry user, or a user of the meeting's NGO; notified"})
    owner_name = fields.Function(lambda c: c.owner.full_name, dump_only=True)
    due_on = fields.Date(required=True, metadata={
        "description": "Not before the meeting, at most a year after it"})
    status = fields.String(dump_only=True, metadata={"enum": [s.value for s in CommitmentState]})
    overdue = fields.Function(lambda c: c.is_overdue(today()), dump_only=True, metadata={
        "type": "boolean", "description": "Open and due before today (El Salvador)"})
    close_note = fields.String(dump_only=True, allow_none=True)
    closed_by_id = fields.Integer(dump_only=True, allow_none=True)
    closed_at = fields.DateTime(dump_only=True, allow_none=True)
    created_by_id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)


class MeetingSchema(Schema):
    id = fields.Integer(dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    stage = fields.String(dump_only=True, metadata={
        "enum": list(STAGES), "description": "The record it was recorded on: allocation (before the plan), plan, agreement"})
    allocation_id = fields.Integer(dump_only=True, allow_none=True)
    plan_id = fields.Integer(dump_only=True, allow_none=True)
    agreement_id = fields.Integer(dump_only=True, allow_none=True)
    held_on = fields.Date(required=True, metadata={
        "description": "Not in the future; not before 1 January of the year before the allocation's fiscal year"})
    place = fields.String(required=True, validate=LINE)
    subject = fields.String(required=True, validate=LINE)
    minutes = fields.String(required=True, validate=validate.Length(max=meetings.MAX_MINUTES), metadata={
        "description": "The minutes' text; the signed PDF is uploaded to /meetings/{id}/minutes"})
    participants = fields.List(fields.Nested(ParticipantSchema), required=True, metadata={
        "description": "At least one participant of the ministry and one of the NGO"})
    commitments = fields.List(fields.Nested(CommitmentSchema), load_default=list, metadata={
        "description": "The commitments agreed (more can be added later)"})
    signed_minutes = fields.List(fields.Nested(AttachmentSchema), dump_only=True, metadata={
        "description": "The signed minutes (PDF) uploaded, oldest first; the newest counts"})
    recorded_by_id = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)

    def get_attribute(self, obj, attr, default):
        if attr == "signed_minutes":
            return meetings.signed_minutes(obj)
        return super().get_attribute(obj, attr, default)


class CloseSchema(Schema):
    note = fields.String(load_default="", validate=TEXT, metadata={
        "description": "What was done (optional) or why it is cancelled (required to cancel)"})


class MinutesUploadSchema(Schema):
    file = Upload(required=True, metadata={"description": "The signed minutes, PDF"})


class CommitmentQuerySchema(PageArgsSchema):
    status = fields.String(validate=validate.OneOf([s.value for s in CommitmentState]))
    overdue = fields.Boolean(load_default=False, metadata={"description": "Only the open ones due before today"})


MeetingPageSchema = page_schema(MeetingSchema, "MeetingPage")
CommitmentPageSchema = page_schema(CommitmentSchema, "CommitmentPage")
