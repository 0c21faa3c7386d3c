"""Final liquidation (liquidación final) of an agreement in closing: the figures as they stand,
what still blocks it, the administrator's proposal and the three disciplines' sign-offs.
Flush, never commit.

* **Prepare** — the agreement's administrator proposes revision 1: the figures from the ledger,
  beneficiaries, indicators, findings, the proposed verdict and its reasoning (``proposed``).
* **Sign off** — legal, financial and monitoring each approve it, or send it back with
  observations (it is ``returned`` at once). One person signs one discipline of an agreement's
  final liquidation, never one they prepared (segregation of duties, backed by the database).
* **Revise** — after a send-back the administrator prepares the next revision (append-only:
  the earlier one stays as it was, with its sign-offs); the round starts again.
* With the approvals of the three disciplines on the same revision it is ``approved`` and the
  agreement becomes ``liquidated`` (``grants.workflows.final_liquidation`` holds the lifecycle).

The figures and the blockers are ``grants.services.liquidation_figures`` (from the ledger and from
grouped counts that ``grants.services.legislature`` reuses for a whole year, so a liquidation and the
report to the legislature always say the same thing, G9).
"""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from sqlalchemy import or_, select
from sqlalchemy.orm import aliased

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.labels import AGREEMENT_STATE_LABELS, DISCIPLINE_LABELS
from grants.models import (
    Agreement,
    FinalLiquidation,
    FinalLiquidationSigner,
    FinalLiquidationSignOff,
)
from grants.models.base import utcnow
from grants.models.closing import VERDICTS
from grants.permissions import DISCIPLINE_ROLES, Permission, Role
from grants.services import ledger
from grants.services.liquidation_figures import as_json, blockers, figures, liquidation_preview
from grants.services.agreements import _change_state
from grants.domain_errors import Conflict, FieldErrors, Forbidden, NotFound
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.workflows import TransitionRefused
from grants.workflows.agreement import AgreementAction, AgreementState
from grants.workflows.final_liquidation import (
    FINAL,
    LiquidationAction,
    LiquidationState,
    SignOffDecision,
    next_state,
    round_outcome,
)
from grants.workflows.plan import Discipline

VERDICT_LABELS = {
    "cumple": _l("Cumple"),
    "cumple_parcialmente": _l("Cumple parcialmente"),
    "no_cumple": _l("No cumple"),
}
REASONING_MAX = 20000
OBSERVATIONS_MAX = 5000
# The figures an approval checks against the ledger (they cannot move once nothing blocks the
# liquidation; if they did, the revision would no longer say what the ledger says).
MONEY_FIGURES = ("assigned", "paid_directly", "advanced", "liquidated", "refunded", "unspent")
LIQUIDATION_STATE_LABELS = {
    "none": _l("Sin preparar"),
    "proposed": _l("Propuesta, por aprobar"),
    "returned": _l("Devuelta al administrador"),
    "approved": _l("Aprobada por las tres disciplinas"),
    "recorded": _l("Registrada antes de las firmas de las disciplinas"),
}
SIGNOFF_DECISION_LABELS = {
    "approve": _l("Aprobada"),
    "send_back": _l("Devuelta con observaciones"),
}


class NotReady(Conflict):
    """The agreement cannot be liquidated yet: ``blockers`` lists every reason (code, message)."""

    code = "liquidation_blocked"

    def __init__(self, blockers: list[dict]):
        super().__init__(" ".join(str(b["message"]) for b in blockers), code=blockers[0]["code"])
        self.blockers = blockers


# --- reading the revisions ---------------------------------------------------------------------

def revisions(agreement_id: int) -> list[FinalLiquidation]:
    """Every revision of the agreement's final liquidation, the first one first."""
    return db.session.scalars(select(FinalLiquidation).where(FinalLiquidation.agreement_id == agreement_id)
                              .order_by(FinalLiquidation.revision)).all()


