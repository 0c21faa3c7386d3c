"""Forms of the work-plan pages: the plan editor (general fields and rows of activities, budget
lines, indicators and tranches) and the reviewers' decision form.

The forms only carry what people typed. The content checks live in the services
(``grants.services.plan_content`` / ``grants.validation.plan``); their field paths
(``budget_lines.2.amount``) are put back next to the fields with ``apply_plan_errors``.
"""
from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from functools import cache

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    FieldList,
    Form,
    FormField,
    HiddenField,
    RadioField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
)
from wtforms.validators import InputRequired, Length, Optional

from grants.labels import DECISION_LABELS, SECTION_LABELS
from grants.models import SECTIONS
from grants.money import parse_amount
from grants.services.plan_content import QUARTERS, TEXT_FIELDS, quarter_dates
from grants.validation.territory import find_municipality, municipalities
from grants.web.forms import date_field

TEXT_MAX = 10_000

# Row kind (as the add_/remove_ buttons name it) → the FieldList holding those rows.
ROW_LISTS = {
    "activity": "activities",
    "budget_line": "budget_lines",
    "indicator": "indicators",
    "tranche": "tranches",
}

# Service paths of the beneficiaries block → the flat form fields.
BENEFICIARY_FIELDS = {
    "beneficiaries.target": "beneficiaries_target",
    "beneficiaries.age_min": "beneficiaries_age_min",
    "beneficiaries.age_max": "beneficiaries_age_max",
    "beneficiaries.profile": "beneficiaries_profile",
}

QUARTER_CHOICES = [
    SelectChoice("", "—"),
    SelectChoice("T1", _l("T1 (enero–marzo)")),
    SelectChoice("T2", _l("T2 (abril–junio)")),
    SelectChoice("T3", _l("T3 (julio–septiembre)")),
    SelectChoice("T4", _l("T4 (octubre–diciembre)")),
]


def _amount_field(label, **kwargs):
    return StringField(label, validators=[Optional(), Length(max=20)],
                       render_kw={"inputmode": "decimal"}, **kwargs)


def _blank(*fields) -> bool:
    return not any(str(f.data or "").strip() for f in fields)


def split_list(value: str | None) -> list[str]:
    """``"1, 2; 3"`` → ``["1", "2", "3"]``."""
    return [part.strip() for part in re.split(r"[,;\n]", value or "") if part.strip()]


def municipality_code(token: str) -> str:
    """A code or a name people typed → the code; unknown values pass as typed (the service says so)."""
    found = find_municipality(token)
    return found["code"] if found else token


@cache
def municipality_choices() -> list[SelectChoice]:
    ordered = sorted(municipalities().values(), key=lambda m: (m["department_name"], m["name"]))
    return [SelectChoice(m["code"], f"{m['name']} ({m['code']})", optgroup=m["department_name"])
            for m in ordered]


class ActivityForm(Form):
    name = StringField(_l("Actividad"), validators=[Optional(), Length(max=200)])
    description = TextAreaField(_l("Descripción"), validators=[Optional(), Length(max=TEXT_MAX)])
    responsible = StringField(_l("Responsable"), validators=[Optional(), Length(max=160)])
    quarter = SelectField(_l("Trimestre"), choices=QUARTER_CHOICES, default="", validate_choice=False)
    start_date = date_field(_l("Inicio"))
    end_date = date_field(_l("Fin"))
    municipality_codes = StringField(_l("Municipios"), validators=[Optional(), Length(max=600)],
                                     description=_l("Códigos o nombres, separados por comas: 0623, 0622"))

    def is_blank(self) -> bool:
        return _blank(self.name, self.description, self.responsible, self.quarter, self.start_date,
                      self.end_date, self.municipality_codes)

    def to_content(self) -> dict:
        item = {
            "name": self.name.data, "description": self.description.data, "responsible": self.responsible.data,
            "start_date": self.start_date.data, "end_date": self.end_date.data,
            "municipality_codes": [municipality_code(t) for t in split_list(self.municipality_codes.data)],
        }
        if (self.quarter.data or "").strip():
            item["quarter"] = self.quarter.data
        return item


class BudgetLineForm(Form):
    category = StringField(_l("Categoría"), validators=[Optional(), Length(max=120)])
    description = StringField(_l("Descripción"), validators=[Optional(), Length(max=TEXT_MAX)])
    amount = _amount_field(_l("Monto (US$)"))

    def is_blank(self) -> bool:
        return _blank(self.category, self.description, self.amount)

    def to_content(self) -> dict:
        return {"category": self.category.data, "description": self.description.data, "amount": self.amount.data}


class IndicatorForm(Form):
    expected_result = TextAreaField(_l("Resultado esperado"), validators=[Optional(), Length(max=TEXT_MAX)])
    name = StringField(_l("Indicador"), validators=[Optional(), Length(max=200)])
    unit = StringField(_l("Unidad"), validators=[Optional(), Length(max=60)])
    baseline = _amount_field(_l("Línea base"))
    target = _amount_field(_l("Meta"))
    means_of_verification = TextAreaField(_l("Medio de verificación"), validators=[Optional(), Length(max=TEXT_MAX)])

    def is_blank(self) -> bool:
        return _blank(self.expected_result, self.name, self.unit, self.baseline, self.target,
                      self.means_of_verification)

    def to_content(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "expected_result", "name", "unit", "baseline", "target", "means_of_verification")}


