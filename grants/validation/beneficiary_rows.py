"""Row checks of beneficiary lists. Errors are stored as codes and rendered in the reader's language."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache

from flask_babel import lazy_gettext as _l

from grants.validation.identity import IdentityError, check_person_name, dui_of_text
from grants.validation.territory import find_municipality, fold

# field → header spellings (folded: lower case, no accents), Spanish and English
HEADERS = {
    "document_type": ("tipo de documento", "tipo documento", "tipo de doc", "document type", "id type"),
    "document_number": ("dui", "documento", "numero de documento", "no de documento", "n de documento",
                        "numero documento", "document number", "document", "id number"),
    "first_names": ("nombres", "nombre", "first names", "first name", "given names"),
    "last_names": ("apellidos", "apellido", "last names", "last name", "surname", "surnames"),
    "birth_date": ("fecha de nacimiento", "fecha nacimiento", "nacimiento", "birth date", "date of birth", "birthdate"),
    "sex": ("sexo", "sex", "genero", "gender"),
    "municipality": ("municipio", "codigo de municipio", "codigo municipio", "municipality", "municipality code"),
    "enrollment_date": ("fecha de inscripcion", "fecha inscripcion", "fecha de ingreso", "enrollment date",
                        "enrolment date"),
    "status": ("estado", "status", "nuevo estado"),
    "effective_date": ("fecha efectiva", "fecha de efecto", "fecha del cambio", "effective date"),
    "reason": ("motivo", "razon", "observacion", "observaciones", "reason"),
}
REQUIRED = {
    "enrollment": ("document_number", "first_names", "last_names", "birth_date", "sex", "municipality"),
    "status": ("document_number", "status", "effective_date"),
}

DOCUMENT_TYPES = {
    "dui": "dui", "documento unico de identidad": "dui",
    "partida": "partida_nacimiento", "partida de nacimiento": "partida_nacimiento", "birth certificate": "partida_nacimiento",
    "carne de minoridad": "carne_minoridad", "carnet de minoridad": "carne_minoridad", "carne minoridad": "carne_minoridad",
    "pasaporte": "pasaporte", "passport": "pasaporte",
    "otro": "otro", "other": "otro",
}
SEXES = {"f": "F", "femenino": "F", "mujer": "F", "female": "F", "m": "M", "masculino": "M", "hombre": "M",
         "male": "M"}
STATUSES = {"activo": "active", "activa": "active", "active": "active", "inactivo": "inactive",
            "inactiva": "inactive", "inactive": "inactive", "retirado": "withdrawn", "retirada": "withdrawn",
            "withdrawn": "withdrawn", "validado": "validated", "validada": "validated", "validated": "validated"}

MESSAGES = {
    "missing_column": _l("Falta la columna «%(column)s»."),
    "required": _l("Dato obligatorio."),
    "document_type_unknown": _l("Tipo de documento desconocido: use DUI, partida de nacimiento, carné de minoridad, pasaporte u otro."),
    "document_type_missing": _l("No es un DUI válido (00000000-0): si es otro documento, indique el tipo de "
                                "documento."),
    "dui_format": _l("El DUI debe tener el formato 00000000-0."),
    "dui_zero": _l("El DUI 00000000-0 no es válido."),
    "dui_check_digit": _l("El dígito verificador del DUI no es correcto."),
    "document_format": _l("Número de documento no válido (de 3 a 30 letras, números o guiones)."),
    "adult_needs_dui": _l("Una persona adulta se identifica con su DUI."),
    "minor_has_no_dui": _l("Una persona menor de edad no tiene DUI: indique otro documento."),
    "too_long": _l("Máximo %(n)s caracteres."),
    "name_formula": _l("Un nombre no puede comenzar con =, +, -, @ ni con un tabulador."),
    "control_character": _l("Contiene caracteres de control no permitidos (por ejemplo, NUL): quítelos y vuelva a "
                            "subir la fila."),
    "date_format": _l("Fecha no válida: use AAAA-MM-DD o DD/MM/AAAA."),
    "birth_in_future": _l("La fecha de nacimiento es futura."),
    "age_out_of_range": _l("Edad %(age)s fuera del rango del plan (%(min)s a %(max)s años)."),
    "sex_unknown": _l("Sexo no válido: use F o M."),
    "municipality_unknown": _l("Municipio desconocido: «%(value)s»."),
    "municipality_outside": _l("El municipio %(name)s no está en el territorio del convenio."),
    "enrollment_outside_term": _l("La fecha de inscripción está fuera del plazo del convenio."),
    "status_unknown": _l("Estado no válido: use activo, inactivo o retirado."),
    "effective_outside_term": _l("La fecha efectiva está fuera del plazo del convenio."),
    # set-based checks
    "duplicate_in_file": _l("La misma persona ya aparece en la fila %(row)s."),
    "already_enrolled": _l("Ya está inscrita en este convenio: se actualizarán sus datos."),
    "double_enrollment": _l("Está activa en otro convenio: quedará pendiente de decisión de seguimiento."),
    "not_enrolled": _l("No está inscrita en este convenio."),
    "transition_refused": _l("No puede pasar de «%(from)s» a «%(to)s»."),
    "effective_before_current": _l("La fecha efectiva es anterior al estado vigente (desde %(since)s)."),
}

_NAME_SUSPECT = frozenset("=+-@\t \u00a0")  # first characters worth a look by check_person_name
_OTHER_DOCUMENT = re.compile(r"^[A-Z0-9-]{3,30}$")
_DUI_LIKE = re.compile(r"^\d{8}-?\d$")
# typed as a DUI but wrong: 7 to 10 digits, or a DUI's shape with other characters (ABC45678-9)
_DUI_ATTEMPT = re.compile(r"^(\d{7,10}|[0-9A-Z]{7,9}-[0-9A-Z]{1,2})$")
# C0 control characters other than tab, newline and carriage return: never in a list's text
_CONTROL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f]")
_ISO = re.compile(r"^(\d{4})-(\d{1,2})-(\d{1,2})$")
_DMY = re.compile(r"^(\d{1,2})[/.-](\d{1,2})[/.-](\d{4})$")
EXCEL_EPOCH = date(1899, 12, 30)


def map_headers(headers: list[str], kind: str) -> tuple[dict[str, int], list[dict]]:
    """field → column index; errors for required columns that are missing."""
    wanted = {field for field in HEADERS if field in REQUIRED[kind] or field in _OPTIONAL[kind]}
    mapping: dict[str, int] = {}
    for index, header in enumerate(headers):
        folded = fold(str(header)).replace(".", "").replace("º", "").replace("°", "")
        for field in wanted:
            if field not in mapping and folded in HEADERS[field]:
                mapping[field] = index
    missing = [{"column": HEADERS[f][0], "code": "missing_column", "params": {"column": HEADERS[f][0]}}
               for f in REQUIRED[kind] if f not in mapping]
    return mapping, missing


_OPTIONAL = {
    "enrollment": ("document_type", "enrollment_date"),
    "status": ("document_type", "reason"),
}


def parse_date(value) -> date | None:
    """ISO, dd/mm/yyyy, real Excel dates (datetime cells) and Excel serial numbers."""
    if value.__class__ is str:  # every CSV cell: skip the checks below
        return _parse_date_text(value.strip())
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        if 1 <= value < 2958466:
            return EXCEL_EPOCH + timedelta(days=int(value))
        return None
    return _parse_date_text(str(value).strip())


# A list repeats the same few thousand dates (and the same spellings of a document type, a sex or a
# municipality) over and over: these lookups are pure, so each distinct text is worked out once.
_CACHE_SIZE = 1 << 14


@lru_cache(maxsize=_CACHE_SIZE)
def _parse_date_text(text: str) -> date | None:
    for pattern, order in ((_ISO, (0, 1, 2)), (_DMY, (2, 1, 0))):
        match = pattern.match(text)
        if match:
            parts = [int(p) for p in match.groups()]
            try:
                return date(parts[order[0]], parts[order[1]], parts[order[2]])
            except ValueError:
                return None
    return None


_fold = lru_cache(maxsize=_CACHE_SIZE)(fold)
_find_municipality = lru_cache(maxsize=_CACHE_SIZE)(find_municipality)


@lru_cache(maxsize=_CACHE_SIZE)
def _squeeze_name(value: str) -> str | None:
    """A name (at most 120 characters) with its spaces collapsed: given names repeat a lot."""
    return " ".join(value.split())[:120] or None


def age_on(birth: date, day: date) -> int:
    return day.year - birth.year - ((day.month, day.day) < (birth.month, birth.day))


@dataclass(frozen=True)
class AgreementFrame:
    """What a row is checked against: the agreement's term, territory and target ages."""

    start: date
    end: date
    territory: frozenset[str]
    age_min: int
    age_max: int
    today: date


