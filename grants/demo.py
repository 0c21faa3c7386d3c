"""A realistic demo: three NGOs working in violence prevention, one user per role.

Every record goes through the same services as real data (validation and audit included).

**The demo lives on the day it is loaded.** Its story is written as days counted from the first
day of ngo2's agreement (``Timeline.start``), which is 150 days before the load: the term started
five months ago and ends in about six; the fiscal year is the year of that first day. Each step runs
on its own day (``grants.clock.at``), so what was paid in the first month carries that month's date
in the records, the audit trail and the rules. Loaded on any date, the same things are true: the
agreement is in execution and its term includes today; the first advance's statement is overdue
(18 days: a finding for the auditor, on purpose); nothing else is late.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

from flask import current_app

from grants import formats
from grants import clock
from grants.audit import Actor
from grants.demo_batches import demo_batches
from grants.demo_closing import demo_closing
from grants.demo_meetings import demo_meetings
from grants.demo_money import demo_money, demo_suppliers
from grants.demo_bank import demo_bank_statements
from grants.services.allocations import create_allocation
from grants.services.organizations import create_organization
from grants.services.users import create_user

DOMAIN = "fondos.example.org"

ORGANIZATIONS = [
    {
        "legal_name": "Fundación Juventud con Futuro",
        "nit": "0614-150399-101-7",
        "registry_number": "ASFL-2003-0417",
        "legal_rep_name": "María Elena Rivas de Portillo",
        "legal_rep_dui": "02345671-7",
        "address": "Colonia Escalón, Calle El Mirador 4512, San Salvador",
        "municipality_code": "San Salvador Centro",
        "bank_name": "Banco Agrícola",
        "bank_account": "0030-45612-7",
        "email": "contacto@juventudconfuturo.example.org",
        "phones": ["2264-1180", "7012-4455"],
        "board_members": [
            {"name": "María Elena Rivas de Portillo", "dui": "02345671-7", "position": "Presidenta"},
            {"name": "José Antonio Hernández Melara", "dui": "03456782-2", "position": "Secretario"},
            {"name": "Ana Cecilia Flores Ayala", "dui": "01928374-6", "position": "Tesorera"},
        ],
    },
    {
        "legal_name": "Asociación Comunidades Seguras de Occidente",
        "nit": "0614-220811-102-8",
        "registry_number": "ASFL-2011-1288",
        "legal_rep_name": "Carlos Ernesto Menjívar Aguilar",
        "legal_rep_dui": "04561237-1",
        "address": "Barrio El Centro, 2.ª Avenida Sur 15, Santa Ana",
        "municipality_code": "Santa Ana Centro",
        "bank_name": "Banco Cuscatlán",
        "bank_account": "101-22-334455",
        "email": "info@comunidadesseguras.example.org",
        "phones": ["2447-3020"],
        "board_members": [
            {"name": "Carlos Ernesto Menjívar Aguilar", "dui": "04561237-1", "position": "Presidente"},
            {"name": "Rosa Amelia Guardado Pineda", "dui": "05123489-8", "position": "Secretaria"},
            {"name": "Luis Alberto Cañas Romero", "dui": "06234590-3", "position": "Tesorero"},
        ],
    },
    {
        "legal_name": "Fundación Arte y Deporte para la Paz",
        "nit": "1217-100503-103-0",
        "registry_number": "ASFL-2005-0733",
        "legal_rep_name": "Sandra Patricia Argueta Chicas",
        "legal_rep_dui": "01234567-8",
        "address": "Colonia Ciudad Jardín, Pasaje 3 n.º 21, San Miguel",
        "municipality_code": "1222",
        "bank_name": "Banco Hipotecario",
        "bank_account": "00210-009-87654",
        "email": "paz@arteydeporte.example.org",
        "phones": ["2661-9040", "7788-1200"],
        "board_members": [
            {"name": "Sandra Patricia Argueta Chicas", "dui": "01234567-8", "position": "Presidenta"},
            {"name": "Roberto Carlos Umaña Ventura", "dui": "02468135-7", "position": "Secretario"},
            {"name": "Gloria Estela Sorto de Reyes", "dui": "03579246-2", "position": "Tesorera"},
        ],
    },
]

ALLOCATIONS = [
    # (organization index, decree, budget line (after the year), amount, purpose)
    (0, "D.L. N.º 1045", "0700-3-02-01-21-1-56304", "185000.00",
     "Prevención de la violencia juvenil mediante formación vocacional y tutorías escolares "
     "en San Salvador Centro."),
    (1, "D.L. N.º 1045", "0700-3-02-01-21-1-56304", "142500.00",
     "Espacios comunitarios seguros y mediación de conflictos en Santa Ana Centro."),
    (2, "D.L. N.º 1046", "0700-3-02-01-21-1-56304", "97250.50",
     "Escuelas deportivas y artísticas para la niñez y adolescencia en San Miguel."),
    (0, "D.L. N.º 1046", "0700-3-02-02-21-1-56304", "38000.00",
     "Atención psicosocial a familias de jóvenes en riesgo."),
]

# ngo2's agreement started this many days before the demo is loaded; its term lasts TERM_DAYS.
DAYS_SINCE_START = 150
TERM_DAYS = 318


@dataclass(frozen=True)
class Timeline:
    """The demo's calendar: day ``n`` of the story is ``start + n`` days."""

    start: date

    @classmethod
    def of_today(cls) -> Timeline:
        return cls(clock.today() - timedelta(days=DAYS_SINCE_START))

    def day(self, n: int) -> date:
        return self.start + timedelta(days=n)

    def iso(self, n: int) -> str:
        return self.day(n).isoformat()

    @property
    def fiscal_year(self) -> int:
        return self.start.year

    @property
    def end(self) -> date:
        return self.day(TERM_DAYS - 1)

