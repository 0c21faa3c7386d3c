"""The closing is decided by the three disciplines (issue 10 §6): the administrator proposes the final
liquidation; legal, financial and monitoring each approve it or send it back with observations; one
person signs one discipline and never one they prepared (service and database); a send-back is
answered by a new revision and the earlier sign-offs no longer count; only the three approvals of
one revision liquidate the agreement. Every rule with a passing and a failing case, on both
backends; the pages, the reviewers' queue, the report to the legislature, the migration of final
liquidations recorded before the sign-offs, and the demo."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select, text, update
from sqlalchemy.exc import IntegrityError

from grants import clock
from grants.audit import Actor, verify_chain
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import (
    Agreement,
    FinalLiquidation,
    FinalLiquidationSigner,
    FinalLiquidationSignOff,
    Notification,
)
from grants.models.base import utcnow
from grants.services import agreements, final_liquidation, legislature
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.closing import helpers as h
from tests.factories import make_organization, make_user
from tests.helpers import audit_actions, csrf_token, login
from tests.timeline import year

D = Decimal
DISCIPLINES = ("legal", "financial", "monitoring")


@pytest.fixture
def ctx(app):
    """An agreement in closing with one direct payment and one advance accounted for: ready."""
    return h.ready_in_closing()


def sign(ctx, discipline, decision="approve", observations=None, user=None, revision=None):
    return final_liquidation.sign_off(h.act(user or ctx[discipline]), ctx["agreement"].id,
                                      revision or final_liquidation.current(ctx["agreement"].id).revision,
                                      discipline, decision, observations)


def refused(call, code: str):
    with pytest.raises(Conflict) as caught:
        call()
    db.session.rollback()
    assert caught.value.code == code, caught.value.detail
    return caught.value


def agreement_status(ctx) -> str:
    return db.session.get(Agreement, ctx["agreement"].id, populate_existing=True).status


# --- the round ---------------------------------------------------------------------------------

def test_the_three_approvals_of_one_revision_liquidate_the_agreement(ctx):
    liquidation = h.prepare(ctx, "cumple", "Ejecutó el plan.")
    assert (liquidation.revision, liquidation.status, liquidation.closed_at) == (1, "proposed", None)
    assert final_liquidation.pending_disciplines(liquidation) == list(DISCIPLINES)
    for n, discipline in enumerate(DISCIPLINES, start=1):
        signoff = h.sign(ctx, discipline)
        assert (signoff.discipline, signoff.decision, signoff.reviewer_id) == (discipline, "approve",
                                                                               ctx[discipline].id)
        db.session.refresh(liquidation)
        # two approvals are not enough: the agreement stays in closing
        assert (liquidation.status, agreement_status(ctx)) == (
            ("approved", "liquidated") if n == 3 else ("proposed", "closing"))
    assert liquidation.closed_at is not None and final_liquidation.final(ctx["agreement"].id).id == liquidation.id
    assert audit_actions("final_liquidation", liquidation.id) == [
        "final_liquidation.prepared", *["final_liquidation.signed_off"] * 3]
    assert audit_actions("agreement", ctx["agreement"].id)[-1] == "agreement.liquidated"
    assert verify_chain(db.session).ok
    told = db.session.scalars(select(Notification.user_id).where(Notification.kind == "agreement.liquidated")).all()
    assert {ctx["ngo"].id, ctx["auditor"].id, ctx["administrator"].id} <= set(told)


def test_a_send_back_needs_observations_and_returns_the_revision_at_once(ctx):
    liquidation = h.prepare(ctx)
    h.sign(ctx, "legal")
    with pytest.raises(ValidationFailed) as caught:
        sign(ctx, "financial", "send_back", "   ")
    db.session.rollback()
    assert set(caught.value.errors) == {"observations"}
    h.sign(ctx, "financial", "send_back", "El reintegro no coincide con la boleta.")
    db.session.refresh(liquidation)
    assert (liquidation.status, agreement_status(ctx)) == ("returned", "closing")
    assert liquidation.closed_at is not None
    # the revision no longer waits for anybody: monitoring cannot sign it
    refused(lambda: sign(ctx, "monitoring", revision=1), "revision_not_in_review")
    note = db.session.scalars(select(Notification).where(Notification.kind == "final_liquidation.returned")).one()
    assert note.user_id == ctx["administrator"].id and "El reintegro no coincide" in note.body


def test_a_revision_is_prepared_only_after_a_send_back_and_the_earlier_signoffs_no_longer_count(ctx):
    first = h.prepare(ctx, "cumple", "Primera versión.")
    refused(lambda: final_liquidation.prepare_liquidation(h.act(ctx["administrator"]), ctx["agreement"].id,
                                                          "cumple", "Otra"), "liquidation_in_review")
    h.sign(ctx, "legal")
    h.sign(ctx, "monitoring", "send_back", "Falta el indicador de permanencia escolar.")
    second = h.prepare(ctx, "cumple_parcialmente", "Corregida: cumple parcialmente.")
    assert (second.revision, second.status, second.verdict) == (2, "proposed", "cumple_parcialmente")
    db.session.refresh(first)
    # append-only: revision 1 stays as it was, with its two sign-offs
    assert (first.status, first.verdict, [s.discipline for s in first.signoffs]) == (
        "returned", "cumple", ["legal", "monitoring"])
    assert final_liquidation.pending_disciplines(second) == list(DISCIPLINES)  # legal must approve again
    refused(lambda: sign(ctx, "financial", revision=1), "revision_not_in_review")
    h.sign(ctx, "financial")
    h.sign(ctx, "monitoring")
    assert agreement_status(ctx) == "closing"
    h.sign(ctx, "legal")
    db.session.refresh(second)
    assert (second.status, agreement_status(ctx)) == ("approved", "liquidated")
    assert audit_actions("final_liquidation", second.id)[0] == "final_liquidation.revised"
    assert [r.revision for r in final_liquidation.revisions(ctx["agreement"].id)] == [1, 2]


def test_a_discipline_signs_a_revision_once(ctx):
    h.prepare(ctx)
    h.sign(ctx, "legal")
    other_lawyer = make_user(["legal_reviewer"])
    refused(lambda: sign(ctx, "legal", user=other_lawyer), "discipline_already_signed")
    h.sign(ctx, "financial")  # another discipline may


# --- who signs ---------------------------------------------------------------------------------

def test_only_a_reviewer_of_the_discipline_signs_it(ctx):
    h.prepare(ctx)
    for user in (ctx["financial"], ctx["administrator"], ctx["auditor"], ctx["ngo"], make_user(["admin"])):
        with pytest.raises(Forbidden):
            sign(ctx, "legal", user=user)
        db.session.rollback()
    stranger = make_user(["ngo"], organization=make_organization())
    with pytest.raises(NotFound):
        final_liquidation.sign_off(h.act(stranger), 999999, 1, "legal", "approve")
    assert h.sign(ctx, "legal").reviewer_id == ctx["legal"].id


def test_one_person_signs_one_discipline_across_revisions(ctx):
    both = make_user(["legal_reviewer", "financial_reviewer"])
    h.prepare(ctx)
    sign(ctx, "legal", user=both)
    db.session.commit()
    error = refused(lambda: sign(ctx, "financial", user=both), "segregation_of_duties")
    assert "Jurídica" in str(error.detail)
    h.sign(ctx, "financial", "send_back", "Revise el monto liquidado.")
    h.prepare(ctx)
    # on the next revision too: the same person stays on legal
    refused(lambda: sign(ctx, "financial", user=both), "segregation_of_duties")
    assert sign(ctx, "legal", user=both).discipline == "legal"


def test_whoever_prepared_it_never_signs_it(ctx):
    # an administrator who is also a legal reviewer (roles that may meet in one person)
    from grants.services import users

    users.update_user(Actor.system("tests"), ctx["administrator"].id,
                      {"roles": ["administrator", "legal_reviewer"]})
    db.session.commit()
    h.prepare(ctx)
    error = refused(lambda: sign(ctx, "legal", user=ctx["administrator"]), "segregation_of_duties")
    assert "preparó" in str(error.detail)
    assert h.sign(ctx, "legal").reviewer_id == ctx["legal"].id


# --- approvals check the ledger and the blockers again -----------------------------------------------

def test_an_approval_is_refused_while_a_blocker_appears_but_a_send_back_is_not(ctx):
    h.prepare(ctx)
    finding = h.finding(ctx["agreement"], "confirmed")
    error = refused(lambda: sign(ctx, "legal"), "finding_unresolved")
    assert "1 hallazgo confirmado" in str(error.detail)
    h.decide_finding(finding, "resolved")
    assert h.sign(ctx, "legal").decision == "approve"
    h.finding(ctx["agreement"], "confirmed")
    assert h.sign(ctx, "financial", "send_back", "Hay un hallazgo confirmado nuevo.").decision == "send_back"


def test_an_approval_is_refused_when_the_figures_no_longer_match_the_ledger(ctx):
    liquidation = h.prepare(ctx)
    assert final_liquidation.changed_figures(liquidation, ctx["agreement"]) == []
    h.sign(ctx, "legal")
    # the revision says something the ledger does not (as if money had moved since it was prepared)
    db.session.execute(update(FinalLiquidation).where(FinalLiquidation.id == liquidation.id).values(
        paid_directly=liquidation.paid_directly + D("1.00"), unspent=liquidation.unspent - D("1.00")))
    db.session.commit()
    db.session.expire_all()
    assert final_liquidation.changed_figures(liquidation, ctx["agreement"]) == ["paid_directly", "unspent"]
    refused(lambda: sign(ctx, "financial"), "figures_changed")
    h.sign(ctx, "financial", "send_back", "Las cifras cambiaron.")
    assert h.prepare(ctx).paid_directly == D("480.20")


def test_nothing_is_signed_once_the_agreement_left_closing(ctx):
    h.prepare(ctx)
    agreements.terminate_agreement(h.act(ctx["legal"]), ctx["agreement"].id, "Disolución de la organización")
    db.session.commit()
    refused(lambda: sign(ctx, "monitoring"), "agreement_not_closing")
    refused(lambda: sign(ctx, "monitoring", "send_back", "x"), "agreement_not_closing")


# --- the database refuses what the service refuses ----------------------------------------------

def _insert(**values):
    """A raw sign-off row in a savepoint: True when the database took it."""
    savepoint = db.session.begin_nested()
    try:
        db.session.execute(FinalLiquidationSignOff.__table__.insert().values(signed_at=utcnow(), **values))
        db.session.flush()
    except IntegrityError:
        savepoint.rollback()
        return False
    savepoint.rollback()
    return True


def _signer(ctx, user, discipline, liquidation):
    db.session.execute(FinalLiquidationSigner.__table__.insert().values(
        agreement_id=ctx["agreement"].id, user_id=user.id, discipline=discipline, first_liquidation_id=liquidation.id))


def test_the_database_keeps_one_discipline_per_person_and_never_the_preparer(ctx):
    liquidation = h.prepare(ctx)
    row = {"final_liquidation_id": liquidation.id, "agreement_id": ctx["agreement"].id,
           "preparer_id": ctx["administrator"].id, "decision": "approve"}
    legal, admin = ctx["legal"], ctx["administrator"]
    _signer(ctx, legal, "legal", liquidation)
    _signer(ctx, admin, "financial", liquidation)
    assert _insert(**row, discipline="legal", reviewer_id=legal.id)                    # the valid row
    assert not _insert(**row, discipline="financial", reviewer_id=legal.id)            # legal's person on financial
    assert not _insert(**row, discipline="financial", reviewer_id=admin.id)            # the preparer (CHECK)
    assert not _insert(**{**row, "preparer_id": legal.id}, discipline="financial",     # a false preparer (FK)
                       reviewer_id=admin.id)
    assert not _insert(**{**row, "decision": "send_back"}, discipline="legal", reviewer_id=legal.id)  # unobserved
    savepoint = db.session.begin_nested()
    with pytest.raises(IntegrityError):  # a person has one discipline per agreement
        _signer(ctx, legal, "monitoring", liquidation)
        db.session.flush()
    savepoint.rollback()
    db.session.rollback()


def test_the_database_keeps_one_signoff_per_discipline_and_one_live_revision(ctx):
    liquidation = h.prepare(ctx)
    h.sign(ctx, "legal")
    other = make_user(["legal_reviewer"])
    _signer(ctx, other, "legal", liquidation)
    assert not _insert(final_liquidation_id=liquidation.id, agreement_id=ctx["agreement"].id,
                       preparer_id=ctx["administrator"].id, decision="approve", discipline="legal",
                       reviewer_id=other.id)
    db.session.rollback()
    # a second revision while the first is still proposed
    columns = {c.name: getattr(liquidation, c.name) for c in FinalLiquidation.__table__.columns if c.name != "id"}
    savepoint = db.session.begin_nested()
    with pytest.raises(IntegrityError):
        db.session.execute(FinalLiquidation.__table__.insert().values({**columns, "revision": 2}))
    savepoint.rollback()
    db.session.rollback()
    h.sign(ctx, "financial", "send_back", "Corrija el dictamen.")
    assert h.prepare(ctx).revision == 2  # once returned, the next revision is live


# --- pages and the queue --------------------------------------------------------------------------

def page(ctx) -> str:
    return f"/agreements/{ctx['agreement'].id}/final-liquidation"


def post_signoff(client, ctx, discipline, decision, observations="", revision=1):
    token = csrf_token(client, "/")
    return client.post(f"{page(ctx)}/sign-off", data={
        f"{discipline}-csrf_token": token, "discipline": discipline, "revision": str(revision),
        f"{discipline}-decision": decision, f"{discipline}-observations": observations,
        f"{discipline}-confirm": "y"})


def test_each_reviewer_gets_the_form_of_their_discipline_and_decides_on_the_page(client, ctx):
    h.prepare(ctx, "cumple_parcialmente", "Alcanzó parte de la meta.")
    login(client, ctx["legal"])
    html = client.get(page(ctx)).get_data(as_text=True)
    assert 'data-testid="signoff-form-legal"' in html and 'data-testid="signoff-form-financial"' not in html
    assert html.count('data-decision="pending"') == 3
    home = client.get("/").get_data(as_text=True)
    assert 'data-testid="liquidations-to-sign-legal"' in home and ctx["agreement"].number in home

    missing = post_signoff(client, ctx, "legal", "send_back", "  ")
    assert missing.status_code == 422 and "observaciones son obligatorias" in missing.get_data(as_text=True)
    assert post_signoff(client, ctx, "legal", "approve").status_code == 303
    html = client.get(page(ctx)).get_data(as_text=True)
    assert 'data-discipline="legal" data-decision="approve"' in html and ctx["legal"].full_name in html
    assert 'data-testid="signoff-form-legal"' not in html
    assert 'data-count="liquidations-legal">0<' in client.get("/").get_data(as_text=True)

    login(client, ctx["administrator"])  # the preparer sees the sign-offs, never a form
    html = client.get(page(ctx)).get_data(as_text=True)
    assert "signoff-form-" not in html and 'data-testid="liquidation-form"' not in html

    login(client, ctx["financial"])
    stale = post_signoff(client, ctx, "financial", "approve", revision=2)
    assert stale.status_code == 409 and "no espera firmas" in stale.get_data(as_text=True)
    response = post_signoff(client, ctx, "financial", "send_back", "Adjunte la boleta del reintegro.")
    assert response.status_code == 303
    html = client.get(page(ctx)).get_data(as_text=True)
    assert 'data-status="returned"' in html and "Adjunte la boleta del reintegro." in html

    login(client, ctx["administrator"])
    assert 'data-testid="liquidations-returned"' in client.get("/").get_data(as_text=True)
    html = client.get(page(ctx)).get_data(as_text=True)
    assert 'data-testid="liquidation-form"' in html and "Alcanzó parte de la meta." in html  # prefilled
    response = client.post(page(ctx), data={"csrf_token": csrf_token(client, page(ctx)), "verdict": "cumple_parcialmente",
                                            "reasoning": "Alcanzó parte de la meta; boleta adjunta."})
    assert response.status_code == 303
    html = client.get(page(ctx)).get_data(as_text=True)
    assert 'data-revision="2"' in html and 'data-testid="earlier-revisions"' in html


def test_the_queue_lists_what_waits_for_each_discipline(ctx):
    liquidation = h.prepare(ctx)
    assert [r.id for r in final_liquidation.waiting_for(["monitoring"])] == [liquidation.id]
    h.sign(ctx, "legal")
    h.sign(ctx, "financial")
    assert final_liquidation.waiting_for(["legal", "financial"]) == []
    assert [r.id for r in final_liquidation.waiting_for(["monitoring"])] == [liquidation.id]
    h.sign(ctx, "monitoring")
    assert final_liquidation.waiting_for(list(DISCIPLINES)) == []


# --- the report to the legislature reads the decided revision only ----------------------------------

def test_the_legislature_report_shows_a_verdict_only_once_approved(ctx):
    def row():
        data = legislature.report_data(year())
        return next(r for r in data["rows"] if r["agreement_id"] == ctx["agreement"].id)

    h.prepare(ctx, "no_cumple", "Propuesta.")
    h.sign(ctx, "legal", "send_back", "Revise.")
    h.prepare(ctx, "cumple", "Segunda revisión.")
    h.sign(ctx, "legal")
    assert (row()["verdict"], row()["reasoning"]) == ("en_ejecucion", None)  # proposed: not a verdict yet
    h.sign(ctx, "financial")
    h.sign(ctx, "monitoring")
    assert (row()["verdict"], row()["reasoning"], row()["agreement_status"]) == (
        "cumple", "Segunda revisión.", "liquidated")
    assert len([r for r in legislature.report_data(year())["rows"] if r["agreement_id"] == ctx["agreement"].id]) == 1


# --- final liquidations recorded before the sign-offs (migration 0010) ------------------------------

def test_a_final_liquidation_recorded_before_the_signoffs_stays_valid(live_app):
    from flask_migrate import downgrade, upgrade

    from grants import MIGRATIONS_DIR
    from grants.models import User
    from grants.services.final_liquidation_acta import acta_pdf
    from tests.pdfs import pdf_text

    with live_app.app_context():
        ctx = h.setup(beneficiaries=False)
        h.pay(ctx, "300.00")
        h.to_closing(ctx)
        agreement_id, administrator_id = ctx["agreement"].id, ctx["administrator"].id
        org_id = ctx["agreement"].organization_id
        db.session.remove()
        downgrade(directory=MIGRATIONS_DIR, revision="0008_timeline_controls")
        with db.engine.begin() as conn:  # as 0005..0009 recorded it: the administrator alone
            conn.execute(text(
                "INSERT INTO final_liquidations (agreement_id, organization_id, assigned, paid_directly, advanced, "
                "liquidated, refunded, unspent, beneficiaries_target, beneficiaries_validated, beneficiaries_reached, "
                "indicators, findings, verdict, reasoning, decided_by_id, decided_at) VALUES (:a, :o, 100000.00, "
                "300.00, 0, 0, 0, 99700.00, 300, 0, 0, '[]', '{}', 'cumple', 'Registrada antes.', :u, :at)"),
                {"a": agreement_id, "o": org_id, "u": administrator_id, "at": utcnow()})
            conn.execute(text("UPDATE agreements SET status = 'liquidated' WHERE id = :a"), {"a": agreement_id})
        upgrade(directory=MIGRATIONS_DIR)
        old = db.session.scalars(select(FinalLiquidation)).one()
        assert (old.revision, old.status, old.prepared_by_id, old.signoffs) == (1, "recorded", administrator_id, [])
        assert old.closed_at == old.prepared_at and old.is_final
        agreement = db.session.get(Agreement, agreement_id)
        state = final_liquidation.liquidation_state(agreement)
        assert (state["status"], state["preview"], state["pending"]) == ("recorded", None, [])
        row = next(r for r in legislature.report_data(year())["rows"] if r["agreement_id"] == agreement_id)
        assert row["verdict"] == "cumple"
        text_ = pdf_text(acta_pdf(agreement))
        assert "REGISTRADA SIN LAS FIRMAS DE LAS DISCIPLINAS" in text_ and "NO APROBADA" not in text_
        # nothing can be signed or prepared on it
        with pytest.raises(Conflict) as caught:
            final_liquidation.prepare_liquidation(Actor.for_user(db.session.get(User, administrator_id)),
                                                  agreement_id, "cumple", "Otra")
        assert caught.value.code == "already_liquidated"
        db.session.remove()


# --- the demo -------------------------------------------------------------------------------------

def test_the_demo_closing_waits_for_monitoring(live_app):
    from grants.demo import load_demo
    from grants.models import Advance, Refund, User
    from grants.services import ledger

    with live_app.app_context():
        with unit_of_work():
            load_demo(Actor.system("tests"))
        liquidation = db.session.scalars(select(FinalLiquidation)).one()
        agreement = liquidation.agreement
        assert agreement.organization.legal_name == "Fundación Juventud con Futuro"
        assert (agreement.amount, agreement.allocation.purpose.startswith("Atención psicosocial")) == (
            D("38000.00"), True)
        assert (agreement.status, liquidation.status, liquidation.revision) == ("closing", "proposed", 1)
        assert 25 <= (clock.today() - agreement.end_date).days <= 40  # ended about a month ago
        assert agreement.start_date.year == agreement.allocation.fiscal_year
        signed = {s.discipline: s.reviewer.email for s in liquidation.signoffs}
        assert signed == {"legal": "legal@fondos.example.org", "financial": "financial@fondos.example.org"}
        assert final_liquidation.pending_disciplines(liquidation) == ["monitoring"]
        assert liquidation.prepared_by.email == "administrator@fondos.example.org"
        assert [r.id for r in final_liquidation.waiting_for(["monitoring"])] == [liquidation.id]
        advance = db.session.scalars(select(Advance).where(Advance.agreement_id == agreement.id)).one()
        refund = db.session.scalars(select(Refund).where(Refund.advance_id == advance.id)).one()
        assert (advance.status, refund.status) == ("liquidated", "confirmed")
        assert refund.recorded_by_id != refund.decided_by_id
        assert (liquidation.advanced, liquidation.liquidated + liquidation.refunded) == (advance.amount, advance.amount)
        assert final_liquidation.changed_figures(liquidation, agreement) == []
        assert ledger.check_invariants() == []
        assert verify_chain(db.session).ok
        monitoring = db.session.scalars(select(User).where(User.email == "monitoring@fondos.example.org")).one()
        final_liquidation.sign_off(Actor.for_user(monitoring), agreement.id, 1, "monitoring", "approve")
        assert agreement.status == "liquidated"
        db.session.rollback()


# --- concurrent sign-offs (real commits, one thread each) ---------------------------------------------

def _sign_as(user_id, agreement_id, discipline):
    from grants.models import User

    final_liquidation.sign_off(Actor.for_user(db.session.get(User, user_id)), agreement_id, 1, discipline, "approve")


def _proposed(live_app, **extra_users):
    with live_app.app_context():
        ctx = h.setup(beneficiaries=False)
        h.pay(ctx, "100.00")
        h.to_closing(ctx)
        h.prepare(ctx)
        ids = {k: ctx[k].id for k in DISCIPLINES} | {k: make_user(roles).id for k, roles in extra_users.items()}
        agreement_id = ctx["agreement"].id
        db.session.remove()
    return agreement_id, ids


def test_concurrent_signoffs_keep_one_per_discipline_and_one_discipline_per_person(live_app):
    from tests.money.test_payment_concurrency import run_threads

    agreement_id, ids = _proposed(live_app, other_lawyer=["legal_reviewer"],
                                  both=["financial_reviewer", "monitoring_reviewer"])
    results = run_threads(live_app, _sign_as, [(ids["legal"], agreement_id, "legal"),
                                               (ids["other_lawyer"], agreement_id, "legal")])
    assert sorted(r[0] for r in results) == ["ok", "refused"], results
    assert [r[1] for r in results if r[0] == "refused"] == ["discipline_already_signed"]
    results = run_threads(live_app, _sign_as, [(ids["both"], agreement_id, "financial"),
                                               (ids["both"], agreement_id, "monitoring")])
    assert sorted(r[0] for r in results) == ["ok", "refused"], results
    assert [r[1] for r in results if r[0] == "refused"] == ["segregation_of_duties"]
    with live_app.app_context():
        signoffs = db.session.scalars(select(FinalLiquidationSignOff)).all()
        assert sorted(s.discipline for s in signoffs) in (["financial", "legal"], ["legal", "monitoring"])
        assert len({s.reviewer_id for s in signoffs}) == 2
        db.session.remove()


def test_the_last_two_approvals_at_once_liquidate_the_agreement_once(live_app):
    from tests.money.test_payment_concurrency import run_threads

    agreement_id, ids = _proposed(live_app)
    with live_app.app_context():
        with unit_of_work():
            _sign_as(ids["legal"], agreement_id, "legal")
    results = run_threads(live_app, _sign_as, [(ids["financial"], agreement_id, "financial"),
                                               (ids["monitoring"], agreement_id, "monitoring")])
    assert [r[0] for r in results] == ["ok", "ok"], results
    with live_app.app_context():
        liquidation = db.session.scalars(select(FinalLiquidation)).one()
        assert (liquidation.status, len(liquidation.signoffs)) == ("approved", 3)
        assert db.session.get(Agreement, agreement_id).status == "liquidated"
        assert audit_actions("agreement", agreement_id).count("agreement.liquidated") == 1
        assert verify_chain(db.session).ok
        db.session.remove()
