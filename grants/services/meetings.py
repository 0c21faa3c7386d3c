"""Technical meetings (mesas técnicas) and their commitments. Flush, never commit.

Rules (decided here; the models hold the predicates):

* **Where a meeting goes.** On the case's current record: the allocation while the NGO has no plan
  for it (the step between the allocation and the plan), the plan until it has an agreement, then
  the agreement — refused (409 ``meeting_stage``) elsewhere, so each meeting has one home and every
  page of the case lists the same meetings (``case_meetings``). Not on an agreement already
  reported to the Legislative Assembly: its file is closed.
* **Who records** (and adds commitments, uploads the signed minutes): ``Permission.MEETINGS_RECORD``
  (the legal team, monitoring and audit control — who lead the meetings — and system
  administration) on any case; an agreement's designated administrator on that agreement
  (``grants.models.meeting.may_record``). NGO users read their own organization's meetings; another
  organization's meeting answers 404. Financial reviewers, treasury and internal audit do not
  record them (audit examines the record, it does not write it).
* **A held meeting.** The date is not in the future (minutes exist only after the meeting) and not
  before 1 January of the year before the allocation's fiscal year (its budget is approved then at
  the earliest: an earlier date is a typo). Place, subject and minutes are required; participants
  are rows (name, institution ``ministry``/``ngo``, position) with at least one of each side.
* **Commitments.** A description, an owner — an active ministry user or a user of the meeting's
  NGO, never another NGO's — and a due date not before the meeting nor more than a year after it
  (a plan lasts at most twelve months). The owner is notified (not when they assign it to
  themselves). ``open → done | cancelled`` (``grants.workflows.commitment``): done by its owner,
  the meeting's recorder or the legal team / system administration; cancelled, with the reason,
  by the recorder or the legal team / system administration only. Each close notifies the other
  party (owner or recorder).
* Every change is an audit event of the meeting or the commitment, with the NGO's organization.

``overdue_commitments(user)``: the user's own open commitments due before today (El Salvador).
"""
from __future__ import annotations

from datetime import date, timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import selectinload

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.clock import today
from grants.extensions import db
from grants.models import Agreement, Allocation, Attachment, Commitment, Meeting, MeetingParticipant, Plan, User
from grants.models.base import utcnow
from grants.models.meeting import INSTITUTIONS, may_record
from grants.services import attachments
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound
from grants.services.followup import as_date, clean_text
from grants.services.notifications import notify
from grants.workflows import TransitionRefused
from grants.workflows.agreement import AgreementState
from grants.workflows.commitment import NEEDS_NOTE, CommitmentAction, CommitmentState
from grants.workflows.commitment import next_state as commitment_next

MAX_MINUTES = 20000
MAX_TEXT = 2000
MAX_PARTICIPANTS = 60
MAX_COMMITMENTS = 30
MAX_DUE_DAYS = 366

STAGE_MODELS = {"allocation": Allocation, "plan": Plan, "agreement": Agreement}
STAGE_LABELS = {"allocation": _l("Antes del plan"), "plan": _l("Plan de trabajo"), "agreement": _l("Convenio")}
INSTITUTION_LABELS = {"ministry": _l("Ministerio"), "ngo": _l("ONG")}
COMMITMENT_STATE_LABELS = {"open": _l("Abierto"), "done": _l("Cumplido"), "cancelled": _l("Cancelado")}


# --- the case ------------------------------------------------------------------------------------

def load_record(user, stage: str, record_id: int):
    """The allocation, plan or agreement as this user may see it (another organization's: 404)."""
    model = STAGE_MODELS.get(stage)
    record = db.session.get(model, record_id) if model and record_id else None
    if record is None or user is None or not record.is_visible_to(user):
        raise NotFound()
    return record


def case_of(record) -> tuple[int, int | None, int | None]:
    """(allocation id, plan id, agreement id) of the case a record belongs to."""
    if isinstance(record, Agreement):
        return record.allocation_id, record.plan_id, record.id
    if isinstance(record, Plan):
        agreement_id = db.session.scalar(select(Agreement.id).where(Agreement.plan_id == record.id))
        return record.allocation_id, record.id, agreement_id
    plan_id = db.session.scalar(select(Plan.id).where(Plan.allocation_id == record.id))
    agreement_id = db.session.scalar(select(Agreement.id).where(Agreement.plan_id == plan_id)) if plan_id else None
    return record.id, plan_id, agreement_id


