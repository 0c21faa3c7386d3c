"""The ministry's dashboard (/tablero): every money figure equals the ledger (agreement by agreement,
per NGO and in total), the other figures equal the records they count, and NGO users never see it."""
from __future__ import annotations

import re
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import select, update

from grants import clock
from grants.extensions import db
from grants.models import Advance, Agreement, Allocation, Beneficiary, Enrollment, Payment
from grants.services import dashboard, ledger
from grants.services.liquidation_figures import beneficiary_counts
from grants.workflows.payment import PaymentState
from tests.closing import helpers as h
from tests.factories import make_agreement_in_execution, make_user
from tests.helpers import html_of, login
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.timeline import year

D = Decimal


@pytest.fixture
def ctx(app):
    ctx = h.setup()  # five enrolled people; budget lines 1: 60000.00, 2: 25000.50, 3: 14999.50
    ctx["payment"] = h.pay(ctx, "1234.56")
    ctx["advance"] = h.account_for(ctx, ah.disbursed(ctx, 1), accepted=("30000.00",))  # refund 10000.00
    ctx["pending"] = ph.prepared(ctx, [ph.line(2, unit_price="250.25")])  # in flight
    ctx["other"] = make_agreement_in_execution()  # another NGO, nothing moved
    return ctx


def year_agreements() -> list[Agreement]:
    return db.session.scalars(select(Agreement).join(Allocation, Allocation.id == Agreement.allocation_id)
                              .where(Allocation.fiscal_year == year())).all()


def ledger_by_ngo() -> dict[int, dict]:
    """What the ledger says, one agreement at a time, summed per NGO."""
    out: dict[int, dict] = {}
    for agreement in year_agreements():
        b = ledger.balances(agreement)
        entry = out.setdefault(agreement.organization_id, {"assigned": D(0), "executed": D(0)})
        entry["assigned"] += b.assigned
        entry["executed"] += b.executed
    return out


def test_execution_totals_equal_the_ledger_per_ngo_and_overall(ctx):
    ex = dashboard.execution(year())
    expected = ledger_by_ngo()
    assert {n["organization_id"] for n in ex["ngos"]} == set(expected) and len(expected) == 2
    for n in ex["ngos"]:
        want = expected[n["organization_id"]]
        assert (n["assigned"], n["executed"]) == (want["assigned"], want["executed"])
        assert n["not_executed"] == n["assigned"] - n["executed"]
    # the first NGO executed its direct payment and the accepted receipts
    mine = next(n for n in ex["ngos"] if n["organization_id"] == ctx["organization"].id)
    assert mine["executed"] == D("1234.56") + D("30000.00") == ledger.balances(ctx["agreement"]).executed
    total = ex["total"]
    assert total["assigned"] == sum((e["assigned"] for e in expected.values()), D(0)) == D("200000.00")
    assert total["executed"] == sum((e["executed"] for e in expected.values()), D(0))
    assert total["not_executed"] == total["assigned"] - total["executed"]
    # by department: the same money, grouped by the NGOs' departments
    assert sum((d["assigned"] for d in ex["departments"]), D(0)) == total["assigned"]
    assert sum((d["executed"] for d in ex["departments"]), D(0)) == total["executed"]


def test_another_year_shows_nothing(ctx):
    ex = dashboard.execution(year() + 1)
    assert ex["ngos"] == [] and ex["total"]["assigned"] == D(0)


def test_payments_in_flight_count_and_amount(ctx):
    ph.authorized(ctx, [ph.line(3, unit_price="100.00")])
    db.session.commit()
    flight = {p["status"]: p for p in dashboard.payments_in_flight(year())}
    for state in (PaymentState.PREPARED, PaymentState.AUTHORIZED):
        rows = db.session.scalars(select(Payment).where(Payment.status == state)).all()
        assert flight[state]["count"] == len(rows) == 1
        assert flight[state]["amount"] == sum((p.amount for p in rows), D(0))
    assert flight[PaymentState.PREPARED]["amount"] == D("250.25")


