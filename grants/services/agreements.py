"""Cooperation agreements: draft from an approved plan, sign, designate the program
administrator, execute, suspend/resume, begin the closing, terminate. Flush, never commit."""
from __future__ import annotations

from datetime import date
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from grants import formats
from grants.clock import today
from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.labels import AGREEMENT_STATE_LABELS
from grants.models import Agreement, AgreementCounter, AgreementStatusChange, Plan, Review, User
from grants.permissions import Role
from grants.services import attachments, files
from grants.services import ledger
from grants.domain_errors import Conflict, FieldErrors, FileTooLarge, Forbidden, NotFound, ValidationFailed
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.workflows import TransitionRefused
from grants.workflows.agreement import NEEDS_REASON, AgreementAction, AgreementState, next_state
from grants.workflows.plan import PlanState

SCAN_FOLDER = "agreements"

DEFAULT_TEXTS = {
    "ministry_obligations": (
        "Pagar directamente a los proveedores validados los bienes y servicios del plan, solo por "
        "beneficiarios efectivamente activos.\n"
        "Desembolsar los anticipos según la programación financiera aprobada.\n"
        "Designar un administrador del convenio que dé seguimiento a su ejecución."
    ),
    "ngo_obligations": (
        "Ejecutar el plan de trabajo aprobado y usar los fondos solo para sus fines.\n"
        "Presentar la lista de beneficiarios y mantenerla actualizada.\n"
        "Liquidar cada anticipo con comprobantes válidos y reintegrar lo no utilizado.\n"
        "Permitir la supervisión del ministerio y de la auditoría interna."
    ),
    "control_mechanisms": (
        "Validación de proveedores y beneficiarios; pago directo a proveedores; informes de "
        "seguimiento del administrador del convenio; verificaciones de liquidación de auditoría interna."
    ),
    "liquidation_terms": (
        "Cada anticipo se liquida con comprobantes a nombre de la organización, dentro del plazo del "
        "convenio; lo no gastado se reintegra al ministerio antes de la liquidación final."
    ),
}

TEXT_FIELDS = ("object", "ministry_obligations", "ngo_obligations", "control_mechanisms", "liquidation_terms",
               "ministry_signatory_name", "ministry_signatory_title", "ngo_signatory_name", "ngo_signatory_title")


def _load(agreement_id: int) -> Agreement:
    agreement = db.session.get(Agreement, agreement_id, with_for_update=True)
    if agreement is None:
        raise NotFound()
    return agreement


def _require_manager(actor: Actor) -> None:
    from grants.permissions import Permission

    if actor.user is None or not actor.user.can(Permission.AGREEMENTS_MANAGE):
        raise Forbidden()


def _transition(actor: Actor, agreement: Agreement, action: AgreementAction, reason: str | None = None) -> None:
    if action in NEEDS_REASON and not (reason or "").strip():
        raise ValidationFailed(errors={"reason": [_l("Indique el motivo.")]})
    try:
        new = next_state(AgreementState(agreement.status), action)
    except TransitionRefused:
        raise Conflict(_l("El convenio está en estado «%(state)s» y no admite esta acción.",
                          state=AGREEMENT_STATE_LABELS[agreement.status]),
                       code="invalid_transition") from None
    if new != agreement.status:
        agreement.history.append(AgreementStatusChange(
            from_status=agreement.status, to_status=new, action=action, reason=(reason or "").strip() or None,
            actor_id=actor.user_id))
        agreement.status = new
        if reason:
            agreement.status_reason = reason.strip()


def _next_number(year: int) -> tuple[int, str]:
    """Take the next sequence of the year under a row lock: no duplicates, no gaps."""
    dialect = db.session.get_bind().dialect.name
    insert = pg_insert if dialect == "postgresql" else sqlite_insert
    db.session.execute(insert(AgreementCounter).values(year=year, last_sequence=0)
                       .on_conflict_do_nothing(index_elements=["year"]))
    counter = db.session.execute(
        select(AgreementCounter).where(AgreementCounter.year == year).with_for_update()
        .execution_options(populate_existing=True)
    ).scalar_one()
    counter.last_sequence += 1
    return counter.last_sequence, f"MJSP-CONV-{year}-{counter.last_sequence:04d}"