def _text(cells: list, mapping: dict, field: str) -> str:
    index = mapping.get(field)
    if index is None or index >= len(cells):
        return ""
    value = cells[index]
    if value.__class__ is str:  # every CSV cell
        return value.strip()
    return _cell_text(value)


def _cell_text(value):
    """``_text`` of a cell that is not text (XLSX numbers and dates)."""
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return str(value).strip() if not isinstance(value, (date, datetime)) else value


def _value(cells: list, mapping: dict, field: str):
    index = mapping.get(field)
    if index is None or index >= len(cells):
        return ""
    return cells[index]


def check_document(raw_type: str, raw_number, errors: list, column: str,
                   type_column: str = HEADERS["document_type"][0]) -> tuple[str | None, str | None]:
    """(document type, normalized number); errors name ``column`` (the number's, as headed in the
    file) unless the type itself is wrong. Without a type the number is taken as a DUI: a number
    that is not one is reported against the number column."""
    number = str(raw_number).strip().upper()
    if " " in number:
        number = number.replace(" ", "")
    if not number:
        errors.append({"column": column, "code": "required"})
        return None, None
    doc_type = DOCUMENT_TYPES.get(_fold(raw_type)) if raw_type else None
    if raw_type and doc_type is None:
        errors.append({"column": type_column, "code": "document_type_unknown"})
        return None, None
    if doc_type is None:
        doc_type = "dui" if _DUI_LIKE.match(number) else None
        if doc_type is None:
            # a DUI typed wrong (42749100, ABC45678-9) or another document with no type given
            errors.append({"column": column,
                           "code": "dui_format" if _DUI_ATTEMPT.match(number) else "document_type_missing"})
            return None, None
    if doc_type == "dui":
        try:
            return "dui", dui_of_text(number)  # normalize_dui(number): number has no spaces left
        except IdentityError as exc:
            errors.append({"column": column, "code": exc.code})
            return "dui", None
    if not _OTHER_DOCUMENT.match(number):
        errors.append({"column": column, "code": "document_format"})
        return doc_type, None
    return doc_type, number


