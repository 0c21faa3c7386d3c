"""A realistic fiscal year (2026) on PostgreSQL, for the issue-6 benchmarks; deterministic per ``--seed``.

Full scale: 300 agreements (organizations with boards and phones, 2026 allocations, approved plans
with budget lines, tranches, indicators and activities; agreements in execution, suspended,
closing and liquidated, each with its administrator and status history), 1,000,000 enrollments
with their status periods (pending → validated → active, some inactive or withdrawn; some people
in two agreements one after the other), suppliers (a few with a superseded version after a bank
account change), invoices with 2,000,000 lines (about 2 % per beneficiary, listing the
beneficiaries served), receipt certificates, direct payments with their lines, deductions and
authorizations, advances with expense statements holding 500,000 receipts, refunds, follow-up
reports, final liquidations, and the ledger (``agreement_balances``, ``budget_line_balances``)
equal to the transactions, so ``grants.services.ledger.check_invariants()`` finds nothing.

Rows go in with ``COPY`` (never through the services: a year would take hours), in dependency
order, one agreement's rows at a time; ids are assigned here and the sequences set afterwards.
By default the foreign-key triggers are skipped (``session_replication_role = replica``); CHECK,
NOT NULL and UNIQUE constraints always apply, and ``--check-fks`` (the test) keeps every trigger on.

A few anomalies are planted for each liquidation-check rule (``PLANTED`` below; the summary
returns them), so the checks benchmark can tell that they were found. ``budget_line_overspent``
is not planted: the ledger's CHECK refuses an overspent line, so it cannot exist without breaking
the invariants as well. ``audit_chain_broken`` is not planted either (the chain must verify).

    .venv/bin/python bench/generate_year.py --scale 0.01 --keep      # ~3 % of a year; prints the URL
    .venv/bin/python bench/generate_year.py --database URL            # into an existing, migrated schema
"""
from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import Counter, defaultdict
from datetime import date, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import Loader, app_for_url, fresh_database  # noqa: E402


FULL = {"agreements": 300, "enrollments": 1_000_000, "invoice_lines": 2_000_000, "receipts": 500_000}
MIN_AGREEMENTS = 12   # enough for every planted anomaly in an agreement of its own
AS_OF = date(2026, 11, 20)
# Planted per rule (in its smallest unit: a payment, an advance, a receipt, a supplier, a person,
# a group of split invoices, an agreement, an allocation).
PLANTED = {"advance_overdue": 3, "receipt_outside_term": 3, "document_reused": 3,
           "payment_supplier_not_validated": 3, "units_paid_inactive": 3, "double_active_enrollment": 3,
           "supplier_conflict": 4, "budget_line_overspent": 0, "split_invoices": 3, "round_amount_receipts": 2,
           "supplier_concentration": 2, "money_after_suspension": 3, "transfers_above_allocation": 2,
           "audit_chain_broken": 0}