USERS = [
    ("admin", "Administración del sistema", ["admin"], None),
    ("legal", "Licda. Verónica Alas (revisión jurídica)", ["legal_reviewer"], None),
    ("financial", "Lic. Mauricio Sánchez (revisión financiera)", ["financial_reviewer"], None),
    ("monitoring", "Licda. Karla Mejía (seguimiento y contraloría)", ["monitoring_reviewer"], None),
    ("administrator", "Ing. Ricardo Molina (administrador de programa)", ["administrator"], None),
    ("treasury", "Lic. Julio Castro (tesorería)", ["treasury"], None),
    ("treasury2", "Licda. Patricia Orellana (tesorería)", ["treasury"], None),
    ("auditor", "Lic. Fernando Ayala (auditoría interna)", ["auditor"], None),
    ("ngo1", "Usuario de Fundación Juventud con Futuro", ["ngo"], 0),
    ("ngo2", "Usuario de Asociación Comunidades Seguras de Occidente", ["ngo"], 1),
    ("ngo3", "Usuario de Fundación Arte y Deporte para la Paz", ["ngo"], 2),
]


def _plan_content(t: Timeline, territory: list[str], amount_lines: list[tuple[str, str, str]],
                  tranche_amounts: list[str], target: int, ages: tuple[int, int]) -> dict:
    lines = [{"category": c, "description": d, "amount": a} for c, d, a in amount_lines]
    dates = [t.iso(15), t.iso(103), t.iso(194)]
    return {
        "start_date": t.iso(0), "end_date": t.end.isoformat(),
        "justification": "Los homicidios y la deserción escolar se concentran en jóvenes de las colonias "
                         "atendidas; no existen espacios seguros de formación por la tarde.",
        "objectives": "Ofrecer formación, deporte y acompañamiento psicosocial que alejen a niñas, niños "
                      "y jóvenes de la violencia.",
        "ministry_alignment": "Contribuye al eje de prevención social de la violencia del MJSP y a la "
                              "reducción de factores de riesgo en territorios priorizados.",
        "monitoring": "Registro de asistencia por sesión, visitas mensuales del administrador del convenio e "
                      "informes trimestrales con los indicadores.",
        "internal_controls": "Compras con tres cotizaciones, doble firma en pagos, inventario de bienes y "
                             "archivo de comprobantes por línea presupuestaria.",
        "territory": territory,
        "beneficiaries": {"target": target, "age_min": ages[0], "age_max": ages[1],
                          "profile": "Niñez, adolescencia y juventud en riesgo, con sus familias."},
        "activities": [
            {"name": "Talleres de formación", "description": "Sesiones semanales por grupo",
             "responsible": "Coordinación técnica", "start_date": t.iso(15), "end_date": t.iso(302),
             "municipality_codes": territory[:1]},
            {"name": "Acompañamiento psicosocial", "description": "Atención individual y familiar",
             "responsible": "Equipo psicosocial", "start_date": t.iso(59), "end_date": t.iso(149),
             "municipality_codes": territory},
        ],
        "budget_lines": lines,
        "indicators": [
            {"expected_result": "Participantes formados", "name": "Participantes que completan el ciclo",
             "unit": "personas", "baseline": "0", "target": str(int(target * 0.8)),
             "means_of_verification": "Listas de asistencia firmadas"},
            {"expected_result": "Permanencia escolar", "name": "Participantes que siguen estudiando",
             "unit": "%", "baseline": "62", "target": "85", "means_of_verification": "Constancias escolares"},
        ],
        "tranches": [
            {"planned_date": dates[i], "amount": amount, "budget_lines": list(range(1, len(lines) + 1))}
            for i, amount in enumerate(tranche_amounts)
        ],
    }


