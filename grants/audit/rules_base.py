"""The pieces every liquidation rule is made of: its scope, its settings, what it returns, and
small SQL helpers that read the same on SQLite and PostgreSQL.

A rule's ``find(reader, scope, settings)`` runs one (or very few) set-based SQL statements on the
session it is given (the request's ``db.session``, or a check run's second connection) and yields
``FindingRow``s; it never queries once per row. Rules read, never write.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timezone
from decimal import Decimal

from sqlalchemy import text
from sqlalchemy.orm import Session

from grants.audit.chain import to_jsonable
from grants.extensions import db
from grants.models.base import Money, UTCDateTime
from grants.money import CENT

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

    def sql_inline(self, column: str) -> str:
        """The condition of ``sql`` with its values written in (as integers), for a statement that
        takes no parameters (CREATE TABLE … AS)."""
        parts = []
        if self.agreement_id is not None:
            parts.append(f"{column} = {int(self.agreement_id)}")
        if self.fiscal_year is not None:
            parts.append(f"{column} IN (SELECT sa.id FROM agreements sa JOIN allocations sl "
                         f"ON sl.id = sa.allocation_id WHERE sl.fiscal_year = {int(self.fiscal_year)})")
        return " AND ".join(parts) or "1 = 1"

    def agreement_ids(self, reader) -> set[int] | None:
        """The agreements in scope (None: all of them)."""
        if self.is_global:
            return None
        condition, params = self.sql("a.id")
        return set(reader.execute(text(f"SELECT a.id FROM agreements a WHERE {condition}"), params).scalars())


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
    deposit_confirmation_days: int = 10
    # The moment the checks run (for rules on timestamps); set from ``today`` when not given.
    now: datetime | None = None
    # Per-run scratch (see ``receipt_sums``): run_checks puts the name of the run's temporary table
    # of receipt sums here. Empty when a rule runs on its own: it then reads the same sums inline.
    shared: dict = field(default_factory=dict, compare=False, hash=False, repr=False)

    @classmethod
    def from_config(cls, config, today: date, dialect: str) -> RuleSettings:
        return cls(
            today=today, dialect=dialect,
            split_invoice_threshold=Decimal(str(config["AUDIT_SPLIT_INVOICE_THRESHOLD"])),
            split_invoice_days=int(config["AUDIT_SPLIT_INVOICE_DAYS"]),
            round_amount_min_receipts=int(config["AUDIT_ROUND_AMOUNT_MIN_RECEIPTS"]),
            round_amount_share=Decimal(str(config["AUDIT_ROUND_AMOUNT_SHARE"])),
            supplier_share=Decimal(str(config["AUDIT_SUPPLIER_SHARE"])),
            deposit_confirmation_days=int(config["DEPOSIT_CONFIRMATION_DAYS"]),
        )

    def __post_init__(self):
        if self.now is None:
            from grants import clock

            moment = clock.now() if self.today == clock.today() else datetime.combine(
                self.today, time(23, 59, 59), clock.EL_SALVADOR)
            object.__setattr__(self, "now", moment.astimezone(timezone.utc))

    def day_number(self, expr: str) -> str:
        """An integer day number of a DATE expression (differences are days)."""
        if self.dialect == "postgresql":
            return f"({expr} - DATE '2000-01-01')"
        return f"CAST(julianday({expr}) AS INTEGER)"

    def midnight_after(self, expr: str) -> str:
        """The start (00:00 UTC) of the day after the DATE ``expr``, comparable with a UTC timestamp column."""
        if self.dialect == "postgresql":
            return f"(CAST({expr} + 1 AS timestamp) AT TIME ZONE 'UTC')"
        return f"date({expr}, '+1 day')"  # 'YYYY-MM-DD' sorts before every 'YYYY-MM-DD hh:mm:ss' of that day

    def days_before(self, expr: str, days: str) -> str:
        """The DATE ``expr`` minus the integer SQL expression ``days``, comparable with a DATE column
        (so that an index on that column serves the comparison)."""
        if self.dialect == "postgresql":
            return f"({expr} - {days})"
        return f"date({expr}, '-' || ({days}) || ' days')"

    def each_row_of(self, table: str, alias: str, condition: str) -> str:
        """``JOIN table alias ON condition``, looked up row by row of the left side through an index.
        PostgreSQL is told so (LATERAL, and OFFSET 0 so that it does not flatten it back into a join):
        across two columns it cannot estimate how few rows the condition leaves, and would read the
        whole table; SQLite always joins that way."""
        if self.dialect == "postgresql":
            return f"CROSS JOIN LATERAL (SELECT * FROM {table} {alias} WHERE {condition} OFFSET 0) {alias}"
        return f"JOIN {table} {alias} ON {condition}"

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
    find: Callable[[Session, Scope, RuleSettings], Iterable[FindingRow]]   # (reader, scope, settings)
    scoped: bool = True  # False: looks at the whole database whatever the scope (the audit chain)


# --- helpers ---------------------------------------------------------------------------------

def rows(reader: Session, sql: str, params: dict, **types):
    """Run one statement on ``reader``; ``types`` names result columns to read with a type (``MONEY``, ``Date()``…).
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
    return reader.execute(statement, params).mappings().all()