def case_query(record):
    """Every meeting of the case (before the plan, on the plan, on the agreement), oldest first."""
    allocation_id, plan_id, agreement_id = case_of(record)
    where = [Meeting.allocation_id == allocation_id]
    if plan_id:
        where.append(Meeting.plan_id == plan_id)
    if agreement_id:
        where.append(Meeting.agreement_id == agreement_id)
    return select(Meeting).where(or_(*where)).order_by(Meeting.held_on, Meeting.id)


def case_meetings(record) -> list[Meeting]:
    return list(db.session.scalars(case_query(record).options(
        selectinload(Meeting.commitments).selectinload(Commitment.owner), selectinload(Meeting.participants))))


def stage_refusal(record):
    """Why a meeting cannot be recorded on ``record`` now (None: it can), by the current-record rule."""
    _allocation_id, plan_id, agreement_id = case_of(record)
    if isinstance(record, Allocation) and plan_id:
        return _l("La asignación ya tiene plan de trabajo: registre la mesa técnica en el plan.")
    if isinstance(record, Plan) and agreement_id:
        return _l("El plan ya tiene convenio: registre la mesa técnica en el convenio.")
    if isinstance(record, Agreement) and record.status == AgreementState.REPORTED:
        return _l("El convenio ya fue informado a la Asamblea Legislativa: su expediente está cerrado.")
    return None


def _allocation_of(record) -> Allocation:
    return record if isinstance(record, Allocation) else record.allocation


def load_meeting(user, meeting_id: int) -> Meeting:
    meeting = db.session.get(Meeting, meeting_id) if meeting_id else None
    if meeting is None or user is None or not meeting.is_visible_to(user):
        raise NotFound()
    return meeting


def _require_manager(actor: Actor, record) -> None:
    if not may_record(actor.user, record):
        raise Forbidden(_l("Las mesas técnicas las registran el área jurídica, seguimiento y contraloría, la "
                           "administración del sistema o el administrador designado del convenio."))


# --- validation ----------------------------------------------------------------------------------

def _held_on(value, allocation: Allocation, errors: FieldErrors) -> date | None:
    held_on = as_date(value, "held_on", errors)
    if held_on is None:
        return None
    earliest = date(allocation.fiscal_year - 1, 1, 1)
    if held_on > today():
        errors.add("held_on", _l("La mesa técnica se registra después de celebrada: la fecha no puede ser futura."))
    elif held_on < earliest:
        errors.add("held_on", _l("La fecha es anterior al %(day)s: la asignación es del año fiscal %(year)s.",
                                 day=formats.day(earliest), year=allocation.fiscal_year))
    return held_on


def _participants(rows, errors: FieldErrors) -> list[dict]:
    rows = rows if isinstance(rows, list) else []
    if len(rows) > MAX_PARTICIPANTS:
        errors.add("participants", _l("Máximo %(n)s participantes.", n=MAX_PARTICIPANTS))
        return []
    clean = []
    for i, row in enumerate(rows):
        row = row if isinstance(row, dict) else {}
        institution = row.get("institution")
        if institution not in INSTITUTIONS:
            errors.add(f"participants.{i}.institution", _l("Indique si participa por el ministerio o por la ONG."))
        clean.append({"number": i + 1, "institution": institution,
                      "name": clean_text(row.get("name"), f"participants.{i}.name", 160, errors, required=True),
                      "position": clean_text(row.get("position"), f"participants.{i}.position", 160, errors)})
    sides = {row["institution"] for row in clean}
    if not {"ministry", "ngo"} <= sides:
        errors.add("participants", _l("Anote al menos una persona del ministerio y una de la organización."))
    return clean


def _owner(owner_id, organization_id: int) -> User | None:
    """An active ministry user, or an active user of the meeting's NGO."""
    user = db.session.get(User, owner_id) if isinstance(owner_id, int) and owner_id > 0 else None
    if user is None or not user.active:
        return None
    if user.sees_all_organizations or user.organization_id == organization_id:
        return user
    return None