TABLES = {
    "organizations": "id, legal_name, nit, registry_number, legal_rep_name, legal_rep_dui, address, municipality_code, "
                     "bank_name, bank_account, email, active, created_at, updated_at",
    "board_members": "id, organization_id, name, dui, position, position_order",
    "organization_phones": "id, organization_id, number",
    "users": "id, email, full_name, password_hash, organization_id, active, locale, session_version, last_login_at, "
             "created_at, updated_at",
    "user_roles": "id, user_id, role",
    "allocations": "id, decree_number, fiscal_year, budget_line_code, organization_id, amount, purpose, created_at, "
                   "updated_at",
    "plans": "id, allocation_id, organization_id, status, title, rejection_reason, created_at, updated_at",
    "plan_versions": "id, plan_id, number, start_date, end_date, justification, objectives, ministry_alignment, "
                     "monitoring, internal_controls, territory, beneficiaries_target, beneficiaries_age_min, "
                     "beneficiaries_age_max, beneficiaries_profile, budget_total, created_by_id, created_at",
    "plan_activities": "id, version_id, position, name, description, responsible, start_date, end_date, "
                       "municipality_codes",
    "plan_budget_lines": "id, version_id, number, category, description, amount",
    "plan_indicators": "id, version_id, position, expected_result, name, unit, baseline, target, means_of_verification",
    "plan_tranches": "id, version_id, number, planned_date, amount, budget_line_numbers",
    "reviews": "id, version_id, discipline, reviewer_id, decision, reason, created_at",
    "agreements": "id, number, year, sequence, plan_id, plan_version_id, allocation_id, organization_id, status, "
                  "amount, object, ministry_obligations, ngo_obligations, control_mechanisms, liquidation_terms, "
                  "liquidation_threshold, start_date, end_date, ministry_signatory_name, ministry_signatory_title, "
                  "ngo_signatory_name, ngo_signatory_title, signed_on, signed_scan_sha256, signed_scan_size, "
                  "administrator_id, status_reason, created_by_id, created_at, updated_at",
    "agreement_status_changes": "id, agreement_id, from_status, to_status, action, reason, actor_id, at",
    "agreement_balances": "agreement_id, amount, committed, paid, advanced, refunded",
    "budget_line_balances": "id, agreement_id, budget_line_id, number, approved, committed, paid, liquidated",
    "incidents": "id, agreement_id, organization_id, occurred_on, severity, description, measure, measure_detail, "
                 "status, resolution, reported_by_id, resolved_by_id, resolved_at, created_at",
    "beneficiaries": "id, document_type, document_number, first_names, last_names, birth_date, sex, "
                     "municipality_code, created_at, updated_at",
    "enrollments": "id, agreement_id, organization_id, beneficiary_id, status, enrolled_on, created_at, updated_at",
    "enrollment_periods": "id, enrollment_id, status, valid_from, valid_to, reason, actor_id, recorded_at",
    "suppliers": "id, agreement_id, organization_id, version, supersedes_id, tax_id, tax_id_type, nrc, legal_name, "
                 "address, phone, bank_name, bank_account, status, checks, decision_reason, proposed_by_id, "
                 "decided_by_id, decided_at, created_at, updated_at",
    "supplier_items": "id, supplier_id, description, unit, unit_price",
    "invoices": "id, agreement_id, organization_id, supplier_id, supplier_tax_id, number, issue_date, period_start, "
                "period_end, total, status, void_reason, registered_by_id, created_at, updated_at",
    "invoice_lines": "id, invoice_id, position, budget_line_id, description, quantity, unit_price, amount, "
                     "per_beneficiary",
    "invoice_line_beneficiaries": "line_id, enrollment_id",
    "receipt_certificates": "id, invoice_id, issued_by_id, received_on, conforming, differences, created_at",
    "payments": "id, agreement_id, organization_id, invoice_id, supplier_id, status, invoiced_amount, "
                "deducted_amount, amount, required_authorizations, prepared_by_id, prepared_at, authorized_at, "
                "executed_by_id, executed_at, bank_reference, transfer_date, created_at, updated_at",
    "payment_lines": "id, payment_id, invoice_line_id, budget_line_id, invoiced, deducted, payable",
    "payment_deductions": "id, payment_id, invoice_line_id, enrollment_id, units, amount, reason_code, reason",
    "payment_authorizations": "payment_id, user_id, preparer_id, at",
    "advances": "id, agreement_id, organization_id, tranche_id, tranche_number, amount, status, period_start, "
                "period_end, liquidation_due, purpose, requested_by_id, reviewed_by_id, reviewed_at, "
                "rejection_reason, prepared_by_id, prepared_at, disbursed_by_id, disbursed_at, bank_reference, "
                "transfer_date, liquidated_amount, refunded_amount, liquidated_at, created_at, updated_at",
    "expense_statements": "id, advance_id, number, status, total, source_filename, file_sha256, submitted_by_id, "
                          "submitted_at, reviewed_at",
    "expense_receipts": "id, statement_id, agreement_id, position, document_type, document_number, issue_date, "
                        "supplier_tax_id, supplier_name, description, budget_line_id, amount, scan_sha256, status, "
                        "decision_reason, decided_by_id, decided_at",
    "refunds": "id, advance_id, agreement_id, amount, bank_reference, refunded_on, recorded_by_id, recorded_at",
    "follow_up_reports": "id, agreement_id, organization_id, period_start, period_end, active_beneficiaries, "
                         "observations, author_id, created_at",
    "follow_up_activities": "report_id, activity_id, progress, notes",
    "follow_up_indicators": "report_id, indicator_id, value, notes",
    "final_liquidations": "id, agreement_id, organization_id, assigned, paid_directly, advanced, liquidated, refunded, "
                          "unspent, beneficiaries_target, beneficiaries_validated, beneficiaries_reached, indicators, "
                          "findings, verdict, reasoning, decided_by_id, decided_at",
}


