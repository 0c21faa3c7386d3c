"""The demo's closing: ngo1's second allocation («Atención psicosocial», $38,000.00) with a short
agreement that already ended, executed and closed through the real services, whose final
liquidation legal and financial approved and that now **waits for monitoring**.

Its days are counted on the demo's ``Timeline`` (``grants.demo``): the term runs from day 0 to day
119 (it ended a month before the demo is loaded; day 150 is today) and starts in the fiscal year of
the allocation. Each step runs on its own day (``grants.clock.at``):

* day −25..0 — plan submitted, approved by the three disciplines, agreement drafted, signed, the
  administrator designated, execution started;
* days 4..7 — the first tranche requested, approved, prepared by ``treasury`` and disbursed by
  ``treasury2``;
* day 100 — the expense statement (three receipts inside the advance's period), accepted by the
  financial reviewer on day 103; day 110 — ngo1 declares the refund of what was not spent (with its
  deposit slip), confirmed by ``treasury`` on day 112: the advance is liquidated;
* day 121 — the administrator's follow-up report for the whole term; day 125 — closing begun;
* day 135 — the administrator proposes the final liquidation; legal approves it on day 140 and
  financial on day 143. ``monitoring@…`` decides (``/agreements/<id>/final-liquidation``).
"""
from __future__ import annotations

import io
from typing import TYPE_CHECKING

from reportlab.lib.pagesizes import A4
from reportlab.pdfgen import canvas

from grants import clock

if TYPE_CHECKING:  # grants.demo imports this module's function where it runs
    from grants.demo import Timeline

END_DAY = 119  # the term's last day: 31 days before the demo is loaded
TERRITORY = ["0623"]  # San Salvador Centro


def _slip(reference: str, amount: str) -> bytes:
    """A stand-in for the bank's deposit slip: a one-page PDF that says what it is."""
    buffer = io.BytesIO()
    pdf = canvas.Canvas(buffer, pagesize=A4, invariant=True)
    pdf.setFont("Helvetica", 12)
    pdf.drawString(72, 760, f"Boleta de depósito {reference}: ${amount}")
    pdf.drawString(72, 740, "Reintegro al Ministerio de Justicia y Seguridad Pública (documento de demostración)")
    pdf.showPage()
    pdf.save()
    return buffer.getvalue()


def _content(t: Timeline) -> dict:
    return {
        "start_date": t.iso(0), "end_date": t.iso(END_DAY),
        "justification": "Las familias de jóvenes que dejan pandillas o están en riesgo no reciben acompañamiento; "
                         "la violencia intrafamiliar y el duelo quedan sin atender.",
        "objectives": "Dar atención psicosocial individual y familiar a las familias de jóvenes en riesgo de San "
                      "Salvador Centro durante cuatro meses.",
        "ministry_alignment": "Eje de prevención social de la violencia del MJSP: atención a familias en territorios "
                              "priorizados.",
        "monitoring": "Expedientes por familia, registro de sesiones e informe final del administrador del convenio.",
        "internal_controls": "Tres cotizaciones por compra, liquidación de anticipos con comprobantes y reintegro de "
                             "lo no gastado.",
        "territory": TERRITORY,
        "beneficiaries": {"target": 60, "age_min": 12, "age_max": 29,
                          "profile": "Jóvenes en riesgo y sus familias de San Salvador Centro."},
        "activities": [
            {"name": "Atención psicosocial familiar", "description": "Sesiones quincenales por familia",
             "responsible": "Equipo psicosocial", "start_date": t.iso(7), "end_date": t.iso(END_DAY - 5),
             "municipality_codes": TERRITORY},
            {"name": "Grupos de apoyo", "description": "Encuentros mensuales de madres y padres",
             "responsible": "Coordinación", "start_date": t.iso(30), "end_date": t.iso(END_DAY - 5),
             "municipality_codes": TERRITORY},
        ],
        "budget_lines": [
            {"category": "Servicios profesionales", "description": "Psicólogas y trabajadoras sociales",
             "amount": "26000.00"},
            {"category": "Materiales", "description": "Materiales de terapia y de los grupos de apoyo",
             "amount": "7000.00"},
            {"category": "Alimentación", "description": "Refrigerios de los grupos de apoyo", "amount": "5000.00"},
        ],
        "indicators": [
            {"expected_result": "Familias acompañadas", "name": "Familias con plan de atención cumplido",
             "unit": "familias", "baseline": "0", "target": "48", "means_of_verification": "Expedientes"},
        ],
        "tranches": [
            {"planned_date": t.iso(5), "amount": "15000.00", "budget_lines": [1, 2, 3]},
            {"planned_date": t.iso(60), "amount": "23000.00", "budget_lines": [1, 2, 3]},
        ],
    }


