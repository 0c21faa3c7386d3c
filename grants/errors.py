"""Domain errors and HTTP errors become problem+json (API) or an HTML page (people), in one place.

Never a stack trace; bad input is never a 500.
"""
from __future__ import annotations

import logging
import re

from flask import Flask, json, render_template, request

from flask_babel import lazy_gettext as _l
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import IntegrityError
from werkzeug.exceptions import HTTPException

from grants.extensions import db
from grants.domain_errors import DomainError

log = logging.getLogger(__name__)

PROBLEM_TYPE = "urn:fondos:problem:{}"

HTTP_CODES = {
    400: ("bad_request", _l("La solicitud no es válida.")),
    401: ("unauthorized", _l("Se requiere autenticación.")),
    403: ("forbidden", _l("No tiene permiso para esta acción.")),
    404: ("not_found", _l("No encontrado.")),
    405: ("method_not_allowed", _l("Método no permitido.")),
    409: ("conflict", _l("La operación choca con el estado actual de los datos.")),
    413: ("payload_too_large", _l("El archivo o la solicitud es demasiado grande.")),
    415: ("unsupported_media_type", _l("Tipo de contenido no admitido.")),
    422: ("validation_error", _l("Los datos enviados no son válidos.")),
    429: ("too_many_requests", _l("Demasiados intentos. Espere un momento y vuelva a intentarlo.")),
    500: ("internal_error", _l("Ocurrió un error interno. El equipo técnico fue notificado.")),
}


def wants_problem_json() -> bool:
    return request.path.startswith("/api/") or request.path == "/healthz"


# marshmallow's own messages, in the request's language.
MARSHMALLOW_MESSAGES = {
    "Missing data for required field.": _l("Este campo es obligatorio."),
    "Unknown field.": _l("Campo desconocido o que no se puede enviar."),
    "Field may not be null.": _l("Este campo no puede ser nulo."),
    "Not a valid integer.": _l("Debe ser un número entero."),
    "Not a valid string.": _l("Debe ser un texto."),
    "Not a valid boolean.": _l("Debe ser verdadero o falso."),
    "Not a valid email address.": _l("Indique un correo electrónico válido."),
    "Not a valid list.": _l("Debe ser una lista."),
    "Invalid input type.": _l("Tipo de dato no válido."),
    "Invalid value.": _l("Valor no válido."),
    "Not a valid mapping type.": _l("Debe ser un objeto."),
    "Shorter than minimum length 1.": _l("Este campo es obligatorio."),
    "Not a valid date.": _l("Debe ser una fecha válida (AAAA-MM-DD)."),
    "Not a valid datetime.": _l("Debe ser una fecha y hora válidas (ISO 8601)."),
    "Not a valid time.": _l("Debe ser una hora válida (HH:MM)."),
    "Not a valid number.": _l("Debe ser un número."),
    "Not a valid UUID.": _l("Debe ser un UUID válido."),
    "Not a valid URL.": _l("Debe ser una dirección web válida."),
    "Special numeric values (nan or infinity) are not permitted.": _l("Debe ser un número finito."),
    "String does not match expected pattern.": _l("El formato no es válido."),
    "Invalid URL.": _l("Debe ser una dirección web válida."),
}

# marshmallow's messages that carry the validator's figures («Length must be between 1 and 2000.»):
# the same figures, in the request's language (each group is the message's %(name)s).
MARSHMALLOW_PATTERNS = [(re.compile(pattern), message) for pattern, message in (
    (r"Length must be between (?P<min>\d+) and (?P<max>\d+)\.", _l("La longitud debe estar entre %(min)s y %(max)s.")),
    (r"Shorter than minimum length (?P<min>\d+)\.", _l("La longitud mínima es %(min)s.")),
    (r"Longer than maximum length (?P<max>\d+)\.", _l("La longitud máxima es %(max)s.")),
    (r"Length must be (?P<equal>\d+)\.", _l("La longitud debe ser %(equal)s.")),
    (r"Must be greater than or equal to (?P<min>[^ ]+) and less than or equal to (?P<max>[^ ]+)\.",
     _l("Debe estar entre %(min)s y %(max)s.")),
    (r"Must be greater than or equal to (?P<min>[^ ]+)\.", _l("Debe ser mayor o igual que %(min)s.")),
    (r"Must be less than or equal to (?P<max>[^ ]+)\.", _l("Debe ser menor o igual que %(max)s.")),
    (r"Must be greater than (?P<min>[^ ]+)\.", _l("Debe ser mayor que %(min)s.")),
    (r"Must be less than (?P<max>[^ ]+)\.", _l("Debe ser menor que %(max)s.")),
    (r"Must be one of: (?P<choices>.*)\.", _l("Debe ser uno de estos valores: %(choices)s.")),
)]


