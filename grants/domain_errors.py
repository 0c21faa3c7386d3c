"""Domain errors, mapped to HTTP in one place (grants/errors.py)."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l


class DomainError(Exception):
    status = 400
    code = "domain_error"
    title = _l("La operación no es válida.")

    def __init__(self, detail=None, *, code: str | None = None, errors: dict | None = None):
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        if code:
            self.code = code
        self.errors = errors or {}


class ValidationFailed(DomainError):
    """Bad input: ``errors`` maps field names to lists of messages."""

    def __str__(self) -> str:
        return "; ".join(f"{k}: {', '.join(str(m) for m in v)}" for k, v in self.errors.items())

    status = 422
    code = "validation_error"
    title = _l("Los datos enviados no son válidos.")


class FileTooLarge(ValidationFailed):
    """An uploaded file over its limit: 413 on every upload (API and pages), with the field's message.
    A ``ValidationFailed`` so that forms show it beside the field; the status says what happened."""

    status = 413
    code = "payload_too_large"
    title = _l("El archivo es demasiado grande.")


class NotFound(DomainError):
    status = 404
    code = "not_found"
    title = _l("No encontrado.")


class Forbidden(DomainError):
    status = 403
    code = "forbidden"
    title = _l("No tiene permiso para esta acción.")


class Conflict(DomainError):
    status = 409
    code = "conflict"
    title = _l("La operación choca con el estado actual de los datos.")


class Unauthorized(DomainError):
    status = 401
    code = "unauthorized"
    title = _l("Se requiere autenticación.")


class SigningUnavailable(DomainError):
    """The ministry's signing certificate is required (``SIGNING_REQUIRED``) and missing or unreadable:
    the document is not handed out unsigned."""

    status = 503
    code = "signing_unavailable"
    title = _l("La firma electrónica del ministerio no está disponible; el documento no se emitió.")


class TooManyAttempts(DomainError):
    """Too many failed logins for an account or from an address in the current window (429)."""

    status = 429
    code = "too_many_requests"
    title = _l("Demasiados intentos. Espere un momento y vuelva a intentarlo.")

    def __init__(self, detail=None, *, retry_after: int):
        super().__init__(detail)
        self.headers = {"Retry-After": str(retry_after)}


class FieldErrors:
    """Collects every error before raising them together (validate first, then write)."""

    def __init__(self) -> None:
        self.errors: dict[str, list] = {}

    def add(self, field: str, message) -> None:
        self.errors.setdefault(field, []).append(message)

    def __bool__(self) -> bool:
        return bool(self.errors)

    def raise_if_any(self) -> None:
        if self.errors:
            raise ValidationFailed(errors=self.errors)
