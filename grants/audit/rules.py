"""The catalogue of liquidation checks (internal audit), in a stable order.

Each ``Rule`` has a code, a severity, a Spanish title, what it ``detects`` and ``why`` it matters
(rendered on the auditors' page and in docs/liquidation-rules.md, generated from this list by
``python -m grants.audit.rules > docs/liquidation-rules.md``), and ``find(scope, settings)``: one
or very few set-based SQL statements (joins and groups over the whole scope, never one query
per row) yielding ``FindingRow``s. Thresholds come from the app config (``RuleSettings.from_config``).

The rules live in ``rules_receipts.py`` (advances and their receipts), ``rules_payments.py``
(payments, budget lines, transfers), ``rules_people.py`` (beneficiaries, suppliers' ties to
the NGO, the audit chain) and ``rules_timeline.py`` (money before the fact that justifies it,
deposits nobody confirmed, payments whose basis changed afterwards). ``grants.services.audit_checks.run_checks`` runs them and keeps the
findings.
"""
from __future__ import annotations

from grants.audit import rules_payments, rules_people, rules_receipts, rules_timeline
from grants.audit.rules_base import FindingRow, Rule, RuleSettings, Scope

__all__ = ["RULES", "RULES_BY_CODE", "FindingRow", "Rule", "RuleSettings", "Scope", "catalogue_markdown"]

_ALL = {r.code: r for r in (*rules_receipts.RULES, *rules_payments.RULES, *rules_people.RULES,
                            *rules_timeline.RULES)}

ORDER = (
    "advance_overdue",
    "receipt_outside_term",
    "document_reused",
    "payment_supplier_not_validated",
    "units_paid_inactive",
    "double_active_enrollment",
    "supplier_conflict",
    "budget_line_overspent",
    "split_invoices",
    "round_amount_receipts",
    "supplier_concentration",
    "money_after_suspension",
    "transfers_above_allocation",
    "audit_chain_broken",
    "receipt_before_disbursement",
    "certificate_before_service_end",
    "deposit_unconfirmed",
    "payment_before_certificate",
    "payment_basis_changed",
)

RULES: list[Rule] = [_ALL[code] for code in ORDER]
RULES_BY_CODE: dict[str, Rule] = {r.code: r for r in RULES}
assert len(RULES) == len(_ALL), "every rule has its place in ORDER"

SEVERITY_WORDS = {"high": "alta", "medium": "media", "low": "baja"}


def catalogue_markdown() -> str:
    """docs/liquidation-rules.md, from RULES (keep them consistent: a test compares them)."""
    lines = [
        "# Reglas de liquidación (auditoría interna)",
        "",
        "Generado desde `grants/audit/rules.py` con `python -m grants.audit.rules > docs/liquidation-rules.md`.",
        "Cada regla es una consulta por conjuntos sobre el alcance de la corrida (un convenio, un año fiscal",
        "o todo); cada hallazgo se identifica por regla + entidad, así que repetir la corrida no lo duplica.",
        "Umbrales (configuración): `AUDIT_SPLIT_INVOICE_THRESHOLD`, `AUDIT_SPLIT_INVOICE_DAYS`,",
        "`AUDIT_ROUND_AMOUNT_MIN_RECEIPTS`, `AUDIT_ROUND_AMOUNT_SHARE`, `AUDIT_SUPPLIER_SHARE`,",
        "`DEPOSIT_CONFIRMATION_DAYS`.",
        "",
        "| # | código | severidad | regla |",
        "|---|---|---|---|",
    ]
    for n, rule in enumerate(RULES, start=1):
        lines.append(f"| {n} | `{rule.code}` | {SEVERITY_WORDS[rule.severity]} | {rule.title} |")
    for n, rule in enumerate(RULES, start=1):
        lines += ["", f"## {n}. {rule.title} (`{rule.code}`)", "",
                  f"**Severidad:** {SEVERITY_WORDS[rule.severity]}.", "",
                  f"**Qué detecta.** {rule.detects}", "", f"**Por qué importa.** {rule.why}"]
    return "\n".join(lines) + "\n"


if __name__ == "__main__":  # pragma: no cover
    print(catalogue_markdown(), end="")