def control_check(headers: list[str], check):
    """``check`` of a row whose text cells hold no C0 control character (tab, newline and carriage
    return aside): a cell that does is reported against its column and checked without them,
    so nothing unstorable reaches the database and the row is rejected as a whole."""

    def checked(cells: list) -> dict:
        try:  # a CSV row (all text): one search over the whole row
            dirty = _CONTROL.search("\t".join(cells))
        except TypeError:  # XLSX numbers and dates among the cells
            dirty = any(value.__class__ is str and _CONTROL.search(value) for value in cells)
        if not dirty:
            return check(cells)
        found, clean = [], []
        for index, value in enumerate(cells):
            if value.__class__ is str and _CONTROL.search(value):
                header = headers[index] if index < len(headers) and headers[index] else f"col{index + 1}"
                found.append({"column": header, "code": "control_character"})
                value = _CONTROL.sub("", value).strip()
            clean.append(value)
        values = check(clean)
        values["errors"] = found + values["errors"]
        return values

    return checked


def check_enrollment_row(cells: list, mapping: dict, headers: list[str], frame: AgreementFrame) -> dict:
    """Normalized values of one enrollment row and its errors (codes, by column as headed in the file)."""
    return enrollment_checker(mapping, headers, frame)(cells)


def enrollment_checker(mapping: dict, headers: list[str], frame: AgreementFrame):
    """``check_enrollment_row`` for every row of one file: the columns are looked up once."""
    col = {field: headers[mapping[field]] if field in mapping else HEADERS[field][0]
           for field in REQUIRED["enrollment"] + _OPTIONAL["enrollment"]}
    c_type, c_number, c_first, c_last = (col["document_type"], col["document_number"], col["first_names"],
                                         col["last_names"])
    c_birth, c_enrolled, c_sex, c_muni = col["birth_date"], col["enrollment_date"], col["sex"], col["municipality"]

    def index(field: str) -> int:  # a column not in the file: past the end of every row, read as ""
        found = mapping.get(field)
        return (1 << 62) if found is None else found

    i_type, i_number, i_first, i_last = (index(f) for f in ("document_type", "document_number", "first_names",
                                                            "last_names"))
    i_birth, i_sex, i_muni, i_enrolled = (index(f) for f in ("birth_date", "sex", "municipality", "enrollment_date"))
    start, end, territory, today = frame.start, frame.end, frame.territory, frame.today
    age_min, age_max = frame.age_min, frame.age_max

    def name(raw, column: str, errors: list) -> str | None:
        value = raw.strip() if raw.__class__ is str else str(_cell_text(raw))  # an XLSX date is text here
        if not value:
            errors.append({"column": column, "code": "required"})
            return None
        if raw.__class__ is str and raw[0] in _NAME_SUSPECT:
            try:
                check_person_name(raw)
            except IdentityError as exc:
                errors.append({"column": column, "code": exc.code})
                return None
        if len(value) > 120:
            errors.append({"column": column, "code": "too_long", "params": {"n": 120}})
            return " ".join(value.split())[:120] or None  # not remembered: any length
        return _squeeze_name(value)

    def check(cells: list) -> dict:
        errors: list[dict] = []
        n = len(cells)
        raw_type = cells[i_type] if i_type < n else ""
        raw_type = raw_type.strip() if raw_type.__class__ is str else _cell_text(raw_type)
        raw_number = cells[i_number] if i_number < n else ""
        raw_number = raw_number.strip() if raw_number.__class__ is str else _cell_text(raw_number)
        doc_type, doc_number = check_document(raw_type, raw_number, errors, c_number, c_type)
        first_names = name(cells[i_first] if i_first < n else "", c_first, errors)
        last_names = name(cells[i_last] if i_last < n else "", c_last, errors)

        birth = None
        raw_birth = cells[i_birth] if i_birth < n else ""
        if raw_birth in ("", None):
            errors.append({"column": c_birth, "code": "required"})
        else:
            birth = _parse_date_text(raw_birth.strip()) if raw_birth.__class__ is str else parse_date(raw_birth)
            if birth is None:
                errors.append({"column": c_birth, "code": "date_format"})
            elif birth > today:
                errors.append({"column": c_birth, "code": "birth_in_future"})
                birth = None

        enrolled = today
        raw_enrolled = cells[i_enrolled] if i_enrolled < n else ""
        if raw_enrolled not in ("", None):
            enrolled = (_parse_date_text(raw_enrolled.strip()) if raw_enrolled.__class__ is str
                        else parse_date(raw_enrolled))
            if enrolled is None:
                errors.append({"column": c_enrolled, "code": "date_format"})
        if enrolled is not None and not start <= enrolled <= end:
            errors.append({"column": c_enrolled, "code": "enrollment_outside_term"})

        if birth is not None and enrolled is not None:
            age = enrolled.year - birth.year - ((enrolled.month, enrolled.day) < (birth.month, birth.day))
            if not age_min <= age <= age_max:
                errors.append({"column": c_birth, "code": "age_out_of_range",
                               "params": {"age": age, "min": age_min, "max": age_max}})
            if doc_type is not None:
                if age >= 18 and doc_type != "dui":
                    errors.append({"column": c_number, "code": "adult_needs_dui"})
                elif age < 18 and doc_type == "dui":
                    errors.append({"column": c_number, "code": "minor_has_no_dui"})

        raw_sex = cells[i_sex] if i_sex < n else ""
        raw_sex = raw_sex.strip() if raw_sex.__class__ is str else _cell_text(raw_sex)
        sex = SEXES.get(_fold(raw_sex))
        if not raw_sex:
            errors.append({"column": c_sex, "code": "required"})
        elif sex is None:
            errors.append({"column": c_sex, "code": "sex_unknown"})

        raw_muni = cells[i_muni] if i_muni < n else ""
        raw_muni = raw_muni.strip() if raw_muni.__class__ is str else _cell_text(raw_muni)
        muni = _find_municipality(str(raw_muni)) if raw_muni else None
        if not raw_muni:
            errors.append({"column": c_muni, "code": "required"})
        elif muni is None:
            errors.append({"column": c_muni, "code": "municipality_unknown", "params": {"value": str(raw_muni)[:60]}})
        elif territory and muni["code"] not in territory:
            errors.append({"column": c_muni, "code": "municipality_outside", "params": {"name": muni["name"]}})

        return {
            "document_type": doc_type, "document_number": doc_number,
            "first_names": first_names, "last_names": last_names,
            "birth_date": birth, "sex": sex, "municipality_code": muni["code"] if muni else None,
            "enrollment_date": enrolled, "errors": errors,
        }

    return check