def _demo_plans(t: Timeline, orgs, allocations, users) -> dict:
    """ngo2's plan approved, with its agreement signed and in execution; ngo3's plan waiting for
    review; ngo1 has none yet, so a person can do the whole round from the start."""
    from grants.services import agreements, plans
    from grants.services.demo_scan import demo_signed_scan

    def as_(key):
        return Actor.for_user(users[key])

    with clock.at(t.day(-20)):
        plan2 = plans.create_plan(as_("ngo2"), allocations[1].id, "Espacios seguros en Santa Ana Centro", _plan_content(
            t, ["0215"], [("Servicios profesionales", "Mediadores y facilitadores comunitarios", "75000.00"),
                          ("Equipamiento", "Mobiliario y equipo de los espacios seguros", "30000.00"),
                          ("Materiales", "Materiales didácticos y deportivos", "22500.00"),
                          ("Alimentación", "Refrigerios de las sesiones", "15000.00")],
            ["60000.00", "50000.00", "32500.00"], 420, (10, 25)))
        plans.submit_plan(as_("ngo2"), plan2.id)
    with clock.at(t.day(-12)):
        for discipline in ("legal", "financial", "monitoring"):
            plans.record_review(as_(discipline), plan2.id, 1, discipline, "approve", [])
        agreement = agreements.create_agreement(as_("legal"), plan2.id, {
            "ministry_signatory_name": "Lic. Ernesto Cañas Orellana",
            "ministry_signatory_title": "Ministro de Justicia y Seguridad Pública",
            "ngo_signatory_name": orgs[1].legal_rep_name, "ngo_signatory_title": "Representante legal"})
    with clock.at(t.day(-2)):
        agreements.sign_agreement(as_("legal"), agreement.id, t.day(-2), demo_signed_scan(agreement.number))
        agreements.designate_administrator(as_("legal"), agreement.id, users["administrator"].id)
    with clock.at(t.day(0)):
        agreements.start_execution(as_("legal"), agreement.id)

    _demo_beneficiaries(t, as_("ngo2"), as_("monitoring"), agreement.id)
    supplier = demo_suppliers(t, as_("ngo2"), as_("financial"), agreement.id)
    demo_money(t, as_, agreement.id, supplier.id)
    demo_bank_statements(t, as_, agreement.id)
    demo_batches(t, as_, agreement.id, supplier.id)  # two payments authorized, ready for a payment batch
    _demo_follow_up(t, as_, agreement)
    demo_meetings(t, as_, agreement)

    # ngo3's program starts in two weeks (still in the fiscal year of its allocation).
    t3 = ngo3_timeline()  # called outside any clock.at: two weeks after the real today
    with clock.at(t.day(DAYS_SINCE_START - 5)):
        plan3 = plans.create_plan(as_("ngo3"), allocations[2].id, "Escuelas de arte y deporte en San Miguel",
                                  _plan_content(t3, ["1222"], [
                                      ("Servicios profesionales", "Instructores de arte y deporte", "52250.50"),
                                      ("Materiales", "Uniformes, balones e instrumentos", "30000.00"),
                                      ("Alimentación", "Refrigerios de las sesiones", "15000.00")],
                                      ["40000.00", "40000.00", "17250.50"], 350, (7, 17)))
    with clock.at(t.day(DAYS_SINCE_START - 3)):
        plans.submit_plan(as_("ngo3"), plan3.id)
    demo_closing(t, as_, allocations[3])  # ngo1's second allocation: a closing waiting for monitoring
    return {"plans": 2, "agreements": 1}