def _clean(data: dict, errors: FieldErrors, current: Agreement | None, plan: Plan) -> dict:
    out: dict = {}
    for field in TEXT_FIELDS:
        if field in data or current is None:
            value = (data.get(field) or DEFAULT_TEXTS.get(field, "")).strip()
            if not value:
                errors.add(field, _l("Este campo es obligatorio."))
            out[field] = value
    if "liquidation_threshold" in data:
        try:
            threshold = Decimal(str(data["liquidation_threshold"])).quantize(Decimal("0.01"))
            if not Decimal("0") < threshold <= Decimal("100"):
                raise InvalidOperation
            out["liquidation_threshold"] = threshold
        except (InvalidOperation, ValueError):
            errors.add("liquidation_threshold", _l("Indique un porcentaje mayor que 0 y hasta 100."))
    if "prefinancing_days" in data:
        raw = data["prefinancing_days"]
        if raw in (None, "", 0, "0"):
            out["prefinancing_days"] = None
        elif isinstance(raw, bool) or not (isinstance(raw, int) or (isinstance(raw, str) and raw.strip().isdigit())) \
                or not 1 <= int(raw) <= 180:
            errors.add("prefinancing_days", _l("Indique de 1 a 180 días, o déjelo vacío si no se permite "
                                               "prefinanciar."))
        else:
            out["prefinancing_days"] = int(raw)
    version = plan.submitted_version
    for field, default in (("start_date", version.start_date), ("end_date", version.end_date)):
        value = data.get(field, getattr(current, field, None) if current else default)
        if isinstance(value, str):
            try:
                value = date.fromisoformat(value)
            except ValueError:
                errors.add(field, _l("Fecha no válida: use AAAA-MM-DD."))
                continue
        out[field] = value
    if out.get("start_date") and out.get("end_date") and out["end_date"] < out["start_date"]:
        errors.add("end_date", _l("La fecha final es anterior a la inicial."))
    return out


def create_agreement(actor: Actor, plan_id: int, data: dict) -> Agreement:
    _require_manager(actor)
    plan = db.session.get(Plan, plan_id, with_for_update=True)
    if plan is None:
        raise ValidationFailed(errors={"plan_id": [_l("El plan no existe.")]})
    if plan.status != PlanState.APPROVED:
        raise Conflict(_l("Solo un plan aprobado por las tres disciplinas da lugar a un convenio."),
                       code="plan_not_approved")
    if db.session.scalar(select(Agreement.id).where(Agreement.plan_id == plan.id)):
        raise Conflict(_l("Este plan ya tiene un convenio."), code="agreement_exists")
    errors = FieldErrors()
    if not (data.get("object") or "").strip():
        data = {**data, "object": plan.title}
    values = _clean(data, errors, None, plan)
    errors.raise_if_any()
    version = plan.submitted_version
    year = plan.allocation.fiscal_year
    sequence, number = _next_number(year)
    agreement = Agreement(number=number, year=year, sequence=sequence, plan=plan, plan_version=version,
                          allocation_id=plan.allocation_id, organization_id=plan.organization_id,
                          amount=version.budget_total, status=AgreementState.DRAFT,
                          created_by_id=actor.user_id, **values)
    agreement.history.append(AgreementStatusChange(from_status=None, to_status=AgreementState.DRAFT,
                                                   action="create", actor_id=actor.user_id))
    db.session.add(agreement)
    db.session.flush()
    record_event(db.session, actor, "agreement.created", "agreement", agreement.id,
                 after=snapshot(agreement), organization_id=agreement.organization_id)
    return agreement


def update_agreement(actor: Actor, agreement_id: int, data: dict) -> Agreement:
    _require_manager(actor)
    agreement = _load(agreement_id)
    _transition(actor, agreement, AgreementAction.EDIT)
    before = snapshot(agreement)
    errors = FieldErrors()
    values = _clean(data, errors, agreement, agreement.plan)
    errors.raise_if_any()
    for key, value in values.items():
        setattr(agreement, key, value)
    db.session.flush()
    after = snapshot(agreement)
    if after != before:
        record_event(db.session, actor, "agreement.updated", "agreement", agreement.id, before=before,
                     after=after, organization_id=agreement.organization_id)
    return agreement