def _commitment(row, held_on: date | None, organization_id: int, errors: FieldErrors, prefix: str = "") -> dict:
    row = row if isinstance(row, dict) else {}
    description = clean_text(row.get("description"), f"{prefix}description", MAX_TEXT, errors, required=True)
    owner = _owner(row.get("owner_id"), organization_id)
    if owner is None:
        errors.add(f"{prefix}owner_id", _l("El responsable debe ser una persona activa del ministerio o de la "
                                           "organización."))
    due_on = as_date(row.get("due_on"), f"{prefix}due_on", errors)
    if due_on is not None and held_on is not None:
        if due_on < held_on:
            errors.add(f"{prefix}due_on", _l("El plazo no puede ser anterior a la mesa técnica (%(day)s).",
                                             day=formats.day(held_on)))
        elif due_on > held_on + timedelta(days=MAX_DUE_DAYS):
            errors.add(f"{prefix}due_on", _l("El plazo no puede pasar de un año después de la mesa técnica."))
    return {"description": description, "owner": owner, "due_on": due_on}


# --- record --------------------------------------------------------------------------------------

def _add_commitment(actor: Actor, meeting: Meeting, values: dict) -> Commitment:
    commitment = Commitment(meeting=meeting, organization_id=meeting.organization_id,
                            description=values["description"], owner_id=values["owner"].id,
                            due_on=values["due_on"], status=CommitmentState.OPEN, created_by_id=actor.user_id)
    db.session.add(commitment)
    db.session.flush()
    record_event(db.session, actor, "commitment.added", "commitment", commitment.id, after=snapshot(commitment),
                 organization_id=commitment.organization_id)
    if values["owner"].id != actor.user_id:
        notify([values["owner"]], "commitment.assigned",
               _l("Nuevo compromiso de la mesa técnica del %(day)s", day=formats.day(meeting.held_on)),
               _l("%(description)s Plazo: %(due)s.", description=commitment.description,
                  due=formats.day(commitment.due_on)), link=f"/meetings/{meeting.id}")
    return commitment


def record_meeting(actor: Actor, stage: str, record_id: int, data: dict) -> Meeting:
    """Record a held meeting on the case's current record, with its participants and (optionally)
    the commitments agreed: ``{held_on, place, subject, minutes, participants: [{name,
    institution, position}], commitments: [{description, owner_id, due_on}]}``."""
    record = load_record(actor.user, stage, record_id)
    _require_manager(actor, record)
    refusal = stage_refusal(record)
    if refusal:
        raise Conflict(refusal, code="meeting_stage")
    data = data if isinstance(data, dict) else {}
    errors = FieldErrors()
    held_on = _held_on(data.get("held_on"), _allocation_of(record), errors)
    values = {"place": clean_text(data.get("place"), "place", 200, errors, required=True),
              "subject": clean_text(data.get("subject"), "subject", 200, errors, required=True),
              "minutes": clean_text(data.get("minutes"), "minutes", MAX_MINUTES, errors, required=True)}
    participants = _participants(data.get("participants"), errors)
    rows = data.get("commitments") or []
    rows = rows if isinstance(rows, list) else [None]
    if len(rows) > MAX_COMMITMENTS:
        errors.add("commitments", _l("Máximo %(n)s compromisos por vez.", n=MAX_COMMITMENTS))
        rows = []
    commitments = [_commitment(row, held_on, record.organization_id, errors, f"commitments.{i}.")
                   for i, row in enumerate(rows)]
    errors.raise_if_any()
    meeting = Meeting(organization_id=record.organization_id, held_on=held_on, recorded_by_id=actor.user_id,
                      participants=[MeetingParticipant(**row) for row in participants], **values,
                      **{f"{stage}_id": record.id})
    db.session.add(meeting)
    db.session.flush()
    record_event(db.session, actor, "meeting.recorded", "meeting", meeting.id, after=snapshot(meeting),
                 organization_id=meeting.organization_id)
    for row in commitments:
        _add_commitment(actor, meeting, row)
    return meeting


def attach_minutes(actor: Actor, meeting_id: int, filename: str | None, data: bytes | None) -> Attachment:
    """The signed minutes (PDF, checked by its content). A later upload is kept beside the earlier
    one (nothing uploaded is ever replaced); the newest is the one that counts."""
    meeting = load_meeting(actor.user, meeting_id)
    _require_manager(actor, meeting.record)
    return attachments.attach(actor, meeting, "meeting_minutes", filename, data,
                              organization_id=meeting.organization_id)


def signed_minutes(meeting: Meeting) -> list[Attachment]:
    return attachments.attachments_of(meeting, "meeting_minutes")


