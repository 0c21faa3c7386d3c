"""Small builders that go through the real services (validation and audit included)."""
from __future__ import annotations

import itertools

from grants.audit import Actor
from grants.extensions import db
from grants.services.allocations import create_allocation
from grants.services.organizations import create_organization
from grants.services.users import create_user
from grants.validation.identity import dui_check_digit, nit_check_digit

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
        "fiscal_year": 2026,
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
