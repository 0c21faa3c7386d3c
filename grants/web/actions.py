"""One way for a page to act: run a service call, then either say it was done and go on (303), or
show the refusal — never a hand-written try/except/rollback in a view.

* ``submit(form, call, done=…, then=…, render=…)`` — a form: it must validate; the call runs; done →
  flash and 303 to ``then``; refused → the unit of work is rolled back, the refusal's field errors go
  next to the form's fields, and ``render(status, refused)`` shows the page again with the form
  (422, 409, 413 … the refusal's own status; ``refused`` is the message for the page when it is not
  about a field).
  A page that shows bad input its own way (the rows of an uploaded list, the line of a table) passes
  ``place_refusal(refusal) -> message or None``: it is given every ``ValidationFailed`` and says what
  the page shows above the form; ``place_errors(errors)`` only places field errors.
* ``press(call, done=…, then=…)`` — a button with nothing to fill in: done → flash and 303; refused →
  rolled back, its messages (each field's, or the refusal's) flashed as errors, 303 back to ``then``
  (or ``back``).

A ``NotFound`` refusal stays a 404 (G5: what one may not see does not exist for them). ``done`` and
``then`` may be functions of the call's result (the created object's number, its page).
"""
from __future__ import annotations

from collections.abc import Callable

from flask import flash, redirect

from grants.domain_errors import DomainError, NotFound, ValidationFailed
from grants.extensions import db
from grants.web.forms import apply_errors


def _value(what, result):
    return what(result) if callable(what) else what


def _say(done, result) -> None:
    """``done``: the message (a success), or (message, category) — "No hubo cambios" is news, not a success."""
    said = _value(done, result)
    if said:
        message, category = said if isinstance(said, tuple) else (said, "success")
        flash(message, category)


def _refused(exc: DomainError) -> None:
    db.session.rollback()  # what the refused call flushed is not committed with the redirect
    if isinstance(exc, NotFound):
        raise exc


def submit(form, call: Callable, *, done, then, render: Callable, invalid_status: int = 422,
           place_errors: Callable[[dict], None] | None = None,
           place_refusal: Callable[[ValidationFailed], str | None] | None = None):
    """``form`` None: an action whose refusal is shown on the page it came from. ``place_errors``:
    where field errors go when not only on the form's own fields (a table's rows)."""
    if form is not None and not form.validate_on_submit():
        return render(invalid_status, None)
    try:
        result = call()
    except DomainError as exc:
        _refused(exc)
        if place_refusal is not None and isinstance(exc, ValidationFailed):
            return render(exc.status, place_refusal(exc))
        if exc.errors and (form is not None or place_errors is not None):
            (place_errors or (lambda errors: apply_errors(form, errors)))(exc.errors)
            return render(exc.status, None)
        return render(exc.status, exc.detail)
    _say(done, result)
    return redirect(_value(then, result), 303)


def press(call: Callable, *, done, then, back=None):
    try:
        result = call()
    except DomainError as exc:
        _refused(exc)
        for message in [m for messages in (exc.errors or {}).values() for m in messages] or [exc.detail]:
            flash(message, "error")
        return redirect(back or _value(then, None), 303)
    _say(done, result)
    return redirect(_value(then, result), 303)
