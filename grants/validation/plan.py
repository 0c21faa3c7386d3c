"""Checks of a work-plan version's content, with field paths and Spanish messages.

``check_content`` returns every problem at once (validate first, then write). ``strict``
adds what is needed to submit: complete sections and tranches adding up to the budget.
Content is plain data (see ``grants.services.plan_content.parse_content``).
"""
from __future__ import annotations

from calendar import monthrange
from datetime import date, timedelta
from decimal import Decimal

from flask_babel import lazy_gettext as _l

from grants.domain_errors import FieldErrors
from grants import formats
from grants.money import format_amount
from grants.validation.territory import municipalities

NARRATIVE = ("justification", "objectives", "ministry_alignment", "monitoring", "internal_controls")

# Column sizes of grants.models.plan: longer text is refused here, not by the database.
MAX_LENGTHS = {
    "activities": {"name": 200, "responsible": 160},
    "budget_lines": {"category": 120},
    "indicators": {"name": 200, "unit": 60},
}
MAX_TEXT = 20000


def _check_lengths(content: dict, errors: FieldErrors) -> None:
    for section, limits in MAX_LENGTHS.items():
        for i, row in enumerate(content.get(section, [])):
            for field, limit in limits.items():
                if len(row.get(field) or "") > limit:
                    errors.add(f"{section}.{i}.{field}", _l("Máximo %(n)s caracteres.", n=limit))
    for field in NARRATIVE:
        if len(content.get(field) or "") > MAX_TEXT:
            errors.add(field, _l("Máximo %(n)s caracteres.", n=MAX_TEXT))


# A program funded by one fiscal year's decree starts in that year and may run into the next one
# (an agreement signed in September does not stop on 31 December), for at most twelve months.
MAX_TERM_MONTHS = 12


def last_day_of_term(start: date) -> date:
    """The last day a term starting on ``start`` may reach: twelve months later, minus one day."""
    years, month0 = divmod(start.month - 1 + MAX_TERM_MONTHS, 12)
    year, month = start.year + years, month0 + 1
    return date(year, month, min(start.day, monthrange(year, month)[1])) - timedelta(days=1)


def _inside(day: date | None, start: date, end: date) -> bool:
    return day is not None and start <= day <= end


