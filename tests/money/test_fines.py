"""A sanction's fine (issue 10 §5): assessed when the sanction takes effect, collected by a deposit the
NGO declares and treasury confirms, or withheld from the next advance with the NGO's acceptance;
both in the agreement's ledger."""
import pytest

from grants.extensions import db
from grants.services import due_process, fines, incidents, ledger
from grants.domain_errors import Conflict, Forbidden
from tests.money.advance_helpers import act, money_setup
from tests.money.timeline_advances import disbursed_on
from tests.pdfs import tiny_pdf
from tests.timeline import day, iso


@pytest.fixture
def ctx(app):
    return money_setup()


def fine_in_effect(ctx, amount="2000.00"):
    incident = incidents.record_incident(act(ctx["administrator"]), ctx["agreement"].id, {
        "occurred_on": iso("2026-04-10"), "severity": "high", "description": "Comprobantes alterados.",
        "measure": "sanction", "measure_detail": "Multa del 2 % del convenio.", "sanction_type": "fine",
        "fine_amount": amount})
    due_process.reply_to_incident(act(ctx["ngo"]), incident.id, "Aceptamos la falta.", [])
    due_process.decide_measure(act(ctx["administrator"]), incident.id, True, "Multa confirmada.")
    db.session.commit()
    return incident


def deposit(ctx, incident, amount, reference="MULTA-1", slip=True):
    payment = fines.declare_fine_deposit(act(ctx["ngo"]), incident.id, {
        "amount": amount, "bank_name": "Banco Agrícola", "bank_reference": reference,
        "deposited_on": iso("2026-11-18")}, slip=("boleta.pdf", tiny_pdf("Boleta")) if slip else None)
    db.session.commit()
    return payment


def test_a_fine_deposit_counts_once_treasury_confirms_it(ctx):
    incident = fine_in_effect(ctx)
    payment = deposit(ctx, incident, "1200.00")
    figures = ledger.balances(ctx["agreement"])
    assert (figures.fines_assessed, figures.fines_declared, figures.fines_collected) == (2000, 1200, 0)
    assert fines.owed(incident) == 800
    with pytest.raises(Forbidden):
        fines.decide_fine_deposit(act(ctx["ngo"]), payment.id, True)
    db.session.rollback()
    fines.decide_fine_deposit(act(ctx["treasury"]), payment.id, True)
    db.session.commit()
    figures = ledger.balances(ctx["agreement"])
    assert (figures.fines_declared, figures.fines_collected) == (0, 1200)
    assert fines.collected(incident) == 1200 and fines.owed(incident) == 800


def test_a_rejected_deposit_counts_for_nothing_and_nothing_beyond_the_fine_is_declared(ctx):
    incident = fine_in_effect(ctx)
    with pytest.raises(Conflict) as over:
        deposit(ctx, incident, "2000.01")
    assert over.value.code == "exceeds_fine"
    db.session.rollback()
    payment = deposit(ctx, incident, "2000.00")
    fines.decide_fine_deposit(act(ctx["treasury"]), payment.id, False, "No aparece en el estado de cuenta.")
    db.session.commit()
    assert payment.status == "rejected" and fines.owed(incident) == 2000
    assert ledger.balances(ctx["agreement"]).fines_collected == 0


def test_no_deposit_for_a_fine_not_in_effect(ctx):
    incident = incidents.record_incident(act(ctx["administrator"]), ctx["agreement"].id, {
        "occurred_on": iso("2026-04-10"), "severity": "high", "description": "x", "measure": "sanction",
        "measure_detail": "Multa", "sanction_type": "fine", "fine_amount": "100.00"})
    db.session.commit()
    with pytest.raises(Conflict) as refused:
        deposit(ctx, incident, "100.00")
    assert refused.value.code == "no_fine_in_effect"


def test_an_accepted_deduction_is_withheld_from_the_next_advance(ctx):
    incident = fine_in_effect(ctx, "2500.00")
    fines.accept_deduction(act(ctx["ngo"]), incident.id)
    db.session.commit()
    advance = disbursed_on(ctx, day("2026-02-20"))  # tranche 1: $40,000 requested
    assert (advance.amount, advance.fine_withheld) == (37500, 2500)
    figures = ledger.balances(ctx["agreement"])
    assert (figures.advanced, figures.committed, figures.fines_collected) == (37500, 0, 2500)
    assert fines.owed(incident) == 0
    [withheld] = fines.payments_of(incident)
    assert (withheld.method, withheld.advance_id, withheld.status) == ("deduction", advance.id, "confirmed")
    from grants.services.advances import tranche_room

    tranche = next(t for t in ctx["agreement"].plan_version.tranches if t.number == 1)
    assert tranche_room(ctx["agreement"].id, tranche) == 0  # the withheld part is not advanced again


def test_the_ngo_alone_accepts_the_deduction_and_only_once(ctx):
    incident = fine_in_effect(ctx)
    with pytest.raises(Forbidden):
        fines.accept_deduction(act(ctx["treasury"]), incident.id)
    db.session.rollback()
    fines.accept_deduction(act(ctx["ngo"]), incident.id)
    db.session.commit()
    with pytest.raises(Conflict):
        fines.accept_deduction(act(ctx["ngo"]), incident.id)