def people_message(message) -> str:
    """A marshmallow message as the request's language says it (others pass unchanged)."""
    text = str(message)
    known = MARSHMALLOW_MESSAGES.get(text)
    if known is not None:
        return str(known)
    for pattern, say in MARSHMALLOW_PATTERNS:
        found = pattern.fullmatch(text)
        if found:
            return str(say) % found.groupdict()
    return text


def flatten_errors(errors, prefix: str = "") -> dict[str, list[str]]:
    """``{"json": {"board_members": {"0": {"dui": [...]}}}}`` → ``{"board_members.0.dui": [...]}``.

    The request location (json, query, form) is dropped: field names are unique across them.
    """
    flat: dict[str, list[str]] = {}
    if isinstance(errors, dict):
        for key, value in errors.items():
            key = str(key)
            if not prefix and key in ("json", "query", "form", "files", "headers", "path"):
                flat.update(flatten_errors(value, ""))
                continue
            name = f"{prefix}.{key}" if prefix else key
            flat.update(flatten_errors(value, name))
    elif isinstance(errors, (list, tuple)) and errors and all(not isinstance(e, (dict, list)) for e in errors):
        flat[prefix or "_schema"] = [people_message(e) for e in errors]
    elif isinstance(errors, (list, tuple)):
        for value in errors:
            flat.update(flatten_errors(value, prefix))
    else:
        flat[prefix or "_schema"] = [people_message(errors)]
    return flat


def _stringify(errors):
    if isinstance(errors, dict):
        return {str(k): _stringify(v) for k, v in errors.items()}
    if isinstance(errors, (list, tuple)):
        return [_stringify(v) for v in errors]
    return str(errors)


def problem_response(status: int, code: str, title, detail=None, errors=None, headers=None):
    body = {
        "type": PROBLEM_TYPE.format(code),
        "title": str(title),
        "status": status,
        "code": code,
    }
    if detail is not None and str(detail) != str(title):
        body["detail"] = str(detail)
    if errors:
        body["errors"] = _stringify(errors)
    response = current_response_class()(
        json.dumps(body, ensure_ascii=False), status=status, mimetype="application/problem+json"
    )
    for key, value in (headers or {}).items():
        response.headers[key] = value
    return response


def current_response_class():
    from flask import current_app

    return current_app.response_class


def _render(status: int, code: str, title, detail=None, errors=None, headers=None):
    db.session.rollback()
    if wants_problem_json():
        return problem_response(status, code, title, detail, errors, headers)
    html = render_template("errors/error.html", status=status, title=title, detail=detail)
    return html, status, headers or {}


def _http_error(exc: HTTPException):
    status = exc.code or 500
    code, title = HTTP_CODES.get(status, (f"http_{status}", exc.name))
    errors = None
    data = getattr(exc, "data", None) or {}
    if "messages" in data:  # webargs/marshmallow: {location: {field: [messages]}}
        errors = flatten_errors(data["messages"])
        code, title = HTTP_CODES[422]
        status = 422
    headers = dict(exc.get_headers()) if status in (405, 429) else {}
    headers.pop("Content-Type", None)
    return _render(status, code, title, None, errors, headers)


def _domain_error(exc: DomainError):
    return _render(exc.status, exc.code, exc.title, exc.detail, flatten_errors(exc.errors),
                   getattr(exc, "headers", None))


def _csrf_error(exc: CSRFError):
    return _render(400, "csrf_failed", _l(
        "El formulario expiró o no es válido. Vuelva a cargar la página e inténtelo de nuevo."))


def _unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _http_error(exc)
    log.exception("unhandled error on %s %s", request.method, request.path)
    code, title = HTTP_CODES[500]
    return _render(500, code, title)


def _integrity_error(exc: IntegrityError):
    """A unique or check constraint refused a write that the service's own checks let through:
    almost always a concurrent request that got there first. Nothing was written."""
    log.warning("integrity error on %s %s: %s", request.method, request.path, exc.orig)
    return _render(409, "concurrent_change", _l(
        "Otro cambio simultáneo lo impidió; no se guardó nada. Recargue los datos e inténtelo de nuevo."))


def register_error_handlers(app: Flask) -> None:
    app.register_error_handler(IntegrityError, _integrity_error)
    app.register_error_handler(HTTPException, _http_error)
    app.register_error_handler(DomainError, _domain_error)
    app.register_error_handler(CSRFError, _csrf_error)
    app.register_error_handler(Exception, _unexpected)


