"""The plan, the agreement, its status history (suspensions), follow-up and ledger, once the money is known."""
from __future__ import annotations

import json
from datetime import date

from grants.clock import add_working_days

from year.constants import ITEMS, cents
from year.plan import split


class ClosingMixin:
    # --- the plan, the agreement, its history and ledger (now that the money is known) ---------------------
    def close_the_books(self) -> None:
        w, out, rng, i, as_of = self.w, self.out, self.rng, self.i, self.w.as_of.toordinal()
        led = self.ledger
        transferred = led["paid"] + led["advanced"] - led["refunded"]
        used = transferred + led["committed"]
        amount = used * 100 // rng.randint(75, 93) + 1
        spent = {bl: sum(self.spend[bl, k] for k in ("paid", "committed", "liquidated")) for bl, *_ in self.lines}
        slack = amount - sum(spent.values())
        shares = split(slack, self.line_weights)
        approved = {bl: spent[bl] + share for (bl, *_), share in zip(self.lines, shares)}
        assert all(v > 0 for v in approved.values())
        advances = [a["amount"] for a in self.advance_rows] + [amount * 3 // 10] * (2 - len(self.advance_rows))
        tranche = [advances[0], advances[1], amount - advances[0] - advances[1]]
        assert tranche[2] > 0, (self.number, tranche)
        allocation = amount if "transfers_above_allocation" not in self.plants else transferred * 9 // 10
        self.check_concentration(transferred)
        start, end, signed = self.start, self.end, self.start - rng.randint(5, 15)
        created = signed - 40
        fy = w.fiscal_year
        out.add("allocations", self.allocation, f"D.L. N.º {400 + i}", fy, f"{fy}-0700-3-02-01-21-1-{56300 + i % 50}",
                self.org, cents(allocation), "Prevención de la violencia y reinserción de jóvenes en riesgo.",
                w.ts(created - 30), w.ts(created - 30))
        out.add("plans", self.plan, self.allocation, self.org, "approved", f"Plan de trabajo {fy} — {self.org_name}",
                None, w.ts(created - 20), w.ts(created - 5))
        target = max(10, round(self.n_enrollments * rng.uniform(0.8, 1.1)))
        out.add("plan_versions", self.version, self.plan, 1, w.iso(start), w.iso(end), "Altos índices de violencia.",
                "Formación y acompañamiento.", "Plan de prevención del MJSP, eje 2.", "Visitas mensuales.",
                "Doble firma; inventario.", json.dumps(self.territory), target, 14, 29, "Jóvenes en riesgo",
                cents(amount), self.ngo, w.ts(created - 20))
        for k, aid in enumerate(self.activities):
            out.add("plan_activities", aid, self.version, k + 1, rng.choice(ITEMS), "Actividad del plan",
                    "Coordinación", w.iso(start), w.iso(end), json.dumps(self.territory[:1]))
        for bl, number, category, description in self.lines:
            out.add("plan_budget_lines", bl, self.version, number, category, description, cents(approved[bl]))
        self.targets = []
        for k, ind in enumerate(self.indicators):
            goal = rng.randrange(50, 500)
            self.targets.append((ind, goal))
            out.add("plan_indicators", ind, self.version, k + 1, "Jóvenes formados", f"Indicador {k + 1}", "personas",
                    "0.00", f"{goal}.00", "Listas de asistencia")
        numbers = json.dumps([n for _, n, *_ in self.lines])
        for k, tid in enumerate(self.tranche_ids):
            out.add("plan_tranches", tid, self.version, k + 1, w.iso(self.t[k]), cents(tranche[k]), numbers)
        for discipline, role in (("legal", "legal_reviewer"), ("financial", "financial_reviewer"),
                                 ("monitoring", "monitoring_reviewer")):
            out.add("reviews", w.next("reviews"), self.version, discipline, w.pick(role), "approve", None,
                    w.ts(created - 10))
        if self.third:
            self.third_advance(tranche[2])
        legal = w.pick("legal_reviewer")
        # The final liquidation (a liquidated agreement): the administrator prepares revision 1 once the
        # last payment is executed, legal, financial and monitoring approve it (three people, none of them
        # the preparer), and the third approval liquidates the agreement.
        signers = (("legal", legal, end + 16), ("financial", self.financial, end + 17),
                   ("monitoring", w.staff["monitoring_reviewer"][i % len(w.staff["monitoring_reviewer"])], end + 18))
        history = [(None, "draft", "create", None, created, legal), ("draft", "signed", "sign", None, signed, legal),
                   ("signed", "in_execution", "start_execution", None, start, legal)]
        history += self.suspensions()
        if self.state in ("closing", "liquidated"):
            history.append(("in_execution", "closing", "begin_closing", None, end + 3, self.admin))
        if self.state == "liquidated":
            history.append(("closing", "liquidated", "liquidate", None, signers[-1][2], signers[-1][1]))
        for before, after, action, reason, day, actor in history:
            out.add("agreement_status_changes", w.next("agreement_status_changes"), self.agreement, before, after,
                    action, reason, actor, w.ts(day))
        out.add("agreements", self.agreement, self.number, fy, i + 1, self.plan, self.version, self.allocation, self.org,
                self.state, cents(amount), f"Ejecución del plan de trabajo {fy}.", "Transferir los fondos.",
                "Ejecutar el plan y rendir cuentas.", "Informes y visitas.", "Liquidación al final del plazo.",
                "100.00", w.iso(start), w.iso(end), "Ministro de Justicia", "Ministro", "Representante legal",
                "Presidente", w.iso(signed), f"{self.agreement:064x}", 48_213, self.admin,
                self.suspension_reason if self.state == "suspended" else None, legal,
                w.ts(created), w.ts(history[-1][4]), self.prefinancing)
        out.add("agreement_balances", self.agreement, cents(amount), cents(led["committed"]), cents(led["paid"]),
                cents(led["advanced"]), cents(led["refunded"]), cents(led["refunds_declared"]))
        for bl, number, *_ in self.lines:
            out.add("budget_line_balances", w.next("budget_line_balances"), self.agreement, bl, number,
                    cents(approved[bl]), cents(self.spend[bl, "committed"]), cents(self.spend[bl, "paid"]),
                    cents(self.spend[bl, "liquidated"]))
        self.follow_up(as_of)
        if self.state == "liquidated":
            indicators = [{"name": f"Indicador {k + 1}", "unit": "personas", "baseline": "0.00", "target": f"{g}.00",
                           "achieved": f"{round(g * 0.9)}.00"} for k, (_, g) in enumerate(self.targets)]
            fid = w.next("final_liquidations")
            out.add("final_liquidations", fid, self.agreement, self.org, cents(amount),
                    cents(led["paid"]), cents(led["advanced"]), cents(led["liquidated"]), cents(led["refunded"]),
                    cents(amount - led["paid"] - led["liquidated"]), target, self.validated, self.reached,
                    json.dumps(indicators, ensure_ascii=False),
                    '{"total": 0, "open": 0, "justified": 0, "confirmed": 0, "resolved": 0, "by_rule": {}}',
                    rng.choice(("cumple", "cumple", "cumple_parcialmente")),
                    "Metas alcanzadas en lo sustancial; gastos soportados.", 1, "approved", self.admin,
                    w.ts(end + 15), w.ts(signers[-1][2]))
            for discipline, user, day in signers:
                out.add("final_liquidation_signers", self.agreement, user, discipline, fid)
                out.add("final_liquidation_signoffs", w.next("final_liquidation_signoffs"), fid, self.agreement,
                        self.admin, discipline, user, "approve", None, w.ts(day))

    def third_advance(self, amount: int) -> None:
        w, t = self.w, self.t
        aid, requested = w.next("advances"), min(w.as_of.toordinal() - 2, t[2] - 5)
        rejected = self.third == "rejected"
        self.out.add("advances", aid, self.agreement, self.org, self.tranche_ids[2], 3, cents(amount), self.third,
                     w.iso(t[2]), w.iso(self.end), w.iso(self.end + 30), "Anticipo del desembolso 3", self.ngo,
                     self.financial if rejected else None, w.ts(requested + 1) if rejected else None,
                     "Sin saldo: los pagos directos usaron el resto del convenio." if rejected else None, None, None,
                     None, None, None, None, "0.00", "0.00", None, w.ts(requested), w.ts(requested + rejected))

    def suspensions(self) -> list[tuple]:
        """Status changes for suspensions: the planted ones (money moved meanwhile), a few harmless
        ones (nothing moved), and the current one of a suspended agreement."""
        rng, out = self.rng, []
        kind = self.plants.get("money_after_suspension")
        windows = []
        if kind:
            day = self.advance_rows[1]["day"] if kind == 3 and len(self.advance_rows) > 1 else \
                sorted(self.exe_days)[len(self.exe_days) // 2]
            windows.append((day - 2, day + 3))
        elif self.state == "in_execution" and rng.random() < 0.05:
            day = self.start + 30 + rng.randrange(120)
            while any(d in self.money_days for d in range(day - 1, day + 4)):
                day += 1
            windows.append((day, day + 2))
        for begin, end in windows:
            suspend, resume = self.incident(begin, end)
            out += [("in_execution", "suspended", "suspend", suspend, begin, self.admin),
                    ("suspended", "in_execution", "resume", resume, end, self.admin)]
        if self.suspended_at:
            self.suspension_reason, _ = self.incident(self.suspended_at, None)
            out.append(("in_execution", "suspended", "suspend", self.suspension_reason, self.suspended_at, self.admin))
        return out

    def incident(self, day: int, resolved) -> tuple[str, str]:
        """An incident whose suspension took effect on ``day`` through due process: recorded five days
        before (the measure waits for the NGO's reply), the NGO replied two days later, and the
        administrator applied it on ``day`` (in effect); resolved on ``resolved`` (then the agreement
        resumes), or still open. Returns the reasons of the suspension and of the resumption, as the
        service words them."""
        w, org = self.w, self.org
        iid, recorded, detail = w.next("incidents"), day - 5, "Suspensión hasta la entrega."
        due = add_working_days(date.fromordinal(recorded), w.reply_working_days)
        self.out.add("incidents", iid, self.agreement, org, w.iso(recorded - 1), "high",
                     "Informes trimestrales no entregados.", "suspension", detail, "in_effect", False, due.isoformat(),
                     self.admin, w.ts(day), "El descargo no trae los informes: se aplica la suspensión.",
                     "resolved" if resolved else "open", "Informes entregados." if resolved else None, self.admin,
                     self.admin if resolved else None, w.ts(resolved) if resolved else None, w.ts(recorded))
        self.out.add("incident_replies", w.next("incident_replies"), iid, org,
                     "Los informes se entregarán en los próximos días.", self.ngo, w.ts(recorded + 2))
        return f"Incumplimiento N.º {iid}: {detail}", f"Incumplimiento N.º {iid} resuelto: Informes entregados."

    def follow_up(self, as_of: int) -> None:
        w, out, rng = self.w, self.out, self.rng
        for q in range(4):
            ps, pe = self.start + 91 * q, self.start + 91 * (q + 1) - 1
            if pe > min(as_of, self.end):
                break
            rid = w.next("follow_up_reports")
            active = sum(1 for _, af, until in self.active if af <= pe < until)
            out.add("follow_up_reports", rid, self.agreement, self.org, w.iso(ps), w.iso(pe), active,
                    "Avance conforme al plan.", self.admin, w.ts(pe + 5))
            for aid in self.activities:
                out.add("follow_up_activities", rid, aid, f"{min(100, 25 * (q + 1))}.00", "")
            for ind, goal in self.targets:
                out.add("follow_up_indicators", rid, ind, f"{goal * (q + 1) * rng.randint(18, 25) // 100}.00", "")

    def check_concentration(self, transferred: int) -> None:
        """The planted concentration is there, and no other agreement has it (executed payments and
        accepted receipts by supplier tax id)."""
        total = sum(self.by_supplier.values())
        top = max(self.by_supplier.values(), default=0)
        planted = "supplier_concentration" in self.plants
        if total and (top * 100 > total * 40) != planted:
            raise AssertionError(f"{self.number}: top supplier share {top / total:.2f} (planted: {planted})")
