"""Schemas of work plans, their versions and reviews, and of agreements."""
from __future__ import annotations

from flask_babel import lazy_gettext as _l
from marshmallow import Schema, ValidationError, fields, validate
from sqlalchemy.orm import joinedload

from grants import models
from grants.api.fields import MoneyField, nullable_from, page_schema, person_name
from grants.api.schemas import ID_RANGE
from grants.models import SECTIONS
from grants.workflows.agreement import AgreementState
from grants.workflows.plan import Decision, Discipline, PlanState

TEXT = validate.Length(max=20000)
PERCENT_PATTERN = r"^(100(\.0{1,2})?|\d{1,2}(\.\d{1,2})?)$"  # 0 to 100: what the Range below accepts
SHORT = validate.Length(max=200)
DECIMAL = {"type": "string", "example": "250.00"}


class ActivitySchema(Schema):
    name = fields.String(required=True, validate=SHORT)
    description = fields.String(load_default="", validate=TEXT)
    responsible = fields.String(required=True, validate=validate.Length(max=160))
    start_date = fields.Date(allow_none=True)
    end_date = fields.Date(allow_none=True)
    quarter = fields.String(load_only=True, validate=validate.OneOf(["T1", "T2", "T3", "T4"]),
                            metadata={"description": "Instead of dates: the fiscal year's quarter"})
    municipality_codes = fields.List(fields.String(validate=validate.Length(max=4)), load_default=list)


class BudgetLineSchema(Schema):
    number = fields.Integer(dump_only=True)
    category = fields.String(required=True, validate=validate.Length(max=120))
    description = fields.String(required=True, validate=TEXT)
    amount = MoneyField(required=True, metadata=DECIMAL)


class IndicatorSchema(Schema):
    expected_result = fields.String(required=True, validate=TEXT)
    name = fields.String(required=True, validate=SHORT)
    unit = fields.String(required=True, validate=validate.Length(max=60))
    baseline = MoneyField(required=True, metadata=DECIMAL)
    target = MoneyField(required=True, metadata=DECIMAL)
    means_of_verification = fields.String(required=True, validate=TEXT)


class TrancheSchema(Schema):
    number = fields.Integer(dump_only=True)
    planned_date = fields.Date(required=True)
    amount = MoneyField(required=True, metadata=DECIMAL)
    budget_lines = fields.List(fields.Integer(validate=validate.Range(min=1, max=1000)), load_default=list,
                               metadata={"description": "Numbers of the budget lines this advance funds"})


class BeneficiariesSchema(Schema):
    target = fields.Integer(load_default=0, validate=validate.Range(min=0, max=10_000_000))
    age_min = fields.Integer(load_default=0, validate=validate.Range(min=0, max=120))
    age_max = fields.Integer(load_default=120, validate=validate.Range(min=0, max=120))
    profile = fields.String(load_default="", validate=TEXT)


class PlanContentSchema(Schema):
    start_date = fields.Date(required=True)
    end_date = fields.Date(required=True)
    justification = fields.String(load_default="", validate=TEXT)
    objectives = fields.String(load_default="", validate=TEXT)
    ministry_alignment = fields.String(load_default="", validate=TEXT)
    monitoring = fields.String(load_default="", validate=TEXT)
    internal_controls = fields.String(load_default="", validate=TEXT)
    territory = fields.List(fields.String(validate=validate.Length(max=4)), load_default=list,
                            metadata={"description": "Municipality codes (D.L. 762), e.g. 0623"})
    beneficiaries = fields.Nested(BeneficiariesSchema, load_default=dict)
    activities = fields.List(fields.Nested(ActivitySchema), load_default=list)
    budget_lines = fields.List(fields.Nested(BudgetLineSchema), load_default=list)
    indicators = fields.List(fields.Nested(IndicatorSchema), load_default=list)
    tranches = fields.List(fields.Nested(TrancheSchema), load_default=list)


class ObservationSchema(Schema):
    section = fields.String(required=True, validate=validate.OneOf(SECTIONS))
    text = fields.String(required=True, validate=validate.Length(min=1, max=5000))