FIRST = ["José", "María", "Ángel", "Sofía", "Andrés", "Inés", "Jesús", "Raúl", "Verónica", "Mónica", "Iván", "Héctor",
         "Lucía", "Julián", "Ramón", "Nicolás", "Belén", "Ana", "Carlos", "Luis", "Fátima", "Noé", "Elías", "Tomás",
         "Rocío", "Valeria", "Darío", "Óscar", "Jimena", "Rubén", "Josué", "Génesis", "Joaquín", "Karla", "Wilfredo"]
LAST = ["Hernández", "Martínez", "López", "González", "Pérez", "Rodríguez", "Sánchez", "Ramírez", "Cañas", "Peña",
        "Muñoz", "Gómez", "Díaz", "Chávez", "Menjívar", "Alemán", "Ayala", "Portillo", "Quintanilla", "Guardado",
        "Flores", "Rivas", "Orellana", "Álvarez", "Cortez", "Mejía", "Argueta", "Villalta", "Núñez", "Zelaya"]
CATEGORIES = [("Servicios", "Instructores y facilitadores"), ("Materiales", "Insumos de talleres"),
              ("Alimentación", "Refrigerios y almuerzos"), ("Transporte", "Traslado de participantes"),
              ("Equipo", "Herramientas y equipo"), ("Comunicaciones", "Material de difusión")]
ITEMS = ["Taller de carpintería", "Refrigerio por participante", "Kit escolar", "Transporte ida y vuelta",
         "Horas de instructor", "Material didáctico", "Camisetas del programa", "Almuerzo", "Alquiler de local",
         "Papelería", "Herramientas de panadería", "Sesión de tutoría"]
SHOP_KINDS = ["Ferretería", "Librería", "Pupusería", "Comercial", "Distribuidora", "Panadería", "Farmacia", "Tienda"]
MUNICIPALITIES = ["0614", "0623", "0622", "0113", "0210", "0309", "0405", "0511", "0703", "0912", "1108", "1217"]
SEVERITY = ("low", "medium", "high")
DAY = 86_400


def cents(c: int) -> str:
    return f"{c // 100}.{c % 100:02d}"


class World:
    """What outlives one agreement: ids, the staff, the people (for enrollments in two
    agreements), the shops receipts come from, the global document counters."""

    def __init__(self, rng, loader, as_of: date, password_hash: str):
        self.rng, self.out, self.as_of = rng, loader, as_of
        self.password_hash = password_hash
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
        self.out.add("users", uid, email, name, self.password_hash, organization_id, True, "es", 1, None,
                     "2025-10-01 15:00:00+00", "2025-10-01 15:00:00+00")
        self.out.add("user_roles", self.next("user_roles"), uid, role)
        return uid

    def pick(self, role: str) -> int:
        return self.rng.choice(self.staff[role])

    def finish(self) -> None:
        pass


