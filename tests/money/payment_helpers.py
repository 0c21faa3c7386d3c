"""Shared builders for the money tests: an agreement in execution with a validated supplier,
treasury users, enrollments with a known status history, and invoices through the real services.

``payments_setup()`` returns a dict (reuse it, add keys as needed):

* ``agreement``, ``organization``, ``ngo``, ``administrator``, ``legal``, ``financial``, ``monitoring``
  (from ``tests.agreement_helpers.agreement_in_execution``: budget lines 1: 60,000.00,
  2: 25,000.50, 3: 14,999.50; term 2026-02-01 … 2026-11-30 on the reference calendar);
* ``treasury``, ``treasury2``, ``treasury3``: three treasury officers;
* ``supplier``: a validated supplier of the agreement (NIT ``0614-050707-104-8``);
* ``people`` (with ``beneficiaries=True``): enrollments by name, with this history, so that an
  invoice for March 2026 (``MARCH``) has one unit of each kind. Every date here is on the reference
  calendar (a 2026 term seen on 20/11/2026) moved to the test day (``tests/timeline.py``): "March"
  is the month-long period ``day("2026-03-01")`` … ``day("2026-03-31")``.

  ========== ======================================================================
  ``active``     validated 10/02, active from 15/02 on (active all March)
  ``inactive``   validated 10/02, active 15/02, inactive from 10/03 (partly active)
  ``late``       validated 10/02, active from 05/03 (partly active)
  ``never``      validated 10/02, never active (not active in March)
  ``withdrawn``  validated 10/02, active 15/02, withdrawn 28/02 (not active in March)
  ========== ======================================================================
"""
from __future__ import annotations

import itertools
from datetime import date

from sqlalchemy import select

from grants import clock
from grants.audit import Actor
from grants.extensions import db
from grants.models import Enrollment
from grants.services import beneficiary_imports, enrollments, invoices, payments, suppliers
from tests.agreement_helpers import agreement_in_execution
from tests.factories import make_user, valid_dui
from tests.timeline import day, iso, years_before

SUPPLIER_NIT = "0614-050707-104-8"
OTHER_NIT = "0614-010180-001-2"
MARCH = (day("2026-03-01"), day("2026-03-31"))
HEADER = "Tipo de documento,DUI,Nombres,Apellidos,Fecha de nacimiento,Sexo,Municipio,Fecha de inscripción"
HISTORY = {
    "active": [("active", day("2026-02-15"))],
    "inactive": [("active", day("2026-02-15")), ("inactive", day("2026-03-10"))],
    "late": [("active", day("2026-03-05"))],
    "never": [],
    "withdrawn": [("active", day("2026-02-15")), ("withdrawn", day("2026-02-28"))],
}
_dui = itertools.count(30_000_000)
_invoice_number = itertools.count(1)


def act(user) -> Actor:
    return Actor.for_user(user)


def supplier_data(**overrides) -> dict:
    data = {"tax_id": SUPPLIER_NIT, "nrc": "123456-7", "legal_name": "Capacitaciones El Roble, S.A. de C.V.",
            "address": "Av. Los Próceres 25, San Salvador", "phone": "2260-1234", "bank_name": "Banco Agrícola",
            "bank_account": "0011-22-333333",
            "items": [{"description": "Curso de carpintería por participante", "unit": "participante",
                       "unit_price": "120.00"}]}
    data.update(overrides)
    return data


def validated_supplier(ctx: dict, **overrides):
    supplier = suppliers.propose_supplier(act(ctx["ngo"]), ctx["agreement"].id, supplier_data(**overrides))
    suppliers.validate_supplier(act(ctx["financial"]), supplier.id)
    db.session.commit()
    return supplier


