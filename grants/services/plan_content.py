"""A plan version's content as plain data: parse it from input, write it to a version, read it
back, and compare two versions section by section."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import lazy_gettext as _l
from sqlalchemy import inspect

from grants.extensions import db
from grants.models import PlanActivity, PlanBudgetLine, PlanIndicator, PlanTranche, PlanVersion
from grants.domain_errors import FieldErrors
from grants.money import format_amount, parse_amount

QUARTERS = {"T1": (1, 3), "T2": (4, 6), "T3": (7, 9), "T4": (10, 12)}
TEXT_FIELDS = ("justification", "objectives", "ministry_alignment", "monitoring", "internal_controls")


def _date(value, field: str, errors: FieldErrors):
    if value in (None, ""):
        return None
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value).strip())
    except ValueError:
        errors.add(field, _l("Fecha no válida: use AAAA-MM-DD."))
        return None


def _amount(value, field: str, errors: FieldErrors):
    if value in (None, ""):
        return None
    try:
        return parse_amount(value)
    except ValueError:
        errors.add(field, _l("Monto no válido: use dos decimales como máximo."))
        return None


def _int(value, field: str, errors: FieldErrors, default=None):
    if value in (None, ""):
        return default
    try:
        number = int(str(value).strip())
        if number < 0 or number > 10_000_000:
            raise ValueError
        return number
    except (TypeError, ValueError):
        errors.add(field, _l("Debe ser un número entero."))
        return default


def _text(value) -> str:
    return str(value or "").strip()


def quarter_dates(quarter: str, fiscal_year: int) -> tuple[date, date]:
    first, last = QUARTERS[quarter]
    end = date(fiscal_year, last, 31 if last in (3, 12) else 30)
    return date(fiscal_year, first, 1), end


def parse_content(raw: dict, fiscal_year: int, errors: FieldErrors) -> dict:
    """Typed content from API or form input; type problems go to ``errors`` by field path."""
    raw = raw or {}
    content: dict = {name: _text(raw.get(name)) for name in TEXT_FIELDS}
    content["start_date"] = _date(raw.get("start_date"), "start_date", errors)
    content["end_date"] = _date(raw.get("end_date"), "end_date", errors)
    content["territory"] = list(dict.fromkeys(_text(c) for c in raw.get("territory") or [] if _text(c)))
    ben = raw.get("beneficiaries") or {}
    content["beneficiaries"] = {
        "target": _int(ben.get("target"), "beneficiaries.target", errors, 0),
        "age_min": _int(ben.get("age_min"), "beneficiaries.age_min", errors, 0),
        "age_max": _int(ben.get("age_max"), "beneficiaries.age_max", errors, 120),
        "profile": _text(ben.get("profile")),
    }
    activities = []
    for i, item in enumerate(raw.get("activities") or []):
        quarter = _text(item.get("quarter")).upper()
        if quarter:
            if quarter not in QUARTERS:
                errors.add(f"activities.{i}.quarter", _l("Trimestre no válido: T1, T2, T3 o T4."))
                start = end = None
            else:
                start, end = quarter_dates(quarter, fiscal_year)
        else:
            start = _date(item.get("start_date"), f"activities.{i}.start_date", errors)
            end = _date(item.get("end_date"), f"activities.{i}.end_date", errors)
        activities.append({
            "name": _text(item.get("name")), "description": _text(item.get("description")),
            "responsible": _text(item.get("responsible")), "start_date": start, "end_date": end,
            "municipality_codes": list(dict.fromkeys(
                _text(c) for c in item.get("municipality_codes") or [] if _text(c))),
        })
    content["activities"] = activities
    content["budget_lines"] = [
        {"category": _text(item.get("category")), "description": _text(item.get("description")),
         "amount": _amount(item.get("amount"), f"budget_lines.{i}.amount", errors)}
        for i, item in enumerate(raw.get("budget_lines") or [])
    ]
    content["indicators"] = [
        {"expected_result": _text(item.get("expected_result")), "name": _text(item.get("name")),
         "unit": _text(item.get("unit")),
         "baseline": _amount(item.get("baseline"), f"indicators.{i}.baseline", errors),
         "target": _amount(item.get("target"), f"indicators.{i}.target", errors),
         "means_of_verification": _text(item.get("means_of_verification"))}
        for i, item in enumerate(raw.get("indicators") or [])
    ]
    tranches = []
    for i, item in enumerate(raw.get("tranches") or []):
        numbers = []
        for n in item.get("budget_lines") or []:
            number = _int(n, f"tranches.{i}.budget_lines", errors)
            if number is not None and number not in numbers:
                numbers.append(number)
        tranches.append({
            "planned_date": _date(item.get("planned_date"), f"tranches.{i}.planned_date", errors),
            "amount": _amount(item.get("amount"), f"tranches.{i}.amount", errors),
            "budget_lines": sorted(numbers),
        })
    content["tranches"] = tranches
    return content


def write_content(version: PlanVersion, content: dict) -> None:
    """Replace a draft version's content (the database refuses this once it is submitted)."""
    if inspect(version).persistent:
        # old rows go first: the new ones reuse their (version, number) keys
        for collection in (version.activities, version.budget_lines, version.indicators, version.tranches):
            collection.clear()
        db.session.flush()
    for name in TEXT_FIELDS:
        setattr(version, name, content[name])
    version.start_date, version.end_date = content["start_date"], content["end_date"]
    version.territory = list(content["territory"])
    ben = content["beneficiaries"]
    version.beneficiaries_target, version.beneficiaries_age_min = ben["target"], ben["age_min"]
    version.beneficiaries_age_max, version.beneficiaries_profile = ben["age_max"], ben["profile"]
    version.activities = [PlanActivity(position=i, **a) for i, a in enumerate(content["activities"])]
    version.budget_lines = [PlanBudgetLine(number=i + 1, **b) for i, b in enumerate(content["budget_lines"])]
    version.indicators = [PlanIndicator(position=i, **x) for i, x in enumerate(content["indicators"])]
    version.tranches = [
        PlanTranche(number=i + 1, planned_date=t["planned_date"], amount=t["amount"],
                    budget_line_numbers=list(t["budget_lines"]))
        for i, t in enumerate(content["tranches"])
    ]
    version.budget_total = sum((b["amount"] for b in content["budget_lines"]), Decimal("0.00"))


