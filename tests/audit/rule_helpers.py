"""Builders for the liquidation-rule tests: money built through the real services (reusing
tests/money/payment_helpers.py and advance_helpers.py), and, where the services rightly refuse a
state, a plain SQL update that *simulates* it (each use says so: a tampered row, a bypassed
ledger, a past state). Those updates bypass the audit guard on purpose: they play the part of
whatever went wrong outside the service, which is exactly what the rules must catch."""
from __future__ import annotations

import dataclasses
import itertools
from datetime import date, timedelta

from sqlalchemy import select, update

from grants import clock
from grants.audit import Actor
from grants.audit.rules import RULES_BY_CODE, Scope
from grants.extensions import db
from grants.models import Advance
from grants.services import advances, audit_checks, expense_statements
from tests.factories import make_user, valid_nit
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.timeline import day, dmy, iso

_nits = itertools.count(500)


def act(user) -> Actor:
    return Actor.for_user(user)


def find(code: str, scope: Scope | None = None, on: date | None = None, **overrides) -> list:
    """What one rule finds now (its FindingRows), with the app's settings and optional overrides."""
    settings = audit_checks.settings_for(on)
    if overrides:
        settings = dataclasses.replace(settings, **overrides)
    return list(RULES_BY_CODE[code].find(db.session, scope or Scope(), settings))


def simulate(model, where, **values) -> None:
    """SIMULATION: change rows with plain SQL, as something outside the services would."""
    db.session.execute(update(model).where(where).values(**values).execution_options(synchronize_session=False))
    db.session.commit()
    db.session.expire_all()


def auditor():
    return make_user(["auditor"])


def payments_ctx(**kwargs) -> dict:
    """payments_setup() (people included) plus a second treasury officer pair for advances."""
    return ph.payments_setup(**kwargs)


def executed(ctx, lines=None, **overrides):
    return ph.executed(ctx, lines, **overrides)


def disbursed_advance(ctx, tranche: int = 1, day: date = ah.TRANSFER_DAY) -> Advance:
    """A disbursed advance on a payments_setup() agreement (its treasury officers prepare and disburse)."""
    with clock.at(day - timedelta(days=1)):  # prepared the day before the money left
        advance = advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id,
                                           {"tranche_number": tranche, "purpose": f"Desembolso {tranche}"})
        advances.approve_advance(act(ctx["financial"]), advance.id)
        advances.prepare_disbursement(act(ctx["treasury"]), advance.id)
    with clock.at(day):
        advances.disburse_advance(act(ctx["treasury2"]), advance.id, f"TRF-A-{advance.id}", day)
    db.session.commit()
    return advance


def receipts(ctx, advance, rows: list[dict], accept: bool | None = None):
    """An expense statement with these receipt rows (``ah.row`` defaults); accepted (or rejected) if asked."""
    statement = expense_statements.submit_statement(act(ctx["ngo"]), advance.id, rows)
    db.session.commit()
    if accept is not None:
        for receipt in statement.receipts:
            expense_statements.decide_receipt(act(ctx["financial"]), receipt.id, accept,
                                              None if accept else "No corresponde")
        db.session.commit()
    return statement


def row(**overrides) -> dict:
    return ah.row(**overrides)


def refund(ctx, advance, amount: str, day: date = day("2026-07-01")):
    """A refund the NGO declared and treasury confirmed (it counts)."""
    return ah.refunded(ctx, advance, amount, f"REI-{advance.id}-{amount}", day=day.isoformat())


def other_nit() -> str:
    return valid_nit(next(_nits))


def rule_codes(rows) -> list[str]:
    return [r.rule_code for r in rows]


def entity_ids(rows) -> list[str]:
    return sorted(r.entity_id for r in rows)


def one_day_after(moment):
    return moment + timedelta(days=1)


def first(model, *where):
    return db.session.scalars(select(model).where(*where)).first()


def enroll_person(ctx: dict, dui: str, name: str = "Persona", allow_double: bool = False, active_from=None):
    """Enroll the person with this DUI through the real import; when they are active elsewhere,
    monitoring allows the double enrollment first (``allow_double``). Active from ``active_from``."""
    from grants.models import Enrollment
    from grants.services import beneficiary_imports, enrollments

    # born 15/03/2000 and enrolled on the term's first day on the reference calendar: 25 years old
    content = (ph.HEADER + f"\nDUI,{dui},{name},Prueba,{dmy('2000-03-15')},F,San Salvador Centro,"
               f"{iso('2026-02-01')}\n").encode()
    with clock.at(day("2026-02-10")):  # the list is imported and validated on 10/02
        batch = beneficiary_imports.import_file(act(ctx["ngo"]), ctx["agreement"].id, "lista.csv", content,
                                                "enrollment")
        beneficiary_imports.confirm_batch(act(ctx["ngo"]), batch.id)
        enrollment = db.session.scalars(select(Enrollment).where(Enrollment.batch_id == batch.id)).one()
        if allow_double:
            assert enrollment.double_enrollment == "pending"
            enrollments.decide_double_enrollment(act(ctx["monitoring"]), enrollment.id, True,
                                                 "Participa en dos programas complementarios")
        beneficiary_imports.validate_batch(act(ctx["monitoring"]), batch.id)
    db.session.commit()
    if active_from is not None:
        enrollments.change_status(act(ctx["ngo"]), enrollment.id, "active", active_from, "inicia")
        db.session.commit()
    return enrollment


def tamper(app, backend: str, sql: str) -> None:
    """Run ``sql`` on audit_events as a DBA would, with the append-only triggers switched off
    (as tests/audit/test_chain.py does)."""
    from sqlalchemy import text

    with app.app_context():
        with db.engine.begin() as conn:
            if backend == "postgresql":
                conn.execute(text("ALTER TABLE audit_events DISABLE TRIGGER USER"))
                conn.execute(text(sql))
                conn.execute(text("ALTER TABLE audit_events ENABLE TRIGGER USER"))
            else:
                conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_update"))
                conn.execute(text("DROP TRIGGER IF EXISTS audit_events_no_delete"))
                conn.execute(text(sql))