def current(agreement_id: int) -> FinalLiquidation | None:
    """The latest revision (the one that is proposed, approved, recorded, or was last sent back)."""
    return db.session.scalar(select(FinalLiquidation).where(FinalLiquidation.agreement_id == agreement_id)
                             .order_by(FinalLiquidation.revision.desc()).limit(1))


def final(agreement_id: int) -> FinalLiquidation | None:
    """The agreement's final liquidation once decided (approved by the three disciplines, or
    recorded before they were required); None until then."""
    return db.session.scalar(select(FinalLiquidation).where(FinalLiquidation.agreement_id == agreement_id,
                                                            FinalLiquidation.status.in_(list(FINAL))))


def pending_disciplines(liquidation: FinalLiquidation) -> list[str]:
    """The disciplines that have not signed off this revision yet (in the canonical order)."""
    signed = {s.discipline for s in liquidation.signoffs}
    return [d.value for d in Discipline if d.value not in signed]


def changed_figures(liquidation: FinalLiquidation, agreement: Agreement) -> list[str]:
    """The money figures that no longer match the ledger since the revision was prepared (an
    approval of figures that moved would approve something else)."""
    b = ledger.balances(agreement)
    now = {"assigned": b.assigned, "paid_directly": b.paid_directly, "advanced": b.advanced,
           "liquidated": b.liquidated, "refunded": b.refunded,
           "unspent": b.assigned - b.paid_directly - b.liquidated}
    return [name for name in MONEY_FIGURES if getattr(liquidation, name) != now[name]]


def liquidation_state(agreement: Agreement) -> dict:
    """What the page and the API show: ``status`` (``none`` or the latest revision's), ``current``
    (the latest revision), ``revisions`` (all, first first), ``signoffs`` ({discipline: sign-off or
    None} on the latest revision), ``pending`` disciplines, ``changed`` money figures, and the
    ``preview`` (figures as they stand and blockers) until the liquidation is final."""
    revs = revisions(agreement.id)
    latest = revs[-1] if revs else None
    decided = latest is not None and latest.is_final
    proposed = latest is not None and latest.status == LiquidationState.PROPOSED
    return {
        "agreement_id": agreement.id, "status": latest.status if latest else "none", "current": latest,
        "revisions": revs,
        "signoffs": ({d.value: next((s for s in latest.signoffs if s.discipline == d), None) for d in Discipline}
                     if latest is not None else {}),
        "pending": pending_disciplines(latest) if proposed else [],
        "changed": changed_figures(latest, agreement) if proposed else [],
        "preview": None if decided else liquidation_preview(agreement),
    }


def waiting_query(disciplines):
    """Proposed revisions lacking the sign-off of one of ``disciplines``, oldest first (reviewers' queue)."""
    fl, so = FinalLiquidation, FinalLiquidationSignOff
    return (select(fl).where(fl.status == LiquidationState.PROPOSED, or_(*[
        ~select(so.id).where(so.final_liquidation_id == fl.id, so.discipline == d).exists() for d in disciplines]))
        .order_by(fl.prepared_at, fl.id))


def waiting_for(disciplines, limit: int | None = None) -> list[FinalLiquidation]:
    if not (disciplines := [d for d in disciplines if d in set(Discipline)]):
        return []
    return db.session.scalars(waiting_query(disciplines).limit(limit)).all()


def signable_disciplines(user, agreement: Agreement, state: dict) -> tuple[list[str], object]:
    """The disciplines ``user`` may sign now on the latest revision (``liquidation_state``), and
    why not when there is none although they are a reviewer (a message, or None)."""
    if (state["status"] != LiquidationState.PROPOSED or agreement.status != AgreementState.CLOSING
            or not user.can(Permission.LIQUIDATION_SIGN_OFF)):
        return [], None
    mine = [d for d, role in DISCIPLINE_ROLES.items() if role in user.roles]
    if user.id in {r.prepared_by_id for r in state["revisions"]}:
        return [], _l("Usted preparó esta liquidación final: no puede aprobarla ni devolverla (segregación de "
                      "funciones).")
    signer = db.session.get(FinalLiquidationSigner, (agreement.id, user.id))
    if signer is not None:
        mine = [d for d in mine if d == signer.discipline]
    open_ = [d for d in mine if d in state["pending"]]
    if not open_ and signer is not None:
        return [], _l("Usted firmó esta liquidación final por %(d)s: una misma persona firma una sola disciplina.",
                      d=DISCIPLINE_LABELS[signer.discipline])
    return open_, None


