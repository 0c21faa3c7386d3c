"""Final liquidation: each precondition refuses the administrator's proposal (409 with its code) and
then passes once cleared; the figures are exact; the proposal is recorded and audited, and the
agreement becomes liquidated once the three disciplines approved it (their rules are in
test_final_liquidation_signoffs.py)."""
from __future__ import annotations

from decimal import Decimal

import pytest
from sqlalchemy import select

from grants.extensions import db
from grants.models import AuditEvent, FinalLiquidation
from grants.services import advances, final_liquidation, followup, liquidation_figures, payments
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from tests.closing import helpers as h
from tests.closing import timeline_closing as tc
from tests.factories import make_organization, make_user
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.timeline import iso

D = Decimal


def refused(ctx, code: str) -> Conflict:
    with pytest.raises(Conflict) as caught:
        final_liquidation.prepare_liquidation(h.act(ctx["administrator"]), ctx["agreement"].id, "cumple", "Motivo")
    db.session.rollback()
    assert caught.value.code == code, caught.value.detail
    assert db.session.scalar(select(FinalLiquidation.id)) is None
    return caught.value


def codes(ctx) -> list[str]:
    return [b["code"] for b in liquidation_figures.liquidation_preview(ctx["agreement"])["blockers"]]


@pytest.fixture
def ctx(app):
    return h.setup()


def test_an_agreement_in_execution_is_not_liquidated(ctx):
    assert codes(ctx) == ["agreement_not_closing"]
    error = refused(ctx, "agreement_not_closing")
    assert "En ejecución" in str(error.detail)


def test_a_disbursed_advance_blocks_until_it_is_liquidated(ctx):
    advance = tc.disbursed(ctx, 1)
    h.to_closing(ctx)  # a disbursed advance may enter closing: it is accounted for there
    assert codes(ctx) == ["advance_not_liquidated"]
    error = refused(ctx, "advance_not_liquidated")
    assert "desembolsos 1" in str(error.detail)
    tc.account_for(ctx, advance, accepted=("25000.00",))  # receipts are still reviewed in closing
    assert advance.status == "liquidated"
    assert codes(ctx) == []
    assert h.liquidate(ctx).verdict == "cumple"


def test_a_requested_advance_blocks_too(ctx):
    advance = ah.requested(ctx, 1)
    h.to_closing(ctx, force=True)
    refused(ctx, "advance_not_liquidated")
    advances.reject_advance(h.act(ctx["financial"]), advance.id, "Ya no corresponde")
    db.session.commit()
    assert h.liquidate(ctx).advanced == D("0.00")


def test_a_pending_payment_blocks_until_executed_or_cancelled(ctx):
    payment = ph.authorized(ctx, [ph.line(1, unit_price="700.00")])
    h.to_closing(ctx, force=True)
    error = refused(ctx, "payment_pending")
    assert f"#{payment.id}" in str(error.detail)
    payments.cancel_payment(h.act(ctx["treasury"]), payment.id, "Se cierra el convenio")
    db.session.commit()
    assert codes(ctx) == []
    assert h.liquidate(ctx).paid_directly == D("0.00")


def test_a_confirmed_finding_blocks_until_resolved(ctx):
    item = h.finding(ctx["agreement"], "confirmed")
    justified = h.finding(ctx["agreement"], "justified", rule="round_amount_receipts")
    h.finding(ctx["agreement"], "open")
    h.to_closing(ctx)
    error = refused(ctx, "finding_unresolved")
    assert "1 hallazgo confirmado de auditoría sin resolver: debe resolverse" in str(error.detail)
    h.decide_finding(item, "resolved")
    liquidation = h.liquidate(ctx)
    assert liquidation.findings == {"total": 3, "open": 1, "justified": 1, "confirmed": 0, "resolved": 1,
                                    "by_rule": {"receipt_outside_term": 2, "round_amount_receipts": 1}}
    assert justified.status == "justified"


def test_every_blocker_is_listed_and_the_first_gives_the_code(ctx):
    tc.disbursed(ctx, 1)
    ph.prepared(ctx, [ph.line(2, unit_price="50.00")])
    h.finding(ctx["agreement"], "confirmed")
    h.to_closing(ctx, force=True)
    assert codes(ctx) == ["advance_not_liquidated", "payment_pending", "finding_unresolved"]
    error = refused(ctx, "advance_not_liquidated")
    assert [b["code"] for b in error.blockers] == codes(ctx)


