"""The acta de liquidación final: plain data in, a Spanish acta out (figures, beneficiaries, indicators,
findings, verdict and reasoning, the three sign-offs with names and dates, «Pendiente» while missing,
«NO APROBADA» on every page until the three approved, page X of N); and the same from a real final
liquidation signed through the services."""
from __future__ import annotations

import dataclasses
from decimal import Decimal

import pytest

from grants import clock
from grants.extensions import db
from grants.reports.final_liquidation_pdf import (
    ActaIndicator,
    ActaRevision,
    ActaSignOff,
    FinalLiquidationActa,
    build_final_liquidation_pdf,
)
from grants.services import final_liquidation_acta
from tests.closing import helpers as h
from tests.helpers import csrf_token, web_login
from tests.pdfs import pdf_pages, pdf_text
from tests.timeline import day

D = Decimal
LEGAL = ActaSignOff("Jurídica", "Licda. Verónica Alas", day("2026-12-02"), "Aprobada")
FINANCIAL = ActaSignOff("Financiera", "Lic. Mauricio Sánchez", day("2026-12-03"), "Aprobada",
                        "Reintegro confirmado por tesorería.")
MONITORING = ActaSignOff("Seguimiento y contraloría", "Licda. Karla Mejía", day("2026-12-04"), "Aprobada")
PENDING = ActaSignOff("Seguimiento y contraloría", None, None, None)


def acta(**changes) -> FinalLiquidationActa:
    doc = FinalLiquidationActa(
        agreement_number="MJSP-CONV-2026-0002", organization_name="Fundación Juventud con Futuro",
        organization_nit="0614-150399-101-7", decree_number="D.L. N.º 1046", fiscal_year=2026,
        purpose="Atención psicosocial a familias de jóvenes en riesgo.", start_date=day("2026-02-01"),
        end_date=day("2026-05-31"), revision=2, status="proposed", status_label="Propuesta, por aprobar",
        assigned=D("38000.00"), paid_directly=D("1234.56"), advanced=D("15000.00"), liquidated=D("13750.40"),
        refunded=D("1249.60"), unspent=D("23015.04"), beneficiaries_target=120, beneficiaries_validated=98,
        beneficiaries_reached=91,
        indicators=(ActaIndicator("Familias con plan de atención", "familias", D("0"), D("96"), D("88")),
                    ActaIndicator("Sesiones grupales realizadas", "sesiones", D("0"), D("40.5"), None)),
        findings={"total": 3, "open": 0, "justified": 2, "confirmed": 0, "resolved": 1},
        verdict="Cumple parcialmente", reasoning="Atendió 88 de 96 familias.\n\nReintegró lo no gastado.",
        prepared_by="Ing. Ricardo Molina", prepared_on=day("2026-12-01"),
        signoffs=(LEGAL, FINANCIAL, PENDING),
        earlier=(ActaRevision(1, "Ing. Ricardo Molina", day("2026-11-25"), "Cumple", (
            ActaSignOff("Jurídica", "Licda. Verónica Alas", day("2026-11-26"), "Devuelta con observaciones",
                        "Falta el indicador de sesiones."),)),),
        decided_on=None, generated_on=day("2026-12-04"))
    return dataclasses.replace(doc, **changes)


def test_the_acta_states_agreement_figures_results_verdict_and_signoffs():
    pages = pdf_pages(build_final_liquidation_pdf(acta()))
    text = " ".join(pages)
    assert "ACTA DE LIQUIDACIÓN FINAL" in text
    for value in ("MJSP-CONV-2026-0002", "Fundación Juventud con Futuro", "0614-150399-101-7", "D.L. N.º 1046",
                  "ejercicio fiscal 2026", "Atención psicosocial", f"del {day('2026-02-01'):%d/%m/%Y} al "
                  f"{day('2026-05-31'):%d/%m/%Y}", f"preparada por Ing. Ricardo Molina el {day('2026-12-01'):%d/%m/%Y}"):
        assert value in text, value
    # assigned, paid directly, advanced, liquidated, refunded, not executed
    for label, amount in (("Monto del convenio", "$38,000.00"), ("Pagado directamente", "$1,234.56"),
                          ("Anticipos desembolsados", "$15,000.00"), ("Liquidado con comprobantes", "$13,750.40"),
                          ("Reintegrado", "$1,249.60"), ("No ejecutado", "$23,015.04")):
        assert label in text and amount in text, label
    assert "Meta del plan 120" in text and "Validados 98" in text and "91" in text
    assert "Familias con plan de atención" in text and "88" in text and "sin informe" in text
    assert "Total 3: abiertos 0, justificados 2, confirmados 0, resueltos 1." in text
    assert "Cumple parcialmente" in text and "Atendió 88 de 96 familias." in text and "Reintegró lo no gastado." in text
    for s in (LEGAL, FINANCIAL):
        assert s.name in text and f"Fecha: {s.on:%d/%m/%Y}" in text
    assert "Reintegro confirmado por tesorería." in text
    assert "Seguimiento y contraloría" in text and "Pendiente" in text and "Fecha: pendiente" in text
    assert "faltan 1 de las 3 aprobaciones" in text
    assert "Revisión 1" in text and "Falta el indicador de sesiones." in text
    assert f"Página 1 de {len(pages)}" in pages[0] and f"Generado el {day('2026-12-04'):%d/%m/%Y}" in pages[0]


