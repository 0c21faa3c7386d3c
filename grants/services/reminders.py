"""Reminders sent by periodic jobs (grants/jobs.py). Flush, never commit.

``remind_statements_due``: the NGO's users are told, once, that a disbursed advance's expense
statement is due in 7 days. Running it again the same day (a retried job, two schedulers) sends
nothing twice: a reminder already given for the advance is found by its kind and link.
"""
from __future__ import annotations

from datetime import timedelta

from flask_babel import lazy_gettext as _l
from sqlalchemy import select

from grants import formats
from grants.clock import today
from grants.extensions import db
from grants.models import Advance, Notification
from grants.services.notifications import notify, users_of_organization
from grants.workflows.advance import AdvanceState

STATEMENT_DUE = "advance.statement_due"


def remind_statements_due(days: int = 7) -> int:
    """Advances disbursed and not liquidated whose statement is due exactly ``days`` from today
    (or fewer, when a day was missed): one notification to each NGO user. Returns the advances."""
    due_by = today() + timedelta(days=days)
    advances = db.session.scalars(select(Advance).where(
        Advance.status == AdvanceState.DISBURSED, Advance.liquidation_due <= due_by,
        Advance.liquidation_due >= today()).order_by(Advance.id)).all()
    reminded = 0
    for advance in advances:
        link = f"/advances/{advance.id}"
        if db.session.scalar(select(Notification.id).where(Notification.kind == STATEMENT_DUE,
                                                           Notification.link == link).limit(1)) is not None:
            continue
        notify(users_of_organization(advance.organization_id), STATEMENT_DUE,
               _l("Liquidación de anticipo por vencer: convenio %(number)s, desembolso %(n)s",
                  number=advance.agreement.number, n=advance.tranche_number),
               _l("Presente la liquidación del anticipo a más tardar el %(due)s.",
                  due=formats.day(advance.liquidation_due)), link=link)
        reminded += 1
    return reminded