def read_content(version: PlanVersion) -> dict:
    """The version's content in the same shape ``parse_content`` produces."""
    return {
        **{name: getattr(version, name) for name in TEXT_FIELDS},
        "start_date": version.start_date, "end_date": version.end_date,
        "territory": list(version.territory or []),
        "beneficiaries": {"target": version.beneficiaries_target, "age_min": version.beneficiaries_age_min,
                          "age_max": version.beneficiaries_age_max, "profile": version.beneficiaries_profile},
        "activities": [
            {"name": a.name, "description": a.description, "responsible": a.responsible,
             "start_date": a.start_date, "end_date": a.end_date,
             "municipality_codes": list(a.municipality_codes or [])} for a in version.activities],
        "budget_lines": [{"category": b.category, "description": b.description, "amount": b.amount}
                         for b in version.budget_lines],
        "indicators": [
            {"expected_result": x.expected_result, "name": x.name, "unit": x.unit, "baseline": x.baseline,
             "target": x.target, "means_of_verification": x.means_of_verification} for x in version.indicators],
        "tranches": [{"planned_date": t.planned_date, "amount": t.amount,
                      "budget_lines": list(t.budget_line_numbers or [])} for t in version.tranches],
    }


# Section → the content keys it covers (reviewers' observations use the same section names).
SECTION_KEYS = {
    "general": ("start_date", "end_date"),
    "justification": ("justification",),
    "objectives": ("objectives",),
    "ministry_alignment": ("ministry_alignment",),
    "activities": ("activities",),
    "budget": ("budget_lines",),
    "indicators": ("indicators",),
    "territory": ("territory",),
    "beneficiaries": ("beneficiaries",),
    "monitoring": ("monitoring",),
    "internal_controls": ("internal_controls",),
    "financial_programming": ("tranches",),
}


def _plain(value):
    if isinstance(value, Decimal):
        return format_amount(value)
    if isinstance(value, date):
        return value.isoformat()
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value


def diff_versions(old: dict | None, new: dict) -> list[dict]:
    """Per section: changed or not, with the before and after values (plain JSON)."""
    result = []
    for section, keys in SECTION_KEYS.items():
        before = {k: _plain(old[k]) for k in keys} if old is not None else None
        after = {k: _plain(new[k]) for k in keys}
        result.append({"section": section, "changed": before != after, "before": before, "after": after})
    return result
