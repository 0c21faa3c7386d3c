"""The report to the legislature: reconciliation (G9) on seeded random data built through the real
services, the PDF's text, the XLSX's cells, the JSON against the published schema, generating and
sending (agreements become reported; a year is sent once)."""
from __future__ import annotations

import io
import json
import random
from decimal import Decimal

import jsonschema
import pytest
from openpyxl import load_workbook
from pypdf import PdfReader
from sqlalchemy import event, func, select

from grants import formats
from grants.extensions import db
from grants.models import Advance, Agreement, AuditEvent, LegislatureReport, Payment, Receipt, Refund
from grants.reports.legislature_xlsx import HEADER_ROW, SUMMARY_COLUMNS
from grants.services import files, ledger, legislature
from grants.domain_errors import Conflict, Forbidden
from tests.closing import helpers as h
from tests.factories import make_allocation, make_organization, make_user
from tests.money import advance_helpers as ah
from tests.money import payment_helpers as ph
from tests.timeline import day, year

D = Decimal
ZERO = D("0.00")


def cents(rng: random.Random, low: int, high: int) -> str:
    return f"{D(rng.randint(low * 100, high * 100)) / 100:.2f}"


def build_year(seed: int = 2026) -> dict:
    """Three agreements with random payments, advances, receipts and refunds; the first liquidated
    (with findings), the second with money still committed and outstanding; and one allocation
    with no agreement."""
    rng = random.Random(seed)
    built = []
    for n in range(3):
        ctx = h.setup(beneficiaries=(n == 0))
        for _ in range(rng.randint(1, 3)):
            h.pay(ctx, cents(rng, 50, 3000), quantity=str(rng.randint(1, 3)), budget_line=rng.choice([1, 2, 3]))
        accepted = [cents(rng, 100, 9000) for _ in range(rng.randint(1, 3))]
        rejected = [cents(rng, 10, 500)] if rng.random() < 0.5 else []
        first = h.account_for(ctx, ah.disbursed(ctx, 1), accepted, rejected, refund=(n != 1))
        if n == 1:  # outstanding money and a payment waiting: committed
            ph.prepared(ctx, [ph.line(3, unit_price=cents(rng, 10, 900))])
        elif n == 2:
            assert first.status == "liquidated"
            h.account_for(ctx, ah.disbursed(ctx, 2, day=day("2026-06-16")), [cents(rng, 100, 5000)], refund=False)
        built.append(ctx)
    h.finding(built[0]["agreement"], "open")
    h.finding(built[0]["agreement"], "justified", rule="split_invoices")
    h.to_closing(built[0])
    h.liquidate(built[0], "cumple", "Liquidó y ejecutó lo previsto.")
    lonely = make_allocation(make_organization(legal_name="Asociación Sin Convenio"), amount="50000.00")
    return {"contexts": built, "lonely": lonely}


@pytest.fixture
def built(app):
    return build_year()


def raw_sums(agreement_id: int) -> dict:
    def total(query):
        return sum(db.session.scalars(query).all(), ZERO)

    return {
        "paid_directly": total(select(Payment.amount).where(Payment.agreement_id == agreement_id,
                                                            Payment.status == "executed")),
        "committed": total(select(Payment.amount).where(Payment.agreement_id == agreement_id,
                                                        Payment.status.in_(("prepared", "authorized"))))
        + total(select(Advance.amount).where(Advance.agreement_id == agreement_id,
                                             Advance.status.in_(("approved", "prepared")))),
        "advanced": total(select(Advance.amount).where(Advance.agreement_id == agreement_id,
                                                       Advance.status.in_(("disbursed", "liquidated")))),
        "liquidated": total(select(Receipt.amount).where(Receipt.agreement_id == agreement_id,
                                                         Receipt.status == "accepted")),
        "refunded": total(select(Refund.amount).where(Refund.agreement_id == agreement_id)),
    }