def test_an_advance_counts_as_overdue_only_after_its_due_day(ctx):
    advance = ah.disbursed(ctx, 2)
    db.session.commit()
    db.session.execute(update(Advance).where(Advance.id == advance.id).values(
        liquidation_due=clock.today() + timedelta(days=1)))
    assert advance.id not in {a["advance_id"] for a in dashboard.overdue_advances(year())["advances"]}
    db.session.execute(update(Advance).where(Advance.id == advance.id).values(
        liquidation_due=clock.today() - timedelta(days=3)))
    overdue = dashboard.overdue_advances(year())
    item = next(a for a in overdue["advances"] if a["advance_id"] == advance.id)
    assert item["days"] == 3 and item["outstanding"] == D("40000.00")
    assert overdue["count"] == len(overdue["advances"]) and overdue["amount"] == sum(a["outstanding"] for a in overdue["advances"])
    # the first advance is liquidated: never overdue
    assert ctx["advance"].id not in {a["advance_id"] for a in overdue["advances"]}


def test_people_reached_are_counted_never_listed(ctx):
    people = dashboard.beneficiaries(year())
    reached = sum(c["reached"] for c in beneficiary_counts([a.id for a in year_agreements()]).values())
    assert people["total"] == reached > 0
    assert sum(s["count"] for s in people["by_sex"]) == reached
    assert sum(b["count"] for b in people["by_age"]) == reached
    assert sum(m["count"] for m in people["by_municipality"]) == reached
    text = repr(people)
    for person in db.session.scalars(select(Beneficiary).join(Enrollment)).all():
        assert person.document_number not in text and person.last_names not in text


def test_findings_by_rule_and_state(ctx):
    h.finding(ctx["agreement"], "open")
    h.finding(ctx["agreement"], "open")
    h.finding(ctx["agreement"], "confirmed", rule="document_reused")
    found = dashboard.findings(year())
    rules = {r["code"]: r for r in found["by_rule"]}
    assert (rules["receipt_outside_term"]["open"], rules["receipt_outside_term"]["total"]) == (2, 2)
    assert (rules["document_reused"]["confirmed"], rules["document_reused"]["open"]) == (1, 0)
    assert found["totals"]["total"] == 3


# --- the page --------------------------------------------------------------------------------

def money(text: str) -> Decimal:
    return D(text.replace("$", "").replace(",", ""))


def test_the_page_shows_the_ledger_totals_and_links_each_ngo(ctx, client):
    login(client, ctx["financial"])
    response = client.get(f"/tablero?year={year()}")
    assert response.status_code == 200
    html = html_of(response)
    shown = dict(re.findall(r'data-total="(\w+)">(?:<a [^>]*>)?([^<]+)<', html))
    expected = ledger_by_ngo()
    assert money(shown["assigned"]) == sum((e["assigned"] for e in expected.values()), D(0))
    assert money(shown["executed"]) == sum((e["executed"] for e in expected.values()), D(0))
    assert money(shown["not_executed"]) == money(shown["assigned"]) - money(shown["executed"])
    assert f'href="/admin/organizations/{ctx["organization"].id}"' in html
    assert '<svg xmlns="http://www.w3.org/2000/svg" class="chart' in html and 'role="img"' in html
    assert "<script" not in html
    assert f'href="/payments?state={PaymentState.PREPARED}"' in html  # the payments in flight link to the queue


def test_ngo_users_are_refused_and_strangers_sent_to_log_in(ctx, client):
    assert client.get("/tablero").status_code == 302
    login(client, ctx["ngo"])
    assert client.get("/tablero").status_code == 403
    assert 'data-testid="nav-dashboard"' not in html_of(client.get("/"))


@pytest.mark.parametrize("role", ["legal_reviewer", "monitoring_reviewer", "treasury", "auditor", "admin"])
def test_ministry_roles_see_it(ctx, client, role):
    login(client, make_user([role]))
    assert client.get("/tablero").status_code == 200
    assert 'data-testid="nav-dashboard"' in html_of(client.get("/"))


def test_the_page_in_english(ctx, client):
    login(client, ctx["monitoring"])
    html = html_of(client.get(f"/tablero?year={year()}", headers={"Accept-Language": "en"}))
    assert "<h1>Ministry dashboard</h1>" in html and "People reached by sex" in html
    assert "Women" in html and "18 to 29 years" in html and "Mujeres" not in html
