"""The invoice form's choice of the people served, without JavaScript: a list of the agreement's
people active the whole service period (grants/services/served_people.py), searched and paged by
buttons of the form itself, with a checkbox each; "all active in the period"; or a CSV of document
numbers. The choice travels in the form: the people checked on the page shown, plus hidden
``served`` ids for those chosen on other pages (or from a CSV). Document numbers are masked."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime

from flask_babel import lazy_ngettext
from werkzeug.datastructures import MultiDict

from grants import formats
from grants.domain_errors import ValidationFailed
from grants.models import Agreement
from grants.services import served_people
from grants.services.enrollments import mask_document
from grants.services.invoices import parse_date
from grants.web.paging import db_id, page_of

PAGE_SIZE = 20
SUMMARY = 30   # chosen people named under the list; the rest are counted


def _ids(values) -> list[int]:
    ids = []
    for value in values:
        try:
            ids.append(db_id(value))
        except (TypeError, ValueError):
            continue
    return list(dict.fromkeys(i for i in ids if i > 0))


def _day(value) -> date | None:
    """A day typed ISO (the date picker) or dd/mm/yyyy; None otherwise (the service says why)."""
    for read in (parse_date, lambda text: datetime.strptime(text.strip(), "%d/%m/%Y").date()):
        try:
            return read(value) if value else None
        except (TypeError, ValueError):
            continue
    return None


@dataclass
class Picker:
    chosen: list[int] = field(default_factory=list)
    search: str = ""
    page: int = 1
    errors: list[str] = field(default_factory=list)
    rows: list[dict] = field(default_factory=list)
    paging: dict | None = None
    period: tuple[str, str] | None = None   # the service period, as people read days
    summary: list[dict] = field(default_factory=list)

    @classmethod
    def of(cls, formdata: MultiDict | None) -> Picker:
        formdata = formdata or MultiDict()
        page = formdata.get("people_page") or formdata.get("people_at") or "1"
        if "people_search" in formdata:
            page = "1"
        return cls(chosen=_ids(formdata.getlist("served") + formdata.getlist("pick")),
                   search=" ".join(formdata.get("people_q", "").split())[:100],
                   page=int(page) if page.isdigit() and len(page) < 7 else 1)

    @staticmethod
    def navigating(formdata: MultiDict) -> bool:
        """The search and page buttons change what is shown and save nothing."""
        return "people_search" in formdata or "people_page" in formdata

    def resolve(self, agreement: Agreement, start, end, take_all: bool, upload, errors: dict) -> list[int]:
        """The enrollment ids the invoice serves; what is wrong goes to ``errors`` (``served``,
        ``served_file``). Ids not offered for the period are dropped from the choice and reported."""
        start, end = _day(start), _day(end)
        if start is None or end is None or end < start:
            return self.chosen  # the service says what is wrong with the period
        if take_all:
            return served_people.all_offered(agreement.id, start, end)
        if upload is not None and upload.filename:
            try:
                self.chosen = list(dict.fromkeys(self.chosen + served_people.read_document_list(
                    agreement.id, start, end, upload.read())))
            except ValidationFailed as exc:
                for key, messages in exc.errors.items():
                    errors.setdefault(key, []).extend(messages)
        refused = served_people.not_offered(agreement.id, start, end, self.chosen)
        if refused:
            errors.setdefault("served", []).append(lazy_ngettext(
                "Se quitó de la selección %(num)s persona que no está activa todo el período del servicio en este "
                "convenio: revise la selección.",
                "Se quitaron de la selección %(num)s personas que no están activas todo el período del servicio en "
                "este convenio: revise la selección.", len(refused)))
            self.chosen = [i for i in self.chosen if i not in set(refused)]
        return self.chosen

    def prepare(self, agreement: Agreement, start, end) -> Picker:
        """Fill what the page shows: the page of people offered and the summary of the choice."""
        start, end = _day(start), _day(end)
        if start is not None and end is not None and start <= end \
                and agreement.start_date <= start and end <= agreement.end_date:
            self.period = (formats.day(start), formats.day(end))
            query = served_people.offered(agreement.id, start, end, self.search)
            enrollments, self.paging = page_of(query, PAGE_SIZE, arg="people_page", page=self.page)
            self.page = self.paging["page"]
            chosen = set(self.chosen)
            self.rows = [{"id": e.id, "name": e.beneficiary.full_name, "checked": e.id in chosen,
                          "document": mask_document(e.beneficiary.document_number)} for e in enrollments]
        self.summary = [{"name": person.full_name, "document": mask_document(person.document_number)}
                        for _, person in served_people.people(self.chosen[:SUMMARY])]
        return self

    @property
    def carried(self) -> list[int]:
        """The chosen ids that are not a checkbox of the page shown (kept as hidden fields)."""
        shown = {row["id"] for row in self.rows}
        return [i for i in self.chosen if i not in shown]
