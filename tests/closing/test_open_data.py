"""Open data: the year's agreements as OCDS-style releases (parties, milestones, transactions that
add up to the ledger), exact amounts, and no personal data of beneficiaries."""
from __future__ import annotations

import json
from decimal import Decimal

import pytest
from sqlalchemy import select

from grants.extensions import db
from grants.models import Beneficiary, Enrollment, Organization
from grants.services import ledger, open_data, refunds
from tests.closing import helpers as h
from tests.money import advance_helpers as ah
from tests.money import timeline_advances as ta
from tests.timeline import iso, year

D = Decimal


@pytest.fixture
def ctx(app):
    ctx = h.setup()  # five enrolled beneficiaries with DUIs, names and birth dates
    ctx["payment"] = h.pay(ctx, "1234.56")
    ctx["advance"] = h.account_for(ctx, ah.disbursed(ctx, 1), accepted=("30000.00",))  # refund 10000.00
    h.report_indicator(ctx, iso("2026-02-01"), iso("2026-04-30"), "40")
    return ctx


def kind(transaction: dict) -> str:
    """advance, payment (direct) or refund: the id's prefix."""
    return transaction["id"].rsplit("-", 1)[0]


def package_text() -> tuple[dict, str]:
    text = open_data.dumps(open_data.ocds_package(year()))
    return json.loads(text, parse_float=D), text


def test_one_release_per_agreement_with_parties_milestones_and_transactions(ctx):
    package, _ = package_text()
    agreement, org = ctx["agreement"], ctx["organization"]
    assert package["version"] == "1.1" and package["uri"].endswith(f"/api/v1/open-data/{year()}.json")
    assert len(package["releases"]) == 1
    release = package["releases"][0]
    assert release["ocid"] == f"ocds-mjsp-{agreement.number}"
    assert release["tag"] == ["contract", "implementation"]
    parties = {p["id"]: p for p in release["parties"]}
    ngo_id, supplier_id = f"SV-NIT-{org.nit}", "SV-NIT-0614-050707-104-8"
    assert parties["SV-MJSP"]["roles"] == ["buyer", "payer", "payee"]
    assert "supplier" in parties[ngo_id]["roles"] and parties[ngo_id]["identifier"]["id"] == org.nit
    assert parties[supplier_id]["roles"] == ["payee"]
    contract = release["contracts"][0]
    assert contract["value"] == {"amount": D("100000.00"), "currency": "USD"}
    assert contract["period"] == {"startDate": iso("2026-02-01") + "T00:00:00-06:00",
                                  "endDate": iso("2026-11-30") + "T23:59:59-06:00"}
    milestones = contract["milestones"]
    assert [(m["type"], m["status"]) for m in milestones] == [
        ("payment", "met"), ("payment", "scheduled"), ("payment", "scheduled"), ("reporting", "met")]
    assert milestones[0]["dateMet"] == iso("2026-02-16") + "T00:00:00-06:00"
    assert milestones[0]["value"]["amount"] == D("40000.00")
    assert milestones[3]["dueDate"] == iso("2026-04-30") + "T00:00:00-06:00"
    transactions = {t["id"]: t for t in contract["implementation"]["transactions"]}
    advance = transactions[f"advance-{ctx['advance'].id}"]
    assert (advance["payer"]["id"], advance["payee"]["id"], advance["value"]) == (
        "SV-MJSP", ngo_id, {"amount": D("40000.00"), "currency": "USD"})
    payment = transactions[f"payment-{ctx['payment'].id}"]
    assert (payment["payer"]["id"], payment["payee"]["id"], payment["value"]["amount"]) == (
        "SV-MJSP", supplier_id, D("1234.56"))
    refund = next(t for t in transactions.values() if kind(t) == "refund")
    assert (refund["payer"]["id"], refund["payee"]["id"], refund["value"]["amount"], refund["date"]) == (
        ngo_id, "SV-MJSP", D("10000.00"), iso("2026-06-20") + "T00:00:00-06:00")
    # The transactions add up to the ledger.
    bal = ledger.balances(agreement)
    by_kind = {s: sum((t["value"]["amount"] for t in transactions.values() if kind(t) == s), D(0))
               for s in ("advance", "payment", "refund")}
    assert by_kind == {"advance": bal.advanced, "payment": bal.paid_directly, "refund": bal.refunded}


def test_amounts_are_exact_json_numbers(ctx):
    _, text = package_text()
    assert '"amount":1234.56' in text and '"amount":40000.00' in text
    assert '"1234.56"' not in text


def test_no_personal_data_of_beneficiaries(ctx):
    _, text = package_text()
    people = db.session.scalars(select(Beneficiary).join(Enrollment).where(
        Enrollment.agreement_id == ctx["agreement"].id)).all()
    assert len(people) == 5
    for person in people:
        assert person.document_number not in text
        assert person.first_names not in text and person.last_names not in text
        assert person.birth_date.isoformat() not in text
    org = db.session.get(Organization, ctx["organization"].id)
    assert org.legal_rep_dui not in text and all(m.dui not in text for m in org.board_members)
    assert "beneficiar" not in text.lower()


def test_drafts_and_other_years_are_not_published(ctx):
    assert open_data.ocds_package(year(2025))["releases"] == []
    from sqlalchemy import update

    from grants.models import Agreement

    db.session.execute(update(Agreement).where(Agreement.id == ctx["agreement"].id).values(status="draft"))
    assert open_data.ocds_package(year())["releases"] == []


def test_only_refunds_treasury_confirmed_are_published(ctx):
    advance = ah.disbursed(ctx, 2)
    pending = ta.declared(ctx, advance, "500.00", reference="DEP-PENDIENTE")
    refused = ta.declared(ctx, advance, "700.00", reference="DEP-FALSO")
    refunds.reject_refund(ah.act(ctx["treasury"]), refused.id, "No aparece en el estado de cuenta.")
    db.session.commit()
    package, _ = package_text()
    transactions = package["releases"][0]["contracts"][0]["implementation"]["transactions"]
    published = {t["id"] for t in transactions if kind(t) == "refund"}
    assert f"refund-{pending.id}" not in published and f"refund-{refused.id}" not in published
    assert sum(t["value"]["amount"] for t in transactions if kind(t) == "refund") == \
        ledger.balances(ctx["agreement"]).refunded == D("10000.00")


def test_every_address_starts_with_the_public_base_url(ctx, app):
    app.config["PUBLIC_BASE_URL"] = "https://fondos.seguridad.gob.sv/"
    package, text = package_text()
    assert package["uri"] == f"https://fondos.seguridad.gob.sv/api/v1/open-data/{year()}.json"
    assert package["publicationPolicy"] == "https://fondos.seguridad.gob.sv/api/docs"
    assert "127.0.0.1" not in text and "localhost" not in text
