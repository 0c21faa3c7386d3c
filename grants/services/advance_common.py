"""What advances, expense statements and refunds share: loading under lock, who may act, the
agreement's state for new money, the audit view, and the advance's own running totals
(``liquidated_amount``, ``refunded_amount``) moved by conditional UPDATEs, with ``maybe_close``.
Flush, never commit.
"""
from __future__ import annotations

from contextlib import contextmanager
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from grants import formats
from grants.audit import Actor, record_event, snapshot
from grants.extensions import db
from grants.labels import AGREEMENT_STATE_LABELS
from grants.models import Advance, Agreement, ExpenseStatement, Receipt
from grants.models.base import utcnow
from grants.permissions import Permission, Role
from grants.domain_errors import Conflict, Forbidden, NotFound
from grants.money import format_amount
from grants.services.notifications import notify, users_of_organization, users_with_role
from grants.workflows.advance import AdvanceState, ReceiptState
from grants.workflows.agreement import AgreementState

S = AdvanceState

# --- loading and permissions -------------------------------------------------------------------

def load_advance(advance_id: int, lock: bool = True) -> Advance:
    advance = (db.session.get(Advance, advance_id, with_for_update=True if lock else None,
                              populate_existing=lock) if advance_id else None)
    if advance is None:
        raise NotFound()
    return advance


def agreement_for_money(agreement_id: int) -> Agreement:
    """The agreement read under FOR SHARE, refused unless it is in execution."""
    agreement = (db.session.get(Agreement, agreement_id, with_for_update={"read": True}, populate_existing=True)
                 if agreement_id else None)
    if agreement is None:
        raise NotFound()
    if agreement.status != AgreementState.IN_EXECUTION:
        raise Conflict(_l("El convenio %(number)s está «%(state)s»: no se entrega dinero nuevo mientras no esté "
                          "en ejecución.", number=agreement.number,
                          state=AGREEMENT_STATE_LABELS.get(agreement.status, agreement.status)),
                       code="agreement_not_in_execution")
    return agreement


def own_organization(actor: Actor, organization_id: int, permission: Permission, refusal) -> None:
    """An NGO user acting for its own organization (another organization's data: 404)."""
    user = actor.user
    if user is None or not user.can(permission) or Role.NGO not in user.roles:
        raise Forbidden(refusal)
    if user.organization_id != organization_id:
        raise NotFound()


def ministry_reviewer(actor: Actor, organization_id: int, permission: Permission, refusal) -> None:
    """A financial reviewer who is neither an NGO user nor a user of the organization (G4)."""
    user = actor.user
    if user is None or not user.can(permission):
        raise Forbidden(refusal)
    if not user.reviews(organization_id):
        raise Forbidden(_l("Un usuario de la organización no decide sobre sus propios anticipos ni liquidaciones."))


def treasury(actor: Actor) -> None:
    user = actor.user
    if user is None or not user.can(Permission.ADVANCES_DISBURSE):
        raise Forbidden(_l("Solo tesorería prepara y desembolsa anticipos."))


def audit_view(advance: Advance) -> dict:
    data = snapshot(advance)
    data["outstanding"] = advance.outstanding
    return data


def event(actor: Actor, action: str, advance: Advance, before: dict | None, extra: dict | None = None) -> None:
    after = audit_view(advance)
    if extra:
        after.update(extra)
    record_event(db.session, actor, action, "advance", advance.id, before=before, after=after,
                 organization_id=advance.organization_id)


# --- liquidation: the advance's own totals and its closing ------------------------------------------

def add_to_advance(advance: Advance, *, liquidated=None, refunded=None) -> bool:
    """Conditional UPDATE of the advance's totals: only while disbursed and never past its amount."""
    liquidated = liquidated if liquidated is not None else 0
    refunded = refunded if refunded is not None else 0
    a = Advance
    result = db.session.execute(update(a).where(
        a.id == advance.id, a.status == S.DISBURSED,
        func.round(a.liquidated_amount + a.refunded_amount + liquidated + refunded, 2) <= a.amount,
    ).values(liquidated_amount=a.liquidated_amount + liquidated, refunded_amount=a.refunded_amount + refunded,
             updated_at=utcnow()).execution_options(synchronize_session=False))
    db.session.refresh(advance)
    return result.rowcount == 1


