"""What all agreements of a year share: ids, users, the loader, dates and tax ids."""
from __future__ import annotations

from collections import Counter
from datetime import date

from year.constants import LAST, REFERENCE_AS_OF, REFERENCE_FIRST_START, SHOP_KINDS, START_DAYS


class World:
    """What outlives one agreement: ids, the staff, the people (for enrollments in two
    agreements), the shops receipts come from, the global document counters; and the calendar:
    the reference calendar (``constants.REFERENCE_AS_OF``) moved to ``as_of``, the fiscal year and
    the days a term may start on."""

    def __init__(self, rng, loader, as_of: date, password_hash: str):
        self.rng, self.out, self.as_of = rng, loader, as_of
        self.offset = as_of.toordinal() - REFERENCE_AS_OF.toordinal()
        # Terms start on one of START_DAYS days; the fiscal year is the year of the middle one. When
        # those days straddle a new year, only the ones inside the fiscal year are used (a term
        # starts inside its allocation's fiscal year), spread over the same START_DAYS draws.
        first = self.ref(REFERENCE_FIRST_START)
        self.fiscal_year = date.fromordinal(first + START_DAYS // 2).year
        self.first_start = max(first, date(self.fiscal_year, 1, 1).toordinal())
        self.start_days = min(first + START_DAYS, date(self.fiscal_year + 1, 1, 1).toordinal()) - self.first_start
        self.password_hash = password_hash
        from flask import current_app   # (built inside the application's context)

        self.deposit_confirmation_days = int(current_app.config["DEPOSIT_CONFIRMATION_DAYS"])
        self.reply_working_days = int(current_app.config["INCIDENT_REPLY_WORKING_DAYS"])
        self.ids = Counter()
        self._iso: dict[int, str] = {}
        self.serial = 10_000_000            # beneficiaries' document serials
        self.invoice_no = 0
        self.document_no = 0
        self.nits = 0
        self.first_agreements: list[tuple[int, int, str]] = []
        self.active_people: list[tuple[int, int, int]] = []     # (beneficiary, active from, agreement index)
        self.withdrawn_people: list[tuple[int, int]] = []       # (beneficiary, withdrawn on)
        self.invoices_for_reuse: list[tuple[str, str, str]] = []  # (tax id, number, supplier name)
        self.staff = {role: [self.user(role, f"{role}{k + 1}@mjsp.bench.gob.sv", f"{role.title()} {k + 1}")
                             for k in range(count)]
                      for role, count in (("admin", 1), ("legal_reviewer", 3), ("financial_reviewer", 6),
                                          ("monitoring_reviewer", 4), ("administrator", 30), ("treasury", 6),
                                          ("auditor", 2))}
        self.shops = [(self.nit("1217"), f"{rng.choice(SHOP_KINDS)} {rng.choice(LAST)} {k + 1}") for k in range(3000)]

    def ref(self, reference: date) -> int:
        """The reference calendar's ``reference`` on this year's calendar (a day ordinal)."""
        return reference.toordinal() + self.offset

    def start_day(self, draw: int) -> int:
        """The first day of a term, for a draw in ``range(START_DAYS)`` (the draw itself on the
        reference calendar)."""
        return self.first_start + draw * self.start_days // START_DAYS

    def twentieth(self, reference_month: int) -> int:
        """The 20th of the month that ``reference_month``'s 20th (reference year) moves into."""
        return date.fromordinal(self.ref(date(REFERENCE_AS_OF.year, reference_month, 20))).replace(day=20).toordinal()

    def next(self, table: str) -> int:
        self.ids[table] += 1
        return self.ids[table]

    def iso(self, day: int) -> str:
        text = self._iso.get(day)
        if text is None:
            text = self._iso[day] = date.fromordinal(day).isoformat()
        return text

    def ts(self, day: int, seconds: int = 15 * 3600) -> str:
        """A UTC timestamp on ``day`` (by default 15:00 UTC, 09:00 in San Salvador: same date)."""
        return f"{self.iso(day)} {seconds // 3600:02d}:{seconds // 60 % 60:02d}:{seconds % 60:02d}+00"

    def nit(self, prefix: str) -> str:
        from grants.validation.identity import nit_check_digit

        self.nits += 1
        n = self.nits
        first13 = f"{prefix}{1 + n % 28:02d}{1 + n // 28 % 12:02d}{80 + n // 336 % 20:02d}{n // 6720 % 1000:03d}"
        if int(first13[10:13]) <= 100 and n >= 6720:   # keep correlatives in one check-digit scheme
            first13 = first13[:10] + f"{101 + n % 800:03d}"
        return f"{first13[:4]}-{first13[4:10]}-{first13[10:]}-{nit_check_digit(first13)}"

    def dui(self, serial: int) -> str:
        from grants.validation.identity import dui_check_digit

        digits = f"{serial:08d}"
        return f"{digits}-{dui_check_digit(digits)}"

    def user(self, role: str, email: str, name: str, organization_id=None) -> int:
        uid = self.next("users")
        created = self.ts(self.ref(date(2025, 10, 1)))
        self.out.add("users", uid, email, name, self.password_hash, organization_id, True, "es", 1, None,
                     created, created)
        self.out.add("user_roles", self.next("user_roles"), uid, role)
        return uid

    def pick(self, role: str) -> int:
        return self.rng.choice(self.staff[role])

    def finish(self) -> None:
        pass
