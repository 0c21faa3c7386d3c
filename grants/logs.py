"""Structured logs: one JSON object per line, each carrying the request (or job) it belongs to.

* ``bind(request_id=…, user_id=…)`` puts fields in a context variable; every log record created
  while they are bound carries them (a record factory stamps them at creation, so a record
  formatted later — or in another handler — still says where it came from). Use it as a plain
  call (the fields stay until the context ends) or as ``with bind(…):`` (restored on exit). A job
  worker binds the ``request_id`` the enqueuing request passed along, so its lines join the
  request's in the log search.
* ``JsonFormatter``: ``time`` (UTC, ISO 8601, milliseconds), ``level``, ``logger``, ``message``, ``pid`` and
  the bound fields (``request_id``, ``user_id``), the request fields of the access line
  (``method``, ``path``, ``status``, ``duration_ms``) and ``exc_info`` as text when there is one.
* ``configure(app)``: JSON lines on stderr when ``LOG_FORMAT=json`` or ``FONDOS_ENV=production``
  (``LOG_FORMAT=text`` keeps plain lines in production); ``LOG_LEVEL`` (default ``INFO``).
* ``install(app)``: the request id (``X-Request-Id`` from the proxy, sanitized, ≤ 64 characters,
  else a new one) on ``g``, in the context and echoed in the response header; one access line per
  request on the ``fondos.request`` logger.
"""
from __future__ import annotations

import contextvars
import json
import logging
import re
import sys
import time
import uuid
from datetime import datetime, timezone

_context: contextvars.ContextVar[dict] = contextvars.ContextVar("fondos_log_context", default={})

# Fields a record may carry besides the standard ones, in the order they are written.
CONTEXT_FIELDS = ("request_id", "user_id", "job_id", "job")
REQUEST_FIELDS = ("method", "path", "status", "duration_ms", "endpoint", "remote_addr")

REQUEST_ID_MAX = 64
_REQUEST_ID_DROP = re.compile(r"[^A-Za-z0-9._:@/+=-]")


class _Bound:
    """What ``bind`` returns: already applied; ``with`` restores the previous fields on exit."""

    def __init__(self, token: contextvars.Token):
        self._token = token

    def __enter__(self) -> dict:
        return _context.get()

    def __exit__(self, *exc) -> None:
        self.reset()

    def reset(self) -> None:
        if self._token is not None:
            _context.reset(self._token)
            self._token = None


def bind(**fields) -> _Bound:
    """Add ``fields`` (``None`` removes one) to every log record of this context from now on."""
    merged = {**_context.get(), **fields}
    return _Bound(_context.set({k: v for k, v in merged.items() if v is not None}))


def current() -> dict:
    """The fields bound now (a copy): pass ``current().get("request_id")`` along with a job."""
    return dict(_context.get())


def clean_request_id(value: str | None) -> str:
    """A proxy's ``X-Request-Id`` kept if usable: only ``[A-Za-z0-9._:@/+=-]``, at most 64 characters;
    anything else (empty, or nothing left after cleaning) gets a fresh id."""
    cleaned = _REQUEST_ID_DROP.sub("", value or "")[:REQUEST_ID_MAX]
    return cleaned or uuid.uuid4().hex


# --- records and their format -------------------------------------------------------------------

_factory_installed = False


def _install_record_factory() -> None:
    global _factory_installed
    if _factory_installed:
        return
    previous = logging.getLogRecordFactory()

    def factory(*args, **kwargs):
        record = previous(*args, **kwargs)
        for key, value in _context.get().items():
            if not hasattr(record, key):
                setattr(record, key, value)
        return record

    logging.setLogRecordFactory(factory)
    _factory_installed = True


_install_record_factory()


class JsonFormatter(logging.Formatter):
    """One JSON object per line (a message with line breaks stays on one line, escaped)."""

    def format(self, record: logging.LogRecord) -> str:
        entry = {
            "time": datetime.fromtimestamp(record.created, timezone.utc).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "pid": record.process,
        }
        for key in CONTEXT_FIELDS + REQUEST_FIELDS:
            value = getattr(record, key, None)
            if value is not None:
                entry[key] = value
        if record.exc_info:
            entry["exc_info"] = self.formatException(record.exc_info)
        elif record.exc_text:
            entry["exc_info"] = record.exc_text
        return json.dumps(entry, ensure_ascii=False, default=str)


def json_enabled(config) -> bool:
    fmt = str(config.get("LOG_FORMAT") or "").strip().lower()
    if fmt:
        return fmt == "json"
    return config.get("ENV_NAME") == "production"


def _is_ours(handler: logging.Handler) -> bool:
    return getattr(handler, "_fondos", False)


def configure(app) -> None:
    """JSON lines on stderr for the root logger (once per process), when enabled for this app."""
    if not json_enabled(app.config):
        return
    root = logging.getLogger()
    root.setLevel(str(app.config.get("LOG_LEVEL") or "INFO").upper())
    if any(_is_ours(h) or isinstance(h.formatter, JsonFormatter) for h in root.handlers):
        return  # already (gunicorn.conf.py configures the same formatter before the app loads)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter())
    handler._fondos = True
    root.addHandler(handler)


# --- requests ------------------------------------------------------------------------------------

request_log = logging.getLogger("fondos.request")


def install(app) -> None:
    """Request id and access line. Installed first, so it also times requests that a later hook refuses."""
    from flask import g, request

    @app.before_request
    def _start_request():
        g.request_started = time.perf_counter()
        g.request_id = clean_request_id(request.headers.get("X-Request-Id"))
        g.log_binding = bind(request_id=g.request_id)

    @app.after_request
    def _log_request(response):
        rid = g.get("request_id")
        if rid:
            response.headers["X-Request-Id"] = rid
        started = g.get("request_started")
        duration = time.perf_counter() - started if started is not None else 0.0
        g.request_duration = duration
        if request_log.isEnabledFor(logging.INFO):
            extra = {"method": request.method, "path": request.path, "status": response.status_code,
                     "duration_ms": round(duration * 1000, 2), "endpoint": request.endpoint,
                     "remote_addr": request.remote_addr}
            user_id = _user_id()
            if user_id is not None and "user_id" not in _context.get():  # a bound one is already on the record
                extra["user_id"] = user_id
            request_log.info("%s %s %s", request.method, request.path, response.status_code, extra=extra)
        return response

    @app.teardown_request
    def _end_request(exc):
        binding = g.pop("log_binding", None)
        if binding is not None:
            try:
                binding.reset()
            except ValueError:  # reset from another context (a test client reusing a thread): harmless
                pass


def _user_id():
    """The acting user's id if the request already knows it: never loads it just for the log (after
    the request's commit the user is expired, and reading ``user.id`` would cost a query)."""
    from flask import g
    from sqlalchemy import inspect

    user = g.get("api_user")
    if user is None:
        user = g.get("_login_user")  # Flask-Login's cache: set only when the request looked at the user
        if user is None or not getattr(user, "is_authenticated", False):
            return None
    state = inspect(user, raiseerr=False)
    if state is None:  # not a mapped object (a stand-in user)
        return getattr(user, "id", None)
    return state.identity[0] if state.identity else None