def sign_agreement(actor: Actor, agreement_id: int, signed_on, scan: bytes) -> Agreement:
    """Record the signature: its date and the signed scan (a real PDF, stored by SHA-256)."""
    _require_manager(actor)
    agreement = _load(agreement_id)
    errors = FieldErrors()
    if isinstance(signed_on, str):
        try:
            signed_on = date.fromisoformat(signed_on)
        except ValueError:
            signed_on = None
    if not isinstance(signed_on, date):
        errors.add("signed_on", _l("Fecha no válida: use AAAA-MM-DD."))
    elif signed_on > today() or signed_on > agreement.end_date:
        errors.add("signed_on", _l("La fecha de firma no puede ser futura ni posterior al plazo."))
    try:
        attachments.check_file(scan, ("pdf",), int(current_app.config["AGREEMENT_SCAN_MAX_BYTES"]), "scan")
    except FileTooLarge:
        raise  # 413, whatever else the form holds
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                errors.add(field, message)
    errors.raise_if_any()
    before = snapshot(agreement)
    _transition(actor, agreement, AgreementAction.SIGN)
    stored = files.store(scan, SCAN_FOLDER, ".pdf")
    agreement.signed_on, agreement.signed_scan_sha256, agreement.signed_scan_size = (
        signed_on, stored.sha256, stored.size)
    db.session.flush()
    record_event(db.session, actor, "agreement.signed", "agreement", agreement.id, before=before,
                 after=snapshot(agreement), organization_id=agreement.organization_id)
    notify(users_of_organization(agreement.organization_id) + users_with_role(Role.TREASURY),
           "agreement.signed", _l("Convenio %(number)s firmado", number=agreement.number),
           _l("El convenio con %(org)s fue firmado el %(day)s.", org=agreement.organization.legal_name,
              day=formats.day(signed_on)),
           link=f"/agreements/{agreement.id}")
    return agreement


def _plan_reviewer_ids(agreement: Agreement) -> set[int]:
    from grants.models import PlanVersion

    return set(db.session.scalars(
        select(Review.reviewer_id).join(PlanVersion).where(PlanVersion.plan_id == agreement.plan_id)))


def designate_administrator(actor: Actor, agreement_id: int, user_id: int) -> Agreement:
    _require_manager(actor)
    agreement = _load(agreement_id)
    user = db.session.get(User, user_id) if user_id else None
    if user is None or not user.active or Role.ADMINISTRATOR not in user.roles:
        raise ValidationFailed(errors={"user_id": [_l("Elija un usuario activo con el rol de administrador de programa.")]})
    if user.id in _plan_reviewer_ids(agreement):
        raise ValidationFailed(errors={"user_id": [_l(
            "Quien revisó el plan no puede administrar el convenio (segregación de funciones).")]})
    before = snapshot(agreement)
    _transition(actor, agreement, AgreementAction.DESIGNATE_ADMINISTRATOR)
    agreement.administrator_id = user.id
    db.session.flush()
    record_event(db.session, actor, "agreement.administrator_designated", "agreement", agreement.id,
                 before=before, after=snapshot(agreement), organization_id=agreement.organization_id)
    notify([user], "agreement.administrator",
           _l("Usted administra el convenio %(number)s", number=agreement.number),
           _l("Fue designado administrador del convenio con %(org)s.", org=agreement.organization.legal_name),
           link=f"/agreements/{agreement.id}")
    return agreement


def start_execution(actor: Actor, agreement_id: int) -> Agreement:
    _require_manager(actor)
    agreement = _load(agreement_id)
    if agreement.administrator_id is None:
        raise Conflict(_l("Designe un administrador del convenio antes de iniciar la ejecución."),
                       code="administrator_required")
    agreement = _change_state(actor, agreement, AgreementAction.START_EXECUTION, None, "agreement.execution_started")
    ledger.open_ledger(agreement)
    return agreement


def _may_suspend(actor: Actor, agreement: Agreement) -> bool:
    from grants.permissions import Permission

    user = actor.user
    return user is not None and (user.can(Permission.AGREEMENTS_MANAGE) or user.id == agreement.administrator_id)


def suspend_agreement(actor: Actor, agreement_id: int, reason: str) -> Agreement:
    agreement = _load(agreement_id)
    if not _may_suspend(actor, agreement):
        raise Forbidden()
    agreement = _change_state(actor, agreement, AgreementAction.SUSPEND, reason, "agreement.suspended")
    notify(users_of_organization(agreement.organization_id) + users_with_role(Role.TREASURY),
           "agreement.suspended", _l("Convenio %(number)s suspendido", number=agreement.number),
           _l("Se detienen pagos y anticipos. Motivo: %(reason)s", reason=reason), link=f"/agreements/{agreement.id}")
    return agreement


def resume_agreement(actor: Actor, agreement_id: int, reason: str) -> Agreement:
    agreement = _load(agreement_id)
    if not _may_suspend(actor, agreement):
        raise Forbidden()
    agreement = _change_state(actor, agreement, AgreementAction.RESUME, reason, "agreement.resumed")
    notify(users_of_organization(agreement.organization_id) + users_with_role(Role.TREASURY),
           "agreement.resumed", _l("Convenio %(number)s reanudado", number=agreement.number),
           reason, link=f"/agreements/{agreement.id}")
    return agreement


