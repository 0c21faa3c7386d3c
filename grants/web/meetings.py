"""Technical meeting pages: the «Mesas técnicas» section of the plan and agreement pages (and of an
allocation before its plan), the form that records a held meeting with its participants and
commitments, the meeting page (participants, minutes, the signed PDF, commitments with their
«cumplido»/«cancelar» actions). Routes are thin: ``grants.services.meetings`` decides; refusals are
shown on the page, in Spanish. No JavaScript: the form offers blank rows, blank rows are skipped."""
from __future__ import annotations

from flask import Blueprint, render_template, request, url_for
from flask_babel import lazy_gettext as _l
from flask_login import current_user, login_required
from flask_wtf import FlaskForm
from flask_wtf.file import FileField
from sqlalchemy import select
from wtforms import FieldList, Form, FormField, SelectChoice, SelectField, StringField, TextAreaField
from wtforms.validators import Length, Optional

from grants.clock import today
from grants.context import current_actor
from grants.extensions import db
from grants.web.paging import db_id
from grants.models import Agreement, Allocation, Commitment, Meeting, Plan
from grants.models.meeting import may_record
from grants.permissions import Permission
from grants.security import require, visible
from grants.services import attachments, meetings
from grants.domain_errors import Forbidden
from grants.web.actions import submit
from grants.web.forms import date_field, person_name

bp = Blueprint("meeting_pages", __name__)

# URL segment → the service's stage, and the permission that reads that kind of record.
STAGES = {"allocations": "allocation", "plans": "plan", "agreements": "agreement"}
READ = {"allocation": Permission.ALLOCATIONS_READ, "plan": Permission.PLANS_READ,
        "agreement": Permission.AGREEMENTS_READ}



class ParticipantForm(Form):
    name = StringField(_l("Nombre"), validators=[Optional(), Length(max=160), person_name])
    institution = SelectField(_l("Institución"), choices=[SelectChoice("", "—")] + [
        SelectChoice(k, v) for k, v in meetings.INSTITUTION_LABELS.items()], validate_choice=False)
    position = StringField(_l("Cargo"), validators=[Optional(), Length(max=160)])

    def is_blank(self) -> bool:
        return not any((f.data or "").strip() for f in (self.name, self.institution, self.position))


class CommitmentRowForm(Form):
    description = StringField(_l("Compromiso"), validators=[Optional(), Length(max=2000)])
    owner_id = SelectField(_l("Responsable"), coerce=db_id, validate_choice=False)
    due_on = date_field(_l("Fecha límite"))

    def is_blank(self) -> bool:
        return not (self.description.data or "").strip() and not (self.due_on.data or "").strip()

    def to_data(self) -> dict:
        return {"description": self.description.data or "", "owner_id": self.owner_id.data or 0,
                "due_on": self.due_on.data or ""}


class MeetingForm(FlaskForm):
    held_on = date_field(_l("Fecha de la mesa técnica"))
    place = StringField(_l("Lugar"), validators=[Optional(), Length(max=200)])
    subject = StringField(_l("Tema"), validators=[Optional(), Length(max=200)])
    minutes = TextAreaField(_l("Acta (texto)"), validators=[Optional(), Length(max=meetings.MAX_MINUTES)])
    participants = FieldList(FormField(ParticipantForm), min_entries=6)
    commitments = FieldList(FormField(CommitmentRowForm), min_entries=4)

    def to_data(self) -> dict:
        return {"held_on": self.held_on.data or "", "place": self.place.data or "", "subject": self.subject.data or "",
                "minutes": self.minutes.data or "",
                "participants": [{"name": e.form.name.data, "institution": e.form.institution.data,
                                  "position": e.form.position.data} for e in self.participants if not e.form.is_blank()],
                "commitments": [e.form.to_data() for e in self.commitments if not e.form.is_blank()]}


class CommitmentForm(FlaskForm):
    description = TextAreaField(_l("Compromiso"), validators=[Optional(), Length(max=2000)])
    owner_id = SelectField(_l("Responsable"), coerce=db_id, validate_choice=False)
    due_on = date_field(_l("Fecha límite"))