@contextmanager
def movement(*objects):
    """A savepoint around several money movements: all of them, or none (and ``objects`` re-read)."""
    try:
        with db.session.begin_nested():
            yield
    except Exception:
        for obj in objects:
            db.session.expire(obj)
        raise


def exceeds_outstanding(advance: Advance, amount) -> Conflict:
    return Conflict(_l("Se superaría el saldo pendiente del anticipo: pendiente $%(outstanding)s, se necesitan "
                       "$%(amount)s.", outstanding=formats.grouped(advance.outstanding), amount=formats.grouped(amount)),
                    code="exceeds_outstanding")


def maybe_close(actor: Actor, advance: Advance) -> bool:
    """Liquidated when accepted receipts plus refunds equal what was disbursed (used by refunds and
    receipt decisions, in their transaction). True if it closed now."""
    a = Advance
    now = utcnow()
    result = db.session.execute(update(a).where(
        a.id == advance.id, a.status == S.DISBURSED,
        func.round(a.liquidated_amount + a.refunded_amount, 2) == a.amount,
    ).values(status=S.LIQUIDATED, liquidated_at=now, updated_at=now).execution_options(synchronize_session=False))
    if result.rowcount != 1:
        return False
    before = audit_view(advance)
    db.session.refresh(advance)
    event(actor, "advance.liquidated", advance, before)
    notify(users_of_organization(advance.organization_id) + users_with_role(Role.FINANCIAL_REVIEWER),
           "advance.liquidated", _l("Anticipo liquidado: desembolso %(n)s", n=advance.tranche_number),
           _l("Comprobantes aceptados $%(liquidated)s y reintegros $%(refunded)s suman lo desembolsado.",
              liquidated=formats.grouped(advance.liquidated_amount), refunded=formats.grouped(advance.refunded_amount)),
           link=f"/advances/{advance.id}")
    return True


def summary(advance: Advance) -> dict:
    """Figures of an advance for pages and the API (amounts as strings with two decimals)."""
    pending = db.session.scalar(_pending_query(advance.id)) or 0
    return {"outstanding": format_amount(advance.outstanding), "liquidated_share": str(advance.liquidated_share),
            "pending_receipts": format_amount(pending)}


def pending_by_advance(advance_ids) -> dict[int, str]:
    """``summary(advance)["pending_receipts"]`` of many advances (a page of them) in one query."""
    if not advance_ids:
        return {}
    sums = dict(db.session.execute(
        select(ExpenseStatement.advance_id, func.sum(Receipt.amount))
        .join(ExpenseStatement, ExpenseStatement.id == Receipt.statement_id)
        .where(ExpenseStatement.advance_id.in_(advance_ids), Receipt.status == ReceiptState.PENDING)
        .group_by(ExpenseStatement.advance_id)).all())
    return {advance_id: format_amount(sums.get(advance_id) or 0) for advance_id in advance_ids}


def _pending_query(advance_id: int, exclude_statement_id: int | None = None):
    query = (select(func.sum(Receipt.amount)).join(ExpenseStatement, ExpenseStatement.id == Receipt.statement_id)
             .where(ExpenseStatement.advance_id == advance_id, Receipt.status == ReceiptState.PENDING))
    if exclude_statement_id is not None:
        query = query.where(ExpenseStatement.id != exclude_statement_id)
    return query


def pending_receipts(advance_id: int):
    """Sum of receipts still pending a decision in the advance's statements."""
    return Decimal(db.session.scalar(_pending_query(advance_id)) or 0).quantize(Decimal("0.01"))
