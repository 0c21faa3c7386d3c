"""Advances, their expense statements and receipts, and refunds."""
from __future__ import annotations

from year.constants import ITEMS, cents


class AdvancesMixin:
    # --- advances, expense statements, receipts, refunds -------------------------------------------------
    def advances(self) -> None:
        w, rng, as_of = self.w, self.rng, self.w.as_of.toordinal()
        t = self.t
        periods = [(t[0], t[1] - 1), (t[1], t[2] - 1)]
        count2 = t[1] <= self.money_end - 5
        counts = [self.n_receipts] if not count2 else [round(self.n_receipts * 0.55), 0]
        if count2:
            counts[1] = self.n_receipts - counts[0]
        self.advance_rows = []
        self.shops = rng.sample(w.shops, 25)
        once = ("receipt_outside_term", "document_reused", "receipt_before_disbursement", "deposit_unconfirmed")
        planted = {rule: rule in self.plants for rule in (*once, "round_amount_receipts")}
        for k, count in enumerate(counts):
            ps, pe = periods[k]
            due = pe + 30
            overdue = k == 1 and "advance_overdue" in self.plants
            # liquidated unless its statement is due more than two weeks after AS_OF (or it is planted
            # overdue), so a check run some days after AS_OF finds only the planted overdue advances
            settle = (k == 0 or due <= as_of + 15 or self.state in ("closing", "liquidated")) and not overdue
            self.advance(k + 1, ps, pe, due, count, settle, planted)
        assert not any(planted[rule] for rule in once), f"{self.number}: a plant is missing"
        if self.state == "in_execution" and all(a["status"] == "liquidated" for a in self.advance_rows) \
                and len(self.advance_rows) == 2 and rng.random() < 0.6:
            self.third = "requested" if rng.random() < 0.65 else "rejected"
        else:
            self.third = None

    def advance(self, number, ps, pe, due, count, settle, planted) -> None:
        w, out, rng, as_of = self.w, self.out, self.rng, self.w.as_of.toordinal()
        aid = w.next("advances")
        disbursed = ps
        self.money_days.add(disbursed)
        last = min(pe, self.money_end - 3, as_of - 3)
        statements = 1 if count < 60 else rng.randint(2, 3)
        chunks = [count * (j + 1) // statements - count * j // statements for j in range(statements)]
        accepted = pending = 0
        reviewed_last = disbursed
        position_base = 0
        for j, size in enumerate(chunks):
            sid = w.next("expense_statements")
            lo = ps + (last - ps) * j // statements
            hi = max(lo, ps + (last - ps) * (j + 1) // statements)
            submitted = min(hi + rng.randint(2, 10), due - 1 if settle else as_of, as_of)
            reviewed = submitted + rng.randint(2, 8)
            is_reviewed = settle or reviewed <= as_of - 1 or j < statements - 1
            if settle:
                reviewed = min(reviewed, as_of - 1)
            reviewed = max(reviewed, submitted)
            total = 0
            for p in range(1, size + 1):
                rid = w.next("expense_receipts")
                issue = lo + rng.randrange(hi - lo + 1)
                shop_tax, shop_name = rng.choice(self.shops)
                doc_type = rng.choice(("factura", "factura", "ccf", "ticket", "recibo"))
                w.document_no += 1
                doc = f"DTE-{w.document_no:010d}"
                amount = rng.randrange(500, 12_000)
                if planted["round_amount_receipts"] and rng.random() < 0.7:
                    amount = rng.choice((100, 200, 300, 500)) * 100
                if planted["receipt_outside_term"] and number == 1 and p == 1 and j == 0:
                    issue, planted["receipt_outside_term"] = self.start - rng.randint(5, 20), False
                if planted["document_reused"] and number == 1 and p == 2 and j == 0 and self.paid_invoices:
                    shop_tax, doc, shop_name = self.paid_invoices[0]
                    doc_type, planted["document_reused"] = "factura", False
                # Receipts are dated from their advance's transfer (``disbursed``) on; an agreement with
                # pre-financing has a few of advance 2's dated up to that many days before it (allowed);
                # the planted ones are 3–15 days before it with no such clause.
                if number == 2 and j == 0:
                    if planted["receipt_before_disbursement"] and p == 1:
                        issue, planted["receipt_before_disbursement"] = disbursed - self.later.randint(3, 15), False
                    elif self.prefinancing and self.later.random() < 0.1:
                        issue = disbursed - self.later.randint(1, self.prefinancing)
                status, reason = "pending", None
                if is_reviewed:
                    status = "rejected" if rng.random() < 0.03 and p > 2 else "accepted"
                    reason = "Documento ilegible o sin requisitos fiscales." if status == "rejected" else None
                bl = rng.choices(self.lines, self.line_weights)[0][0]
                out.line("expense_receipts", f"{rid}\t{sid}\t{self.agreement}\t{p}\t{doc_type}\t{doc}\t{w.iso(issue)}\t"
                                             f"{shop_tax}\t{shop_name}\t{rng.choice(ITEMS)}\t{bl}\t{cents(amount)}\t"
                                             f"{status}\t{reason or chr(92) + 'N'}\t"
                                             f"{self.financial if is_reviewed else chr(92) + 'N'}\t"
                                             f"{w.ts(reviewed) if is_reviewed else chr(92) + 'N'}\n")
                total += amount
                if status == "accepted":
                    accepted += amount
                    self.spend[bl, "liquidated"] += amount
                    self.by_supplier[shop_tax] += amount
                elif status == "pending":
                    pending += amount
            position_base += size
            if size:
                out.add("expense_statements", sid, aid, j + 1, "reviewed" if is_reviewed else "submitted", cents(total),
                        f"liquidacion-{number}-{j + 1}.xlsx", f"{sid:064x}", self.ngo, w.ts(submitted),
                        w.ts(reviewed) if is_reviewed else None)
                if is_reviewed:
                    reviewed_last = max(reviewed_last, reviewed)
            else:
                w.ids["expense_statements"] -= 1
        refund = declared = 0
        if settle:
            if rng.random() < 0.35 or accepted == 0:
                refund = max(100, accepted * rng.randint(1, 4) // 100)
            amount = accepted + refund
        else:
            amount = max(accepted + pending + 100_000, (accepted + pending) * 100 // rng.randint(60, 85))
            if planted["deposit_unconfirmed"] and number == 2:
                # a part of what is left declared back weeks ago, and treasury never confirmed it
                declared, planted["deposit_unconfirmed"] = max(100, (amount - accepted - pending) // 10), False
        self.ledger["advanced"] += amount
        self.ledger["refunded"] += refund
        self.ledger["refunds_declared"] += declared
        self.ledger["liquidated"] += accepted
        requested = ps - rng.randint(6, 10)
        # A refund: the NGO's user declares it three days after the last review, a treasury officer (never
        # the declarer: CHECK confirmer_not_declarer) confirms it two days later, and that closes the advance.
        settled = min(max(reviewed_last, disbursed) + 5, as_of)
        declared_on = min(max(reviewed_last, disbursed) + 3, as_of)
        closed = w.ts(settled, 19 * 3600)
        self.out.add("advances", aid, self.agreement, self.org, self.tranche_ids[number - 1], number, cents(amount),
                     "liquidated" if settle else "disbursed", w.iso(ps), w.iso(pe), w.iso(pe + 30),
                     f"Anticipo del desembolso {number}", self.ngo, self.financial, w.ts(requested + 2), None,
                     self.treasury[0], w.ts(requested + 4), self.treasury[1], w.ts(disbursed, 17 * 3600),
                     f"ANT-{aid:08d}", w.iso(disbursed), cents(accepted), cents(refund),
                     closed if settle else None, w.ts(requested), closed)
        if refund:
            self.out.add("refunds", w.next("refunds"), aid, self.agreement, cents(refund), "Banco Agrícola",
                         f"REI-{aid:08d}", w.iso(declared_on), "confirmed", self.ngo, w.ts(declared_on, 15 * 3600),
                         w.staff["treasury"][aid % len(w.staff["treasury"])], closed)
        if declared:
            day = as_of - w.deposit_confirmation_days - self.later.randint(5, 15)
            self.out.add("refunds", w.next("refunds"), aid, self.agreement, cents(declared), "Banco Agrícola",
                         f"REI-{aid:08d}", w.iso(day - 1), "declared", self.ngo, w.ts(day, 15 * 3600), None, None)
        self.advance_rows.append({"id": aid, "amount": amount, "status": "liquidated" if settle else "disbursed",
                                  "day": disbursed})
