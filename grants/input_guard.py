"""What every request may carry, checked once before any view runs.

* **Control characters** — NUL and the other C0 controls (and DEL, lone UTF-16 surrogates and the
  non-characters U+FFFE/U+FFFF) are never text: PostgreSQL refuses NUL, XML (and so XLSX) refuses
  the rest, and none of them can be typed by a person. They are refused in the path, in every query
  parameter, header, form field and JSON string (keys included). Tab, line feed and carriage return
  are allowed inside form fields and JSON strings (notes, addresses), never in the path, a query
  parameter or a header. Uploaded files are judged by their own readers (a list's cells get a
  per-row error, a file name is cleaned).
* **Integers** — a number that does not fit the database's 32-bit integer is refused anywhere in a
  JSON body or a query parameter named like an integer (``page``, ``page_size``, ``*_id``, ``year``),
  so no request reaches PostgreSQL with "integer out of range". Path ids are bounded by
  ``DatabaseIdConverter``, query and body fields by their schema (``ID_RANGE``, ``PageArgsSchema``),
  web arguments by ``grants.web.paging.int_arg``; this guard is the net under all of them.
* **An empty change** — a PATCH without any field to change is a 422, not a 200 that changes nothing.

The API answers problem+json 422 naming the field; people get a page saying which field and why.
"""
from __future__ import annotations

import re

from flask import Flask, request
from flask_babel import lazy_gettext as _l

from grants.domain_errors import ValidationFailed

INT_MIN, INT_MAX = -(2**31), 2**31 - 1
_CONTROL = "\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff\ufffe\uffff"
IN_TEXT = re.compile(f"[{_CONTROL}]")  # inside free text: tab, LF and CR are fine
IN_LINE = re.compile(f"[\t\n\r{_CONTROL}]")  # path, query parameters, headers: one line, no tabs
INTEGER_ARG = re.compile(r"^(page|page_size|per_page|year|fiscal_year|version|revision|.*_id)$")

CONTROL_MESSAGE = _l("Contiene caracteres de control no permitidos (por ejemplo NUL); "
                     "escriba el texto sin ellos.")
INTEGER_MESSAGE = _l("El número está fuera del rango permitido.")
EMPTY_PATCH_MESSAGE = _l("Envíe al menos un campo para cambiar.")
DEPTH_MESSAGE = _l("El documento JSON está anidado a demasiada profundidad.")
MAX_DEPTH = 32  # the deepest body the API takes (a plan's content) is 5 levels


def has_control(text: str, single_line: bool = False) -> bool:
    return bool((IN_LINE if single_line else IN_TEXT).search(text))


def _json_problems(value, path: str, found: dict, depth: int = 0) -> None:
    if depth > MAX_DEPTH:
        found["_schema"] = [DEPTH_MESSAGE]
    elif isinstance(value, str):
        if has_control(value):
            found[path or "_schema"] = [CONTROL_MESSAGE]
    elif isinstance(value, bool) or value is None:
        return
    elif isinstance(value, int):
        if not INT_MIN <= value <= INT_MAX:
            found[path or "_schema"] = [INTEGER_MESSAGE]
    elif isinstance(value, dict):
        for key, item in value.items():
            name = f"{path}.{key}" if path else str(key)
            if has_control(str(key), single_line=True):
                found[path or "_schema"] = [CONTROL_MESSAGE]
                continue
            _json_problems(item, name, found, depth + 1)
    elif isinstance(value, list):
        for index, item in enumerate(value):
            _json_problems(item, f"{path}.{index}" if path else str(index), found, depth + 1)


def _is_out_of_range(text: str) -> bool:
    value = text.strip()
    if not re.fullmatch(r"[+-]?\d+", value):
        return False
    return len(value) > 12 or not INT_MIN <= int(value) <= INT_MAX  # (int() refuses 4,300+ digits)


def request_problems() -> dict[str, list]:
    """``{field: [message]}`` for what this request carries that no view should see."""
    found: dict[str, list] = {}
    if has_control(request.path, single_line=True):
        found["path"] = [CONTROL_MESSAGE]
    for name, value in request.headers.items():
        if has_control(value.replace("\t", " "), single_line=True):
            found[f"header.{name}"] = [CONTROL_MESSAGE]
    for name, values in request.args.lists():
        if has_control(name, single_line=True) or any(has_control(v, single_line=True) for v in values):
            found[name if not has_control(name, True) else "_query"] = [CONTROL_MESSAGE]
        elif INTEGER_ARG.match(name) and any(_is_out_of_range(v) for v in values):
            found[name] = [INTEGER_MESSAGE]
    if request.method in ("POST", "PUT", "PATCH", "DELETE"):
        if request.mimetype in ("application/x-www-form-urlencoded", "multipart/form-data"):
            for name, values in request.form.lists():
                if has_control(name, single_line=True) or any(has_control(v) for v in values):
                    found[name if not has_control(name, True) else "_form"] = [CONTROL_MESSAGE]
        elif request.is_json:
            try:
                body = request.get_json(silent=True)
            except RecursionError:  # the parser's own limit: never a 500
                found["_schema"] = [DEPTH_MESSAGE]
                body = None
            if body is not None:
                _json_problems(body, "", found)
                if request.method == "PATCH" and request.path.startswith("/api/") and body == {}:
                    found["_schema"] = [EMPTY_PATCH_MESSAGE]
        if (request.method == "PATCH" and request.path.startswith("/api/") and not request.get_data(cache=True)
                and not found):
            found["_schema"] = [EMPTY_PATCH_MESSAGE]
    return found


def install(app: Flask) -> None:
    @app.before_request
    def refuse_what_is_never_input():
        found = request_problems()
        if found:
            detail = "; ".join(f"{name}: {messages[0]}" for name, messages in found.items())
            raise ValidationFailed(detail, errors=found, code="invalid_characters" if any(
                messages == [CONTROL_MESSAGE] for messages in found.values()) else "validation_error")
