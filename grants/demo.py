"""A realistic demo: three NGOs working in violence prevention, 2026 allocations, one user per role.

Every record goes through the same services as real data (validation and audit included).
"""
from __future__ import annotations

from flask import current_app

from grants.audit import Actor
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
    # (organization index, decree, budget line, amount, purpose)
    (0, "D.L. N.º 1045", "2026-0700-3-02-01-21-1-56304", "185000.00",
     "Prevención de la violencia juvenil mediante formación vocacional y tutorías escolares "
     "en San Salvador Centro."),
    (1, "D.L. N.º 1045", "2026-0700-3-02-01-21-1-56304", "142500.00",
     "Espacios comunitarios seguros y mediación de conflictos en Santa Ana Centro."),
    (2, "D.L. N.º 1046", "2026-0700-3-02-01-21-1-56304", "97250.50",
     "Escuelas deportivas y artísticas para la niñez y adolescencia en San Miguel."),
    (0, "D.L. N.º 1046", "2026-0700-3-02-02-21-1-56304", "38000.00",
     "Atención psicosocial a familias de jóvenes en riesgo."),
]

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


def demo_accounts() -> list[tuple[str, list[str]]]:
    return [(f"{local}@{DOMAIN}", roles) for local, _, roles, _ in USERS]


def load_demo(actor: Actor) -> dict:
    orgs = [create_organization(actor, data) for data in ORGANIZATIONS]
    for index, decree, line, amount, purpose in ALLOCATIONS:
        create_allocation(actor, {
            "decree_number": decree, "fiscal_year": 2026, "budget_line_code": line,
            "organization_id": orgs[index].id, "amount": amount, "purpose": purpose,
        })
    password = current_app.config["DEMO_PASSWORD"]
    for local, name, roles, org_index in USERS:
        create_user(actor, {
            "email": f"{local}@{DOMAIN}", "full_name": name, "roles": roles, "password": password,
            "organization_id": orgs[org_index].id if org_index is not None else None,
        })
    return {"organizations": len(orgs), "allocations": len(ALLOCATIONS), "users": len(USERS)}
