"""Every lifecycle's state Enum in one tuple (and the list kind): what templates compare with
(``grants.web`` makes each a Jinja global) and what ``tests/test_typed_states.py`` checks is stored
typed. A new lifecycle's Enum is added here (that test fails until it is)."""
from __future__ import annotations

from grants.workflows.advance import AdvanceState, ReceiptState, StatementState
from grants.workflows.agreement import AgreementState
from grants.workflows.assembly_report import ReportState
from grants.workflows.bank_statement import LineState
from grants.workflows.audit_check import FindingState, RunState
from grants.workflows.commitment import CommitmentState
from grants.workflows.deposit import DepositState
from grants.workflows.enrollment import EnrollmentState
from grants.workflows.final_liquidation import LiquidationState
from grants.workflows.generated_file import FileState
from grants.workflows.import_batch import BatchKind, BatchState
from grants.workflows.incident import IncidentState, MeasureState
from grants.workflows.outbox import OutboxState
from grants.workflows.payment import InvoiceState, PaymentState
from grants.workflows.payment_batch import PaymentBatchItemKind, PaymentBatchState
from grants.workflows.plan import PlanState
from grants.workflows.supplier import SupplierState

STATE_ENUMS = (
    PlanState, AgreementState, EnrollmentState, BatchState, BatchKind, SupplierState, InvoiceState, PaymentState,
    AdvanceState, StatementState, ReceiptState, DepositState, CommitmentState, IncidentState, MeasureState,
    RunState, FindingState, LiquidationState, ReportState, OutboxState, FileState, PaymentBatchState,
    PaymentBatchItemKind, LineState,
)