def terminate_agreement(actor: Actor, agreement_id: int, reason: str) -> Agreement:
    _require_manager(actor)
    agreement = _change_state(actor, _load(agreement_id), AgreementAction.TERMINATE, reason, "agreement.terminated")
    notify(users_of_organization(agreement.organization_id) + users_with_role(Role.TREASURY),
           "agreement.terminated", _l("Convenio %(number)s terminado", number=agreement.number),
           reason, link=f"/agreements/{agreement.id}")
    return agreement


def _money_in_flight(agreement: Agreement) -> list[str]:
    """Payments prepared or authorized and advances requested, approved or prepared, described."""
    from grants.labels import ADVANCE_STATE_LABELS, PAYMENT_STATE_LABELS
    from grants.models import Advance, Invoice, Payment
    from grants.workflows.advance import AdvanceState
    from grants.workflows.payment import COMMITTED_STATES

    payments = db.session.execute(select(Payment, Invoice.number).join(Invoice, Invoice.id == Payment.invoice_id).where(
        Payment.agreement_id == agreement.id, Payment.status.in_(COMMITTED_STATES)).order_by(Payment.id)).all()
    advances = db.session.scalars(select(Advance).where(
        Advance.agreement_id == agreement.id,
        Advance.status.in_((AdvanceState.REQUESTED, AdvanceState.APPROVED, AdvanceState.PREPARED)))
        .order_by(Advance.tranche_number, Advance.id)).all()
    return ([str(_l("pago N.º %(id)s de la factura %(invoice)s por $%(amount)s («%(state)s»)", id=p.id,
                    invoice=number, amount=formats.grouped(p.amount), state=PAYMENT_STATE_LABELS[p.status]))
             for p, number in payments]
            + [str(_l("anticipo N.º %(id)s del desembolso %(n)s por $%(amount)s («%(state)s»)", id=a.id,
                      n=a.tranche_number, amount=formats.grouped(a.amount), state=ADVANCE_STATE_LABELS[a.status]))
               for a in advances])


def begin_closing(actor: Actor, agreement_id: int) -> Agreement:
    """The administrator of the agreement (or AGREEMENTS_MANAGE) starts its closing: in_execution →
    closing, refused while money is in flight (code ``money_in_flight``, each one listed). The
    agreement is taken FOR UPDATE, so no payment or advance slips in meanwhile (they take FOR SHARE)."""
    agreement = (db.session.get(Agreement, agreement_id, with_for_update=True, populate_existing=True)
                 if agreement_id else None)
    if agreement is None:
        raise NotFound()
    if not _may_suspend(actor, agreement):
        raise Forbidden(_l("Solo el administrador designado del convenio, el área jurídica o la administración del "
                           "sistema inician su cierre."))
    try:
        next_state(AgreementState(agreement.status), AgreementAction.BEGIN_CLOSING)
    except TransitionRefused:
        raise Conflict(_l("El convenio está en estado «%(state)s»: solo se inicia el cierre de un convenio en "
                          "ejecución.", state=AGREEMENT_STATE_LABELS[agreement.status]),
                       code="invalid_transition") from None
    in_flight = _money_in_flight(agreement)
    if in_flight:
        raise Conflict(_l("No se inicia el cierre con dinero en curso: %(items)s. Ejecute o cancele los pagos y "
                          "resuelva los anticipos antes.", items="; ".join(in_flight)), code="money_in_flight")
    agreement = _change_state(actor, agreement, AgreementAction.BEGIN_CLOSING, None, "agreement.closing_started")
    notify(users_of_organization(agreement.organization_id) + users_with_role(Role.AUDITOR),
           "agreement.closing_started", _l("Convenio %(number)s en cierre", number=agreement.number),
           _l("Se inicia el cierre del convenio con %(org)s: liquidación de anticipos, verificaciones y "
              "liquidación final.", org=agreement.organization.legal_name), link=f"/agreements/{agreement.id}")
    return agreement


def _change_state(actor: Actor, agreement: Agreement, action: AgreementAction, reason: str | None,
                  event: str) -> Agreement:
    before = snapshot(agreement)
    _transition(actor, agreement, action, reason)
    db.session.flush()
    record_event(db.session, actor, event, "agreement", agreement.id, before=before, after=snapshot(agreement),
                 organization_id=agreement.organization_id)
    return agreement
