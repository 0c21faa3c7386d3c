"""The cooperation agreement PDF: plain data in, a Spanish legal document out (no database)."""
from __future__ import annotations

import dataclasses
import shutil
import subprocess
from datetime import date
from decimal import Decimal
from io import BytesIO
from pathlib import Path

import pytest
from pypdf import PdfReader

from grants import formats
from grants.reports.agreement_pdf import (
    AgreementDocument,
    BudgetLineRow,
    Signatory,
    TrancheRow,
    amount_in_words,
    build_agreement_pdf,
    integer_to_words,
)
from tests.timeline import day, dmy

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"
USD = "DÓLARES DE LOS ESTADOS UNIDOS DE AMÉRICA"
# The document's term, on the reference calendar moved to the test day (tests/timeline.py); its
# fiscal year is the year the term starts in, and its number carries that year.
START, END = day("2026-04-01"), day("2026-12-31")
NUMBER = f"MJSP-CONV-{START.year}-0001"
MONTHS = ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre",
          "noviembre", "diciembre")


def long_date(d) -> str:
    """As the agreement writes a date in words: «1 de abril de 2026»."""
    return f"{d.day} de {MONTHS[d.month - 1]} de {d.year}"


def agreement(**changes) -> AgreementDocument:
    doc = AgreementDocument(
        number=NUMBER,
        status_label="Borrador",
        fiscal_year=START.year,
        decree_number="D.L. N.º 1045",
        budget_line_code="2026-4100-3-01-01-21-1-54399",
        organization_name="Fundación Juventud con Futuro",
        organization_nit="0614-150399-101-7",
        organization_address="Colonia Escalón, Calle El Mirador n.º 4520, San Salvador",
        legal_representative="María Antonieta Núñez de Peña",
        legal_representative_dui="04567891-2",
        object=("Ejecutar el programa «Jóvenes en Acción» de prevención de la violencia en "
                "municipios priorizados, mediante talleres vocacionales, deporte y arte.\n\n"
                "¿Cómo? Con acompañamiento psicosocial a 300 jóvenes de 14 a 24 años; ¡sin excepción!"),
        ministry_obligations="Transferir los fondos según la programación financiera.\n"
                             "Pagar directamente a los proveedores validados.\n"
                             "Designar un administrador del programa.",
        ngo_obligations="- Ejecutar las actividades del plan de trabajo aprobado.\n"
                        "- Presentar la lista de beneficiarios y mantenerla actualizada.\n"
                        "- Liquidar cada anticipo con los comprobantes originales.",
        control_mechanisms="Visitas de campo trimestrales y revisión de asistencia por pingüino-sede.",
        liquidation_terms="Cada anticipo se liquidará dentro de los 30 días siguientes a su ejecución.",
        liquidation_threshold=Decimal("100.00"),
        amount=Decimal("185000.00"),
        start_date=START,
        end_date=END,
        budget_lines=(
            BudgetLineRow(1, "Bienes", "Equipo deportivo e instrumentos musicales", Decimal("42500.00")),
            BudgetLineRow(2, "Servicios", "Instructores de talleres vocacionales", Decimal("97250.50")),
            BudgetLineRow(3, "Alimentación", "Refrigerios para los participantes", Decimal("45249.50")),
        ),
        tranches=(
            TrancheRow(1, day("2026-04-15"), Decimal("74000.00"), (1, 2)),
            TrancheRow(2, day("2026-07-15"), Decimal("55500.00"), (2, 3)),
            TrancheRow(3, day("2026-10-15"), Decimal("55500.00"), (2, 3)),
        ),
        ministry_signatory=Signatory("Héctor Gustavo Villatoro", "Ministro de Justicia y Seguridad Pública",
                                     "Ministerio de Justicia y Seguridad Pública"),
        ngo_signatory=Signatory("María Antonieta Núñez de Peña", "Representante legal",
                                "Fundación Juventud con Futuro"),
        administrator_name="Lcda. Ana Beatriz Chávez",
        signed_on=None,
        generated_on=day("2026-03-10"),
    )
    return dataclasses.replace(doc, **changes)


def signed(**changes) -> AgreementDocument:
    return agreement(status_label="Firmado", signed_on=day("2026-03-15"), **changes)