class TrancheForm(Form):
    planned_date = date_field(_l("Fecha prevista"))
    amount = _amount_field(_l("Monto (US$)"))
    budget_lines = StringField(_l("Líneas presupuestarias"), validators=[Optional(), Length(max=200)],
                               description=_l("Números de línea separados por comas: 1, 2"))

    def is_blank(self) -> bool:
        return _blank(self.planned_date, self.amount, self.budget_lines)

    def to_content(self) -> dict:
        return {"planned_date": self.planned_date.data, "amount": self.amount.data,
                "budget_lines": split_list(self.budget_lines.data)}


def _text_area(label, description=None):
    return TextAreaField(label, validators=[Optional(), Length(max=TEXT_MAX)], description=description)


class PlanForm(FlaskForm):
    title = StringField(_l("Título del plan"), validators=[Optional(), Length(max=200)])
    start_date = date_field(_l("Fecha de inicio"))
    end_date = date_field(_l("Fecha de finalización"))
    justification = _text_area(_l("Justificación"), _l("El problema que atiende el plan y por qué."))
    objectives = _text_area(_l("Objetivos"))
    ministry_alignment = _text_area(_l("Vinculación con los objetivos del ministerio"))
    monitoring = _text_area(_l("Mecanismos de seguimiento"))
    internal_controls = _text_area(_l("Controles internos"))
    territory = SelectMultipleField(_l("Municipios donde se ejecuta"), validate_choice=False,
                                    description=_l("Mantenga Ctrl (⌘ en Mac) para elegir varios."))
    beneficiaries_target = StringField(_l("Meta de beneficiarios"), validators=[Optional(), Length(max=9)],
                                       render_kw={"inputmode": "numeric"})
    beneficiaries_age_min = StringField(_l("Edad mínima"), validators=[Optional(), Length(max=3)],
                                        render_kw={"inputmode": "numeric"})
    beneficiaries_age_max = StringField(_l("Edad máxima"), validators=[Optional(), Length(max=3)],
                                        render_kw={"inputmode": "numeric"})
    beneficiaries_profile = _text_area(_l("Perfil de los beneficiarios"))
    activities = FieldList(FormField(ActivityForm), min_entries=1)
    budget_lines = FieldList(FormField(BudgetLineForm), min_entries=1)
    indicators = FieldList(FormField(IndicatorForm), min_entries=1)
    tranches = FieldList(FormField(TrancheForm), min_entries=1)

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.territory.choices = municipality_choices()
        self.list_errors: dict[str, list[str]] = {}

    @staticmethod
    def rows(field) -> list:
        return [entry.form for entry in field if not entry.form.is_blank()]

    def to_content(self) -> dict:
        """The content in the shape the services take (blank rows skipped)."""
        content = {name: getattr(self, name).data or "" for name in TEXT_FIELDS}
        content["start_date"] = self.start_date.data
        content["end_date"] = self.end_date.data
        content["territory"] = [municipality_code(c) for c in self.territory.data or [] if c]
        content["beneficiaries"] = {
            "target": self.beneficiaries_target.data, "age_min": self.beneficiaries_age_min.data,
            "age_max": self.beneficiaries_age_max.data, "profile": self.beneficiaries_profile.data,
        }
        for name in ROW_LISTS.values():
            content[name] = [row.to_content() for row in self.rows(getattr(self, name))]
        return content

    def budget_total(self) -> Decimal:
        """What the budget rows add up to, ignoring amounts that do not parse (for the running total)."""
        return _sum(row.amount.data for row in self.rows(self.budget_lines))

    def tranche_total(self) -> Decimal:
        return _sum(row.amount.data for row in self.rows(self.tranches))

    def apply_row_action(self, formdata) -> bool:
        """``add_activity`` / ``remove_activity-3`` buttons: change the rows, save nothing."""
        for key in formdata:
            if key.startswith("add_") and key[4:] in ROW_LISTS:
                getattr(self, ROW_LISTS[key[4:]]).append_entry()
                return True
            if key.startswith("remove_"):
                kind, _, index = key[7:].rpartition("-")
                if kind in ROW_LISTS and index.isdigit():
                    rows = getattr(self, ROW_LISTS[kind])
                    if int(index) < len(rows.entries):
                        rows.pop_entry(int(index))
                    if not rows.entries:
                        rows.append_entry()
                    return True
        return False


def _sum(values) -> Decimal:
    total = Decimal("0.00")
    for value in values:
        try:
            total += parse_amount(value or "0")
        except ValueError:
            continue
    return total


def _iso(value) -> str:
    return value.isoformat() if isinstance(value, date) else (value or "")


def _amount_text(value) -> str:
    return f"{value:.2f}" if isinstance(value, Decimal) else (value or "")


