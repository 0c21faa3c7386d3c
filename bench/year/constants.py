"""Sizes, the planted anomalies, the COPY column lists and the names a year is made of."""
from __future__ import annotations

from datetime import date

FULL = {"agreements": 300, "enrollments": 1_000_000, "invoice_lines": 2_000_000, "receipts": 500_000}
MIN_AGREEMENTS = 12   # enough for every planted anomaly in an agreement of its own
# The calendar the year was designed on: generated on 20 November 2026 ("as of"), terms starting on
# one of the 45 days from 15 January 2026. A year generated as of another day is this calendar moved
# by as many days (``World.ref``), so every relation between dates, and with the day it is generated
# on, holds; its fiscal year is the year its terms start in (``World``).
REFERENCE_AS_OF = date(2026, 11, 20)
REFERENCE_FIRST_START, START_DAYS = date(2026, 1, 15), 45
# Planted per rule (in its smallest unit: a payment, an advance, a receipt, a refund, a supplier, a person,
# a group of split invoices, an agreement, an allocation).
PLANTED = {"advance_overdue": 3, "receipt_outside_term": 3, "document_reused": 3,
           "payment_supplier_not_validated": 3, "units_paid_inactive": 3, "double_active_enrollment": 3,
           "supplier_conflict": 4, "budget_line_overspent": 0, "split_invoices": 3, "round_amount_receipts": 2,
           "supplier_concentration": 2, "money_after_suspension": 3, "transfers_above_allocation": 2,
           "audit_chain_broken": 0, "receipt_before_disbursement": 2, "certificate_before_service_end": 0,
           "deposit_unconfirmed": 2, "payment_before_certificate": 0, "payment_basis_changed": 0}
# The rules planted after the first fourteen (the timeline rules, issue 10) are placed with a random
# generator of their own, so that the agreements, volumes and anomalies of the first fourteen stay
# where they were (``plan.assign_plants``).
TIMELINE_RULES = ("receipt_before_disbursement", "certificate_before_service_end", "deposit_unconfirmed",
                  "payment_before_certificate", "payment_basis_changed")
# (receipt_before_disbursement also finds the receipts planted for receipt_outside_term: dated
# before the agreement's start, they are before their advance's transfer too; those agreements
# have no pre-financing clause.)



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
                  "administrator_id, status_reason, created_by_id, created_at, updated_at, prefinancing_days",
    "agreement_status_changes": "id, agreement_id, from_status, to_status, action, reason, actor_id, at",
    # (fines_assessed, fines_declared, fines_collected: their default 0; the year has no fines)
    "agreement_balances": "agreement_id, amount, committed, paid, advanced, refunded, refunds_declared",
    "budget_line_balances": "id, agreement_id, budget_line_id, number, approved, committed, paid, liquidated",
    "incidents": "id, agreement_id, organization_id, occurred_on, severity, description, measure, measure_detail, "
                 "measure_status, urgent, reply_due, measure_decided_by_id, measure_decided_at, "
                 "measure_decision_note, status, resolution, reported_by_id, resolved_by_id, resolved_at, created_at",
    "incident_replies": "id, incident_id, organization_id, text, submitted_by_id, submitted_at",
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
                        "supplier_tax_id, supplier_name, description, budget_line_id, amount, status, "
                        "decision_reason, decided_by_id, decided_at",
    "refunds": "id, advance_id, agreement_id, amount, bank_name, bank_reference, refunded_on, status, recorded_by_id, "
               "recorded_at, decided_by_id, decided_at",
    "follow_up_reports": "id, agreement_id, organization_id, period_start, period_end, active_beneficiaries, "
                         "observations, author_id, created_at",
    "follow_up_activities": "report_id, activity_id, progress, notes",
    "follow_up_indicators": "report_id, indicator_id, value, notes",
    "final_liquidations": "id, agreement_id, organization_id, assigned, paid_directly, advanced, liquidated, refunded, "
                          "unspent, beneficiaries_target, beneficiaries_validated, beneficiaries_reached, indicators, "
                          "findings, verdict, reasoning, revision, status, prepared_by_id, prepared_at, closed_at",
    "final_liquidation_signers": "agreement_id, user_id, discipline, first_liquidation_id",
    "final_liquidation_signoffs": "id, final_liquidation_id, agreement_id, preparer_id, discipline, reviewer_id, "
                                  "decision, observations, signed_at",
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