FIRST_NAMES = ["Ana María", "José Luis", "Karla Beatriz", "Mario Ernesto", "Daniela", "Kevin Alexander",
               "Gabriela", "Josué David", "Fátima Guadalupe", "Bryan Steven", "Andrea Sofía", "Luis Fernando"]
LAST_NAMES = ["López Hernández", "Martínez Rivas", "García Flores", "Rodríguez Pérez", "Hernández Cruz",
              "Ramírez Aguilar", "Mejía Portillo", "Castillo Orellana", "Romero Menjívar", "Guardado Sánchez"]


def _demo_list(enrolled_on: date) -> bytes:
    """24 young people of Santa Ana Centro, 10 to 24 years old when enrolled: adults with their DUI,
    minors with a birth certificate."""
    from grants.validation.identity import dui_check_digit

    lines = ["Tipo de documento,Número de documento,Nombres,Apellidos,Fecha de nacimiento,Sexo,Municipio,"
             "Fecha de inscripción"]
    for n in range(24):
        year = enrolled_on.year - 24 + n % 14
        born = date(year, 1 + n % 12, 1 + n % 27)
        birth = formats.day(born)
        sex = "F" if n % 2 == 0 else "M"
        age = enrolled_on.year - born.year - ((enrolled_on.month, enrolled_on.day) < (born.month, born.day))
        if age >= 18:
            digits = f"{4_800_000 + n * 7919:08d}"
            document = ("DUI", f"{digits}-{dui_check_digit(digits)}")
        else:
            document = ("Partida de nacimiento", f"PN-0215-{year}-{1000 + n}")
        lines.append(f"{document[0]},{document[1]},{FIRST_NAMES[n % 12]},{LAST_NAMES[n % 10]},{birth},{sex},"
                     f"Santa Ana Centro,{formats.day(enrolled_on)}")
    return ("\n".join(lines) + "\n").encode("utf-8")


def _demo_beneficiaries(t: Timeline, ngo: Actor, monitoring: Actor, agreement_id: int) -> None:
    """ngo2's list (enrolled on day 29), confirmed and validated; the first 20 people active since then."""
    from sqlalchemy import select

    from grants.extensions import db
    from grants.models import Enrollment
    from grants.services import beneficiary_imports, enrollments

    enrolled_on = t.day(29)
    with clock.at(enrolled_on, hour=9):
        batch = beneficiary_imports.import_file(ngo, agreement_id, f"inscripcion-{enrolled_on:%Y-%m}.csv",
                                                _demo_list(enrolled_on))
        beneficiary_imports.confirm_batch(ngo, batch.id)
    with clock.at(enrolled_on, hour=15):
        beneficiary_imports.validate_batch(monitoring, batch.id, effective=enrolled_on)
        people = db.session.scalars(select(Enrollment).where(Enrollment.batch_id == batch.id)
                                    .order_by(Enrollment.id)).all()
        for enrollment in people[:20]:
            since = max(enrolled_on, enrollment.periods[-1].valid_from)
            enrollments.change_status(ngo, enrollment.id, "active", since, "Inicia talleres")


