"""Small builders that go through the real services (validation and audit included)."""
from __future__ import annotations

import itertools

from grants import clock
from grants.audit import Actor
from grants.extensions import db
from grants.services.allocations import create_allocation
from grants.services.organizations import create_organization
from grants.services.users import create_user
from grants.validation.identity import dui_check_digit, nit_check_digit
from tests.timeline import iso, year

PASSWORD = "correct-horse-2026"
_seq = itertools.count(1)
SYSTEM = Actor.system("tests")


def valid_dui(n: int) -> str:
    digits = f"{n:08d}"
    return f"{digits}-{dui_check_digit(digits)}"


def valid_nit(n: int) -> str:
    first13 = f"0614010190{n % 1000:03d}"
    return f"{first13[:4]}-{first13[4:10]}-{first13[10:]}-{nit_check_digit(first13)}"


def organization_data(**overrides) -> dict:
    n = next(_seq)
    data = {
        "legal_name": f"Fundación de Prueba {n}",
        "nit": valid_nit(n),
        "registry_number": f"ASFL-TEST-{n:04d}",
        "legal_rep_name": "Representante de Prueba",
        "legal_rep_dui": valid_dui(1000 + n),
        "address": "Calle de Prueba 1",
        "municipality_code": "0623",
        "bank_name": "Banco de Prueba",
        "bank_account": f"000-{n:06d}",
        "phones": ["2222-3333"],
        "board_members": [{"name": "Miembro Uno", "dui": valid_dui(2000 + n), "position": "Presidente"}],
    }
    data.update(overrides)
    return data


def make_organization(**overrides):
    org = create_organization(SYSTEM, organization_data(**overrides))
    db.session.commit()
    return org


def make_allocation(org, **overrides):
    data = {
        "decree_number": f"D.L. N.º {next(_seq)}",
        "fiscal_year": year(),
        "budget_line_code": "2026-0700-3-02-01-21-1-56304",
        "organization_id": org.id,
        "amount": "100000.00",
        "purpose": "Prevención de la violencia.",
    }
    data.update(overrides)
    allocation = create_allocation(SYSTEM, data)
    db.session.commit()
    return allocation


def make_user(roles=("admin",), organization=None, password=PASSWORD, **overrides):
    n = next(_seq)
    data = {
        "email": f"user{n}@test.example.org",
        "full_name": f"Usuario {n}",
        "roles": list(roles),
        "organization_id": organization.id if organization is not None else None,
        "password": password,
    }
    data.update(overrides)
    user = create_user(SYSTEM, data)
    db.session.commit()
    return user


def plan_content(**overrides) -> dict:
    """A complete, valid work plan for an allocation of ``year()`` of at least $100,000 (the reference
    calendar's 2026 term, 01/02–30/11, moved to the test day: see tests/timeline.py)."""
    data = {
        "start_date": iso("2026-02-01"),
        "end_date": iso("2026-11-30"),
        "justification": "Altos índices de violencia juvenil en el municipio.",
        "objectives": "Reducir la participación de jóvenes en pandillas mediante formación.",
        "ministry_alignment": "Plan de prevención del MJSP, eje 2: juventud.",
        "monitoring": "Visitas mensuales e informes trimestrales.",
        "internal_controls": "Doble firma en cheques; inventario de bienes.",
        "territory": ["0623", "0622"],
        "beneficiaries": {"target": 300, "age_min": 14, "age_max": 29, "profile": "Jóvenes en riesgo"},
        "activities": [
            {"name": "Talleres vocacionales", "description": "Carpintería y panadería", "responsible": "Coordinadora",
             "start_date": iso("2026-04-01"), "end_date": iso("2026-06-30"), "municipality_codes": ["0623"]},
            {"name": "Tutorías escolares", "description": "Refuerzo escolar", "responsible": "Tutor",
             "start_date": iso("2026-03-01"), "end_date": iso("2026-10-31"), "municipality_codes": ["0622"]},
        ],
        "budget_lines": [
            {"category": "Servicios", "description": "Instructores", "amount": "60000.00"},
            {"category": "Materiales", "description": "Insumos de talleres", "amount": "25000.50"},
            {"category": "Alimentación", "description": "Refrigerios", "amount": "14999.50"},
        ],
        "indicators": [
            {"expected_result": "Jóvenes formados", "name": "Jóvenes que terminan un taller", "unit": "personas",
             "baseline": "0", "target": "250", "means_of_verification": "Listas de asistencia"},
        ],
        "tranches": [
            {"planned_date": iso("2026-02-15"), "amount": "40000.00", "budget_lines": [1, 2]},
            {"planned_date": iso("2026-06-15"), "amount": "40000.00", "budget_lines": [1, 2, 3]},
            {"planned_date": iso("2026-09-15"), "amount": "20000.00", "budget_lines": [1, 3]},
        ],
    }
    data.update(overrides)
    return data


def make_agreement_in_execution(org=None, *, status="in_execution", **org_overrides):
    """An approved plan → a signed agreement with an administrator, started (or left ``signed``).

    Returns ``{"org", "agreement", "ngo", "legal", "financial", "monitoring", "administrator"}``;
    the reviewers of the plan are new users each time.
    """
    from grants.services import agreements, plans
    from tests.pdfs import tiny_pdf

    org = org or make_organization(**org_overrides)
    allocation = make_allocation(org, amount="100000.00")
    people = {
        "org": org, "ngo": make_user(["ngo"], organization=org),
        "legal": make_user(["legal_reviewer"]), "financial": make_user(["financial_reviewer"]),
        "monitoring": make_user(["monitoring_reviewer"]), "administrator": make_user(["administrator"]),
    }

    def act(user):
        return Actor.for_user(user)

    plan = plans.create_plan(act(people["ngo"]), allocation.id, "Plan con proveedores", plan_content())
    plans.submit_plan(act(people["ngo"]), plan.id)
    for discipline in ("legal", "financial", "monitoring"):
        plans.record_review(act(people[discipline]), plan.id, 1, discipline, "approve", [])
    agreement = agreements.create_agreement(act(people["legal"]), plan.id, {
        "ministry_signatory_name": "M", "ministry_signatory_title": "T",
        "ngo_signatory_name": "N", "ngo_signatory_title": "R"})
    agreements.sign_agreement(act(people["legal"]), agreement.id, min(clock.today(), agreement.end_date), tiny_pdf())
    agreements.designate_administrator(act(people["legal"]), agreement.id, people["administrator"].id)
    if status == "in_execution":
        agreements.start_execution(act(people["legal"]), agreement.id)
    db.session.commit()
    people["agreement"] = agreement
    return people