# --- the administrator prepares (and revises) ----------------------------------------------------

def _load_agreement(agreement_id) -> Agreement:
    agreement = (db.session.get(Agreement, agreement_id, with_for_update=True, populate_existing=True)
                 if agreement_id else None)
    if agreement is None:
        raise NotFound()
    return agreement


def _check_preparer(actor: Actor, agreement: Agreement) -> None:
    user = actor.user
    if user is None:
        raise Forbidden()
    if not agreement.is_visible_to(user):
        raise NotFound()
    if not user.can(Permission.LIQUIDATION_DECIDE) or user.id != agreement.administrator_id:
        raise Forbidden(_l("Solo el administrador designado del convenio prepara su liquidación final."))


def _clean(verdict, reasoning) -> tuple[str, str]:
    errors = FieldErrors()
    verdict = (verdict or "").strip() if isinstance(verdict, str) else ""
    if verdict not in VERDICTS:
        errors.add("verdict", _l("Elija el dictamen: cumple, cumple parcialmente o no cumple."))
    reasoning = (reasoning or "").strip() if isinstance(reasoning, str) else ""
    if not reasoning:
        errors.add("reasoning", _l("Explique el dictamen: la fundamentación es obligatoria."))
    elif len(reasoning) > REASONING_MAX:
        errors.add("reasoning", _l("Máximo %(n)s caracteres.", n=REASONING_MAX))
    errors.raise_if_any()
    return verdict, reasoning


def _reviewers() -> list:
    users = []
    for role in DISCIPLINE_ROLES.values():
        users += [u for u in users_with_role(role) if u not in users]
    return users


def prepare_liquidation(actor: Actor, agreement_id: int, verdict: str, reasoning: str) -> FinalLiquidation:
    """The agreement's administrator proposes the final liquidation (revision 1), or — after a
    discipline sent it back — its next revision: the figures as the ledger has them now, the
    proposed verdict and its reasoning. The agreement stays in closing until the three
    disciplines approve the same revision (``sign_off``). Refused (409) while an advance is not
    liquidated, a payment is pending or a confirmed finding is unresolved; while a revision waits
    for the disciplines (``liquidation_in_review``); once liquidated (``already_liquidated``)."""
    agreement = _load_agreement(agreement_id)
    _check_preparer(actor, agreement)
    verdict, reasoning = _clean(verdict, reasoning)
    latest = current(agreement.id)
    number, action = 1, "final_liquidation.prepared"
    if latest is not None:
        try:
            next_state(latest.status, LiquidationAction.REVISE)
        except TransitionRefused:
            if latest.is_final:
                raise Conflict(_l("El convenio ya tiene su liquidación final."), code="already_liquidated") from None
            raise Conflict(_l("La revisión %(n)s espera las firmas de las disciplinas: se prepara otra solo si una "
                              "la devuelve con observaciones.", n=latest.revision),
                           code="liquidation_in_review") from None
        number, action = latest.revision + 1, "final_liquidation.revised"
    found = blockers(agreement)
    if found:
        raise NotReady(found)
    values = figures(agreement)
    liquidation = FinalLiquidation(
        agreement_id=agreement.id, organization_id=agreement.organization_id, revision=number,
        status=LiquidationState.PROPOSED,
        assigned=values["assigned"], paid_directly=values["paid_directly"], advanced=values["advanced"],
        liquidated=values["liquidated"], refunded=values["refunded"], unspent=values["unspent"],
        beneficiaries_target=values["beneficiaries_target"],
        beneficiaries_validated=values["beneficiaries_validated"],
        beneficiaries_reached=values["beneficiaries_reached"],
        indicators=as_json(values)["indicators"], findings=values["findings"],
        verdict=verdict, reasoning=reasoning, prepared_by_id=actor.user_id, prepared_at=utcnow())
    db.session.add(liquidation)
    db.session.flush()
    record_event(db.session, actor, action, "final_liquidation", liquidation.id,
                 after=snapshot(liquidation), organization_id=agreement.organization_id)
    notify(_reviewers(), "final_liquidation.proposed",
           _l("Liquidación final por aprobar: convenio %(number)s (revisión %(n)s)", number=agreement.number,
              n=number),
           _l("Dictamen propuesto: %(verdict)s. Jurídica, financiera y seguimiento la aprueban o la devuelven con "
              "observaciones.", verdict=VERDICT_LABELS[verdict]),
           link=f"/agreements/{agreement.id}/final-liquidation")
    return liquidation