def page_texts(pdf: bytes) -> list[str]:
    """Each page's text with whitespace collapsed, so wrapped lines still match."""
    return [" ".join(page.extract_text().split()) for page in PdfReader(BytesIO(pdf)).pages]


@pytest.mark.parametrize("amount, words", [
    ("1", "UN 00/100 DÓLAR"),
    ("15", "QUINCE 00/100"),
    ("21", "VEINTIÚN 00/100"),
    ("100", "CIEN 00/100"),
    ("101", "CIENTO UN 00/100"),
    ("1000", "MIL 00/100"),
    ("1001", "MIL UN 00/100"),
    ("21000", "VEINTIÚN MIL 00/100"),
    ("100000", "CIEN MIL 00/100"),
    ("185000", "CIENTO OCHENTA Y CINCO MIL 00/100"),
    ("1000000", "UN MILLÓN 00/100"),
    ("2500.75", "DOS MIL QUINIENTOS 75/100"),
    ("97250.50", "NOVENTA Y SIETE MIL DOSCIENTOS CINCUENTA 50/100"),
    ("999999999.99", "NOVECIENTOS NOVENTA Y NUEVE MILLONES NOVECIENTOS NOVENTA Y NUEVE MIL "
                     "NOVECIENTOS NOVENTA Y NUEVE 99/100"),
])
def test_amount_is_written_in_spanish_words(amount, words):
    expected = f"{words} DE LOS ESTADOS UNIDOS DE AMÉRICA" if words.endswith("DÓLAR") else f"{words} {USD}"
    assert amount_in_words(Decimal(amount)) == expected


@pytest.mark.parametrize("number, words", [
    (0, "CERO"), (1, "UNO"), (16, "DIECISÉIS"), (21, "VEINTIUNO"), (22, "VEINTIDÓS"), (31, "TREINTA Y UNO"),
    (101, "CIENTO UNO"), (1001, "MIL UNO"), (21021, "VEINTIÚN MIL VEINTIUNO"),
    (2_031_000, "DOS MILLONES TREINTA Y UN MIL"), (21_000_000, "VEINTIÚN MILLONES"),
])
def test_integer_words_use_the_full_form_unless_a_noun_follows(number, words):
    assert integer_to_words(number) == words


@pytest.mark.parametrize("amount", ["-0.01", "1000000000"])
def test_amount_in_words_refuses_amounts_out_of_range(amount):
    with pytest.raises(ValueError):
        amount_in_words(Decimal(amount))


def test_money_has_thousands_commas_and_two_decimals():
    assert formats.usd(Decimal("185000")) == "$185,000.00"
    assert formats.usd(Decimal("0.5")) == "$0.50"
    assert formats.usd(Decimal("1234567.891")) == "$1,234,567.89"


def test_agreement_pdf_states_parties_amounts_schedule_and_terms():
    pdf = build_agreement_pdf(agreement())
    pages = page_texts(pdf)
    text = " ".join(pages)

    assert pdf.startswith(b"%PDF")
    assert f"CONVENIO DE COOPERACIÓN N.º {NUMBER}" in text
    assert "Ministerio de Justicia y Seguridad Pública — República de El Salvador" in text
    assert "Fundación Juventud con Futuro" in text and "0614-150399-101-7" in text
    assert "María Antonieta Núñez de Peña" in text and "04567891-2" in text
    for amount in ("$42,500.00", "$97,250.50", "$45,249.50", "$74,000.00", "$55,500.00", "$185,000.00"):
        assert amount in text
    for planned in (dmy("2026-04-15"), dmy("2026-07-15"), dmy("2026-10-15")):
        assert planned in text
    assert f"US$185,000.00 (CIENTO OCHENTA Y CINCO MIL 00/100 {USD})" in text
    assert "D.L. N.º 1045" in text and "2026-4100-3-01-01-21-1-54399" in text
    assert "no esté liquidado al menos en un 100 %" in text
    assert "únicamente por los beneficiarios efectivamente activos" in text
    assert "Lcda. Ana Beatriz Chávez" in text
    assert f"del {long_date(START)} al {long_date(END)}" in text
    for clause in ("PRIMERA — OBJETO", "SEGUNDA — MONTO Y FUENTE DE FINANCIAMIENTO",
                   "TERCERA — OBLIGACIONES DEL MINISTERIO", "CUARTA — OBLIGACIONES DE LA ORGANIZACIÓN",
                   "QUINTA — PRESUPUESTO", "SEXTA — PROGRAMACIÓN FINANCIERA",
                   "SÉPTIMA — MECANISMOS DE CONTROL", "OCTAVA — LIQUIDACIÓN", "NOVENA — PLAZO",
                   "DÉCIMA — SUSPENSIÓN Y TERMINACIÓN"):
        assert clause in text
    assert "¿Cómo?" in text and "¡sin excepción!" in text and "pingüino" in text
    assert f"Página 1 de {len(pages)}" in pages[0]
    assert f"Generado el {dmy('2026-03-10')}" in pages[0]