def demo_closing(t: Timeline, as_, allocation) -> None:
    """Build ngo1's closing on ``allocation`` (see the module's docstring); ``as_(key)`` is the
    demo user ``key``'s actor."""
    from grants.services import (
        advances,
        agreements,
        expense_statements,
        final_liquidation,
        followup,
        plans,
        refunds,
    )
    from grants.services.demo_scan import demo_signed_scan

    year = t.fiscal_year
    with clock.at(t.day(-25)):
        plan = plans.create_plan(as_("ngo1"), allocation.id, "Atención psicosocial a familias en San Salvador Centro",
                                 _content(t))
        plans.submit_plan(as_("ngo1"), plan.id)
    with clock.at(t.day(-15)):
        for discipline in ("legal", "financial", "monitoring"):
            plans.record_review(as_(discipline), plan.id, 1, discipline, "approve", [])
        agreement = agreements.create_agreement(as_("legal"), plan.id, {
            "ministry_signatory_name": "Lic. Ernesto Cañas Orellana",
            "ministry_signatory_title": "Ministro de Justicia y Seguridad Pública",
            "ngo_signatory_name": allocation.organization.legal_rep_name,
            "ngo_signatory_title": "Representante legal"})
    with clock.at(t.day(-5)):
        agreements.sign_agreement(as_("legal"), agreement.id, t.day(-5), demo_signed_scan(agreement.number))
        agreements.designate_administrator(as_("legal"), agreement.id, as_("administrator").user_id)
    with clock.at(t.day(0)):
        agreements.start_execution(as_("legal"), agreement.id)

    with clock.at(t.day(4)):
        advance = advances.request_advance(as_("ngo1"), agreement.id, {
            "tranche_number": 1, "purpose": "Primer desembolso: equipo psicosocial y materiales"})
    with clock.at(t.day(5)):
        advances.approve_advance(as_("financial"), advance.id)
    with clock.at(t.day(6)):
        advances.prepare_disbursement(as_("treasury"), advance.id)
    with clock.at(t.day(7)):
        advances.disburse_advance(as_("treasury2"), advance.id, f"BCR-TRF-{year}-003120", t.day(7))
    with clock.at(t.day(100)):
        statement = expense_statements.submit_statement(as_("ngo1"), advance.id, [
            {"document_type": "recibo", "document_number": "R-0412", "issue_date": t.iso(20),
             "supplier_tax_id": "0614-050707-104-8", "supplier_name": "Centro de Psicología Integral",
             "description": "Honorarios de atención psicosocial, primer mes", "budget_line": 1, "amount": "9800.00"},
            {"document_type": "ccf", "document_number": "CCF-2210", "issue_date": t.iso(38),
             "supplier_tax_id": "0614-010180-001-2", "supplier_name": "Librería y Papelería El Estudiante",
             "description": "Materiales de terapia y cuadernos de trabajo", "budget_line": 2, "amount": "2640.50"},
            {"document_type": "factura", "document_number": "F-30877", "issue_date": t.iso(52),
             "supplier_tax_id": "0614-090291-107-1", "supplier_name": "Panadería San Martín",
             "description": "Refrigerios de los grupos de apoyo", "budget_line": 3, "amount": "1310.25"},
        ], filename="liquidacion-anticipo-1.xlsx")
    with clock.at(t.day(103)):
        for receipt in statement.receipts:
            expense_statements.decide_receipt(as_("financial"), receipt.id, True)
    with clock.at(t.day(110)):
        reference = f"DEP-{year}-771045"
        refund = refunds.declare_refund(as_("ngo1"), advance.id, {
            "amount": "1249.25", "bank_name": "Banco Agrícola", "bank_reference": reference,
            "refunded_on": t.iso(109)}, slip=("boleta-reintegro.pdf", _slip(reference, "1,249.25")))
    with clock.at(t.day(112)):
        refunds.confirm_refund(as_("treasury"), refund.id)

    with clock.at(t.day(END_DAY + 2)):
        version = agreement.plan_version
        followup.create_report(as_("administrator"), agreement.id, {
            "period_start": t.iso(0), "period_end": t.iso(END_DAY),
            "activities": [{"activity_id": a.id, "progress": "100.00" if n == 0 else "75.00",
                            "notes": "Sesiones completas." if n == 0 else "Tres de cuatro encuentros."}
                           for n, a in enumerate(sorted(version.activities, key=lambda a: a.position))],
            "indicators": [{"indicator_id": version.indicators[0].id, "value": "41"}],
            "observations": "41 de 48 familias cumplieron su plan de atención; el último encuentro de los grupos "
                            "de apoyo no se realizó."})
    with clock.at(t.day(125)):
        agreements.begin_closing(as_("administrator"), agreement.id)
    with clock.at(t.day(135)):
        final_liquidation.prepare_liquidation(
            as_("administrator"), agreement.id, "cumple_parcialmente",
            "El anticipo de $15,000.00 se liquidó con comprobantes aceptados por $13,750.75 y un reintegro "
            "confirmado de $1,249.25. 41 de las 48 familias previstas cumplieron su plan de atención (85 %) y no se "
            "realizó el último encuentro de los grupos de apoyo. El segundo desembolso no se solicitó.")
    with clock.at(t.day(140)):
        final_liquidation.sign_off(as_("legal"), agreement.id, 1, "legal", "approve")
    with clock.at(t.day(143)):
        final_liquidation.sign_off(as_("financial"), agreement.id, 1, "financial", "approve",
                                   "Comprobantes y reintegro conciliados con el libro mayor.")