def test_every_figure_reconciles_to_the_ledger_and_the_transactions(built):
    data = legislature.report_data(year())
    rows = {r["agreement_id"]: r for r in data["rows"]}
    assert len(data["rows"]) == 4
    for ctx in built["contexts"]:
        agreement = ctx["agreement"]
        row, raw, bal = rows[agreement.id], raw_sums(agreement.id), ledger.balances(agreement)
        for name in ("paid_directly", "advanced", "liquidated", "refunded", "committed"):
            assert row[name] == raw[name] == getattr(bal, name), (agreement.number, name)
        assert row["assigned"] == bal.assigned == D("100000.00")
        assert row["unspent"] == bal.assigned - raw["paid_directly"] - raw["liquidated"]
        assert row["available"] == bal.available
        assert row["executed"] == bal.executed and row["outstanding"] == bal.outstanding
        assert row["allocation_amount"] == D("100000.00")
    first, second, third = (rows[c["agreement"].id] for c in built["contexts"])
    assert (first["verdict"], first["verdict_label"], first["agreement_status"]) == ("cumple", "Cumple", "liquidated")
    assert (first["beneficiaries_target"], first["beneficiaries_validated"], first["beneficiaries_reached"]) == (300, 5, 4)
    assert first["findings"]["total"] == 2 and first["findings"]["justified"] == 1
    assert second["outstanding"] > 0 and second["committed"] > 0 and second["verdict"] == "en_ejecucion"
    assert third["advanced"] == D("80000.00")
    lonely = rows[None]
    assert (lonely["verdict"], lonely["assigned"], lonely["allocation_amount"]) == ("sin_convenio", ZERO, D("50000.00"))
    # Totals: the rows' sums, and the year's transactions straight from the tables.
    totals = data["totals"]
    ids = [c["agreement"].id for c in built["contexts"]]
    everything = {name: sum((raw_sums(i)[name] for i in ids), ZERO) for name in raw_sums(ids[0])}
    for name in ("paid_directly", "advanced", "liquidated", "refunded", "committed"):
        assert totals[name] == everything[name] == sum((r[name] for r in data["rows"]), ZERO)
    assert totals["allocation_amount"] == D("350000.00") and totals["assigned"] == D("300000.00")
    assert totals["unspent"] == D("300000.00") - everything["paid_directly"] - everything["liquidated"]
    assert (totals["allocations"], totals["agreements"], totals["organizations"]) == (4, 3, 4)
    assert totals["verdicts"]["cumple"] == 1 and totals["verdicts"]["sin_convenio"] == 1
    assert [e["rule_code"] for e in data["findings_by_rule"]] == ["receipt_outside_term", "split_invoices"]


def queries_of_report_data() -> int:
    statements = []

    def count(*args):
        statements.append(1)

    engine = db.session.get_bind()
    event.listen(engine, "before_cursor_execute", count)
    try:
        legislature.report_data(year())
    finally:
        event.remove(engine, "before_cursor_execute", count)
    return len(statements)


def test_the_year_is_read_in_a_handful_of_queries(built):
    before = queries_of_report_data()
    assert before <= 12  # grouped: allocations, sums, people, indicators, findings, incidents, sign-offs…
    h.setup(beneficiaries=False)  # one more agreement: not one more query
    assert queries_of_report_data() == before


def pdf_text(content: bytes) -> list[str]:
    return [" ".join(page.extract_text().split()) for page in PdfReader(io.BytesIO(content)).pages]


def test_the_pdf_says_what_the_data_says(built):
    data = legislature.report_data(year())
    pages = pdf_text(legislature.build_files(data)["pdf"])
    text = " ".join(pages)
    assert "INFORME A LA ASAMBLEA LEGISLATIVA" in pages[0] and f"Ejercicio fiscal {year()}" in pages[0]
    assert f"Generado el {data['generated_on'].strftime('%d/%m/%Y')}" in pages[0]
    for n, page in enumerate(pages, start=1):
        assert f"Página {n} de {len(pages)}" in page
    for row in data["rows"]:
        assert row["organization_nit"] in text and row["decree_number"] in text
        if row["agreement_number"]:
            assert row["agreement_number"] in text
            assert formats.usd(row["paid_directly"]) in text
    totals = data["totals"]
    for name in ("allocation_amount", "assigned", "paid_directly", "advanced", "liquidated", "refunded", "unspent"):
        assert formats.usd(totals[name]) in text, name
    assert "Asignado y ejecutado por ONG" in text and "Asignado (monto del convenio)" in text
    assert "Jóvenes que terminan un taller" in text
    # findings by rule *name* (the auditors' words), not by code; the verdict's reasoning per agreement
    assert "Facturas fraccionadas" in text and "split_invoices" not in text
    assert "Cumple" in text and "Sin convenio" in text and "Liquidó y ejecutó lo previsto." in text


