"""/api/v1 suppliers of agreements (proposal, checks, validation, versions) and the debarment list."""
from __future__ import annotations

from flask.views import MethodView
from sqlalchemy import or_, select
from sqlalchemy.orm import joinedload, selectinload

from grants.api.blueprint import Blueprint
from grants.api.fields import paginate
from grants.api.supplier_schemas import (
    AgreementSuppliersQuerySchema,
    DebarredImportResultSchema,
    DebarredImportSchema,
    DebarredQuerySchema,
    DebarredSupplierPageSchema,
    SupplierPageSchema,
    SupplierQuerySchema,
    SupplierReasonSchema,
    SupplierSchema,
    SupplierUpdateSchema,
)
from grants.context import acting_user, current_actor
from grants.extensions import db
from grants.models import Agreement, DebarredSupplier, Supplier
from grants.permissions import Permission
from grants.security import require, scope_to_user, visible
from grants.services import debarment
from grants.services import suppliers as service
from grants.domain_errors import Forbidden
from grants.workflows.supplier import SupplierState

blp = Blueprint("suppliers", __name__, url_prefix="/api/v1", description="Proveedores y lista de inhabilitados")

# What SupplierSchema dumps, loaded for a whole page at once.
SUPPLIER_LOAD = (joinedload(Supplier.agreement), selectinload(Supplier.items))


def _supplier(supplier_id: int) -> Supplier:
    user = acting_user()
    require(user, Permission.SUPPLIERS_READ)
    return visible(user, db.session.get(Supplier, supplier_id))


def _agreement(agreement_id: int) -> Agreement:
    user = acting_user()
    require(user, Permission.SUPPLIERS_READ)
    require(user, Permission.AGREEMENTS_READ)
    return visible(user, db.session.get(Agreement, agreement_id))


@blp.route("/agreements/<int:agreement_id>/suppliers")
class AgreementSuppliers(MethodView):
    @blp.arguments(AgreementSuppliersQuerySchema, location="query")
    @blp.response(200, SupplierPageSchema)
    def get(self, args, agreement_id):
        """The agreement's suppliers (current versions; ``include_superseded`` for all)."""
        agreement = _agreement(agreement_id)
        query = select(Supplier).where(Supplier.agreement_id == agreement.id)
        if not args["include_superseded"]:
            query = query.where(Supplier.status != SupplierState.SUPERSEDED)
        query = query.order_by(Supplier.legal_name, Supplier.version, Supplier.id).options(*SUPPLIER_LOAD)
        return paginate(db.session, query, args)

    @blp.arguments(SupplierSchema)
    @blp.response(201, SupplierSchema)
    def post(self, data, agreement_id):
        """The NGO proposes a supplier; the automatic checks run and are stored by name.

        An invalid or duplicate NIT/DUI is refused (422); a debarred supplier or a conflict of
        interest is stored and flagged in ``checks`` / ``failed_checks``.
        """
        _agreement(agreement_id)
        require(acting_user(), Permission.SUPPLIERS_PROPOSE)
        return service.propose_supplier(current_actor(), agreement_id, data)


@blp.route("/suppliers")
@blp.arguments(SupplierQuerySchema, location="query")
@blp.response(200, SupplierPageSchema)
def list_suppliers(args):
    """Suppliers (an NGO sees only its own): proposed first, oldest first — the reviewers' queue
    with ``status=proposed``."""
    user = acting_user()
    require(user, Permission.SUPPLIERS_READ)
    query = select(Supplier)
    if args.get("status"):
        query = query.where(Supplier.status == args["status"])
    if args.get("agreement_id"):
        query = query.where(Supplier.agreement_id == args["agreement_id"])
    query = service.queue_order(scope_to_user(user, query, Supplier.organization_id)).options(*SUPPLIER_LOAD)
    return paginate(db.session, query, args)


@blp.route("/suppliers/<int:supplier_id>")
class SupplierById(MethodView):
    @blp.response(200, SupplierSchema)
    def get(self, supplier_id):
        return _supplier(supplier_id)

    @blp.arguments(SupplierUpdateSchema(partial=True))
    @blp.response(200, SupplierSchema)
    def patch(self, data, supplier_id):
        """Proposed: changed in place. Validated or rejected: returns a new version (proposed) that
        supersedes this one and needs validation again."""
        _supplier(supplier_id)
        require(acting_user(), Permission.SUPPLIERS_PROPOSE)
        return service.update_supplier(current_actor(), supplier_id, data)


@blp.route("/suppliers/<int:supplier_id>/validate", methods=["POST"])
@blp.response(200, SupplierSchema)
def validate_supplier(supplier_id):
    """The financial reviewer validates (409 ``checks_failed`` when debarred or in conflict of interest)."""
    _supplier(supplier_id)
    return service.validate_supplier(current_actor(), supplier_id)


@blp.route("/suppliers/<int:supplier_id>/reject", methods=["POST"])
@blp.arguments(SupplierReasonSchema)
@blp.response(200, SupplierSchema)
def reject_supplier(data, supplier_id):
    """The financial reviewer rejects, with a reason."""
    _supplier(supplier_id)
    return service.reject_supplier(current_actor(), supplier_id, data["reason"])


def _may_read_debarment(user) -> None:
    require(user, Permission.SUPPLIERS_READ)
    if not (user.can(Permission.DEBARMENT_MANAGE) or user.can(Permission.SUPPLIERS_VALIDATE)):
        raise Forbidden()


@blp.route("/debarred-suppliers")
@blp.arguments(DebarredQuerySchema, location="query")
@blp.response(200, DebarredSupplierPageSchema)
def list_debarred(args):
    """The debarment list (admins and financial reviewers)."""
    _may_read_debarment(acting_user())
    query = select(DebarredSupplier).order_by(DebarredSupplier.listed_on.desc(), DebarredSupplier.id)
    if args.get("q"):
        like = f"%{args['q'].strip()}%"
        query = query.where(or_(DebarredSupplier.tax_id.ilike(like), DebarredSupplier.name.ilike(like)))
    return paginate(db.session, query, args)


@blp.route("/debarred-suppliers/import", methods=["POST"])
@blp.arguments(DebarredImportSchema, location="files")
@blp.response(200, DebarredImportResultSchema)
def import_debarred(files):
    """multipart/form-data ``file``: the CSV. Per-row errors come back as ``rows.<line>.<column>``
    (the header is line 1) and nothing is stored."""
    require(acting_user(), Permission.DEBARMENT_MANAGE)
    return debarment.import_debarred(current_actor(), files["file"].read())
