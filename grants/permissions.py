"""Roles (DESIGN.md §2) and named permissions ``resource:action``, checked in one place.

Pure data: no Flask, no database. ``grants.security`` asks these tables; handlers ask
``security.require(Permission.X)`` and models' ``is_visible_to`` predicates.
"""
from __future__ import annotations

from enum import StrEnum


class Role(StrEnum):
    NGO = "ngo"
    LEGAL_REVIEWER = "legal_reviewer"
    FINANCIAL_REVIEWER = "financial_reviewer"
    MONITORING_REVIEWER = "monitoring_reviewer"
    ADMINISTRATOR = "administrator"
    TREASURY = "treasury"
    AUDITOR = "auditor"
    ADMIN = "admin"


class Permission(StrEnum):
    ORGANIZATIONS_READ = "organizations:read"
    ORGANIZATIONS_MANAGE = "organizations:manage"
    ALLOCATIONS_READ = "allocations:read"
    ALLOCATIONS_MANAGE = "allocations:manage"
    USERS_MANAGE = "users:manage"
    AUDIT_READ = "audit:read"
    AUDIT_VERIFY = "audit:verify"
    PLANS_READ = "plans:read"
    PLANS_EDIT = "plans:edit"
    PLANS_REVIEW = "plans:review"
    AGREEMENTS_READ = "agreements:read"
    AGREEMENTS_MANAGE = "agreements:manage"
    BENEFICIARIES_READ = "beneficiaries:read"
    BENEFICIARIES_IMPORT = "beneficiaries:import"
    BENEFICIARIES_VALIDATE = "beneficiaries:validate"
    PERSONAL_DATA_UNMASK = "personal_data:unmask"
    SUPPLIERS_READ = "suppliers:read"
    SUPPLIERS_PROPOSE = "suppliers:propose"
    SUPPLIERS_VALIDATE = "suppliers:validate"
    DEBARMENT_MANAGE = "debarment:manage"
    MONEY_READ = "money:read"                      # invoices, payments, advances, balances (scoped for NGOs)
    INVOICES_REGISTER = "invoices:register"        # the NGO registers its suppliers' invoices
    INVOICES_CERTIFY = "invoices:certify"          # receipt certificate: the agreement's administrator
    PAYMENTS_PREPARE = "payments:prepare"
    PAYMENTS_AUTHORIZE = "payments:authorize"      # never the preparer (G4)
    PAYMENTS_EXECUTE = "payments:execute"
    ADVANCES_REQUEST = "advances:request"
    ADVANCES_APPROVE = "advances:approve"
    ADVANCES_DISBURSE = "advances:disburse"        # prepare and disburse; disburser != preparer
    STATEMENTS_SUBMIT = "statements:submit"
    STATEMENTS_REVIEW = "statements:review"
    REFUNDS_RECORD = "refunds:record"              # declare a refund (the NGO; treasury on its behalf)
    DEPOSITS_CONFIRM = "deposits:confirm"          # treasury confirms refunds and fines against the bank
    FOLLOW_UP_WRITE = "follow_up:write"            # reports and incidents: the agreement's administrator
    CHECKS_RUN = "checks:run"                      # liquidation checks (internal audit)
    FINDINGS_DECIDE = "findings:decide"
    LIQUIDATION_DECIDE = "liquidation:decide"      # prepare the final liquidation: the agreement's administrator
    LIQUIDATION_SIGN_OFF = "liquidation:sign_off"  # approve or send it back: a reviewer, for their discipline
    LEGISLATURE_REPORTS = "legislature:reports"    # generate and send the yearly report
    MEETINGS_RECORD = "meetings:record"            # technical meetings on any case (administrators: their own)
    DASHBOARD_READ = "dashboard:read"              # the ministry's dashboard (year figures; never NGOs)
    BANK_STATEMENTS_READ = "bank_statements:read"  # bank statements and reconciliation (never NGOs)
    BANK_STATEMENTS_RECONCILE = "bank_statements:reconcile"  # upload statements, resolve their lines: treasury


_STAFF_READ = {
    Permission.ORGANIZATIONS_READ,
    Permission.ALLOCATIONS_READ,
    Permission.PLANS_READ,
    Permission.AGREEMENTS_READ,
    Permission.BENEFICIARIES_READ,
    Permission.SUPPLIERS_READ,
    Permission.MONEY_READ,
}
_REVIEW = _STAFF_READ | {Permission.PLANS_REVIEW, Permission.LIQUIDATION_SIGN_OFF, Permission.DASHBOARD_READ}

