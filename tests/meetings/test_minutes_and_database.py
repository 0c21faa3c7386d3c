"""The signed minutes (one attachment mechanism: PDF by content, who uploads, who downloads) and the
rules the database keeps by itself whatever the service does."""
from __future__ import annotations

import pytest
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError

from grants.extensions import db
from grants.services import attachments, meetings
from grants.domain_errors import Forbidden, NotFound, ValidationFailed
from tests.agreement_helpers import agreement_in_execution
from tests.helpers import audit_actions
from tests.meetings.helpers import act, commitment, recorded
from tests.pdfs import tiny_pdf
from tests.timeline import iso

PNG = b"\x89PNG\r\n\x1a\n" + b"\x00" * 64


def test_the_recorder_uploads_the_signed_minutes_as_a_pdf_and_the_ngo_downloads_them(ctx):
    meeting = recorded(ctx)
    with pytest.raises(ValidationFailed) as refused:
        meetings.attach_minutes(act(ctx["administrator"]), meeting.id, "acta.png", PNG)
    assert set(refused.value.errors) == {"file"}
    with pytest.raises(Forbidden):
        meetings.attach_minutes(act(ctx["ngo"]), meeting.id, "acta.pdf", tiny_pdf("Acta"))
    minutes = meetings.attach_minutes(act(ctx["administrator"]), meeting.id, "acta firmada.pdf", tiny_pdf("Acta"))
    db.session.commit()
    assert (minutes.kind, minutes.content_type, minutes.organization_id) == (
        "meeting_minutes", "application/pdf", ctx["organization"].id)
    assert meetings.signed_minutes(meeting) == [minutes]
    assert audit_actions("attachment", minutes.id) == ["attachment.added"]
    assert attachments.load_visible(ctx["ngo"], minutes.id) == minutes
    with pytest.raises(NotFound):
        attachments.load_visible(agreement_in_execution()["ngo"], minutes.id)


def test_a_meeting_is_on_exactly_one_record(ctx):
    meeting = recorded(ctx)
    db.session.execute(text("UPDATE meetings SET agreement_id = NULL, plan_id = :plan WHERE id = :id"),
                       {"plan": ctx["agreement"].plan_id, "id": meeting.id})  # moving it is fine
    for sql in ("UPDATE meetings SET agreement_id = :agreement WHERE id = :id",   # two records
                "UPDATE meetings SET plan_id = NULL WHERE id = :id"):              # none
        with pytest.raises(IntegrityError):
            with db.session.begin_nested():
                db.session.execute(text(sql), {"agreement": ctx["agreement"].id, "id": meeting.id})


def test_a_commitment_stays_in_its_meetings_organization_and_closes_with_who_when_and_why(ctx):
    meeting = recorded(ctx, commitments=[commitment(ctx["ngo"], iso("2026-06-30"))])
    item = meeting.commitments[0]
    other = agreement_in_execution()["organization"]
    db.session.execute(text("UPDATE commitments SET description = 'Otra' WHERE id = :id"), {"id": item.id})
    cases = [("UPDATE commitments SET organization_id = :org WHERE id = :id", {"org": other.id}),
             ("UPDATE commitments SET status = 'done' WHERE id = :id", {}),             # no who/when
             ("UPDATE commitments SET status = 'cancelled', closed_by_id = :user, closed_at = created_at "
              "WHERE id = :id", {"user": ctx["administrator"].id}),                     # no reason
             ("UPDATE commitments SET status = 'forgotten' WHERE id = :id", {})]
    for sql, params in cases:
        with pytest.raises(IntegrityError):
            with db.session.begin_nested():
                db.session.execute(text(sql), {"id": item.id, **params})
