"""One way to write and read things for people: a moment is dd/mm/yyyy HH:MM on El Salvador's clock,
a day typed dd/mm/yyyy or ISO is the same day (the pages' one date field), a workbook's date cells
read dd/mm/yyyy, a finding's evidence speaks in labels, and counts say "1 hallazgo", "2 hallazgos"
in Spanish and in English."""
from __future__ import annotations

import io
from datetime import date, datetime, timezone

import pytest
from flask_babel import force_locale, lazy_ngettext, ngettext
from openpyxl import load_workbook
from werkzeug.datastructures import MultiDict

from grants import formats, labels
from grants.reports.xlsx import new_workbook


def test_a_moment_is_shown_on_el_salvadors_clock():
    # 03:30 UTC on 6 December is 21:30 on 5 December in San Salvador (UTC-6)
    assert formats.moment(datetime(2026, 12, 6, 3, 30, tzinfo=timezone.utc)) == "05/12/2026 21:30"
    assert formats.moment(datetime(2026, 12, 6, 3, 30)) == "05/12/2026 21:30"  # naive: stored UTC
    assert formats.moment("2026-12-06T03:30:00.000001") == "05/12/2026 21:30"
    assert formats.moment(date(2026, 1, 2)) == "02/01/2026"
    assert formats.moment(None) == "" and formats.moment(None, "—") == "—"


@pytest.mark.parametrize(("typed", "day"), [
    ("31/12/2026", date(2026, 12, 31)), ("2026-12-31", date(2026, 12, 31)), ("1/2/2026", date(2026, 2, 1)),
    (" 05/06/2026 ", date(2026, 6, 5)), ("29/02/2028", date(2028, 2, 29)),
])
def test_a_day_is_read_typed_or_iso(typed, day):
    assert formats.parse_day(typed) == day


@pytest.mark.parametrize("typed", ["31/02/2026", "12/31/2026", "2026-13-01", "20261231", "2026-W01-1", "ayer", "",
                                   "31-12-2026", "31/12/26"])
def test_what_is_no_day_is_refused(typed):
    with pytest.raises(ValueError):
        formats.parse_day(typed)


def _day_form(app, typed: str, language: str = "es"):
    from flask_wtf import FlaskForm

    from grants.web.forms import date_field

    class DayForm(FlaskForm):
        class Meta:
            csrf = False

        on = date_field("Fecha")

    with app.test_request_context(), force_locale(language):
        form = DayForm(formdata=MultiDict({"on": typed}))
        valid = form.validate()
        return valid, form.on.data, [str(e) for e in form.on.errors]


@pytest.mark.parametrize("typed", ["31/12/2026", "2026-12-31"])
def test_the_date_field_takes_dd_mm_yyyy_and_iso_alike(app, typed):
    assert _day_form(app, typed) == (True, "2026-12-31", [])


def test_the_date_field_says_in_words_what_is_wrong(app):
    valid, _, errors = _day_form(app, "31/02/2026")
    assert not valid and errors == ["«31/02/2026» no es una fecha válida: escríbala como dd/mm/aaaa "
                                    "(por ejemplo 31/12/2026)."]
    assert _day_form(app, "mañana", "en")[2] == ["«mañana» is not a valid date: write it as dd/mm/yyyy "
                                                  "(for example 31/12/2026)."]
    assert _day_form(app, "") == (True, "", [])


@pytest.mark.parametrize(("language", "one", "two"), [
    ("es", "1 hallazgo", "2 hallazgos"), ("en", "1 finding", "2 findings")])
def test_counts_agree_with_their_noun_in_both_languages(app, language, one, two):
    with app.test_request_context(), force_locale(language):
        assert [ngettext("%(num)s hallazgo", "%(num)s hallazgos", n) for n in (1, 2)] == [one, two]


@pytest.mark.parametrize(("language", "one", "two"), [
    ("es", "1 persona activa desde el 02/01/2026.", "2 personas activas desde el 02/01/2026."),
    ("en", "1 person active since 02/01/2026.", "2 people active since 02/01/2026.")])
def test_messages_made_before_the_language_is_known_agree_too(app, language, one, two):
    made = [lazy_ngettext("%(num)s persona activa desde el %(day)s.", "%(num)s personas activas desde el %(day)s.",
                          n, day=formats.day(date(2026, 1, 2))) for n in (1, 2)]
    with app.test_request_context(), force_locale(language):
        assert [str(m) for m in made] == [one, two]


def test_workbook_date_cells_read_dd_mm_yyyy_in_both_kinds_of_book():
    moment = datetime(2026, 12, 6, 3, 30, tzinfo=timezone.utc)
    for write_only in (False, True):
        book = new_workbook(write_only=write_only)
        sheet = book.create_sheet("Fechas")
        sheet.append(["Pago 1", date(2026, 1, 2), moment, 45])
        if not write_only:
            sheet.cell(row=2, column=2, value=date(2026, 3, 4))
            sheet["C2"] = date(2026, 5, 6)
        cells = load_workbook(io.BytesIO(book.to_bytes()))["Fechas"]
        assert (cells["B1"].number_format, cells["C1"].number_format) == ("dd/mm/yyyy", "dd/mm/yyyy hh:mm")
        assert cells["C1"].value == datetime(2026, 12, 5, 21, 30)  # the hour on El Salvador's clock
        assert cells["D1"].number_format == "General" and cells["D1"].value == 45
        if not write_only:
            assert cells["B2"].number_format == cells["C2"].number_format == "dd/mm/yyyy"


def test_a_findings_evidence_speaks_in_labels(app):
    with app.test_request_context(), force_locale("es"):
        shown = {key: (str(labels.evidence_label(key)), labels.evidence_value(key, value)) for key, value in {
            "transfer_date": "2026-07-09", "moved_at": "2026-06-08T16:00:00.013363", "outstanding": "58154.40",
            "share": "0.8", "agreement_status": "suspended", "kind": "payment", "allowed_by_monitoring": False,
            "days_overdue": 18}.items()}
        nested = labels.evidence_text("matches", [{"field": "tax_id", "with": "board_member", "name": "Ana"}])
    assert shown == {
        "transfer_date": ("Fecha de transferencia", "09/07/2026"), "moved_at": ("Movido el", "08/06/2026 10:00"),
        "outstanding": ("Saldo pendiente", "$58,154.40"), "share": ("Proporción", "80 %"),
        "agreement_status": ("Estado del convenio", "Suspendido"), "kind": ("Tipo", "Pago"),
        "allowed_by_monitoring": ("Permitido por seguimiento", "No"), "days_overdue": ("Días de atraso", "18")}
    assert nested == "Dato: NIT/DUI, Con: Miembro de la junta directiva, Nombre: Ana"
    with app.test_request_context(), force_locale("en"):
        assert (str(labels.evidence_label("transfer_date")), labels.evidence_value("kind", "advance")) == \
            ("Transfer date", "Advance")
