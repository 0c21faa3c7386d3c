"""One agreement's year: the organization, allocation, plan and agreement (``build``), and its suppliers.
The rest of the year comes from the mixins: people (enrollments), money (invoices and payments),
advances (statements, receipts, refunds) and closing (status history, follow-up, ledger)."""
from __future__ import annotations

import random
from collections import Counter, defaultdict
from datetime import date

from year.advances import AdvancesMixin
from year.closing import ClosingMixin
from year.constants import CATEGORIES, FIRST, ITEMS, LAST, MUNICIPALITIES, START_DAYS, cents
from year.money import MoneyMixin
from year.people import PeopleMixin
from year.world import World


class AgreementBuilder(PeopleMixin, MoneyMixin, AdvancesMixin, ClosingMixin):
    """One organization, its allocation, plan and agreement, and the agreement's whole year."""

    def __init__(self, world: World, index: int, state: str, plants: dict, n_enrollments: int, n_lines: int,
                 n_receipts: int, rng: random.Random, later: random.Random):
        self.w, self.out, self.i, self.state, self.plants, self.rng = world, world.out, index, state, plants, rng
        # Draws for what the schema gained after the first design (pre-financing, refunds declared and
        # confirmed, the timeline plants): a generator of their own, so ``rng`` draws what it drew before.
        self.later = later
        self.n_enrollments, self.n_lines, self.n_receipts = n_enrollments, n_lines, n_receipts
        as_of = world.as_of.toordinal()
        self.start = world.start_day(rng.randrange(START_DAYS))
        self.end = world.ref({"liquidated": date(2026, 9, 30), "closing": date(2026, 10, 31)}.get(
            state, rng.choice((date(2026, 11, 30), date(2026, 12, 15)))))
        term = self.end - self.start
        self.t = [self.start, self.start + round(term * 0.38),
                  self.start + round(term * (rng.uniform(0.6, 0.72) if state in ("closing", "liquidated") else
                                             rng.uniform(0.6, 0.95)))]
        if "advance_overdue" in plants:
            self.t[2] = min(self.t[2], as_of - 50)
        if "deposit_unconfirmed" in plants:   # advance 2 still running: its statement is due well after as_of
            self.t[2] = max(self.t[2], as_of - 5)
        # The pre-financing clause (agreements.prefinancing_days): some agreements may spend up to that many
        # days before an advance's transfer. Not those with a receipt planted before the term or before a
        # transfer: the rules must find those.
        receipt_plants = "receipt_outside_term" in plants or "receipt_before_disbursement" in plants
        self.prefinancing = later.choice((15, 30, 45)) if later.random() < 0.15 and not receipt_plants else None
        self.suspended_at = as_of - 12 if state == "suspended" else None
        money_end = min(as_of, self.end + 25)
        self.money_end = self.suspended_at - 1 if self.suspended_at else money_end
        self.spend = defaultdict(int)       # (budget line id, kind) → cents; kind: paid, committed, liquidated
        self.by_supplier = Counter()          # tax id → cents spent (executed payments, accepted receipts)
        self.money_days: set[int] = set()
        self.ledger = Counter()

    # --- the organization, allocation, plan and agreement ---------------------------------------------
    def build(self) -> None:
        w, out, rng, i = self.w, self.out, self.rng, self.i
        self.org = w.next("organizations")
        self.org_nit, self.org_bank = w.nit("0210"), f"{100 + i:03d}-{rng.randrange(10**7):07d}-{i % 10}"
        self.org_address = f"Colonia {rng.choice(LAST)}, calle {i + 1}, casa {rng.randrange(1, 99)}"
        self.org_phone = f"22{i:06d}"
        self.board = [w.dui(90_000_000 + i * 10 + k) for k in range(3)]
        self.org_name = f"Asociación {rng.choice(('Juventud', 'Futuro', 'Esperanza', 'Comunidad', 'Oportunidades'))} " \
                        f"{rng.choice(LAST)} {i + 1}"
        out.add("organizations", self.org, self.org_name, self.org_nit, f"ASFL-{2010 + i % 15}-{i + 1:04d}",
                f"{rng.choice(FIRST)} {rng.choice(LAST)}", self.board[0], self.org_address,
                rng.choice(MUNICIPALITIES), "Banco Agrícola", self.org_bank, f"contacto{i + 1}@ong{i + 1}.org.sv", True,
                w.ts(w.ref(date(2025, 9, 1))), w.ts(w.ref(date(2025, 9, 1))))
        for k, dui in enumerate(self.board):
            out.add("board_members", w.next("board_members"), self.org, f"{rng.choice(FIRST)} {rng.choice(LAST)}", dui,
                    ("Presidente", "Secretaria", "Tesorero")[k], k)
        out.add("organization_phones", w.next("organization_phones"), self.org, self.org_phone)
        self.ngo = w.user("ngo", f"ngo{i + 1}@ong{i + 1}.org.sv", f"Coordinación ONG {i + 1}", self.org)
        self.admin = w.staff["administrator"][i % len(w.staff["administrator"])]
        self.financial, self.treasury = w.pick("financial_reviewer"), rng.sample(w.staff["treasury"], 2)
        self.territory = rng.sample(MUNICIPALITIES, 2)
        self.agreement, self.allocation, self.plan, self.version = (w.next("agreements"), w.next("allocations"),
                                                                     w.next("plans"), w.next("plan_versions"))
        self.number = f"MJSP-CONV-{w.fiscal_year}-{i + 1:04d}"
        if i < 5:
            w.first_agreements.append((self.agreement, self.org, self.number))
        self.lines = [(w.next("plan_budget_lines"), n + 1, *CATEGORIES[n]) for n in range(rng.randint(4, 6))]
        self.line_weights = [rng.uniform(0.5, 2.0) for _ in self.lines]
        self.tranche_ids = [w.next("plan_tranches") for _ in range(3)]
        self.indicators = [w.next("plan_indicators") for _ in range(rng.randint(2, 3))]
        self.activities = [w.next("plan_activities") for _ in range(rng.randint(3, 5))]
        self.enrollments()
        self.suppliers()
        self.invoices()
        self.advances()
        self.close_the_books()

    # --- suppliers -------------------------------------------------------------------------------------
    def supplier(self, *, status="validated", decided=None, tax_id=None, tax_type="nit", name=None, address=None,
                 phone=None, bank=None, version=1, supersedes=None, reason=None, updated=None, created=None) -> dict:
        w, rng = self.w, self.rng
        sid = w.next("suppliers")
        tax_id = tax_id or w.nit("0614")
        name = name or f"{rng.choice(('Servicios', 'Distribuidora', 'Capacitaciones', 'Suministros'))} " \
                       f"{rng.choice(LAST)}, S.A. de C.V."
        address = address or f"Av. {rng.choice(LAST)} #{w.nits % 997}, local {sid % 50}, San Salvador"
        phone = phone or f"7{w.nits * 7919 % 10**7:07d}"
        bank = bank or f"S{sid:010d}"
        created = w.ts(created if created is not None else self.start - 10)
        decided_ts = w.ts(decided) if decided is not None else None
        self.out.add("suppliers", sid, self.agreement, self.org, version, supersedes, tax_id, tax_type,
                     f"{sid % 10**6}", name, address, phone, "Banco Cuscatlán", bank, status,
                     '{"identity": {"ok": true}}', reason, self.ngo,
                     w.pick("financial_reviewer") if decided is not None else None, decided_ts, created,
                     w.ts(updated) if updated else (decided_ts or created))
        self.out.add("supplier_items", w.next("supplier_items"), sid, rng.choice(ITEMS), "unidad",
                     cents(rng.randrange(100, 5000)))
        return {"id": sid, "tax_id": tax_id, "name": name, "switch": None}

    def suppliers(self) -> None:
        rng, start = self.rng, self.start
        self.regular = []
        for _ in range(rng.randint(6, 10)):
            if rng.random() < 0.1:   # a bank-account change: version 1 superseded by version 2 mid-year
                # on the 20th: invoices are issued by the 5th and paid by the 15th, so each payment went
                # to the version that was validated when it was executed
                switch = self.w.twentieth(rng.randint(4, 8))
                old = self.supplier(status="superseded", decided=start - rng.randint(1, 4), updated=switch)
                new = self.supplier(decided=switch, tax_id=old["tax_id"], name=old["name"], version=2,
                                    supersedes=old["id"], created=switch - 1)
                new["old"], new["switch"] = old["id"], switch
                self.regular.append(new)
            else:
                self.regular.append(self.supplier(decided=start - rng.randint(1, 4)))
        if rng.random() < 0.3:
            self.supplier(status="proposed")
        if rng.random() < 0.2:
            self.supplier(status="rejected", decided=start + 9, reason="Sin solvencia tributaria vigente.")
        kind = self.plants.get("supplier_conflict")
        if kind:   # shares the NGO's bank account, phone, address or a board member's identity
            self.supplier(decided=start + 5, **[{"bank": self.org_bank}, {"phone": self.org_phone},
                                                 {"address": self.org_address},
                                                 {"tax_id": self.board[1], "tax_type": "dui"}][kind - 1])
        self.split = self.supplier(decided=start + 3) if "split_invoices" in self.plants else None
        kind = self.plants.get("payment_supplier_not_validated")
        self.unvalidated = None
        self.month_list = self.months()
        if kind:   # never validated, or validated only after it was paid (its invoice is a third into the year)
            issue = self.month_list[len(self.month_list) // 3][2]
            self.unvalidated = self.supplier(status="proposed") if kind < 3 else self.supplier(decided=issue + 20)