def test_threshold_other_than_whole_percent_is_printed_with_decimals():
    text = " ".join(page_texts(build_agreement_pdf(agreement(liquidation_threshold=Decimal("87.50")))))
    assert "no esté liquidado al menos en un 87.50 %" in text


def test_unsigned_agreement_is_marked_as_draft_on_every_page():
    pages = page_texts(build_agreement_pdf(agreement()))
    assert all("BORRADOR — sin validez" in page for page in pages)
    assert "Fecha de firma: pendiente" in " ".join(pages)


def test_signed_agreement_has_no_draft_mark_and_states_place_and_date():
    text = " ".join(page_texts(build_agreement_pdf(signed())))
    assert "BORRADOR" not in text
    assert f"San Salvador, {long_date(day('2026-03-15'))}" in text
    assert "Fecha de firma: pendiente" not in text


def test_missing_signatories_and_administrator_leave_blanks_to_fill():
    text = " ".join(page_texts(build_agreement_pdf(
        agreement(ministry_signatory=None, ngo_signatory=None, administrator_name=None))))
    assert "POR EL MINISTERIO" in text and "POR LA ORGANIZACIÓN" in text
    assert "Nombre:" in text and "Cargo:" in text
    assert "EL MINISTERIO designará un administrador del programa" in text


def test_long_agreement_spans_several_pages_each_numbered_with_the_real_total():
    lines = tuple(BudgetLineRow(n, f"Categoría {n}", "Descripción extensa de la línea presupuestaria "
                                f"número {n}, " + "con detalle de insumos y servicios " * 4, Decimal("3000.00"))
                  for n in range(1, 61))
    tranches = tuple(TrancheRow(n, day(date(2026, n, 20)), Decimal("15000.00"), tuple(range(5 * n - 4, 5 * n + 1)))
                     for n in range(1, 13))
    pages = page_texts(build_agreement_pdf(
        agreement(amount=Decimal("180000.00"), budget_lines=lines, tranches=tranches)))

    assert len(pages) >= 4
    for k, page in enumerate(pages, start=1):
        assert f"Página {k} de {len(pages)}" in page
        assert NUMBER in page
    text = " ".join(pages)
    assert "$180,000.00" in text and dmy("2026-12-20") in text and "56, 57, 58, 59, 60" in text


def test_user_text_with_markup_characters_appears_literally():
    name = "Fundación <b>Niñez</b> & Futuro"
    text = " ".join(page_texts(build_agreement_pdf(agreement(
        organization_name=name, object="Objeto con <i>marcas</i> & 5 < 6 > 4",
        budget_lines=(BudgetLineRow(1, "A&B <x>", "Línea <b>&", Decimal("185000")),)))))
    assert name in text
    assert "Objeto con <i>marcas</i> & 5 < 6 > 4" in text
    assert "A&B <x>" in text and "Línea <b>&" in text


def test_first_page_renders_to_png_for_a_visual_check():
    """Writes test-artifacts/agreement-page1.png (and the PDFs) for a person to look at."""
    if not shutil.which("pdftoppm"):
        pytest.skip("pdftoppm (poppler-utils) is not installed")
    ARTIFACTS.mkdir(exist_ok=True)
    for name, doc in (("agreement-draft", agreement()), ("agreement-signed", signed())):
        pdf_path = ARTIFACTS / f"{name}.pdf"
        pdf_path.write_bytes(build_agreement_pdf(doc))
        subprocess.run(["pdftoppm", "-png", "-r", "60", "-f", "1", "-l", "1", "-singlefile",
                        str(pdf_path), str(ARTIFACTS / f"{name}-page1")], check=True)
        assert (ARTIFACTS / f"{name}-page1.png").stat().st_size > 0