def check_content(content: dict, fiscal_year: int, allocation_amount: Decimal, *, strict: bool) -> FieldErrors:
    errors = FieldErrors()
    _check_lengths(content, errors)
    start, end = content.get("start_date"), content.get("end_date")
    if not _inside(start, date(fiscal_year, 1, 1), date(fiscal_year, 12, 31)):
        errors.add("start_date", _l("El plazo debe iniciar dentro del año fiscal %(year)s.", year=fiscal_year))
    if end is None:
        errors.add("end_date", _l("Este campo es obligatorio."))
    elif start and end < start:
        errors.add("end_date", _l("La fecha final es anterior a la inicial."))
    elif start and end > last_day_of_term(start):
        errors.add("end_date", _l("El plazo dura como máximo %(months)s meses (hasta el %(day)s).",
                                  months=MAX_TERM_MONTHS, day=formats.day(last_day_of_term(start))))
    term_ok = not errors.errors.get("start_date") and not errors.errors.get("end_date")

    known = municipalities()
    for i, code in enumerate(content.get("territory", [])):
        if code not in known:
            errors.add(f"territory.{i}", _l("El municipio %(code)s no existe.", code=code))

    for i, activity in enumerate(content.get("activities", [])):
        for field in ("name", "responsible"):
            if not activity.get(field):
                errors.add(f"activities.{i}.{field}", _l("Este campo es obligatorio."))
        a_start, a_end = activity.get("start_date"), activity.get("end_date")
        if a_start is None or a_end is None:
            errors.add(f"activities.{i}.start_date", _l("Indique las fechas o el trimestre (T1–T4)."))
        elif a_end < a_start:
            errors.add(f"activities.{i}.end_date", _l("La fecha final es anterior a la inicial."))
        elif term_ok and not (start <= a_start and a_end <= end):
            errors.add(f"activities.{i}.start_date", _l("La actividad debe estar dentro del plazo del plan."))
        for j, code in enumerate(activity.get("municipality_codes", [])):
            if code not in known:
                errors.add(f"activities.{i}.municipality_codes.{j}", _l("El municipio %(code)s no existe.", code=code))
            elif content.get("territory") and code not in content["territory"]:
                errors.add(f"activities.{i}.municipality_codes.{j}",
                           _l("El municipio %(code)s no está en el territorio del plan.", code=code))

    budget_total = Decimal("0.00")
    for i, line in enumerate(content.get("budget_lines", [])):
        for field in ("category", "description"):
            if not line.get(field):
                errors.add(f"budget_lines.{i}.{field}", _l("Este campo es obligatorio."))
        amount = line.get("amount")
        if amount is None or amount <= 0:
            errors.add(f"budget_lines.{i}.amount", _l("El monto debe ser mayor que cero."))
        else:
            budget_total += amount
    if budget_total > allocation_amount:
        errors.add("budget_lines", _l(
            "El presupuesto suma %(total)s y supera la asignación de %(allocation)s.",
            total=format_amount(budget_total), allocation=format_amount(allocation_amount)))

    for i, indicator in enumerate(content.get("indicators", [])):
        for field in ("expected_result", "name", "unit", "means_of_verification"):
            if not indicator.get(field):
                errors.add(f"indicators.{i}.{field}", _l("Este campo es obligatorio."))
        for field in ("baseline", "target"):
            if indicator.get(field) is None:
                errors.add(f"indicators.{i}.{field}", _l("Todo indicador necesita línea base y meta."))

    line_count = len(content.get("budget_lines", []))
    tranche_total = Decimal("0.00")
    previous = None
    for i, tranche in enumerate(content.get("tranches", [])):
        amount = tranche.get("amount")
        if amount is None or amount <= 0:
            errors.add(f"tranches.{i}.amount", _l("El monto debe ser mayor que cero."))
        else:
            tranche_total += amount
        planned = tranche.get("planned_date")
        if planned is None:
            errors.add(f"tranches.{i}.planned_date", _l("Este campo es obligatorio."))
        elif term_ok and not (start <= planned <= end):
            errors.add(f"tranches.{i}.planned_date", _l("La fecha prevista debe estar dentro del plazo del plan."))
        elif previous is not None and planned < previous:
            errors.add(f"tranches.{i}.planned_date", _l("Los desembolsos deben ir en orden de fecha."))
        previous = planned or previous
        numbers = tranche.get("budget_lines", [])
        if strict and not numbers:
            errors.add(f"tranches.{i}.budget_lines", _l("Indique las líneas presupuestarias que financia."))
        for n in numbers:
            if not 1 <= n <= line_count:
                errors.add(f"tranches.{i}.budget_lines", _l("La línea presupuestaria %(n)s no existe.", n=n))

    target = content.get("beneficiaries", {})
    if target.get("age_min") is not None and target.get("age_max") is not None \
            and target["age_max"] < target["age_min"]:
        errors.add("beneficiaries.age_max", _l("La edad máxima es menor que la mínima."))

    if strict:
        for field in NARRATIVE:
            if not (content.get(field) or "").strip():
                errors.add(field, _l("Complete esta sección antes de enviar el plan."))
        for section in ("activities", "budget_lines", "indicators", "tranches", "territory"):
            if not content.get(section):
                errors.add(section, _l("Agregue al menos un elemento antes de enviar el plan."))
        if not target.get("target"):
            errors.add("beneficiaries.target", _l("Indique el número de beneficiarios esperado."))
        if content.get("tranches") and tranche_total != budget_total:
            errors.add("tranches", _l(
                "Los desembolsos suman %(tranches)s y el presupuesto %(budget)s: deben ser iguales.",
                tranches=format_amount(tranche_total), budget=format_amount(budget_total)))
    return errors
