"""SQLAlchemy models, one module per aggregate. Import them all here for Alembic."""
from grants.models.advance import Advance, ExpenseStatement, Receipt, Refund
from grants.models.agreement import Agreement, AgreementCounter, AgreementStatusChange
from grants.models.allocation import Allocation
from grants.models.attachment import Attachment
from grants.models.audit import AuditChainHead, AuditEvent
from grants.models.bank_statement import BankStatement, BankStatementLine
from grants.models.base import Base
from grants.models.beneficiary import Beneficiary, Enrollment, EnrollmentPeriod, ImportBatch, ImportBatchProgress, ImportRow
from grants.models.closing import (
    FinalLiquidation,
    FinalLiquidationSigner,
    FinalLiquidationSignOff,
    LegislatureReport,
)
from grants.models.findings import AuditCheckRun, AuditFinding
from grants.models.fines import FinePayment
from grants.models.generated_file import GeneratedFile
from grants.models.followup import FollowUpActivity, FollowUpIndicator, FollowUpReport, Incident, IncidentReply
from grants.models.idempotency import IdempotencyRecord
from grants.models.issued_document import IssuedDocument
from grants.models.invoice import Invoice, InvoiceLine, InvoiceLineBeneficiary, ReceiptCertificate
from grants.models.ledger import AgreementBalance, BudgetLineBalance
from grants.models.meeting import Commitment, Meeting, MeetingParticipant
from grants.models.notification import Notification, OutboxEmail
from grants.models.organization import BoardMember, Organization, OrganizationPhone
from grants.models.payment import Payment, PaymentAuthorization, PaymentDeduction, PaymentLine
from grants.models.payment_batch import PaymentBatch, PaymentBatchItem
from grants.models.plan import (
    SECTIONS,
    Plan,
    PlanActivity,
    PlanBudgetLine,
    PlanIndicator,
    PlanTranche,
    PlanVersion,
    Review,
    ReviewObservation,
)
from grants.models.supplier import DebarredSupplier, Supplier, SupplierItem
from grants.models.throttle import LoginThrottle
from grants.models.user import ApiToken, User, UserRole

__all__ = [
    "IssuedDocument",
    "BankStatement",
    "BankStatementLine",
    "GeneratedFile",
    "LoginThrottle",
    "FinalLiquidation",
    "FinalLiquidationSigner",
    "FinalLiquidationSignOff",
    "LegislatureReport",
    "AuditCheckRun",
    "AuditFinding",
    "FollowUpActivity",
    "FollowUpIndicator",
    "FollowUpReport",
    "Incident",
    "IncidentReply",
    "FinePayment",
    "Advance",
    "ExpenseStatement",
    "Receipt",
    "Refund",
    "IdempotencyRecord",
    "Invoice",
    "InvoiceLine",
    "InvoiceLineBeneficiary",
    "ReceiptCertificate",
    "AgreementBalance",
    "BudgetLineBalance",
    "Commitment",
    "Meeting",
    "MeetingParticipant",
    "Payment",
    "PaymentAuthorization",
    "PaymentDeduction",
    "PaymentLine",
    "PaymentBatch",
    "PaymentBatchItem",
    "SECTIONS",
    "Agreement",
    "AgreementCounter",
    "AgreementStatusChange",
    "Allocation",
    "Attachment",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "Beneficiary",
    "DebarredSupplier",
    "Enrollment",
    "EnrollmentPeriod",
    "ImportBatch",
    "ImportBatchProgress",
    "ImportRow",
    "Supplier",
    "SupplierItem",
    "Notification",
    "OutboxEmail",
    "Plan",
    "PlanActivity",
    "PlanBudgetLine",
    "PlanIndicator",
    "PlanTranche",
    "PlanVersion",
    "Review",
    "ReviewObservation",
    "BoardMember",
    "Organization",
    "OrganizationPhone",
    "User",
    "UserRole",
]