def _demo_follow_up(t: Timeline, as_, agreement) -> None:
    """The administrator's report for the first two months of activities, and one liquidation-check
    run by the auditor today (the first advance's statement was due on day 132: a finding waits on
    the auditor's page)."""
    from grants.services import audit_checks, followup

    version = agreement.plan_version
    with clock.at(t.day(95)):
        followup.create_report(as_("administrator"), agreement.id, {
            "period_start": t.iso(28), "period_end": t.iso(88),
            "activities": [{"activity_id": a.id, "progress": "35.00" if n == 0 else "20.00",
                            "notes": "Sesiones semanales en dos colonias." if n == 0 else "Atención a 12 familias."}
                           for n, a in enumerate(sorted(version.activities, key=lambda a: a.position))],
            "indicators": [{"indicator_id": i.id, "value": "96" if n == 0 else "78"}
                           for n, i in enumerate(sorted(version.indicators, key=lambda i: i.position))],
            "observations": "Asistencia estable; falta completar la lista del segundo mes con dos participantes "
                            "nuevos."})
    # An incident: a sanction (written warning) proposed on day 120; the NGO replied two days later with
    # its proof, and the administrator has yet to decide whether it applies.
    from grants.services import due_process, incidents
    from grants.services.demo_scan import demo_document

    with clock.at(t.day(120)):
        incident = incidents.record_incident(as_("administrator"), agreement.id, {
            "occurred_on": t.iso(118), "severity": "medium",
            "description": "El informe mensual de asistencia del tercer mes se entregó 12 días tarde y sin firmas.",
            "measure": "sanction", "sanction_type": "written_warning",
            "measure_detail": "Amonestación escrita; reincidir dará lugar a una multa."})
    with clock.at(t.day(122)):
        due_process.reply_to_incident(as_("ngo2"), incident.id,
                                      "El retraso se debió a la reposición de la coordinadora técnica; adjuntamos "
                                      "las listas firmadas y el acuse de recepción del informe.",
                                      [("listas-firmadas.pdf", demo_document("Listas de asistencia firmadas"))])
    audit_checks.run_checks(as_("auditor"), fiscal_year=t.fiscal_year)


def ngo3_timeline() -> Timeline:
    """ngo3's program, waiting for review, starts in two weeks: in the fiscal year of its start (when that
    is the next year, its allocation is of the next year's decree)."""
    return Timeline(clock.today() + timedelta(days=14))


def demo_accounts() -> list[tuple[str, list[str]]]:
    return [(f"{local}@{DOMAIN}", roles) for local, _, roles, _ in USERS]


def load_demo(actor: Actor) -> dict:
    """Everything of the demo, on the calendar of the day it is loaded (see the module's docstring)."""
    t, t3 = Timeline.of_today(), ngo3_timeline()  # (before any clock.at: they count from the real today)
    with clock.at(t.day(-40)):
        orgs = [create_organization(actor, data) for data in ORGANIZATIONS]
        allocations = []
        for n, (index, decree, line, amount, purpose) in enumerate(ALLOCATIONS):
            year = t.fiscal_year
            if n == 2 and t3.start.year != year:  # ngo3's program starts next year: next year's decree
                year, decree = t3.start.year, "D.L. N.º 1102"
            allocations.append(create_allocation(actor, {
                "decree_number": decree, "fiscal_year": year, "budget_line_code": f"{year}-{line}",
                "organization_id": orgs[index].id, "amount": amount, "purpose": purpose,
            }))
        password = current_app.config["DEMO_PASSWORD"]
        users = {}
        for local, name, roles, org_index in USERS:
            users[local] = create_user(actor, {
                "email": f"{local}@{DOMAIN}", "full_name": name, "roles": roles, "password": password,
                "organization_id": orgs[org_index].id if org_index is not None else None,
            })
    made = _demo_plans(t, orgs, allocations, users)
    return {"organizations": len(orgs), "allocations": len(ALLOCATIONS), "users": len(USERS), **made}
