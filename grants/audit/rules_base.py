"""The pieces every liquidation rule is made of: its scope, its settings, what it returns, and
small SQL helpers that read the same on SQLite and PostgreSQL.

A rule's ``find(scope, settings)`` runs one (or very few) set-based SQL statements and yields
``FindingRow``s; it never queries once per row. Rules read, never write.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import text

from grants.audit.chain import to_jsonable
from grants.extensions import db
from grants.models.base import Money, UTCDateTime

SEVERITIES = ("low", "medium", "high")


@dataclass(frozen=True)
class Scope:
    """Which agreements a run looks at: one agreement, one fiscal year (of the allocation), both, or all."""

    agreement_id: int | None = None
    fiscal_year: int | None = None

    @property
    def is_global(self) -> bool:
        return self.agreement_id is None and self.fiscal_year is None

    def sql(self, column: str) -> tuple[str, dict]:
        """A condition on an agreement id column (``column``) and its parameters."""
        parts, params = [], {}
        if self.agreement_id is not None:
            parts.append(f"{column} = :scope_agreement")
            params["scope_agreement"] = self.agreement_id
        if self.fiscal_year is not None:
            parts.append(f"{column} IN (SELECT sa.id FROM agreements sa JOIN allocations sl "
                         f"ON sl.id = sa.allocation_id WHERE sl.fiscal_year = :scope_year)")
            params["scope_year"] = self.fiscal_year
        return (" AND ".join(parts) or "1 = 1"), params

    def agreement_ids(self) -> set[int] | None:
        """The agreements in scope (None: all of them)."""
        if self.is_global:
            return None
        condition, params = self.sql("a.id")
        return set(db.session.execute(text(f"SELECT a.id FROM agreements a WHERE {condition}"), params).scalars())


@dataclass(frozen=True)
class RuleSettings:
    """Thresholds (app config, see config/__init__.py) and the day the checks are run for."""

    today: date
    dialect: str = "sqlite"
    split_invoice_threshold: Decimal = Decimal("5000.00")
    split_invoice_days: int = 15
    round_amount_min_receipts: int = 5
    round_amount_share: Decimal = Decimal("0.50")
    supplier_share: Decimal = Decimal("0.40")

    @classmethod
    def from_config(cls, config, today: date, dialect: str) -> RuleSettings:
        return cls(
            today=today, dialect=dialect,
            split_invoice_threshold=Decimal(str(config["AUDIT_SPLIT_INVOICE_THRESHOLD"])),
            split_invoice_days=int(config["AUDIT_SPLIT_INVOICE_DAYS"]),
            round_amount_min_receipts=int(config["AUDIT_ROUND_AMOUNT_MIN_RECEIPTS"]),
            round_amount_share=Decimal(str(config["AUDIT_ROUND_AMOUNT_SHARE"])),
            supplier_share=Decimal(str(config["AUDIT_SUPPLIER_SHARE"])),
        )

    def day_number(self, expr: str) -> str:
        """An integer day number of a DATE expression (differences are days)."""
        if self.dialect == "postgresql":
            return f"({expr} - DATE '2000-01-01')"
        return f"CAST(julianday({expr}) AS INTEGER)"

    def days_window(self, expr: str, days: int) -> str:
        """A window frame: rows ordered by the DATE ``expr``, from this day to ``days`` days later."""
        if self.dialect == "postgresql":
            return f"ORDER BY {expr} RANGE BETWEEN CURRENT ROW AND INTERVAL '{int(days)} days' FOLLOWING"
        return f"ORDER BY julianday({expr}) RANGE BETWEEN CURRENT ROW AND {int(days)} FOLLOWING"


@dataclass(frozen=True)
class FindingRow:
    """One thing a rule found. ``(rule_code, entity_type, entity_id)`` identifies it across runs."""

    rule_code: str
    severity: str
    agreement_id: int | None
    organization_id: int | None
    entity_type: str
    entity_id: str
    summary: str
    evidence: dict = field(default_factory=dict)
    amount: Decimal | None = None

    def plain_evidence(self) -> dict:
        return to_jsonable(self.evidence)


@dataclass(frozen=True)
class Rule:
    """A named check: what it detects and why it matters (Spanish, shown to auditors)."""

    code: str
    severity: str
    title: str
    detects: str
    why: str
    find: Callable[[Scope, RuleSettings], Iterable[FindingRow]]
    scoped: bool = True  # False: looks at the whole database whatever the scope (the audit chain)


# --- helpers ---------------------------------------------------------------------------------

def rows(sql: str, params: dict, **types):
    """Run one statement; ``types`` names result columns to read with a type (``MONEY``, ``Date()``…).
    Decimal, date and datetime parameters are bound with their types (the same on both backends)."""
    from sqlalchemy import Date, bindparam

    statement = text(sql)
    for name, value in params.items():
        if isinstance(value, Decimal):
            statement = statement.bindparams(bindparam(name, type_=Money))
        elif isinstance(value, datetime):
            statement = statement.bindparams(bindparam(name, type_=UTCDateTime()))
        elif isinstance(value, date):
            statement = statement.bindparams(bindparam(name, type_=Date()))
    if types:
        statement = statement.columns(**types)
    return db.session.execute(statement, params).mappings().all()


MONEY = Money
CENT = Decimal("0.01")


def money(value) -> Decimal:
    return Decimal(value if value is not None else 0).quantize(CENT)


def short(day) -> str:
    if isinstance(day, str):
        day = date.fromisoformat(day[:10])
    if isinstance(day, datetime):
        day = day.date()
    return day.strftime("%d/%m/%Y") if day else "—"


def as_date(value) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


def amount_text(value: Decimal) -> str:
    return f"${value:,.2f}"
