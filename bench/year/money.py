"""Invoices (lines, beneficiaries served), receipt certificates and direct payments."""
from __future__ import annotations

from collections import defaultdict
from datetime import date, timedelta

from year.constants import ITEMS, cents


class MoneyMixin:
    # --- invoices and direct payments --------------------------------------------------------------------
    def months(self) -> list[tuple[int, int, int]]:
        out, day = [], date.fromordinal(self.start).replace(day=1)
        while True:
            nxt = (day + timedelta(days=32)).replace(day=1)
            ps, pe = max(day.toordinal(), self.start), min(nxt.toordinal() - 1, self.end)
            issue = pe + 1 + self.rng.randrange(4)
            if ps > self.end or issue > self.money_end:
                return out
            out.append((ps, pe, issue))
            day = nxt

    def invoices(self) -> None:
        rng = self.rng
        months = self.month_list
        concentrated = "supplier_concentration" in self.plants
        k = len(self.regular)
        slots = [m for m in months for _ in range(1 if concentrated and rng.random() < 0.85 else
                                                  2 if concentrated else max(1, round(k * rng.uniform(0.7, 1.0))))]
        used, spent = defaultdict(set), [0] * k

        def choose(total: int, month: tuple) -> dict:
            """Each supplier invoices at most once a month; the invoice goes to the one paid least so far
            (the planted concentration: to the first one whenever it can)."""
            free = [j for j in range(k) if j not in used[month]]
            j = 0 if concentrated and 0 in free else min(free, key=lambda j: (spent[j], j))
            used[month].add(j)
            spent[j] += total
            return self.regular[j]

        extra = []
        if self.split:   # three small invoices within ten days, together over the threshold
            base = months[len(months) // 2][2]
            extra += [(self.split, (base - 20, base - 10, base + d), [rng.randrange(180_000, 240_000)]) for d in (0, 4, 9)]
        if self.unvalidated:
            extra.append((self.unvalidated, months[len(months) // 3], None))
        budget = self.n_lines - len(extra)
        if budget < len(slots):   # fewer lines than invoices (small scales): spread them over the year
            slots = [slots[j * len(slots) // budget] for j in range(max(1, budget))]
        sizes = [1] * len(slots)
        for _ in range(budget - len(slots)):
            sizes[rng.randrange(len(slots))] += 1
        self.paid_invoices = []
        self.exe_days = []
        self.inactive_planted = "units_paid_inactive" in self.plants
        for month, size in zip(slots, sizes):
            self.invoice(choose, month, size)
        for supplier, month, amounts in extra:
            self.invoice(supplier, month, 1, amounts=amounts, planted=True)
        assert not self.inactive_planted, f"{self.number}: no paid per-beneficiary line to plant units_paid_inactive"

    def invoice(self, supplier: dict, month: tuple, size: int, amounts=None, planted=False) -> None:
        w, out, rng = self.w, self.out, self.rng
        ps, pe, issue = month
        inv = w.next("invoices")
        w.invoice_no += 1
        number = f"F{w.invoice_no:09d}"
        recent = issue + 12 > self.money_end and not planted
        state = "paid"
        if rng.random() < 0.01 and not planted:
            state = "voided"
        elif recent:
            r = rng.random()
            state = "registered" if r < 0.3 else "certified" if r < 0.45 or self.state != "in_execution" else \
                "prepared" if r < 0.7 else "authorized"
        lines = []   # (line id, budget line, amount, unit price, deducted enrollments)
        for position in range(1, size + 1):
            lid = w.next("invoice_lines")
            bl = rng.choices(self.lines, self.line_weights)[0][0]
            served, unpaid = [], []
            # (the draw is made for every line, so that planting never shifts the random sequence)
            if (rng.random() < 0.02 or (self.inactive_planted and state == "paid")) and not amounts:
                served = self.active_through(ps, pe, rng.randint(6, 14))
                if len(served) >= 3 and (rng.random() < 0.25 or self.inactive_planted):
                    # the planted ones: one beneficiary gone inside the period (the second agreement that
                    # has this rule planted), not active at all in it (the others)
                    partly = self.inactive_planted and self.plants["units_paid_inactive"] == 2
                    unpaid = self.inactive_in(ps, pe, partly)
            if len(served) >= 3:
                price = rng.randrange(500, 4000)
                units = len(served) + len(unpaid)
                amount = units * price
                out.line("invoice_lines", f"{lid}\t{inv}\t{position}\t{bl}\tAtención por participante ({len(served) + len(unpaid)})\t"
                                          f"{units}.00\t{cents(price)}\t{cents(amount)}\tt\n")
                for eid in served + unpaid:
                    out.line("invoice_line_beneficiaries", f"{lid}\t{eid}\n")
                if self.inactive_planted and state == "paid" and unpaid:
                    self.inactive_planted, unpaid = False, []   # paid in full: nobody deducted
            else:
                quantity = rng.randint(1, 12)
                if amounts:
                    quantity, price = 1, amounts[position - 1]
                else:
                    price = rng.randrange(25, 2500)
                amount = quantity * price
                out.line("invoice_lines", f"{lid}\t{inv}\t{position}\t{bl}\t{rng.choice(ITEMS)}\t{quantity}.00\t"
                                          f"{cents(price)}\t{cents(amount)}\tf\n")
                price, unpaid = 0, []
            lines.append((lid, bl, amount, price, unpaid))
        total = sum(line[2] for line in lines)
        if callable(supplier):
            supplier = supplier(total, month)
        sid = supplier["old"] if supplier.get("switch") and issue < supplier["switch"] else supplier["id"]
        registered = issue + rng.randint(0, 2)
        # an invoice whose payment is prepared or authorized is still "certified" (paid once it is executed)
        invoice_status = "certified" if state in ("prepared", "authorized") else state
        out.add("invoices", inv, self.agreement, self.org, sid, supplier["tax_id"], number, w.iso(issue), w.iso(ps),
                w.iso(pe), cents(total), invoice_status, "Emitida con datos erróneos; se anula." if state == "voided" else None,
                self.ngo, w.ts(registered), w.ts(registered))
        if state in ("registered", "voided"):
            return
        certified = issue + rng.randint(1, 3)
        out.add("receipt_certificates", w.next("receipt_certificates"), inv, self.admin, w.iso(certified), True, None,
                w.ts(certified, 16 * 3600))
        if state == "certified":
            return
        self.payment(inv, sid, supplier, state, lines, total, certified)
        if state == "paid":
            self.paid_invoices.append((supplier["tax_id"], number, supplier["name"]))

    def active_through(self, ps: int, pe: int, k: int) -> list[int]:
        """Up to ``k`` different enrollments active every day of [ps, pe]."""
        found, active = set(), self.active
        for _ in range(k * 4):
            eid, af, until = active[self.rng.randrange(len(active))] if active else (0, 10**9, 0)
            if af <= ps and until > pe:
                found.add(eid)
                if len(found) == k:
                    break
        return sorted(found)

    def inactive_in(self, ps: int, pe: int, partly: bool = False) -> list[int]:
        """One enrollment not active on any day of [ps, pe] (never active, or gone before ``ps``), or
        (``partly``) active on some days of it but not all (gone inside it)."""
        for _ in range(200):
            if not self.not_active:
                return []
            eid, af, until = self.not_active[self.rng.randrange(len(self.not_active))]
            if (af <= ps < until <= pe) if partly else (af > pe or until <= ps):
                return [eid]
        return []

    def payment(self, inv, sid, supplier, state, lines, total, certified) -> None:
        w, out, rng = self.w, self.out, self.rng
        pid = w.next("payments")
        deducted = sum(price * len(unpaid) for _, _, _, price, unpaid in lines)
        amount = total - deducted
        prepared = certified + rng.randint(1, 2)
        authorized = prepared + rng.randint(1, 2)
        executed = authorized + rng.randint(1, 3)
        preparer, *others = rng.sample(w.staff["treasury"], 3)
        required = 2 if amount > 2_500_000 else 1
        status = {"paid": "executed"}.get(state, state)
        done = status == "executed"
        out.add("payments", pid, self.agreement, self.org, inv, sid, status, cents(total), cents(deducted), cents(amount),
                required, preparer, w.ts(prepared), w.ts(authorized, 16 * 3600) if status != "prepared" else None,
                others[1] if done else None, w.ts(executed, 17 * 3600) if done else None,
                f"TRF-{pid:09d}" if done else None, w.iso(executed) if done else None, w.ts(prepared),
                w.ts(executed if done else authorized if status == "authorized" else prepared, 17 * 3600))
        if status != "prepared":
            for k in range(required):
                out.add("payment_authorizations", pid, others[k], preparer, w.ts(authorized, 16 * 3600 + k * 600))
        kind = "paid" if done else "committed"
        for lid, bl, line_amount, price, unpaid in lines:
            line_deducted = price * len(unpaid)
            out.line("payment_lines", f"{w.next('payment_lines')}\t{pid}\t{lid}\t{bl}\t{cents(line_amount)}\t"
                                      f"{cents(line_deducted)}\t{cents(line_amount - line_deducted)}\n")
            self.spend[bl, kind] += line_amount - line_deducted
            for eid in unpaid:
                out.add("payment_deductions", w.next("payment_deductions"), pid, lid, eid, "1.00", cents(price),
                        "beneficiary_not_active", "Inscripción no activa en el período facturado.")
        self.ledger[kind] += amount
        if done:
            self.by_supplier[supplier["tax_id"]] += amount
            self.money_days.add(executed)
            self.exe_days.append(executed)
