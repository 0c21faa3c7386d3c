"""Salvadoran identity numbers (DESIGN.md §7): validated, never trusted.

Each ``normalize_*`` returns the canonical dashed form or raises ``IdentityError`` with a
stable ``code`` and a translatable message.
"""
from __future__ import annotations

import re
from datetime import date

from flask_babel import lazy_gettext as _l


class IdentityError(ValueError):
    def __init__(self, code: str, message):
        super().__init__(str(message))
        self.code = code
        self.message = message


_DUI = re.compile(r"^(\d{8})-?(\d)$")
_NIT = re.compile(r"^(\d{4})-?(\d{6})-?(\d{3})-?(\d)$")
_NRC = re.compile(r"^\d{1,8}$")

_NIT_WEIGHTS_HIGH = (2, 7, 6, 5, 4, 3, 2, 7, 6, 5, 4, 3, 2)


def _strip(value) -> str:
    return "" if value is None else str(value).strip().replace(" ", "")


def dui_check_digit(digits: str) -> int:
    if len(digits) == 8 and digits.isascii() and digits.isdigit():
        # the usual case, without a generator: weights 9..2 on the code points ('0' is 48; the
        # weights add up to 44, hence the 48 * 44 taken off)
        a, b, c, d, e, f, g, h = map(ord, digits)
        total = 9 * a + 8 * b + 7 * c + 6 * d + 5 * e + 4 * f + 3 * g + 2 * h - 48 * 44
    else:  # other lengths, other Unicode digits (int() reads them), or a ValueError as before
        total = sum(int(d) * w for d, w in zip(digits, range(9, 1, -1)))
    return (10 - total % 10) % 10


def normalize_dui(value) -> str:
    return dui_of_text(_strip(value))


def dui_of_text(raw: str) -> str:
    """``normalize_dui`` of text already stripped of spaces."""
    match = _DUI.match(raw)
    if not match:
        raise IdentityError("dui_format", _l("El DUI debe tener el formato 00000000-0."))
    digits, check = match.groups()
    if digits == "00000000":
        raise IdentityError("dui_zero", _l("El DUI 00000000-0 no es válido."))
    if dui_check_digit(digits) != int(check):
        raise IdentityError("dui_check_digit", _l("El dígito verificador del DUI no es correcto."))
    return f"{digits}-{check}"


def nit_check_digit(first13: str) -> int:
    correlative = int(first13[10:13])
    if correlative <= 100:
        total = sum(int(d) * w for d, w in zip(first13, range(14, 1, -1)))
        return (total % 11) % 10
    total = sum(int(d) * w for d, w in zip(first13, _NIT_WEIGHTS_HIGH))
    return (-total % 11) % 10


def normalize_nit(value) -> str:
    """A 14-digit NIT ``MMMM-DDMMYY-CCC-D``."""
    raw = _strip(value)
    match = _NIT.match(raw)
    if not match:
        raise IdentityError("nit_format", _l("El NIT debe tener el formato 0000-000000-000-0."))
    municipality, issued, correlative, check = match.groups()
    if municipality[0] not in "019":
        raise IdentityError("nit_format", _l("El NIT debe comenzar con 0, 1 o 9."))
    day, month, year = int(issued[:2]), int(issued[2:4]), int(issued[4:])
    try:
        date(2000 + year, month, day)
    except ValueError:
        raise IdentityError("nit_date", _l("La fecha contenida en el NIT no existe.")) from None
    if nit_check_digit(municipality + issued + correlative) != int(check):
        raise IdentityError("nit_check_digit", _l("El dígito verificador del NIT no es correcto."))
    return f"{municipality}-{issued}-{correlative}-{check}"


def normalize_tax_id(value) -> str:
    """NIT of a company (14 digits) or, since D.L. 203 (2021), an adult's DUI."""
    raw = _strip(value)
    if len(raw.replace("-", "")) == 9:
        return normalize_dui(raw)
    return normalize_nit(raw)


def normalize_nrc(value) -> str:
    raw = _strip(value).replace("-", "")
    if not _NRC.match(raw):
        raise IdentityError("nrc_format", _l("El NRC debe tener de 1 a 8 dígitos."))
    return raw


def normalize_phone(value) -> str:
    """Salvadoran phone numbers: 8 digits, optional +503 prefix, any separators."""
    digits = re.sub(r"\D", "", "" if value is None else str(value))
    if len(digits) == 11 and digits.startswith("503"):
        digits = digits[3:]
    if len(digits) != 8 or digits[0] not in "2678":
        raise IdentityError(
            "phone_format", _l("El teléfono debe tener 8 dígitos y comenzar con 2, 6, 7 u 8.")
        )
    return digits


# A spreadsheet runs a cell that begins with one of these as a formula: no name begins so.
NAME_FORBIDDEN_START = ("=", "+", "-", "@", "\t")
NAME_FORMULA_MESSAGE = _l("Un nombre no puede comenzar con =, +, -, @ ni con un tabulador.")


def check_person_name(value) -> None:
    """Refuse a person's or organization's name that begins like a formula (= + - @) or with a
    tab: such text is never a name. Leading spaces are looked through (they are trimmed before
    storing). Raises ``IdentityError`` with code ``name_formula``."""
    text = "" if value is None else str(value)
    if text.startswith("\t") or text.lstrip(" \u00a0").startswith(NAME_FORBIDDEN_START):
        raise IdentityError("name_formula", NAME_FORMULA_MESSAGE)
