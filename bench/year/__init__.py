"""The year generator behind ``bench/generate_year.py`` (see its docstring and bench/README.md).

``constants`` (sizes, planted anomalies, COPY columns, names) · ``world`` (what agreements share) ·
``plan`` (volumes, states, where the anomalies go) · ``agreements`` (``AgreementBuilder``: the
organization, plan, agreement and suppliers) with its mixins ``people`` (enrollments), ``money``
(invoices, payments), ``advances`` (statements, receipts, refunds), ``closing`` (status history,
follow-up, ledger) · ``generate`` (COPY it all, VACUUM (ANALYZE), audit events).
"""
from year.constants import FULL, PLANTED, REFERENCE_AS_OF, TABLES
from year.generate import generate, vacuum_analyze
from year.plan import targets

__all__ = ["FULL", "PLANTED", "REFERENCE_AS_OF", "TABLES", "generate", "targets", "vacuum_analyze"]