class AgreementBuilder:
    """One organization, its allocation, plan and agreement, and the agreement's whole year."""

    def __init__(self, world: World, index: int, state: str, plants: dict, n_enrollments: int, n_lines: int,
                 n_receipts: int, rng: random.Random):
        self.w, self.out, self.i, self.state, self.plants, self.rng = world, world.out, index, state, plants, rng
        self.n_enrollments, self.n_lines, self.n_receipts = n_enrollments, n_lines, n_receipts
        as_of = world.as_of.toordinal()
        self.start = date(2026, 1, 15).toordinal() + rng.randrange(45)
        self.end = {"liquidated": date(2026, 9, 30), "closing": date(2026, 10, 31)}.get(
            state, rng.choice((date(2026, 11, 30), date(2026, 12, 15)))).toordinal()
        term = self.end - self.start
        self.t = [self.start, self.start + round(term * 0.38),
                  self.start + round(term * (rng.uniform(0.6, 0.72) if state in ("closing", "liquidated") else
                                             rng.uniform(0.6, 0.95)))]
        if "advance_overdue" in plants:
            self.t[2] = min(self.t[2], as_of - 50)
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
                "2025-09-01 15:00:00+00", "2025-09-01 15:00:00+00")
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
        self.number = f"MJSP-CONV-2026-{i + 1:04d}"
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

    # --- beneficiaries and enrollment histories ---------------------------------------------------------
    def enrollments(self) -> None:
        w, out, rng = self.w, self.out, self.rng
        as_of, start = w.as_of.toordinal(), self.start
        self.active: list[tuple[int, int, int]] = []   # (enrollment, active from, active until (exclusive))
        self.not_active: list[tuple[int, int, int]] = []
        self.validated = self.reached = 0
        monitoring, ngo = w.pick("monitoring_reviewer"), self.ngo
        reused, pooled = [], 0
        if self.i >= 2:
            for _ in range(max(1, self.n_enrollments // 200)):   # people who left another agreement earlier
                if w.withdrawn_people:
                    reused.append(("sequential",) + w.withdrawn_people.pop(rng.randrange(len(w.withdrawn_people))))
            if "double_active_enrollment" in self.plants:
                person, active_from, _ = w.active_people.pop(rng.randrange(len(w.active_people)))
                reused.append(("overlap", person, active_from))
        for k in range(self.n_enrollments):
            eid = w.next("enrollments")
            overlap = False
            if k < len(reused):
                kind, person, day = reused[k]
                overlap = kind == "overlap"
                enrolled = max(start, day + 1) + rng.randrange(10)
            else:
                person = w.next("beneficiaries")
                enrolled = start + (rng.randrange(60) if rng.random() < 0.6 else rng.randrange(max(61, as_of - 30 - start)))
                age = rng.randint(14, 29)
                birth = enrolled - age * 365 - rng.randrange(1, 360)
                w.serial += 1
                doc = ("dui", w.dui(w.serial)) if age >= 19 else ("partida_nacimiento", f"PN-{w.serial:09d}")
                stamp = w.ts(enrolled, 14 * 3600 + rng.randrange(7200))
                out.line("beneficiaries", f"{person}\t{doc[0]}\t{doc[1]}\t{rng.choice(FIRST)}\t{rng.choice(LAST)} "
                                          f"{rng.choice(LAST)}\t{w.iso(birth)}\t{'F' if rng.random() < 0.52 else 'M'}\t"
                                          f"{rng.choice(self.territory)}\t{stamp}\t{stamp}\n")
            enrolled = min(enrolled, as_of)
            history = [("pending", enrolled)]
            r = rng.random()
            validated = enrolled + rng.randint(3, 20)
            if overlap:
                validated = enrolled + 1
            if (r > 0.03 or overlap) and validated <= as_of:
                history.append(("validated", validated))
                active = validated + rng.randint(1, 10)
                if (r > 0.08 or overlap) and active <= as_of:
                    history.append(("active", active))
                    r2 = rng.random()
                    leave = active + rng.randrange(30, 240)
                    if not overlap and r2 < 0.12 and leave <= as_of:
                        history.append(("inactive" if r2 < 0.08 else "withdrawn", leave))
            until = 10**9
            for status, day in history[1:]:
                if status in ("inactive", "withdrawn"):
                    until = day
            if len(history) >= 2:
                self.validated += 1
            if len(history) >= 3:
                self.reached += 1
                self.active.append((eid, history[2][1], until))
                if until == 10**9 and not overlap and (pooled < 2 or rng.random() < 0.002) and len(w.active_people) < 5000:
                    w.active_people.append((person, history[2][1], self.i))
                    pooled += 1
                if until != 10**9:
                    self.not_active.append((eid, history[2][1], until))
            else:
                self.not_active.append((eid, 10**9, 10**9))
            if history[-1][0] == "withdrawn":
                if rng.random() < 0.3 and len(w.withdrawn_people) < 20_000:
                    w.withdrawn_people.append((person, until))
            current = history[-1][0]
            stamp = w.ts(history[-1][1])
            out.line("enrollments", f"{eid}\t{self.agreement}\t{self.org}\t{person}\t{current}\t{w.iso(enrolled)}\t"
                                    f"{w.ts(enrolled)}\t{stamp}\n")
            for n, (status, day) in enumerate(history):
                to = w.iso(history[n + 1][1]) if n + 1 < len(history) else "\\N"
                actor = monitoring if status == "validated" else ngo
                reason = "Retiro voluntario" if status == "withdrawn" else "Dejó de asistir" if status == "inactive" else "\\N"
                out.line("enrollment_periods", f"{w.next('enrollment_periods')}\t{eid}\t{status}\t{w.iso(day)}\t{to}\t"
                                               f"{reason}\t{actor}\t{w.ts(day)}\n")

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
                switch = date(2026, rng.randint(4, 8), 20).toordinal()
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
            if rng.random() < 0.02 or (self.inactive_planted and state == "paid"):
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
        out.add("invoices", inv, self.agreement, self.org, sid, supplier["tax_id"], number, w.iso(issue), w.iso(ps),
                w.iso(pe), cents(total), state, "Emitida con datos erróneos; se anula." if state == "voided" else None,
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
        planted = {rule: rule in self.plants for rule in ("receipt_outside_term", "document_reused", "round_amount_receipts")}
        for k, count in enumerate(counts):
            ps, pe = periods[k]
            due = pe + 30
            overdue = k == 1 and "advance_overdue" in self.plants
            # liquidated unless its statement is due more than two weeks after AS_OF (or it is planted
            # overdue), so a check run some days after AS_OF finds only the planted overdue advances
            settle = (k == 0 or due <= as_of + 15 or self.state in ("closing", "liquidated")) and not overdue
            self.advance(k + 1, ps, pe, due, count, settle, planted)
        assert not planted["receipt_outside_term"] and not planted["document_reused"], f"{self.number}: a plant is missing"
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
                status, reason = "pending", None
                if is_reviewed:
                    status = "rejected" if rng.random() < 0.03 and p > 2 else "accepted"
                    reason = "Documento ilegible o sin requisitos fiscales." if status == "rejected" else None
                bl = rng.choices(self.lines, self.line_weights)[0][0]
                out.line("expense_receipts", f"{rid}\t{sid}\t{self.agreement}\t{p}\t{doc_type}\t{doc}\t{w.iso(issue)}\t"
                                             f"{shop_tax}\t{shop_name}\t{rng.choice(ITEMS)}\t{bl}\t{cents(amount)}\t"
                                             f"{rid:064x}\t{status}\t{reason or chr(92) + 'N'}\t"
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
        refund = 0
        if settle:
            if rng.random() < 0.35 or accepted == 0:
                refund = max(100, accepted * rng.randint(1, 4) // 100)
            amount = accepted + refund
        else:
            amount = max(accepted + pending + 100_000, (accepted + pending) * 100 // rng.randint(60, 85))
        self.ledger["advanced"] += amount
        self.ledger["refunded"] += refund
        self.ledger["liquidated"] += accepted
        requested = ps - rng.randint(6, 10)
        self.out.add("advances", aid, self.agreement, self.org, self.tranche_ids[number - 1], number, cents(amount),
                     "liquidated" if settle else "disbursed", w.iso(ps), w.iso(pe), w.iso(pe + 30),
                     f"Anticipo del desembolso {number}", self.ngo, self.financial, w.ts(requested + 2), None,
                     self.treasury[0], w.ts(requested + 4), self.treasury[1], w.ts(disbursed, 17 * 3600),
                     f"ANT-{aid:08d}", w.iso(disbursed), cents(accepted), cents(refund),
                     w.ts(min(max(reviewed_last, disbursed) + 5, as_of), 19 * 3600) if settle else None,
                     w.ts(requested), w.ts(min(max(reviewed_last, disbursed) + 5, as_of), 19 * 3600))
        if refund:
            day = min(max(reviewed_last, disbursed) + 5, as_of)
            self.out.add("refunds", w.next("refunds"), aid, self.agreement, cents(refund), f"REI-{aid:08d}",
                         w.iso(day), self.ngo, w.ts(day, 18 * 3600))
        self.advance_rows.append({"id": aid, "amount": amount, "status": "liquidated" if settle else "disbursed",
                                  "day": disbursed})

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
        out.add("allocations", self.allocation, f"D.L. N.º {400 + i}", 2026, f"2026-0700-3-02-01-21-1-{56300 + i % 50}",
                self.org, cents(allocation), "Prevención de la violencia y reinserción de jóvenes en riesgo.",
                w.ts(created - 30), w.ts(created - 30))
        out.add("plans", self.plan, self.allocation, self.org, "approved", f"Plan de trabajo 2026 — {self.org_name}",
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
        history = [(None, "draft", "create", None, created), ("draft", "signed", "sign", None, signed),
                   ("signed", "in_execution", "start_execution", None, start)]
        history += self.suspensions()
        if self.state in ("closing", "liquidated"):
            history.append(("in_execution", "closing", "begin_closing", None, end + 3))
        if self.state == "liquidated":
            history.append(("closing", "liquidated", "liquidate", None, end + 15))
        legal = w.pick("legal_reviewer")
        for before, after, action, reason, day in history:
            actor = self.admin if action in ("begin_closing", "liquidate") else legal
            out.add("agreement_status_changes", w.next("agreement_status_changes"), self.agreement, before, after,
                    action, reason, actor, w.ts(day))
        out.add("agreements", self.agreement, self.number, 2026, i + 1, self.plan, self.version, self.allocation, self.org,
                self.state, cents(amount), "Ejecución del plan de trabajo 2026.", "Transferir los fondos.",
                "Ejecutar el plan y rendir cuentas.", "Informes y visitas.", "Liquidación al final del plazo.",
                "100.00", w.iso(start), w.iso(end), "Ministro de Justicia", "Ministro", "Representante legal",
                "Presidente", w.iso(signed), f"{self.agreement:064x}", 48_213, self.admin,
                "Incumplimiento en curso de revisión." if self.state == "suspended" else None, legal,
                w.ts(created), w.ts(history[-1][4]))
        out.add("agreement_balances", self.agreement, cents(amount), cents(led["committed"]), cents(led["paid"]),
                cents(led["advanced"]), cents(led["refunded"]))
        for bl, number, *_ in self.lines:
            out.add("budget_line_balances", w.next("budget_line_balances"), self.agreement, bl, number,
                    cents(approved[bl]), cents(self.spend[bl, "committed"]), cents(self.spend[bl, "paid"]),
                    cents(self.spend[bl, "liquidated"]))
        self.follow_up(as_of)
        if self.state == "liquidated":
            indicators = [{"name": f"Indicador {k + 1}", "unit": "personas", "baseline": "0.00", "target": f"{g}.00",
                           "achieved": f"{round(g * 0.9)}.00"} for k, (_, g) in enumerate(self.targets)]
            out.add("final_liquidations", w.next("final_liquidations"), self.agreement, self.org, cents(amount),
                    cents(led["paid"]), cents(led["advanced"]), cents(led["liquidated"]), cents(led["refunded"]),
                    cents(amount - led["paid"] - led["liquidated"]), target, self.validated, self.reached,
                    json.dumps(indicators, ensure_ascii=False), '{"total": 0, "confirmed": 0, "justified": 0, "by_rule": {}}',
                    rng.choice(("cumple", "cumple", "cumple_parcialmente")),
                    "Metas alcanzadas en lo sustancial; gastos soportados.", self.admin, w.ts(end + 15))

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
            out += [("in_execution", "suspended", "suspend", "Incumplimiento de entrega de informes.", begin),
                    ("suspended", "in_execution", "resume", "Informes entregados.", end)]
            self.incident(begin, end)
        if self.suspended_at:
            out.append(("in_execution", "suspended", "suspend", "Incumplimiento en curso de revisión.", self.suspended_at))
            self.incident(self.suspended_at, None)
        return out

    def incident(self, day: int, resolved) -> None:
        w = self.w
        self.out.add("incidents", w.next("incidents"), self.agreement, self.org, w.iso(day - 1), "high",
                     "Informes trimestrales no entregados.", "suspension", "Suspensión hasta la entrega.",
                     "resolved" if resolved else "open", "Informes entregados." if resolved else None, self.admin,
                     self.admin if resolved else None, w.ts(resolved) if resolved else None, w.ts(day - 1))

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


def targets(scale: float) -> dict:
    out = {key: max(1, round(value * scale)) for key, value in FULL.items()}
    out["agreements"] = max(MIN_AGREEMENTS, out["agreements"])
    return out


def split(total: int, weights: list[float]) -> list[int]:
    """``total`` in parts proportional to ``weights`` (largest remainder; exact sum)."""
    whole = sum(weights)
    raw = [total * w / whole for w in weights]
    parts = [int(x) for x in raw]
    for i in sorted(range(len(raw)), key=lambda i: parts[i] - raw[i])[: total - sum(parts)]:
        parts[i] += 1
    return parts


def assign_plants(rng: random.Random, states: list[str]) -> dict[int, dict[str, int]]:
    """{agreement index: {rule: n}}; each rule's anomalies in different agreements in execution."""
    executing = [i for i, s in enumerate(states) if s == "in_execution"]
    plants: dict[int, dict[str, int]] = defaultdict(dict)
    for rule, n in PLANTED.items():
        if n == 0:
            continue
        pool = [i for i in executing if i >= 2] if rule == "double_active_enrollment" else executing
        for k, i in enumerate(rng.sample(pool, n)):
            plants[i][rule] = k + 1   # which one (supplier_conflict: the kind; money_after_suspension: 3 = advance)
    return plants


def agreement_states(rng: random.Random, n: int) -> list[str]:
    states = ["in_execution"] * n
    picks = rng.sample(range(n), max(3, round(n * 0.11)))
    closing, liquidated = max(1, round(n * 0.05)), max(1, round(n * 0.05))
    for k, i in enumerate(picks):
        states[i] = "closing" if k < closing else "liquidated" if k < closing + liquidated else "suspended"
    return states


def generate(app_or_url, scale: float = 1.0, seed: int = 2026, *, as_of: date = AS_OF, check_fks: bool = False,
             progress=None) -> dict:
    """Fill a migrated, empty PostgreSQL schema with a year; returns a summary (counts, planted anomalies)."""
    app = app_or_url if hasattr(app_or_url, "app_context") else app_for_url(app_or_url)
    say = progress or (lambda message: None)
    started = time.perf_counter()
    want = targets(scale)
    rng = random.Random(seed)
    n = want["agreements"]
    states = agreement_states(rng, n)
    plants = assign_plants(rng, states)
    weights = [min(4.0, rng.lognormvariate(0, 0.5)) for _ in range(n)]
    enrollments = split(want["enrollments"], weights)
    lines = split(want["invoice_lines"], [w * rng.uniform(0.8, 1.2) for w in weights])
    receipts = split(want["receipts"], [w * rng.uniform(0.8, 1.2) for w in weights])

    from grants.extensions import db
    from grants.security import hash_password

    with app.app_context():
        password_hash = hash_password("bench-2026")
        raw = db.engine.raw_connection()
        try:
            pg = raw.driver_connection
            with pg.cursor() as cursor:
                cursor.execute("SELECT count(*) FROM agreements")
                if cursor.fetchone()[0]:
                    raise RuntimeError("the schema already holds agreements: generate into an empty one")
                if not check_fks:
                    cursor.execute("SET session_replication_role = replica")   # no FK triggers; CHECKs stay
            loader = Loader(pg, TABLES)
            world = World(rng, loader, as_of, password_hash)
            for i in range(n):
                AgreementBuilder(world, i, states[i], plants.get(i, {}), enrollments[i], lines[i], receipts[i],
                                 random.Random(seed * 1_000_003 + i)).build()
                loader.maybe_flush()
                if progress and (i + 1) % max(1, n // 10) == 0:
                    say(f"  {i + 1}/{n} agreements, {loader.rows['enrollments']:,} enrollments, "
                        f"{loader.rows['invoice_lines']:,} invoice lines, {loader.rows['expense_receipts']:,} "
                        f"receipts ({time.perf_counter() - started:.0f} s)")
            world.finish()
            loader.flush()
            with pg.cursor() as cursor:
                # Versions are frozen once submitted (triggers): their children went in first.
                cursor.execute("UPDATE plan_versions SET submitted_at = created_at + interval '2 days', "
                               "submitted_by_id = created_by_id")
                cursor.execute("INSERT INTO agreement_counters (year, last_sequence) VALUES (2026, %s)", (n,))
                for table in loader.tables_with_ids():
                    cursor.execute(f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
                                   f"coalesce((SELECT max(id) FROM {table}), 0) + 1, false)")
                if not check_fks:
                    cursor.execute("SET session_replication_role = origin")
            pg.commit()
            say(f"  loaded in {time.perf_counter() - started:.0f} s; ANALYZE …")
            pg.autocommit = True
            with pg.cursor() as cursor:
                cursor.execute("ANALYZE")
            pg.autocommit = False
        finally:
            raw.close()
        _audit_events(db, world)
        url = db.engine.url.render_as_string(hide_password=False)
    planted = {rule: (count if rule != "double_active_enrollment" or n > 2 else 0) for rule, count in PLANTED.items()}
    return {"url": url, "scale": scale, "seed": seed, "as_of": as_of.isoformat(), "targets": want,
            "counts": dict(sorted(loader.rows.items())), "planted": planted, "states": dict(Counter(states)),
            "planted_in": {rule: sorted(i + 1 for i, p in plants.items() if rule in p) for rule in PLANTED},
            "seconds": round(time.perf_counter() - started, 1)}


def _audit_events(db, world: World) -> None:
    """A handful of real chained events (not millions): the generation itself, on a few agreements."""
    from grants.audit import Actor, record_event

    actor = Actor.system("bench")
    for agreement_id, organization_id, number in world.first_agreements[:5]:
        record_event(db.session, actor, "bench.year_generated", "agreement", agreement_id,
                     after={"number": number, "note": "datos sintéticos de benchmark"},
                     organization_id=organization_id)
    db.session.commit()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--scale", type=float, default=1.0, help="share of the full year (0.01 for a quick run)")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--database", help="an existing, migrated, empty schema's URL (else a fresh schema)")
    parser.add_argument("--keep", action="store_true", help="keep the fresh schema and print its URL")
    parser.add_argument("--check-fks", action="store_true", help="keep the foreign-key triggers on (slower)")
    parser.add_argument("--summary", help="also write the summary (with the database URL) to this JSON file")
    args = parser.parse_args()
    database = None
    if args.database:
        target = args.database
    else:
        database, target = fresh_database()
    print(f"Generating a year at scale {args.scale:g} (seed {args.seed}) …", flush=True)
    try:
        summary = generate(target, args.scale, args.seed, check_fks=args.check_fks,
                           progress=lambda m: print(m, flush=True))
    except BaseException:
        if database is not None and not args.keep:
            database.drop()
        raise
    print(json.dumps({k: v for k, v in summary.items() if k not in ("url", "planted_in")}, indent=1))
    if args.summary:
        Path(args.summary).write_text(json.dumps(summary, indent=1))
    if database is not None:
        from _common import dispose

        dispose(target)
        if args.keep:
            print(f"\nkept schema {database.name}; reuse it with --database '{database.url}'")
        else:
            database.drop()
            print(f"\ndropped schema {database.name} (use --keep to reuse it)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