def enroll(ctx: dict, names, enrolled_on: date = day("2026-02-01"), validated_on: date = day("2026-02-10")) -> dict:
    """Enroll one person per name through the real import, uploaded and validated by monitoring on
    ``validated_on`` (replayed on that day); each person is 20 on ``enrolled_on`` (the factory plan
    takes 14 to 29)."""
    names = list(names)
    born = years_before(enrolled_on, 20).strftime("%d/%m/%Y")
    rows = [f"DUI,{valid_dui(next(_dui))},{name.capitalize()},Prueba {name},{born},F,San Salvador Centro,"
            f"{enrolled_on.isoformat()}" for name in names]
    with clock.at(validated_on):
        batch = beneficiary_imports.import_file(act(ctx["ngo"]), ctx["agreement"].id, "lista.csv",
                                                (HEADER + "\n" + "\n".join(rows) + "\n").encode(), "enrollment")
        assert batch.rows_error == 0, batch.rows_error
        beneficiary_imports.confirm_batch(act(ctx["ngo"]), batch.id)
        beneficiary_imports.validate_batch(act(ctx["monitoring"]), batch.id, effective=validated_on)
    found = db.session.scalars(select(Enrollment).where(Enrollment.batch_id == batch.id)
                               .order_by(Enrollment.id)).all()
    db.session.commit()
    return dict(zip(names, found))


def set_history(ctx: dict, enrollment, history) -> None:
    for status, since in history:
        enrollments.change_status(act(ctx["ngo"]), enrollment.id, status, since, "cambio de prueba")
    db.session.commit()


def payments_setup(beneficiaries: bool = True, **agreement_options) -> dict:
    ctx = agreement_in_execution(**agreement_options)
    ctx["treasury"], ctx["treasury2"], ctx["treasury3"] = (make_user(["treasury"]) for _ in range(3))
    ctx["supplier"] = validated_supplier(ctx)
    if beneficiaries:
        ctx["people"] = enroll(ctx, HISTORY)
        for name, history in HISTORY.items():
            set_history(ctx, ctx["people"][name], history)
    return ctx


def line(budget_line: int = 1, quantity="1", unit_price="100.00", description="Servicio", **extra) -> dict:
    return {"budget_line": budget_line, "description": description, "quantity": quantity, "unit_price": unit_price,
            **extra}


def beneficiary_line(ctx: dict, names, unit_price="120.00", budget_line: int = 1) -> dict:
    return {"budget_line": budget_line, "description": "Curso de carpintería por participante",
            "quantity": str(len(names)), "unit_price": unit_price, "per_beneficiary": True,
            "enrollment_ids": [ctx["people"][n].id for n in names]}


def invoice_data(ctx: dict, lines=None, period=MARCH, **overrides) -> dict:
    data = {"supplier_id": ctx["supplier"].id, "number": f"F-{next(_invoice_number):05d}",
            "issue_date": iso("2026-04-02"), "period_start": period[0].isoformat(), "period_end": period[1].isoformat(),
            "lines": lines if lines is not None else [line()]}
    data.update(overrides)
    return data


def register(ctx: dict, lines=None, **overrides):
    invoice = invoices.register_invoice(act(ctx["ngo"]), ctx["agreement"].id, invoice_data(ctx, lines, **overrides))
    db.session.commit()
    return invoice


def certified(ctx: dict, lines=None, conforming: bool = True, differences=None, **overrides):
    invoice = register(ctx, lines, **overrides)
    invoices.certify_receipt(act(ctx["administrator"]), invoice.id,
                             {"received_on": iso("2026-04-03"), "conforming": conforming, "differences": differences})
    db.session.commit()
    return invoice


def prepared(ctx: dict, lines=None, by: str = "treasury", **overrides):
    payment = payments.prepare_payment(act(ctx[by]), certified(ctx, lines, **overrides).id)
    db.session.commit()
    return payment


def authorized(ctx: dict, lines=None, **overrides):
    payment = prepared(ctx, lines, **overrides)
    payments.authorize_payment(act(ctx["treasury2"]), payment.id)
    if payment.required_authorizations == 2:
        payments.authorize_payment(act(ctx["treasury3"]), payment.id)
    db.session.commit()
    return payment


def executed(ctx: dict, lines=None, reference: str = "TRF-0001", **overrides):
    payment = authorized(ctx, lines, **overrides)
    payments.execute_payment(act(ctx["treasury"]), payment.id, reference, invoices.today())
    db.session.commit()
    return payment