def add_commitment(actor: Actor, meeting_id: int, data: dict) -> Commitment:
    """A commitment agreed at the meeting: ``{description, owner_id, due_on}``."""
    meeting = load_meeting(actor.user, meeting_id)
    _require_manager(actor, meeting.record)
    errors = FieldErrors()
    values = _commitment(data, meeting.held_on, meeting.organization_id, errors)
    errors.raise_if_any()
    return _add_commitment(actor, meeting, values)


# --- close ---------------------------------------------------------------------------------------

def _close(actor: Actor, commitment_id: int, action: CommitmentAction, note) -> Commitment:
    peek = db.session.get(Commitment, commitment_id) if commitment_id else None
    if peek is None or actor.user is None or not peek.is_visible_to(actor.user):
        raise NotFound()
    # Locked: the owner and the recorder closing it at once — the second one sees it closed.
    commitment = db.session.get(Commitment, commitment_id, with_for_update=True, populate_existing=True)
    try:
        new_state = commitment_next(commitment.status, action)
    except TransitionRefused:
        raise Conflict(_l("El compromiso ya está «%(state)s».", state=COMMITMENT_STATE_LABELS[commitment.status]),
                       code="commitment_closed") from None
    allowed = commitment.can_cancel if action == CommitmentAction.CANCEL else commitment.can_complete
    if not allowed(actor.user):
        raise Forbidden(_l("Solo quien registró la mesa técnica, el área jurídica o la administración del sistema "
                           "cancelan un compromiso.") if action == CommitmentAction.CANCEL else
                        _l("Marca el compromiso como cumplido su responsable o quien registró la mesa técnica."))
    errors = FieldErrors()
    text = clean_text(note, "note", MAX_TEXT, errors, required=action in NEEDS_NOTE)
    errors.raise_if_any()
    before = snapshot(commitment)
    commitment.status = new_state.value
    commitment.close_note = text or None
    commitment.closed_by_id = actor.user_id
    commitment.closed_at = utcnow()
    db.session.flush()
    record_event(db.session, actor, f"commitment.{new_state.value}", "commitment", commitment.id, before=before,
                 after=snapshot(commitment), organization_id=commitment.organization_id)
    others = [u for u in (commitment.owner, commitment.meeting.recorded_by) if u.id != actor.user_id]
    notify(others, f"commitment.{new_state.value}",
           _l("Compromiso cumplido: %(description)s", description=commitment.description[:120])
           if new_state == CommitmentState.DONE else
           _l("Compromiso cancelado: %(description)s", description=commitment.description[:120]),
           text, link=f"/meetings/{commitment.meeting_id}")
    return commitment


def complete_commitment(actor: Actor, commitment_id: int, note: str | None = None) -> Commitment:
    return _close(actor, commitment_id, CommitmentAction.COMPLETE, note)


def cancel_commitment(actor: Actor, commitment_id: int, note: str | None) -> Commitment:
    return _close(actor, commitment_id, CommitmentAction.CANCEL, note)


# --- queries -------------------------------------------------------------------------------------

def owned_query(user, status: str | None = None, overdue: bool = False):
    """The commitments ``user`` owns (in an organization they still see), by due date;
    ``overdue``: the open ones due before today."""
    query = select(Commitment).where(Commitment.owner_id == user.id).order_by(Commitment.due_on, Commitment.id)
    if not user.sees_all_organizations:
        query = query.where(Commitment.organization_id == user.organization_id)
    if overdue:
        query = query.where(Commitment.status == CommitmentState.OPEN, Commitment.due_on < today())
    if status:
        query = query.where(Commitment.status == status)
    return query


def overdue_commitments(user) -> list[Commitment]:
    """The user's own open commitments due before today, the oldest due first."""
    if user is None or not getattr(user, "is_authenticated", False):
        return []
    return list(db.session.scalars(owned_query(user, overdue=True).options(selectinload(Commitment.meeting))))


def owner_choices(organization_id: int) -> list[User]:
    """Who may own a commitment of this NGO's meeting: its active users, then active ministry staff."""
    users = db.session.scalars(select(User).where(User.active).order_by(User.full_name, User.id)
                               .options(selectinload(User.role_rows))).all()
    ngo = [u for u in users if not u.sees_all_organizations and u.organization_id == organization_id]
    return ngo + [u for u in users if u.sees_all_organizations]
