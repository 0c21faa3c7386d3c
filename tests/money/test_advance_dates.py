"""Advances run on real dates (issue 10 §3): the receipt period starts on the transfer, the statement
is due N days after the period's real end, receipts before the transfer are refused unless the
agreement allows pre-financing (and then only so many days), and a tranche may be advanced in parts."""
import threading
from datetime import timedelta

import pytest
from sqlalchemy import update

from grants import clock
from grants.extensions import db
from grants.models import Advance, Agreement
from grants.services import advances, expense_statements
from grants.domain_errors import Conflict, ValidationFailed
from tests.money.advance_helpers import act, money_setup, row
from tests.money.timeline_advances import confirmed, disbursed_on
from tests.timeline import day


@pytest.fixture
def ctx(app):
    return money_setup()


def submit(ctx, advance, issued):
    return expense_statements.submit_statement(act(ctx["ngo"]), advance.id, [row(issue_date=issued.isoformat())])


def test_the_period_starts_on_the_transfer_and_the_statement_is_due_after_its_real_end(ctx, app):
    # Tranche 1 is planned for 15/02 (reference calendar), its period ending the day before tranche 2 (14/06).
    requested = advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, {"tranche_number": 1})
    assert (requested.period_start, requested.period_end) == (day("2026-02-15"), day("2026-06-14"))
    db.session.rollback()
    advance = disbursed_on(ctx, day("2026-03-02"))
    assert (advance.transfer_date, advance.period_start, advance.period_end) == (
        day("2026-03-02"), day("2026-03-02"), day("2026-06-14"))
    days = app.config["ADVANCE_LIQUIDATION_DAYS"]
    assert advance.liquidation_due == day("2026-06-14") + timedelta(days=days)


def test_a_late_transfer_keeps_the_period_length_inside_the_term(ctx):
    advance = disbursed_on(ctx, day("2026-06-20"))  # after the planned period ended (14/06)
    assert advance.period_start == day("2026-06-20")
    assert advance.period_end - advance.period_start == day("2026-06-14") - day("2026-02-15")
    late = disbursed_on(money_setup(), day("2026-11-10"))  # so late that the term (30/11) cuts it
    assert late.period_end == day("2026-11-30")


def test_a_receipt_before_the_transfer_is_refused_without_a_pre_financing_clause(ctx):
    advance = disbursed_on(ctx, day("2026-03-02"))
    with pytest.raises(ValidationFailed) as refused:
        submit(ctx, advance, day("2026-03-01"))
    [message] = refused.value.errors["rows.1.issue_date"]
    assert "no permite prefinanciar" in str(message)
    db.session.rollback()
    assert submit(ctx, advance, day("2026-03-02")).total == 100


def test_the_pre_financing_clause_allows_so_many_days_before_the_transfer(ctx):
    db.session.execute(update(Agreement).where(Agreement.id == ctx["agreement"].id).values(prefinancing_days=10))
    db.session.commit()
    db.session.refresh(ctx["agreement"])
    advance = disbursed_on(ctx, day("2026-03-15"))
    assert submit(ctx, advance, day("2026-03-05")).total == 100  # 10 days before: allowed
    db.session.rollback()
    with pytest.raises(ValidationFailed) as refused:
        submit(ctx, advance, day("2026-03-04"))  # 11 days before
    assert "10 días de prefinanciamiento" in str(refused.value.errors["rows.1.issue_date"][0])