MONEY = Money


def money(value) -> Decimal:
    return Decimal(value if value is not None else 0).quantize(CENT)


def as_date(value) -> date | None:
    if value is None or isinstance(value, date) and not isinstance(value, datetime):
        return value
    if isinstance(value, datetime):
        return value.date()
    return date.fromisoformat(str(value)[:10])


# --- receipts summed once per run ------------------------------------------------------------

# A receipt amount in whole hundreds (…00.00). On PostgreSQL amounts are numeric(14, 2), so
# ``amount % 100 = 0`` (exact numeric arithmetic) says the same as the portable form, in one operation.
IS_ROUND = "CAST(ROUND(r.amount * 100) AS INTEGER) % 10000 = 0"
IS_ROUND_PG = "r.amount % 100 = 0"

# The receipts (not rejected) of the scope summed per (agreement, budget line, supplier, status):
# ~41 k rows for a year of 500 k receipts. Four rules need no more than these sums:
# round_amount_receipts (per agreement), supplier_concentration and budget_line_overspent (the
# accepted ones, per supplier / per budget line) and receipt_outside_term (the issue dates' range,
# to read only the receipts of agreements that have some receipt outside their term).
_RECEIPT_SUMS = """
    SELECT r.agreement_id, r.budget_line_id, r.supplier_tax_id, r.status,
           COUNT(*) AS receipts, COUNT(*) FILTER (WHERE {is_round}) AS round_receipts,
           COALESCE(SUM(r.amount) FILTER (WHERE {is_round}), 0) AS round_amount, SUM(r.amount) AS amount,
           MAX(r.supplier_name) AS supplier_name, MIN(r.issue_date) AS first_issue, MAX(r.issue_date) AS last_issue
    FROM expense_receipts r WHERE r.status != 'rejected' AND {condition}
    GROUP BY r.agreement_id, r.budget_line_id, r.supplier_tax_id, r.status
"""


def _receipt_sums_sql(condition: str, settings: RuleSettings) -> str:
    is_round = IS_ROUND_PG if settings.dialect == "postgresql" else IS_ROUND
    return _RECEIPT_SUMS.format(condition=condition, is_round=is_round)


def receipt_sums(scope: Scope, settings: RuleSettings) -> str:
    """The receipt sums of the scope as a FROM item: the run's temporary table when ``run_checks``
    made one (``share_receipt_sums``), else the same query inline (its parameters are the scope's)."""
    table = settings.shared.get("receipt_sums")
    if table is not None:
        return table
    condition, _ = scope.sql("r.agreement_id")
    return f"({_receipt_sums_sql(condition, settings)})"


def share_receipt_sums(scope: Scope, settings: RuleSettings, name: str) -> None:
    """Sum the receipts once for the whole run, into a temporary table ``name`` (private to this
    database session; ``drop_receipt_sums`` drops it, and a rollback too)."""
    sql = _receipt_sums_sql(scope.sql_inline("r.agreement_id"), settings)
    db.session.execute(text(f"CREATE TEMPORARY TABLE {name} AS {sql}"))
    settings.shared["receipt_sums"] = name


def drop_receipt_sums(settings: RuleSettings) -> None:
    name = settings.shared.pop("receipt_sums", None)
    if name is not None:
        db.session.execute(text(f"DROP TABLE IF EXISTS {name}"))
