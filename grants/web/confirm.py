"""Confirmation before an action that cannot be undone, without JavaScript: the form carries a
required «Confirmo que …» checkbox saying what will happen; the server checks it. Unticked, the page
says so and nothing is done (no service is called, nothing is audited). The API has no checkbox: a
call to it is explicit already.

* ``confirmation(key)`` — the checkbox as a field of a form that has other fields (execute a payment,
  disburse an advance, sign a final liquidation); its error shows beside it.
* ``unconfirmed(back)`` — a button with nothing else to fill in (submit a plan, start execution,
  confirm a list, begin closing, authorize a payment): None when ticked, else the message flashed
  and a 303 back to the page. Templates draw its box with ``confirm_box(key)`` (_macros.html).
"""
from __future__ import annotations

from flask import flash, redirect
from flask_babel import lazy_gettext as _l
from flask_wtf import FlaskForm
from wtforms import BooleanField
from wtforms.validators import InputRequired

CONFIRMATIONS = {
    "submit_plan": _l("Confirmo que envío esta versión a revisión: ya no podré modificarla y las tres "
                      "disciplinas la revisarán. No se puede deshacer."),
    "start_execution": _l("Confirmo que el convenio entra en ejecución: desde hoy se registran beneficiarios, "
                          "facturas y anticipos. No se puede deshacer."),
    "confirm_list": _l("Confirmo la lista: sus filas válidas se inscriben (o cambian de estado) en el "
                       "registro de beneficiarios. No se puede deshacer."),
    "begin_closing": _l("Confirmo que el convenio pasa a cierre: no se prepararán pagos ni se solicitarán "
                        "anticipos nuevos. No se puede deshacer."),
    "sign_off": _l("Confirmo mi decisión sobre esta revisión de la liquidación final: queda firmada a mi "
                   "nombre. No se puede deshacer."),
    "authorize_payment": _l("Confirmo que autorizo este pago a mi nombre: quedará listo para ejecutarse. "
                            "No se puede deshacer."),
    "execute_payment": _l("Confirmo que la transferencia se hizo: el pago queda ejecutado y la factura pagada. "
                          "No se puede deshacer."),
    "disburse_advance": _l("Confirmo que la transferencia se hizo: el anticipo queda desembolsado a la "
                           "organización. No se puede deshacer."),
    "issue_batch": _l("Confirmo que descargo el archivo para enviarlo al banco: el lote queda emitido y ya no "
                      "cambia; sus pagos y anticipos los ejecutará el estado de cuenta del banco."),
    "cancel_batch": _l("Confirmo que anulo este lote: sus pagos y anticipos quedan libres para otro lote. Si el "
                       "archivo ya se envió, el banco no debe procesarlo. No se puede deshacer."),
}
MUST_CONFIRM = _l("Marque la casilla de confirmación: sin ella no se hizo nada.")


def confirmation(key: str) -> BooleanField:
    return BooleanField(CONFIRMATIONS[key], validators=[InputRequired(message=MUST_CONFIRM)])


class _Confirm(FlaskForm):
    confirm = BooleanField(validators=[InputRequired(message=MUST_CONFIRM)])


def unconfirmed(back: str):
    """None when the confirmation box was ticked; else the message and a 303 back to ``back``."""
    form = _Confirm()
    if form.validate_on_submit():
        return None
    flash(MUST_CONFIRM, "error")
    return redirect(back, 303)