class MinutesForm(FlaskForm):
    file = FileField(_l("Acta firmada (PDF)"), render_kw={"accept": "application/pdf,.pdf"})


class CloseForm(FlaskForm):
    note = TextAreaField(_l("Nota"), validators=[Optional(), Length(max=2000)])


# --- helpers -------------------------------------------------------------------------------------

def owner_options(organization_id: int) -> list[SelectChoice]:
    def label(user):
        side = _l("Ministerio") if user.sees_all_organizations else _l("ONG")
        return f"{user.full_name} ({side})"

    return [SelectChoice(0, "—")] + [SelectChoice(u.id, label(u)) for u in meetings.owner_choices(organization_id)]


def record_url(record) -> str:
    if isinstance(record, Agreement):
        return url_for("agreement_pages.agreement_page", agreement_id=record.id)
    if isinstance(record, Plan):
        return url_for("plan_pages.plan_page", plan_id=record.id)
    return url_for("meeting_pages.allocation_meetings", allocation_id=record.id)


def record_label(record) -> str:
    if isinstance(record, Agreement):
        return str(_l("Convenio %(number)s", number=record.number))
    if isinstance(record, Plan):
        return str(_l("Plan de trabajo «%(title)s»", title=record.title))
    return str(_l("Asignación %(decree)s · %(organization)s", decree=record.decree_number,
                  organization=record.organization.legal_name))


def section(record) -> dict:
    """What the «Mesas técnicas» section of a plan, agreement or allocation page shows."""
    stage = {Agreement: "agreement", Plan: "plan", Allocation: "allocation"}[type(record)]
    segment = {v: k for k, v in STAGES.items()}[stage]
    can_record = may_record(current_user, record)
    return {"meetings": meetings.case_meetings(record), "can_record": can_record, "today": today(),
            "refusal": meetings.stage_refusal(record) if can_record else None,
            "new_url": url_for("meeting_pages.new_meeting", segment=segment, record_id=record.id)}


def _load_meeting(meeting_id: int) -> Meeting:
    meeting = visible(current_user, db.session.get(Meeting, meeting_id))
    require(current_user, READ[meeting.stage])
    return meeting


# --- the allocation's meetings (before the plan) -------------------------------------------------

@bp.get("/allocations/<int:allocation_id>/meetings")
@login_required
def allocation_meetings(allocation_id):
    require(current_user, Permission.ALLOCATIONS_READ)
    allocation = visible(current_user, db.session.get(Allocation, allocation_id))
    plan = db.session.scalar(select(Plan).where(Plan.allocation_id == allocation.id))
    return render_template("meetings/allocation.html", allocation=allocation, plan=plan,
                           meeting_section=section(allocation))


# --- record a meeting ----------------------------------------------------------------------------

def _render_form(record, form, status=200, refused=None):
    return render_template("meetings/form.html", record=record, record_url=record_url(record),
                           record_label=record_label(record), form=form, refused=refused,
                           today=today().isoformat()), status


@bp.route("/<any(allocations, plans, agreements):segment>/<int:record_id>/meetings/new", methods=["GET", "POST"])
@login_required
def new_meeting(segment, record_id):
    stage = STAGES[segment]
    require(current_user, READ[stage])
    record = meetings.load_record(current_user, stage, record_id)
    if not may_record(current_user, record):
        raise Forbidden()
    form = MeetingForm() if request.method == "POST" else MeetingForm(formdata=None,
                                                                       data={"held_on": today().isoformat()})
    options = owner_options(record.organization_id)
    for entry in form.commitments:
        entry.form.owner_id.choices = options
    if request.method == "GET":
        refusal = meetings.stage_refusal(record)
        return _render_form(record, form, 409 if refusal else 200, refusal)
    return submit(form, lambda: meetings.record_meeting(current_actor(), stage, record.id, form.to_data()),
                  done=_l("Mesa técnica registrada."),
                  then=lambda meeting: url_for("meeting_pages.meeting_page", meeting_id=meeting.id),
                  render=lambda status, refused: _render_form(meetings.load_record(current_user, stage, record_id),
                                                              form, status, refused))