# --- the three disciplines sign off ------------------------------------------------------------

def _clean_signoff(discipline, decision, observations) -> tuple[Discipline, SignOffDecision, str | None]:
    errors = FieldErrors()
    try:
        discipline = Discipline(discipline)
    except ValueError:
        errors.add("discipline", _l("Disciplina desconocida: jurídica, financiera o seguimiento."))
    try:
        decision = SignOffDecision(decision)
    except ValueError:
        errors.add("decision", _l("Elija la decisión: aprobar o devolver con observaciones."))
    text = (observations or "").strip() if isinstance(observations, (str, type(None))) else ""
    if len(text) > OBSERVATIONS_MAX:
        errors.add("observations", _l("Máximo %(n)s caracteres.", n=OBSERVATIONS_MAX))
    elif decision == SignOffDecision.SEND_BACK and not text:
        errors.add("observations", _l("Indique qué debe corregir el administrador: las observaciones son "
                                      "obligatorias al devolver."))
    errors.raise_if_any()
    return discipline, decision, text or None


def sign_off(actor: Actor, agreement_id: int, revision: int, discipline: str, decision: str,
             observations: str | None = None) -> FinalLiquidationSignOff:
    """One discipline signs revision ``revision`` of the agreement's final liquidation: approves
    it, or sends it back with observations (the revision is then ``returned`` at once and the
    administrator prepares the next one). With the approvals of legal, financial and monitoring
    on the same revision it is ``approved`` and the agreement becomes ``liquidated``.

    Segregation of duties: only a reviewer of that discipline signs it; a person signs one
    discipline of an agreement's final liquidation (across its revisions), never one they
    prepared. An approval is refused while something blocks the liquidation, or when the
    ledger's figures moved since the revision was prepared (``figures_changed``)."""
    agreement = _load_agreement(agreement_id)
    user = actor.user
    discipline, decision, observations = _clean_signoff(discipline, decision, observations)
    if user is None or not user.can(Permission.LIQUIDATION_SIGN_OFF) or DISCIPLINE_ROLES[discipline] not in user.roles:
        raise Forbidden(_l("Solo un revisor de esa disciplina firma la liquidación final."))
    latest = current(agreement.id)
    if latest is not None and latest.is_final:
        raise Conflict(_l("El convenio ya tiene su liquidación final."), code="already_liquidated")
    if latest is None or latest.status != LiquidationState.PROPOSED or latest.revision != revision:
        raise Conflict(_l("La revisión %(n)s de la liquidación final no espera firmas.", n=revision),
                       code="revision_not_in_review")
    if agreement.status != AgreementState.CLOSING:
        raise Conflict(_l("El convenio está «%(state)s»: solo se liquida un convenio en cierre.",
                          state=AGREEMENT_STATE_LABELS.get(agreement.status, agreement.status)),
                       code="agreement_not_closing")
    db.session.refresh(latest)  # the sign-offs as they are under the agreement's lock
    if any(s.discipline == discipline for s in latest.signoffs):
        raise Conflict(_l("La disciplina %(d)s ya firmó la revisión %(n)s.", d=DISCIPLINE_LABELS[discipline],
                          n=latest.revision), code="discipline_already_signed")
    if user.id in {r.prepared_by_id for r in revisions(agreement.id)}:
        raise Conflict(_l("Quien preparó la liquidación final no la aprueba ni la devuelve (segregación de "
                          "funciones)."), code="segregation_of_duties")
    signer = db.session.get(FinalLiquidationSigner, (agreement.id, user.id))
    if signer is not None and signer.discipline != discipline:
        raise Conflict(_l("Usted ya firmó esta liquidación final por %(d)s: una misma persona firma una sola "
                          "disciplina (segregación de funciones).", d=DISCIPLINE_LABELS[signer.discipline]),
                       code="segregation_of_duties")
    if decision == SignOffDecision.APPROVE:
        found = blockers(agreement)
        if found:
            raise NotReady(found)
        if changed_figures(latest, agreement):
            raise Conflict(_l("Las cifras del libro mayor cambiaron desde que se preparó la revisión %(n)s: "
                              "devuélvala para que el administrador la prepare de nuevo.", n=latest.revision),
                           code="figures_changed")

    before = {"revision": latest.revision, "status": latest.status}
    if signer is None:
        db.session.add(FinalLiquidationSigner(agreement_id=agreement.id, user_id=user.id, discipline=discipline,
                                              first_liquidation=latest))
        db.session.flush()  # the sign-off's foreign key names this row (no ORM relationship orders them)
    signoff = FinalLiquidationSignOff(
        liquidation=latest, agreement_id=agreement.id, preparer_id=latest.prepared_by_id, discipline=discipline,
        reviewer_id=user.id, decision=decision, observations=observations, signed_at=utcnow())
    db.session.add(signoff)
    db.session.flush()
    outcome = round_outcome(latest.decisions())
    latest.status = next_state(latest.status, outcome)
    if outcome != LiquidationAction.SIGN_OFF:
        latest.closed_at = utcnow()
    db.session.flush()
    record_event(db.session, actor, "final_liquidation.signed_off", "final_liquidation", latest.id, before=before,
                 after={"revision": latest.revision, "status": latest.status, "discipline": discipline,
                        "decision": decision, "observations": observations, "reviewer_id": user.id},
                 organization_id=agreement.organization_id)
    link = f"/agreements/{agreement.id}/final-liquidation"
    if outcome == LiquidationAction.APPROVE:
        _change_state(actor, agreement, AgreementAction.LIQUIDATE, None, "agreement.liquidated")
        notify(users_of_organization(agreement.organization_id) + users_with_role(Role.AUDITOR)
               + [latest.prepared_by], "agreement.liquidated",
               _l("Convenio %(number)s liquidado", number=agreement.number),
               _l("Jurídica, financiera y seguimiento aprobaron la revisión %(n)s. Dictamen: %(verdict)s. "
                  "No ejecutado: $%(unspent)s.", n=latest.revision, verdict=VERDICT_LABELS[latest.verdict],
                  unspent=formats.grouped(latest.unspent)), link=link)
    elif outcome == LiquidationAction.SEND_BACK:
        notify([latest.prepared_by], "final_liquidation.returned",
               _l("Liquidación final devuelta: convenio %(number)s (revisión %(n)s)", number=agreement.number,
                  n=latest.revision),
               _l("%(d)s la devolvió: %(observations)s", d=DISCIPLINE_LABELS[discipline], observations=observations),
               link=link)
    return signoff


def returned_query(administrator_id: int):
    """Revisions sent back and not revised yet, on the agreements ``administrator_id`` administers."""
    fl, newer = FinalLiquidation, aliased(FinalLiquidation)
    return (select(fl).join(Agreement, Agreement.id == fl.agreement_id)
            .where(fl.status == LiquidationState.RETURNED, Agreement.administrator_id == administrator_id,
                   ~select(newer.id).where(newer.agreement_id == fl.agreement_id, newer.revision > fl.revision).exists())
            .order_by(fl.closed_at, fl.id))


def returned_to(administrator_id: int) -> list[FinalLiquidation]:
    return db.session.scalars(returned_query(administrator_id)).all()