def test_the_xlsx_cells_hold_the_figures_as_numbers(built):
    data = legislature.report_data(year())
    wb = load_workbook(io.BytesIO(legislature.build_files(data)["xlsx"]))
    assert wb.sheetnames == ["Por decreto", "Resumen", "Dictámenes", "Indicadores", "Hallazgos"]
    ws = wb["Resumen"]
    headers = [c.value for c in ws[HEADER_ROW]]
    assert headers == [c[0] for c in SUMMARY_COLUMNS]
    col = {title: i for i, title in enumerate(headers)}
    by_number = {r[col["Convenio"]].value: r for r in ws.iter_rows(min_row=HEADER_ROW + 1)}
    for row in data["rows"]:
        cells = by_number[row["agreement_number"] or "Sin convenio"]
        for title, key in (("Pagado directo", "paid_directly"), ("Anticipado", "advanced"),
                           ("Liquidado", "liquidated"), ("Reintegrado", "refunded"), ("No ejecutado", "unspent"),
                           ("Asignación", "allocation_amount")):
            cell = cells[col[title]]
            assert isinstance(cell.value, (int, float)) and D(str(cell.value)).quantize(D("0.01")) == row[key]
            assert cell.number_format == '"$"#,##0.00'
        assert cells[col["Beneficiarios validados"]].value == row["beneficiaries_validated"]
        assert cells[col["Dictamen"]].value == row["verdict_label"]
    total = next(r for r in ws.iter_rows(min_row=HEADER_ROW + 1) if r[0].value == "Totales")
    assert D(str(total[col["Monto del convenio"]].value)).quantize(D("0.01")) == data["totals"]["assigned"]
    assert D(str(total[col["Liquidado"]].value)).quantize(D("0.01")) == data["totals"]["liquidated"]
    indicators = list(wb["Indicadores"].iter_rows(min_row=2, values_only=True))
    assert len(indicators) == 3 and indicators[0][2] == "Jóvenes que terminan un taller"
    findings = list(wb["Hallazgos"].iter_rows(min_row=2, values_only=True))
    assert [f[0] for f in findings] == ["Comprobante fuera del plazo del convenio", "Facturas fraccionadas"]


def test_the_json_follows_the_published_schema(built, client):
    data = legislature.report_data(year())
    document = json.loads(legislature.build_files(data)["json"])
    schema = client.get("/api/v1/legislature-reports/schema.json").get_json(force=True)
    jsonschema.Draft202012Validator.check_schema(schema)
    jsonschema.validate(document, schema, cls=jsonschema.Draft202012Validator)
    by_number = {(a["agreement"] or {}).get("number"): a for a in document["allocations"]}
    for row in data["rows"]:
        item = by_number[row["agreement_number"]]
        assert item["amounts"]["paid_directly"] == f"{row['paid_directly']:.2f}"
        assert item["amounts"]["liquidated"] == f"{row['liquidated']:.2f}"
        assert item["beneficiaries"]["reached"] == row["beneficiaries_reached"]
    assert document["totals"]["refunded"] == f"{data['totals']['refunded']:.2f}"
    broken = {**document, "totals": {**document["totals"], "assigned": 300000}}
    with pytest.raises(jsonschema.ValidationError):
        jsonschema.validate(broken, schema, cls=jsonschema.Draft202012Validator)


def test_generate_stores_the_files_by_hash_and_audits(built):
    auditor = built["contexts"][0]["auditor"]
    report = legislature.generate_report(h.act(auditor), year())
    db.session.commit()
    assert (report.status, report.fiscal_year, report.agreements) == ("generated", year(), 3)
    for kind in ("pdf", "xlsx", "json"):
        path = files.stored_path(legislature.FOLDER, getattr(report, f"{kind}_sha256"), f".{kind}")
        assert legislature.sha256_of(path.read_bytes()) == getattr(report, f"{kind}_sha256")
    assert report.totals["assigned"] == "300000.00"
    assert db.session.scalar(select(AuditEvent.action).where(AuditEvent.entity_type == "legislature_report")) == \
        "legislature_report.generated"


def test_send_marks_the_liquidated_agreements_reported_once(built):
    auditor = built["contexts"][0]["auditor"]
    liquidated, running = built["contexts"][0]["agreement"], built["contexts"][1]["agreement"]
    with pytest.raises(Forbidden):
        legislature.send_report(h.act(built["contexts"][0]["administrator"]), year())
    report = legislature.send_report(h.act(auditor), year())
    db.session.commit()
    assert report.status == "sent" and report.sent_by_id == auditor.id and report.sent_at is not None
    db.session.expire_all()
    assert db.session.get(Agreement, liquidated.id).status == "reported"
    assert db.session.get(Agreement, running.id).status == "in_execution"
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_id == str(liquidated.id),
                                                                 AuditEvent.entity_type == "agreement")).all()
    assert actions[-1] == "agreement.reported"
    with pytest.raises(Conflict) as caught:
        legislature.send_report(h.act(auditor), year())
    assert caught.value.code == "report_already_sent"
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(LegislatureReport)) == 1


def test_an_empty_year_is_not_generated(app):
    auditor = make_user(["auditor"])
    with pytest.raises(Conflict) as caught:
        legislature.generate_report(h.act(auditor), year(2031))
    assert caught.value.code == "empty_year"