def check_status_row(cells: list, mapping: dict, headers: list[str], frame: AgreementFrame) -> dict:
    errors: list[dict] = []

    def col(field):
        return headers[mapping[field]] if field in mapping else HEADERS[field][0]

    doc_type, doc_number = check_document(_text(cells, mapping, "document_type"),
                                          _text(cells, mapping, "document_number"), errors, col("document_number"),
                                          col("document_type"))
    raw_status = _text(cells, mapping, "status")
    status = STATUSES.get(_fold(raw_status))
    if status is None:
        errors.append({"column": col("status"), "code": "status_unknown" if raw_status else "required"})
    effective = parse_date(_value(cells, mapping, "effective_date")) if _value(cells, mapping, "effective_date") else None
    if effective is None:
        errors.append({"column": col("effective_date"), "code": "date_format"})
    elif not frame.start <= effective <= frame.end:
        errors.append({"column": col("effective_date"), "code": "effective_outside_term"})
    reason = _text(cells, mapping, "reason")
    return {"document_type": doc_type, "document_number": doc_number, "status": status,
            "effective_date": effective, "status_reason": str(reason)[:2000] or None, "errors": errors}


def render(error: dict) -> str:
    message = MESSAGES.get(error.get("code"))
    if message is None:
        return error.get("code", "")
    params = error.get("params") or {}
    return str(message) % params if params else str(message)
