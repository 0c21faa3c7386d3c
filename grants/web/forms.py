"""WTForms for the admin pages. Domain checks (NIT, DUI, uniqueness) stay in the services;
their field errors are put back next to the fields with ``apply_errors``."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import (
    BooleanField,
    EmailField,
    FieldList,
    Form,
    FormField,
    IntegerField,
    PasswordField,
    SelectChoice,
    SelectField,
    SelectMultipleField,
    StringField,
    TextAreaField,
    widgets,
)
from flask_wtf.file import FileField
from wtforms.validators import DataRequired, Length, NumberRange, Optional, ValidationError
from wtforms.widgets import DateInput

from grants import formats
from grants.permissions import Role
from grants.validation.identity import IdentityError, check_person_name
from grants.web.paging import db_id

ROLE_LABELS = {
    Role.NGO: _l("ONG"),
    Role.LEGAL_REVIEWER: _l("Revisión jurídica"),
    Role.FINANCIAL_REVIEWER: _l("Revisión financiera"),
    Role.MONITORING_REVIEWER: _l("Seguimiento y contraloría"),
    Role.ADMINISTRATOR: _l("Administración de programa"),
    Role.TREASURY: _l("Tesorería"),
    Role.AUDITOR: _l("Auditoría interna"),
    Role.ADMIN: _l("Administración del sistema"),
}


def person_name(_form, field) -> None:
    """WTForms validator of a person's or organization's name (``identity.check_person_name``)."""
    try:
        check_person_name(field.data)
    except IdentityError as exc:
        raise ValidationError(str(exc.message)) from None


class BoardMemberForm(Form):
    name = StringField(_l("Nombre"), validators=[Optional(), Length(max=160), person_name])
    dui = StringField(_l("DUI"), validators=[Optional(), Length(max=12)])
    position = StringField(_l("Cargo"), validators=[Optional(), Length(max=80)])

    def is_blank(self) -> bool:
        return not any((f.data or "").strip() for f in (self.name, self.dui, self.position))


class OrganizationForm(FlaskForm):
    legal_name = StringField(_l("Razón social"), validators=[DataRequired(), Length(max=200), person_name])
    nit = StringField(_l("NIT"), validators=[DataRequired(), Length(max=20)],
                      description="0614-050707-104-8")
    registry_number = StringField(_l("Número de registro"), validators=[DataRequired(), Length(max=40)])
    legal_rep_name = StringField(_l("Representante legal"), validators=[DataRequired(), Length(max=160),
                                                                        person_name])
    legal_rep_dui = StringField(_l("DUI del representante legal"), validators=[DataRequired(), Length(max=12)])
    address = StringField(_l("Dirección"), validators=[DataRequired(), Length(max=300)])
    municipality_code = SelectField(_l("Municipio"), validators=[DataRequired()])
    bank_name = StringField(_l("Banco"), validators=[DataRequired(), Length(max=120)])
    bank_account = StringField(_l("Cuenta bancaria"), validators=[DataRequired(), Length(max=34)])
    email = EmailField(_l("Correo electrónico"), validators=[Optional(), Length(max=254)])
    phones = StringField(_l("Teléfonos"), validators=[DataRequired(), Length(max=200)],
                         description=_l("Separados por comas: 2222-3333, 7777-8888"))
    board_members = FieldList(FormField(BoardMemberForm), min_entries=5)
    active = BooleanField(_l("Activa"), default=True)

    def to_data(self) -> dict:
        return {
            "legal_name": self.legal_name.data,
            "nit": self.nit.data,
            "registry_number": self.registry_number.data,
            "legal_rep_name": self.legal_rep_name.data,
            "legal_rep_dui": self.legal_rep_dui.data,
            "address": self.address.data,
            "municipality_code": self.municipality_code.data,
            "bank_name": self.bank_name.data,
            "bank_account": self.bank_account.data,
            "email": self.email.data,
            "phones": [p for p in (self.phones.data or "").replace(";", ",").split(",") if p.strip()],
            "board_members": [
                {"name": m.form.name.data, "dui": m.form.dui.data, "position": m.form.position.data}
                for m in self.board_members if not m.form.is_blank()
            ],
        }


class AllocationForm(FlaskForm):
    decree_number = StringField(_l("Decreto legislativo"), validators=[DataRequired(), Length(max=40)],
                                description="D.L. N.º 1045")
    fiscal_year = IntegerField(_l("Año fiscal"), validators=[DataRequired(), NumberRange(2000, 2100)])
    budget_line_code = StringField(_l("Cifra presupuestaria"), validators=[DataRequired(), Length(max=40)])
    organization_id = SelectField(_l("Organización"), coerce=db_id, validators=[DataRequired()])
    amount = StringField(_l("Monto (US$)"), validators=[DataRequired(), Length(max=20)],
                         description="150000.00")
    purpose = TextAreaField(_l("Finalidad"), validators=[DataRequired(), Length(max=4000)])

    def to_data(self) -> dict:
        return {name: getattr(self, name).data for name in (
            "decree_number", "fiscal_year", "budget_line_code", "organization_id", "amount", "purpose")}


class MultiCheckboxField(SelectMultipleField):
    widget = widgets.ListWidget(prefix_label=False)
    option_widget = widgets.CheckboxInput()


class UserForm(FlaskForm):
    email = EmailField(_l("Correo electrónico"), validators=[DataRequired(), Length(max=254)])
    full_name = StringField(_l("Nombre completo"), validators=[DataRequired(), Length(max=160), person_name])
    roles = MultiCheckboxField(_l("Roles"), choices=[SelectChoice(r.value, ROLE_LABELS[r]) for r in Role])
    organization_id = SelectField(_l("Organización (solo usuarios de ONG)"), coerce=db_id, default=0)
    locale = SelectField(_l("Idioma"), default="", choices=[
        SelectChoice("", _l("Según el navegador")), SelectChoice("es", "Español"), SelectChoice("en", "English")])
    active = BooleanField(_l("Activo"), default=True)
    password = PasswordField(_l("Contraseña"), validators=[Optional(), Length(max=256)])

    def to_data(self) -> dict:
        return {
            "email": self.email.data,
            "full_name": self.full_name.data,
            "roles": list(self.roles.data or []),
            "organization_id": self.organization_id.data or None,
            "locale": self.locale.data or None,
        }


def apply_errors(form, errors: dict) -> None:
    """Put service field errors (``board_members.0.dui``) next to the matching form fields."""
    leftover = []
    for key, messages in errors.items():
        parts = key.split(".")
        field = getattr(form, parts[0], None)
        if field is not None and len(parts) == 3 and parts[1].isdigit():
            entries = [e for e in field if not e.form.is_blank()]
            index = int(parts[1])
            target = getattr(entries[index].form, parts[2], None) if index < len(entries) else None
            field = target or field
        if field is None:
            leftover.extend(messages)
            continue
        field.errors = list(field.errors) + [str(m) for m in messages]
    if leftover:
        form.form_errors = list(getattr(form, "form_errors", [])) + [str(m) for m in leftover]


BAD_DAY = _l("Fecha no válida: escríbala como dd/mm/aaaa (por ejemplo 31/12/2026).")


class DayField(StringField):
    """A day typed as dd/mm/yyyy or ISO (the browser's date picker sends ISO): its data is the ISO
    text the services read (``formats.parse_day``), or the text as typed when it is no day — then the
    form says so in words, next to the field."""

    widget = DateInput()

    def process_formdata(self, valuelist):
        super().process_formdata(valuelist)
        try:
            self.data = formats.parse_day(self.data).isoformat() if (self.data or "").strip() else ""
        except ValueError:
            pass

    def pre_validate(self, form) -> None:
        text = (self.data or "").strip()
        if not text:
            return
        try:
            formats.parse_day(text)
        except ValueError:
            raise ValidationError(_l("«%(text)s» no es una fecha válida: escríbala como dd/mm/aaaa (por ejemplo "
                                     "31/12/2026).", text=text[:20])) from None


def date_field(label, **kwargs) -> DayField:
    """The one date field of the pages (``DayField``)."""
    return DayField(label, validators=[Optional()], **kwargs)


class DepositForm(FlaskForm):
    """A bank deposit the NGO declares — a refund of an advance, a fine paid by deposit: its amount,
    bank, reference and slip. Each form adds its day under the service's own name for it."""

    amount = StringField(_l("Monto depositado (US$)"), validators=[Optional(), Length(max=20)],
                         render_kw={"inputmode": "decimal"})
    bank_name = StringField(_l("Banco del depósito"), validators=[Optional(), Length(max=120)])
    bank_reference = StringField(_l("Referencia bancaria del depósito"), validators=[Optional(), Length(max=60)])
    slip = FileField(_l("Boleta de depósito (PDF, JPEG o PNG)"), render_kw={"accept": ".pdf,.jpg,.jpeg,.png"})