ROLE_PERMISSIONS: dict[Role, frozenset[Permission]] = {
    # An NGO user reads only its own organization: scoping is applied on top (404 otherwise).
    Role.NGO: frozenset(_STAFF_READ | {Permission.PLANS_EDIT, Permission.BENEFICIARIES_IMPORT,
                                       Permission.SUPPLIERS_PROPOSE, Permission.INVOICES_REGISTER,
                                       Permission.ADVANCES_REQUEST, Permission.STATEMENTS_SUBMIT,
                                       Permission.REFUNDS_RECORD}),
    # The legal team drafts agreements and records their signature.
    Role.LEGAL_REVIEWER: frozenset(_REVIEW | {Permission.AGREEMENTS_MANAGE, Permission.MEETINGS_RECORD}),
    Role.FINANCIAL_REVIEWER: frozenset(_REVIEW | {Permission.SUPPLIERS_VALIDATE, Permission.ADVANCES_APPROVE,
                                                  Permission.STATEMENTS_REVIEW, Permission.BANK_STATEMENTS_READ}),
    # Monitoring and audit control (seguimiento y contraloría) leads the technical meetings.
    Role.MONITORING_REVIEWER: frozenset(_REVIEW | {Permission.BENEFICIARIES_VALIDATE,
                                                   Permission.PERSONAL_DATA_UNMASK, Permission.MEETINGS_RECORD}),
    # Certifies receipts only on the agreements they administer (checked by the service).
    Role.ADMINISTRATOR: frozenset(_STAFF_READ | {Permission.INVOICES_CERTIFY, Permission.FOLLOW_UP_WRITE,
                                                 Permission.LIQUIDATION_DECIDE}),
    # Refunds arrive in the ministry's account: treasury records them too.
    Role.TREASURY: frozenset(_STAFF_READ | {Permission.PAYMENTS_PREPARE, Permission.PAYMENTS_AUTHORIZE,
                                            Permission.PAYMENTS_EXECUTE, Permission.ADVANCES_DISBURSE,
                                            Permission.REFUNDS_RECORD, Permission.DEPOSITS_CONFIRM,
                                            Permission.DASHBOARD_READ, Permission.BANK_STATEMENTS_READ,
                                            Permission.BANK_STATEMENTS_RECONCILE}),
    Role.AUDITOR: frozenset(_STAFF_READ | {Permission.AUDIT_READ, Permission.AUDIT_VERIFY,
                                           Permission.PERSONAL_DATA_UNMASK, Permission.CHECKS_RUN,
                                           Permission.FINDINGS_DECIDE, Permission.LEGISLATURE_REPORTS,
                                           Permission.DASHBOARD_READ, Permission.BANK_STATEMENTS_READ}),
    Role.ADMIN: frozenset(
        _STAFF_READ
        | {
            Permission.ORGANIZATIONS_MANAGE,
            Permission.ALLOCATIONS_MANAGE,
            Permission.USERS_MANAGE,
            Permission.AUDIT_READ,
            Permission.AUDIT_VERIFY,
            Permission.AGREEMENTS_MANAGE,
            Permission.DEBARMENT_MANAGE,
            Permission.LEGISLATURE_REPORTS,
            Permission.MEETINGS_RECORD,
            Permission.DASHBOARD_READ,
        }
    ),
}

# The reviewer role that decides each discipline of a plan version and signs it on a final liquidation.
DISCIPLINE_ROLES = {
    "legal": Role.LEGAL_REVIEWER,
    "financial": Role.FINANCIAL_REVIEWER,
    "monitoring": Role.MONITORING_REVIEWER,
}

# Roles whose holders act for one organization only.
ORGANIZATION_BOUND_ROLES = frozenset({Role.NGO})

# Duties that must never meet in one person. An NGO user acts for the grantee and so may hold
# no ministry role at all.
INCOMPATIBLE_ROLES: tuple[tuple[Role, Role], ...] = tuple(
    (Role.NGO, other) for other in Role if other is not Role.NGO
)


def permissions_for(roles) -> frozenset[Permission]:
    granted: set[Permission] = set()
    for role in roles:
        granted |= ROLE_PERMISSIONS[Role(role)]
    return frozenset(granted)


def incompatible_pairs(roles) -> list[tuple[Role, Role]]:
    held = {Role(r) for r in roles}
    return [(a, b) for a, b in INCOMPATIBLE_ROLES if a in held and b in held]