def test_until_the_three_approved_every_page_says_no_aprobada():
    many = tuple(ActaIndicator(f"Indicador número {n}", "personas", D("0"), D(n), D(n - 1)) for n in range(1, 90))
    pages = pdf_pages(build_final_liquidation_pdf(acta(indicators=many)))
    assert len(pages) >= 2
    assert all("NO APROBADA" in page for page in pages)
    assert all(f"Página {n} de {len(pages)}" in page for n, page in enumerate(pages, start=1))
    returned = pdf_text(build_final_liquidation_pdf(acta(status="returned", status_label="Devuelta",
                                                         decided_on=day("2026-12-03"))))
    assert "NO APROBADA — DEVUELTA" in returned and f"devuelta al administrador el {day('2026-12-03'):%d/%m/%Y}" in returned


def test_approved_by_the_three_it_carries_their_names_and_no_mark():
    doc = acta(status="approved", status_label="Aprobada por las tres disciplinas",
               signoffs=(LEGAL, FINANCIAL, MONITORING), decided_on=day("2026-12-04"), earlier=())
    text = pdf_text(build_final_liquidation_pdf(doc))
    assert "NO APROBADA" not in text and "Pendiente" not in text
    for s in (LEGAL, FINANCIAL, MONITORING):
        assert s.name in text and f"Fecha: {s.on:%d/%m/%Y}" in text
    assert f"Aprobada por las tres disciplinas el {day('2026-12-04'):%d/%m/%Y}" in text
    assert "Revisiones anteriores" not in text


def test_user_text_is_escaped():
    text = pdf_text(build_final_liquidation_pdf(acta(reasoning="Montos <b>no</b> & «comillas»")))
    assert "Montos <b>no</b> & «comillas»" in text


# --- from a real final liquidation ----------------------------------------------------------------

@pytest.fixture
def ctx(app):
    ctx = h.setup(beneficiaries=False)
    h.pay(ctx, "480.20")
    h.to_closing(ctx)
    return ctx


def local_day(moment):
    return moment.astimezone(clock.EL_SALVADOR).date().strftime("%d/%m/%Y")


def test_the_acta_of_a_signed_liquidation_names_the_signers_and_their_dates(client, ctx):
    h.prepare(ctx, "cumple", "Ejecutó lo previsto y pagó directamente a su proveedor.")
    legal = h.sign(ctx, "legal")
    text = pdf_text(final_liquidation_acta.acta_pdf(ctx["agreement"]))
    assert "NO APROBADA" in text and ctx["legal"].full_name in text and f"Fecha: {local_day(legal.signed_at)}" in text
    assert text.count("Pendiente") == 2 and "$480.20" in text and "$99,519.80" in text
    financial, monitoring = h.sign(ctx, "financial"), h.sign(ctx, "monitoring")
    pages = pdf_pages(final_liquidation_acta.acta_pdf(ctx["agreement"]))
    text = " ".join(pages)
    assert "NO APROBADA" not in text and "Pendiente" not in text
    for user, signoff in ((ctx["legal"], legal), (ctx["financial"], financial), (ctx["monitoring"], monitoring)):
        assert user.full_name in text and f"Fecha: {local_day(signoff.signed_at)}" in text
    assert ctx["administrator"].full_name in text and "Estado: Aprobada por las tres disciplinas" in text
    assert f"Página {len(pages)} de {len(pages)}" in pages[-1]

    web_login(client, ctx["ngo"].email)  # the NGO downloads its own acta from the page
    response = client.get(f"/agreements/{ctx['agreement'].id}/final-liquidation.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    assert ctx["monitoring"].full_name in pdf_text(response.data)
    assert csrf_token(client, "/")  # still signed in


def test_no_acta_before_the_administrator_prepares_it(client, ctx):
    web_login(client, ctx["auditor"].email)
    assert client.get(f"/agreements/{ctx['agreement'].id}/final-liquidation.pdf").status_code == 404
    db.session.rollback()