def test_figures_are_exact_and_the_verdict_is_recorded_and_audited(ctx):
    h.pay(ctx, "1234.56")
    h.pay(ctx, "100.10", quantity="3", budget_line=2)
    tc.liquidated_advance(ctx, 1, accepted=("15000.25", "4999.75"), rejected=("10.00",))  # refund 20000.00
    h.report_indicator(ctx, iso("2026-02-01"), iso("2026-04-30"), "80")
    h.report_indicator(ctx, iso("2026-05-01"), iso("2026-08-31"), "190.50")
    h.to_closing(ctx)
    preview = liquidation_figures.liquidation_preview(ctx["agreement"])
    assert preview["ready"] is True
    liquidation = h.prepare(ctx, "cumple_parcialmente", "  Alcanzó 190 de 250 jóvenes formados.  ")
    assert (liquidation.revision, liquidation.status, ctx["agreement"].status) == (1, "proposed", "closing")
    assert (liquidation.assigned, liquidation.paid_directly, liquidation.advanced, liquidation.liquidated,
            liquidation.refunded, liquidation.unspent) == (
        D("100000.00"), D("1534.86"), D("40000.00"), D("20000.00"), D("20000.00"), D("78465.14"))
    # people: validated 5 (active, inactive, late, never, withdrawn); reached 4 (never was never active)
    assert (liquidation.beneficiaries_target, liquidation.beneficiaries_validated,
            liquidation.beneficiaries_reached) == (300, 5, 4)
    assert liquidation.indicators == [{"name": "Jóvenes que terminan un taller", "unit": "personas",
                                       "baseline": "0.00", "target": "250.00", "achieved": "190.50"}]
    progress = followup.indicator_progress(ctx["agreement"])
    assert progress[0]["latest_value"] == D("190.50")
    assert (liquidation.verdict, liquidation.reasoning) == ("cumple_parcialmente", "Alcanzó 190 de 250 jóvenes formados.")
    assert liquidation.prepared_by_id == ctx["administrator"].id
    prepared = db.session.execute(select(AuditEvent.action, AuditEvent.after).order_by(AuditEvent.seq.desc())
                                  .limit(1)).one()
    assert prepared.action == "final_liquidation.prepared"
    assert prepared.after["verdict"] == "cumple_parcialmente" and prepared.after["unspent"] == "78465.14"
    assert prepared.after["status"] == "proposed" and prepared.after["revision"] == 1
    for discipline in ("legal", "financial", "monitoring"):
        h.sign(ctx, discipline)
    db.session.refresh(liquidation)
    assert liquidation.status == "approved" and liquidation.closed_at is not None
    assert ctx["agreement"].status == "liquidated"
    assert ctx["agreement"].history[-1].action == "liquidate"
    events = db.session.execute(select(AuditEvent.action, AuditEvent.entity_type)
                                .order_by(AuditEvent.seq.desc()).limit(2)).all()
    assert {e.action for e in events} == {"final_liquidation.signed_off", "agreement.liquidated"}


def test_an_agreement_is_liquidated_once(ctx):
    h.to_closing(ctx)
    h.liquidate(ctx)
    with pytest.raises(Conflict) as caught:
        final_liquidation.prepare_liquidation(h.act(ctx["administrator"]), ctx["agreement"].id, "no_cumple", "Otra")
    assert caught.value.code == "already_liquidated"


def test_verdict_and_reasoning_are_required(ctx):
    h.to_closing(ctx)
    with pytest.raises(ValidationFailed) as caught:
        final_liquidation.prepare_liquidation(h.act(ctx["administrator"]), ctx["agreement"].id, "aprobado", "   ")
    assert set(caught.value.errors) == {"verdict", "reasoning"}
    assert h.prepare(ctx, "no_cumple", "No presentó informes.").verdict == "no_cumple"


def test_only_the_agreements_administrator_prepares(ctx):
    h.to_closing(ctx)
    other_admin = make_user(["administrator"])
    for user in (other_admin, ctx["auditor"], ctx["legal"], ctx["ngo"]):
        with pytest.raises(Forbidden):
            final_liquidation.prepare_liquidation(h.act(user), ctx["agreement"].id, "cumple", "Motivo")
    stranger = make_user(["ngo"], organization=make_organization())
    with pytest.raises(NotFound):
        final_liquidation.prepare_liquidation(h.act(stranger), ctx["agreement"].id, "cumple", "Motivo")
    assert h.prepare(ctx).prepared_by_id == ctx["administrator"].id