# --- the meeting page ----------------------------------------------------------------------------

def render_meeting(meeting: Meeting, status: int = 200, refused=None, **forms):
    commitment_form = forms.get("commitment_form") or CommitmentForm(formdata=None)
    commitment_form.owner_id.choices = owner_options(meeting.organization_id)
    return render_template(
        "meetings/meeting.html", meeting=meeting, record=meeting.record, record_url=record_url(meeting.record),
        record_label=record_label(meeting.record), minutes=meetings.signed_minutes(meeting),
        can_manage=meeting.can_manage(current_user), today=today(), refused=refused,
        commitment_form=commitment_form, minutes_form=forms.get("minutes_form") or MinutesForm(formdata=None),
        close_form=CloseForm(formdata=None)), status


@bp.get("/meetings/<int:meeting_id>")
@login_required
def meeting_page(meeting_id):
    return render_meeting(_load_meeting(meeting_id))


@bp.post("/meetings/<int:meeting_id>/minutes")
@login_required
def upload_minutes(meeting_id):
    meeting = _load_meeting(meeting_id)
    form = MinutesForm()

    def attach():
        upload = request.files.get("file")
        data = upload.stream.read(attachments.kind_limit("meeting_minutes") + 1) if upload and upload.filename else None
        meetings.attach_minutes(current_actor(), meeting.id, upload.filename if upload else None, data)

    def place(errors):  # whatever is wrong with the file is said next to the file
        form.file.errors = [str(m) for messages in errors.values() for m in messages]

    return submit(form, attach, done=_l("Acta firmada adjuntada."), place_errors=place,
                  then=url_for("meeting_pages.meeting_page", meeting_id=meeting.id),
                  render=lambda status, refused: render_meeting(db.session.get(Meeting, meeting_id), status, refused,
                                                                minutes_form=form))


@bp.post("/meetings/<int:meeting_id>/commitments")
@login_required
def add_commitment(meeting_id):
    meeting = _load_meeting(meeting_id)
    form = CommitmentForm()
    form.owner_id.choices = owner_options(meeting.organization_id)
    return submit(form, lambda: meetings.add_commitment(current_actor(), meeting.id, {
        "description": form.description.data or "", "owner_id": form.owner_id.data or 0, "due_on": form.due_on.data or ""}),
        done=_l("Compromiso agregado."),
        then=url_for("meeting_pages.meeting_page", meeting_id=meeting.id, _anchor="compromisos"),
        render=lambda status, refused: render_meeting(db.session.get(Meeting, meeting_id), status, refused,
                                                      commitment_form=form))


@bp.post("/commitments/<int:commitment_id>/<any(done, cancel):action>")
@login_required
def close_commitment(commitment_id, action):
    commitment = visible(current_user, db.session.get(Commitment, commitment_id))
    meeting = _load_meeting(commitment.meeting_id)
    form = CloseForm()
    if not form.validate_on_submit():
        return render_meeting(meeting, 422, _l("El formulario expiró. Vuelva a enviarlo."))
    close = meetings.complete_commitment if action == "done" else meetings.cancel_commitment
    said = []

    def place(errors):  # the page has no note field of its own: the refusal says what was wrong
        said.append(_l("Indique el motivo para cancelar el compromiso.") if "note" in errors
                    else "; ".join(str(m) for messages in errors.values() for m in messages))

    return submit(None, lambda: close(current_actor(), commitment.id, form.note.data or ""), place_errors=place,
                  done=_l("Compromiso marcado como cumplido.") if action == "done" else _l("Compromiso cancelado."),
                  then=url_for("meeting_pages.meeting_page", meeting_id=meeting.id, _anchor="compromisos"),
                  render=lambda status, refused: render_meeting(db.session.get(Meeting, meeting.id), status,
                                                                said[0] if said else refused))
