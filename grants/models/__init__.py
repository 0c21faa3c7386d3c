"""SQLAlchemy models, one module per aggregate. Import them all here for Alembic."""
from grants.models.allocation import Allocation
from grants.models.audit import AuditChainHead, AuditEvent
from grants.models.base import Base
from grants.models.organization import BoardMember, Organization, OrganizationPhone
from grants.models.user import ApiToken, User, UserRole

__all__ = [
    "Allocation",
    "ApiToken",
    "AuditChainHead",
    "AuditEvent",
    "Base",
    "BoardMember",
    "Organization",
    "OrganizationPhone",
    "User",
    "UserRole",
]