class ReviewSchema(Schema):
    id = fields.Integer(dump_only=True)
    version = fields.Function(lambda r: r.version.number, dump_only=True)
    discipline = fields.String(required=True, validate=validate.OneOf([d.value for d in Discipline]))
    decision = fields.String(required=True, validate=validate.OneOf([d.value for d in Decision]))
    reason = fields.String(allow_none=True, validate=validate.Length(max=5000))
    observations = fields.List(fields.Nested(ObservationSchema), load_default=list)
    reviewer = fields.Function(lambda r: r.reviewer.full_name, dump_only=True)
    created_at = fields.DateTime(dump_only=True)


@nullable_from(models.PlanVersion)
class VersionSummarySchema(Schema):
    number = fields.Integer(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    submitted_at = fields.DateTime(dump_only=True)
    budget_total = MoneyField(dump_only=True, metadata=DECIMAL)


_PLAN_CONTENT = PlanContentSchema()  # one instance for every version dumped


@nullable_from(models.PlanVersion)
class VersionSchema(VersionSummarySchema):
    content = fields.Function(lambda v: _PLAN_CONTENT.dump(v), dump_only=True)
    reviews = fields.List(fields.Nested(ReviewSchema), dump_only=True)


@nullable_from(models.Plan)
class PlanSchema(Schema):
    id = fields.Integer(dump_only=True)
    allocation_id = fields.Integer(required=True, load_only=True, validate=ID_RANGE)
    title = fields.String(required=True, validate=validate.Length(min=1, max=200))
    content = fields.Nested(PlanContentSchema, required=True, load_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf([s.value for s in PlanState]))
    organization_id = fields.Integer(dump_only=True)
    organization_name = fields.Function(lambda p: p.organization.legal_name, dump_only=True)
    allocation = fields.Function(lambda p: {"id": p.allocation_id, "decree_number": p.allocation.decree_number,
                                            "fiscal_year": p.allocation.fiscal_year,
                                            "amount": f"{p.allocation.amount:.2f}"}, dump_only=True)
    rejection_reason = fields.String(dump_only=True)
    versions = fields.List(fields.Nested(VersionSummarySchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class DraftSchema(Schema):
    title = fields.String(validate=validate.Length(min=1, max=200))
    content = fields.Nested(PlanContentSchema, required=True)


class PlanQuerySchema(Schema):
    status = fields.String(validate=validate.OneOf([s.value for s in PlanState]))
    organization_id = fields.Integer(validate=ID_RANGE)


class SectionDiffSchema(Schema):
    section = fields.String()
    changed = fields.Boolean()
    before = fields.Dict(allow_none=True)
    after = fields.Dict()


@nullable_from(models.AgreementStatusChange)
class StatusChangeSchema(Schema):
    from_status = fields.String()
    to_status = fields.String()
    action = fields.String()
    reason = fields.String()
    actor = fields.Function(lambda h: h.actor.email if h.actor else None)
    at = fields.DateTime()


def _percent(value) -> None:
    """0 to 100 (documented as PERCENT_PATTERN: a Range would put numeric bounds on a string)."""
    if not 0 <= value <= 100:
        raise ValidationError(str(_l("Debe estar entre 0 y 100.")))


@nullable_from(models.Agreement)
class AgreementSchema(Schema):
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    plan_id = fields.Integer(required=True, load_only=True, validate=ID_RANGE)
    plan_version = fields.Function(lambda a: a.plan_version.number, dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    organization_name = fields.Function(lambda a: a.organization.legal_name, dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf([s.value for s in AgreementState]))
    status_reason = fields.String(dump_only=True)
    amount = MoneyField(dump_only=True, metadata=DECIMAL)
    object = fields.String(validate=TEXT)
    ministry_obligations = fields.String(validate=TEXT)
    ngo_obligations = fields.String(validate=TEXT)
    control_mechanisms = fields.String(validate=TEXT)
    liquidation_terms = fields.String(validate=TEXT)
    liquidation_threshold = fields.Decimal(places=2, as_string=True, validate=_percent,
                                           metadata={"description": "Percent of the previous advance to be liquidated "
                                                                    "(0 to 100, two decimals at most)",
                                                     "type": "string", "pattern": PERCENT_PATTERN, "example": "80.00"})
    prefinancing_days = fields.Integer(allow_none=True, validate=validate.Range(min=1, max=180), metadata={
        "description": "Pre-financing clause: an advance's receipts may predate its transfer by at most these days "
                       "(null: not allowed)"})
    start_date = fields.Date()
    end_date = fields.Date()
    ministry_signatory_name = fields.String(required=True, validate=[validate.Length(max=160), person_name])
    ministry_signatory_title = fields.String(required=True, validate=validate.Length(max=160))
    ngo_signatory_name = fields.String(required=True, validate=[validate.Length(max=160), person_name])
    ngo_signatory_title = fields.String(required=True, validate=validate.Length(max=160))
    signed_on = fields.Date(dump_only=True)
    signed_scan_sha256 = fields.String(dump_only=True)
    signed_scan_size = fields.Integer(dump_only=True)
    administrator_id = fields.Integer(dump_only=True)
    administrator = fields.Function(lambda a: a.administrator.full_name if a.administrator else None, dump_only=True)
    # Nested (one schema instance per field, not one per agreement dumped: a page of 50 agreements
    # built 100 schemas, a third of its time) and documented with their item schemas.
    budget_lines = fields.List(fields.Nested(BudgetLineSchema), attribute="plan_version.budget_lines", dump_only=True)
    tranches = fields.List(fields.Nested(TrancheSchema), attribute="plan_version.tranches", dump_only=True)
    history = fields.List(fields.Nested(StatusChangeSchema), dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


class AgreementSummarySchema(Schema):
    """An agreement in a list: who, what state, how much, when. Its clauses, budget lines, tranches
    and history are in ``GET /api/v1/agreements/{id}`` (a page of 50 full agreements weighed
    ~120 KB and most of a second of a worker's time on a real year)."""
    id = fields.Integer(dump_only=True)
    number = fields.String(dump_only=True)
    plan_version = fields.Function(lambda a: a.plan_version.number, dump_only=True)
    organization_id = fields.Integer(dump_only=True)
    organization_name = fields.Function(lambda a: a.organization.legal_name, dump_only=True)
    status = fields.String(dump_only=True, validate=validate.OneOf([s.value for s in AgreementState]))
    amount = MoneyField(dump_only=True, metadata=DECIMAL)
    start_date = fields.Date(dump_only=True)
    end_date = fields.Date(dump_only=True)
    signed_on = fields.Date(dump_only=True)
    administrator_id = fields.Integer(dump_only=True)
    administrator = fields.Function(lambda a: a.administrator.full_name if a.administrator else None, dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    updated_at = fields.DateTime(dump_only=True)


def agreement_load(detail: bool = False) -> tuple:
    """Loader options for what the schemas dump, so a read costs a fixed number of queries. A page
    (AgreementSummarySchema): the agreements with their organization, administrator and plan
    version in one query. One agreement (AgreementSchema): the same, its history joined, and the
    version's budget lines and tranches in one more query each."""
    version = joinedload(models.Agreement.plan_version)
    common = (joinedload(models.Agreement.organization).load_only(models.Organization.legal_name),
              joinedload(models.Agreement.administrator).load_only(models.User.full_name))
    if not detail:
        return (*common, version.load_only(models.PlanVersion.number))
    return (*common, version.selectinload(models.PlanVersion.budget_lines),
            version.selectinload(models.PlanVersion.tranches),
            joinedload(models.Agreement.history).joinedload(models.AgreementStatusChange.actor))


class AgreementUpdateSchema(AgreementSchema):
    """PATCH while draft (loaded with ``partial=True``)."""

    class Meta:
        exclude = ("plan_id",)


class SignSchema(Schema):
    signed_on = fields.Date(required=True)


class AdministratorSchema(Schema):
    user_id = fields.Integer(required=True, validate=ID_RANGE)


class ReasonSchema(Schema):
    reason = fields.String(required=True, validate=validate.Length(min=1, max=5000))


@nullable_from(models.Notification)
class NotificationSchema(Schema):
    id = fields.Integer(dump_only=True)
    kind = fields.String(dump_only=True)
    title = fields.String(dump_only=True)
    body = fields.String(dump_only=True)
    link = fields.String(dump_only=True)
    created_at = fields.DateTime(dump_only=True)
    read_at = fields.DateTime(dump_only=True)


class NotificationQuerySchema(Schema):
    unread = fields.Boolean()


PlanPageSchema = page_schema(PlanSchema, "PlanPage")
AgreementPageSchema = page_schema(AgreementSummarySchema, "AgreementPage")
NotificationPageSchema = page_schema(NotificationSchema, "NotificationPage")