def test_the_pre_financing_clause_is_written_when_the_agreement_is_drafted(app):
    from grants.audit import Actor
    from grants.services import agreements, plans
    from tests.factories import make_allocation, make_organization, make_user, plan_content

    org = make_organization()
    allocation = make_allocation(org)
    ngo, legal = make_user(["ngo"], organization=org), make_user(["legal_reviewer"])
    plan = plans.create_plan(Actor.for_user(ngo), allocation.id, "Plan", plan_content())
    plans.submit_plan(Actor.for_user(ngo), plan.id)
    for discipline in ("legal", "financial", "monitoring"):
        reviewer = legal if discipline == "legal" else make_user([f"{discipline}_reviewer"])
        plans.record_review(Actor.for_user(reviewer), plan.id, 1, discipline, "approve", [])
    db.session.commit()
    signatories = {"ministry_signatory_name": "M", "ministry_signatory_title": "T",
                   "ngo_signatory_name": "N", "ngo_signatory_title": "R"}
    with pytest.raises(ValidationFailed) as refused:
        agreements.create_agreement(Actor.for_user(legal), plan.id, {**signatories, "prefinancing_days": 365})
    assert set(refused.value.errors) == {"prefinancing_days"}
    db.session.rollback()
    agreement = agreements.create_agreement(Actor.for_user(legal), plan.id, {**signatories, "prefinancing_days": "15"})
    assert agreement.prefinancing_days == 15
    agreements.update_agreement(Actor.for_user(legal), agreement.id, {"prefinancing_days": ""})
    assert agreement.prefinancing_days is None


def test_a_tranche_is_advanced_in_parts_never_past_its_amount(ctx):
    with clock.at(day("2026-02-20")):
        first = advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id,
                                         {"tranche_number": 1, "amount": "15000.00"})
        db.session.commit()
        assert first.amount == 15000
        with pytest.raises(ValidationFailed) as too_much:
            advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, {"tranche_number": 1, "amount": "25000.01"})
        assert "disponibles $25,000.00" in str(too_much.value.errors["amount"][0])
        db.session.rollback()
        with pytest.raises(Conflict) as gate:  # the first part must be disbursed and liquidated first
            advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, {"tranche_number": 1})
        assert gate.value.code == "liquidation_gate"
        db.session.rollback()
        advances.approve_advance(act(ctx["financial"]), first.id)
        advances.prepare_disbursement(act(ctx["treasury"]), first.id)
    with clock.at(day("2026-02-21")):
        advances.disburse_advance(act(ctx["treasury2"]), first.id, "TRF-P1", day("2026-02-21"))
        db.session.commit()
    confirmed(ctx, first, "15000.00", reference="DEP-P1")
    rest = advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, {"tranche_number": 1})
    db.session.commit()
    assert (rest.tranche_number, rest.amount) == (1, 25000)
    with pytest.raises(Conflict) as full:
        advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, {"tranche_number": 1})
    assert full.value.code == "advance_exists"


def test_a_transfer_is_not_dated_before_its_preparation(ctx):
    with clock.at(day("2026-03-10")):
        advance = advances.request_advance(act(ctx["ngo"]), ctx["agreement"].id, {"tranche_number": 1})
        advances.approve_advance(act(ctx["financial"]), advance.id)
        advances.prepare_disbursement(act(ctx["treasury"]), advance.id)
        db.session.commit()
    with pytest.raises(ValidationFailed) as refused:
        advances.disburse_advance(act(ctx["treasury2"]), advance.id, "TRF-X", day("2026-03-09"))
    assert set(refused.value.errors) == {"transfer_date"}


def test_two_requests_for_the_whole_tranche_at_once_give_one_advance(live_app, backend):
    if backend != "postgresql":
        pytest.skip("SQLite has one writer: the two requests are serialized by BEGIN IMMEDIATE")
    with live_app.app_context():
        ctx = money_setup()
        agreement_id, ngo_id = ctx["agreement"].id, ctx["ngo"].id
    barrier, outcomes = threading.Barrier(2), []

    def request():
        with live_app.app_context():
            from grants.models import User

            user = db.session.get(User, ngo_id)
            barrier.wait()
            try:
                advances.request_advance(act(user), agreement_id, {"tranche_number": 1})
                db.session.commit()
                outcomes.append("requested")
            except Conflict as exc:
                db.session.rollback()
                outcomes.append(exc.code)
            finally:
                db.session.remove()

    threads = [threading.Thread(target=request) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(outcomes) == ["advance_exists", "requested"]
    with live_app.app_context():
        amounts = db.session.scalars(db.select(Advance.amount).where(Advance.agreement_id == agreement_id)).all()
        assert [str(a) for a in amounts] == ["40000.00"]