def _quarter_of(start, end, fiscal_year: int) -> str:
    for quarter in QUARTERS:
        if (start, end) == quarter_dates(quarter, fiscal_year):
            return quarter
    return ""


def form_data(content: dict, title: str, fiscal_year: int) -> dict:
    """A version's content (``read_content``) as the editor's initial data."""
    ben = content["beneficiaries"]
    activities = []
    for a in content["activities"]:
        quarter = _quarter_of(a["start_date"], a["end_date"], fiscal_year)
        activities.append({
            "name": a["name"], "description": a["description"], "responsible": a["responsible"],
            "quarter": quarter, "start_date": "" if quarter else _iso(a["start_date"]),
            "end_date": "" if quarter else _iso(a["end_date"]),
            "municipality_codes": ", ".join(a["municipality_codes"]),
        })
    return {
        "title": title,
        **{name: content[name] for name in TEXT_FIELDS},
        "start_date": _iso(content["start_date"]), "end_date": _iso(content["end_date"]),
        "territory": list(content["territory"]),
        "beneficiaries_target": str(ben["target"] if ben["target"] is not None else ""),
        "beneficiaries_age_min": str(ben["age_min"] if ben["age_min"] is not None else ""),
        "beneficiaries_age_max": str(ben["age_max"] if ben["age_max"] is not None else ""),
        "beneficiaries_profile": ben["profile"],
        "activities": activities,
        "budget_lines": [{"category": b["category"], "description": b["description"],
                          "amount": _amount_text(b["amount"])} for b in content["budget_lines"]],
        "indicators": [{**x, "baseline": _amount_text(x["baseline"]), "target": _amount_text(x["target"])}
                       for x in content["indicators"]],
        "tranches": [{"planned_date": _iso(t["planned_date"]), "amount": _amount_text(t["amount"]),
                      "budget_lines": ", ".join(str(n) for n in t["budget_lines"])} for t in content["tranches"]],
    }


_TOP_LEVEL = ("title", "start_date", "end_date", *TEXT_FIELDS)


def apply_plan_errors(form: PlanForm, errors: dict) -> None:
    """Service field paths → the editor's fields; list-level messages go above their table."""
    leftover: list[str] = []
    for key, messages in errors.items():
        texts = [str(m) for m in messages]
        parts = key.split(".")
        target = None
        if key in BENEFICIARY_FIELDS:
            target = getattr(form, BENEFICIARY_FIELDS[key])
        elif parts[0] == "territory":
            target = form.territory
        elif parts[0] in ROW_LISTS.values():
            if len(parts) == 1:
                form.list_errors.setdefault(parts[0], []).extend(texts)
                continue
            rows = form.rows(getattr(form, parts[0]))
            if parts[1].isdigit() and int(parts[1]) < len(rows) and len(parts) >= 3:
                target = getattr(rows[int(parts[1])], parts[2], None)
        elif len(parts) == 1 and key in _TOP_LEVEL:
            target = getattr(form, key)
        if target is None:
            leftover.extend(texts)
            continue
        target.errors = list(target.errors) + texts
    if leftover:
        form.form_errors = list(getattr(form, "form_errors", [])) + leftover


# --- review ----------------------------------------------------------------------------------

class ObservationsForm(Form):
    """One text area per section; the non-empty ones are sent as observations."""


for _section in SECTIONS:
    setattr(ObservationsForm, _section, TextAreaField(
        SECTION_LABELS[_section], validators=[Optional(), Length(max=TEXT_MAX)]))


class ReviewForm(FlaskForm):
    version = HiddenField()
    discipline = SelectField(_l("Disciplina"), validate_choice=False,
                             validators=[InputRequired(message=_l("Elija la disciplina."))])
    decision = RadioField(_l("Decisión"), validate_choice=False,
                          choices=[SelectChoice(k, v) for k, v in DECISION_LABELS.items()],
                          validators=[InputRequired(message=_l("Elija una decisión."))])
    reason = TextAreaField(_l("Motivo"), validators=[Optional(), Length(max=TEXT_MAX)],
                           description=_l("Obligatorio para rechazar."))
    observations = FormField(ObservationsForm)

    def observation_items(self) -> list[dict]:
        return [{"section": section, "text": getattr(self.observations.form, section).data}
                for section in SECTIONS if (getattr(self.observations.form, section).data or "").strip()]

    def apply_errors(self, errors: dict) -> None:
        items = self.observation_items()
        leftover: list[str] = []
        for key, messages in errors.items():
            texts = [str(m) for m in messages]
            parts = key.split(".")
            target = None
            if key in ("discipline", "decision", "reason"):
                target = getattr(self, key)
            elif key == "observations":
                target = self.decision
            elif parts[0] == "observations" and len(parts) == 3 and parts[1].isdigit() \
                    and int(parts[1]) < len(items):
                target = getattr(self.observations.form, items[int(parts[1])]["section"])
            if target is None:
                leftover.extend(texts)
                continue
            target.errors = list(target.errors) + texts
        if leftover:
            self.form_errors = list(getattr(self, "form_errors", [])) + leftover