def synthetic_year(agreements: int = 300) -> dict:
    """Report data for a large year without a database (the builders take plain data)."""
    from datetime import datetime, time

    from grants.services.legislature import VERDICT_LABELS, _per_ngo, _totals
    from grants.services.legislature_decrees import by_decree, reconciliation

    rng = random.Random(300)
    rows = []
    for i in range(agreements):
        assigned = D(rng.randint(5_000_000, 50_000_000)) / 100
        paid, advanced = (assigned * D("0.4")).quantize(D("0.01")), (assigned * D("0.5")).quantize(D("0.01"))
        liquidated = (advanced * D("0.8")).quantize(D("0.01"))
        verdict = rng.choice(list(VERDICT_LABELS))
        rows.append({
            "allocation_id": i, "decree_number": f"D.L. N.º {i}", "budget_line_code": "2026-0700-3-02-01-21-1-56304",
            "purpose": "Prevención", "organization_id": i, "organization_nit": "0614-010190-001-8",
            "organization_name": f"Fundación para el Desarrollo Juvenil y Comunitario de la Zona {i}",
            "allocation_amount": assigned, "agreement_id": i, "agreement_number": f"MJSP-CONV-{year()}-{i + 1:04d}",
            "agreement_status": "liquidated", "agreement_status_label": "Liquidado", "start_date": day("2026-02-01"),
            "end_date": day("2026-11-30"), "assigned": assigned, "paid_directly": paid, "advanced": advanced,
            "liquidated": liquidated, "refunded": advanced - liquidated, "unspent": assigned - paid - liquidated,
            "committed": ZERO, "available": assigned - paid - liquidated, "executed": paid + liquidated,
            "outstanding": ZERO, "beneficiaries_target": 3000, "beneficiaries_validated": 3300,
            "beneficiaries_reached": 3100, "verdict": verdict, "verdict_label": VERDICT_LABELS[verdict],
            "reasoning": "Motivo", "findings": {"total": 2, "open": 1, "justified": 1, "confirmed": 0, "resolved": 0,
                                                "by_rule": {}},
            "findings_by_rule_name": [{"rule": "Facturas fraccionadas", "count": 2}],
            "incidents": {"total": 1, "observation": 1, "sanction": 0, "suspension": 0, "termination": 0,
                          "pending": 0},
            "fines_assessed": ZERO, "fines_collected": ZERO,
            "signoffs": [{"discipline": d, "discipline_label": d, "name": f"Revisora {d} {i}",
                          "signed_on": day("2026-11-30")} for d in ("legal", "financial", "monitoring")],
            "indicators": [{"name": f"Indicador {k} del programa", "unit": "personas", "baseline": ZERO,
                            "target": D("250.00"), "achieved": D("190.00")} for k in range(3)]})
    generated_on = day("2026-12-01")
    return {"fiscal_year": year(), "ministry": legislature.MINISTRY, "generated_at": datetime.combine(generated_on, time(9)),
            "generated_on": generated_on, "rows": rows, "totals": _totals(rows), "ngos": _per_ngo(rows),
            "decrees": by_decree(rows), "reconciliation": reconciliation(rows, by_decree(rows)),
            "findings_by_rule": [{"rule_code": f"rule_{k}", "rule": f"Regla {k}", "severity": "high", "total": 4,
                                  "open": 1, "justified": 1, "confirmed": 1, "resolved": 1} for k in range(19)]}


def test_a_year_of_300_agreements_lays_out_every_section():
    data = synthetic_year()
    pages = pdf_text(legislature.build_file(data, "pdf"))
    text = " ".join(pages)
    assert all(f"Página {n} de {len(pages)}" in page for n, page in enumerate(pages, start=1))
    assert f"MJSP-CONV-{year()}-0300" in text and "ONG 281 a 300" in text and "Regla 18" in text
    assert formats.usd(data["totals"]["assigned"]) in text
    wb = load_workbook(io.BytesIO(legislature.build_file(data, "xlsx")))
    assert wb["Resumen"].max_row == HEADER_ROW + 300 + 1 and wb["Indicadores"].max_row == 1 + 900


def test_each_liquidated_agreement_shows_the_three_sign_offs_of_its_final_liquidation(built):
    data = legislature.report_data(year())
    liquidated = built["contexts"][0]["agreement"]
    row = next(r for r in data["rows"] if r["agreement_id"] == liquidated.id)
    assert [e["discipline"] for e in row["signoffs"]] == ["legal", "financial", "monitoring"]
    ctx = built["contexts"][0]
    assert {e["name"] for e in row["signoffs"]} == {ctx[d].full_name for d in ("legal", "financial", "monitoring")}
    running = next(r for r in data["rows"] if r["agreement_id"] == built["contexts"][1]["agreement"].id)
    assert running["signoffs"] == []
    files = legislature.build_files(data)
    document = json.loads(files["json"])
    entry = next(a for a in document["allocations"] if (a["agreement"] or {}).get("number") == liquidated.number)
    assert [s["name"] for s in entry["signoffs"]] == [e["name"] for e in row["signoffs"]]
    text = " ".join(pdf_text(files["pdf"]))
    assert all(e["name"] in text for e in row["signoffs"]) and "Aprobaron la liquidación final" in text
