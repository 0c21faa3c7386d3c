"""Suppliers through the services: each automatic check failing and passing, validation and
rejection, versions on a bank-account change, segregation of duties, the debarment import."""
from decimal import Decimal

import pytest
from sqlalchemy import func, select

from grants.audit import Actor, verify_chain
from grants.extensions import db
from grants.models import AuditEvent, DebarredSupplier, Notification, Supplier
from grants.services import debarment, suppliers
from grants.domain_errors import Conflict, Forbidden, NotFound, ValidationFailed
from grants.validation import supplier as checks
from tests.helpers import audit_actions
from tests.factories import make_agreement_in_execution, make_organization, make_user, valid_dui

NIT_HIGH = "0614-050707-104-8"   # correlative > 100: the newer check-digit weights
NIT_LOW = "0614-010180-001-2"    # correlative ≤ 100: the older weights


def act(user):
    return Actor.for_user(user)


def supplier_data(**overrides) -> dict:
    data = {
        "tax_id": NIT_HIGH, "nrc": "123456-7", "legal_name": "Distribuidora El Roble, S.A. de C.V.",
        "address": "Av. Los Próceres 25, San Salvador", "phone": "2260-1234",
        "bank_name": "Banco Agrícola", "bank_account": "0011-22-333333",
        "items": [{"description": "Refrigerios", "unit": "unidad", "unit_price": "2.50"},
                  {"description": "Alquiler de local", "unit": "día", "unit_price": "150"}],
    }
    data.update(overrides)
    return data


@pytest.fixture
def p(app):
    people = make_agreement_in_execution(legal_name="Fundación Árbol de Vida", address="Calle El Mirador 12, Colonia Escalón")
    people["financial2"] = make_user(["financial_reviewer"])
    people["admin"] = make_user(["admin"])
    return people


def propose(p, **overrides):
    supplier = suppliers.propose_supplier(act(p["ngo"]), p["agreement"].id, supplier_data(**overrides))
    db.session.commit()
    return supplier


events = audit_actions


# --- identity --------------------------------------------------------------------------------

@pytest.mark.parametrize("tax_id, stored, kind", [
    (NIT_HIGH, NIT_HIGH, "nit"), ("06140101800012", NIT_LOW, "nit"),
    (valid_dui(4567890).replace("-", ""), valid_dui(4567890), "dui")])
def test_valid_identity_numbers_are_stored_normalized(p, tax_id, stored, kind):
    supplier = propose(p, tax_id=tax_id)
    assert supplier.tax_id == stored and supplier.tax_id_type == kind
    assert supplier.status == "proposed" and supplier.version == 1
    assert supplier.checks["identity"]["ok"] is True
    assert set(supplier.checks) == {"identity", "duplicate", "debarred", "conflict_of_interest"}
    assert suppliers.failed_checks(supplier) == []
    assert [i.unit_price for i in supplier.items] == [Decimal("2.50"), Decimal("150.00")]
    assert supplier.proposed_by_id == p["ngo"].id


def test_an_invalid_check_digit_is_refused_and_nothing_is_stored(p):
    with pytest.raises(ValidationFailed) as exc:
        suppliers.propose_supplier(act(p["ngo"]), p["agreement"].id, supplier_data(tax_id="0614-050707-104-7"))
    assert "dígito verificador" in str(exc.value.errors["tax_id"][0])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 0


def test_the_identity_check_as_a_pure_function():
    assert checks.check_identity(NIT_HIGH)[1]["ok"] and checks.check_identity(NIT_LOW)[1]["ok"]
    tax_id, result = checks.check_identity("0614-010180-001-3")
    assert tax_id is None and result["ok"] is False and result["code"] == "nit_check_digit"


def test_every_field_error_is_reported_at_once(p):
    with pytest.raises(ValidationFailed) as exc:
        suppliers.propose_supplier(act(p["ngo"]), p["agreement"].id, supplier_data(
            tax_id="123", nrc="abc", legal_name="", address=" ", phone="1234", bank_name="", bank_account="",
            items=[{"description": "", "unit": "u", "unit_price": "0"}, {"description": "x", "unit": "", "unit_price": "1.234"}]))
    assert set(exc.value.errors) == {"tax_id", "nrc", "legal_name", "address", "phone", "bank_name", "bank_account",
                                     "items.0.description", "items.0.unit_price", "items.1.unit", "items.1.unit_price"}
    with pytest.raises(ValidationFailed) as exc:
        suppliers.propose_supplier(act(p["ngo"]), p["agreement"].id, supplier_data(items=[]))
    assert "items" in exc.value.errors


# --- duplicate -------------------------------------------------------------------------------

def test_the_same_tax_id_twice_on_one_agreement_is_refused(p):
    propose(p, tax_id=NIT_HIGH)
    with pytest.raises(ValidationFailed) as exc:
        suppliers.propose_supplier(act(p["ngo"]), p["agreement"].id, supplier_data(tax_id="06140507071048"))
    assert "Ya existe un proveedor" in str(exc.value.errors["tax_id"][0])
    db.session.rollback()
    other = propose(p, tax_id=NIT_LOW)  # another NIT is no duplicate
    assert other.checks["duplicate"]["ok"] is True
    assert db.session.scalar(select(func.count()).select_from(Supplier)) == 2


def test_the_same_tax_id_on_another_agreement_is_not_a_duplicate(p):
    propose(p)
    other = make_agreement_in_execution()
    supplier = suppliers.propose_supplier(act(other["ngo"]), other["agreement"].id, supplier_data())
    assert supplier.checks["duplicate"]["ok"] is True


# --- debarment -------------------------------------------------------------------------------

DEBARRED_CSV = (
    "NIT,nombre,motivo,fecha,fuente\n"
    f"{NIT_HIGH},Distribuidora El Roble,Incumplimiento de contrato,15/03/2025,UNAC\n"
    "06140101800012,Otra Empresa,Fraude,2024-11-02,\n"
).encode()


def test_a_debarred_supplier_is_stored_flagged_and_cannot_be_validated(p):
    summary = debarment.import_debarred(act(p["admin"]), DEBARRED_CSV)
    assert summary == {"rows": 2, "created": 2, "updated": 0, "unchanged": 0, "suppliers_flagged": 0}
    db.session.commit()
    supplier = propose(p)
    debarred = supplier.checks["debarred"]
    assert debarred["ok"] is False
    assert debarred["detail"] == ("Figura en la lista de inhabilitados desde el 15/03/2025: "
                                  "Incumplimiento de contrato (fuente: UNAC).")
    assert suppliers.failed_checks(supplier) == ["debarred"]
    inbox = db.session.scalars(select(Notification).where(Notification.user_id == p["financial"].id,
                                                          Notification.kind == "supplier.proposed")).all()
    assert len(inbox) == 1 and "No inhabilitado" in inbox[0].body
    with pytest.raises(Conflict) as exc:
        suppliers.validate_supplier(act(p["financial"]), supplier.id)
    assert exc.value.code == "checks_failed" and "Incumplimiento de contrato" in str(exc.value.detail)
    db.session.rollback()
    assert db.session.get(Supplier, supplier.id).status == "proposed"


def test_a_supplier_not_on_the_list_passes_the_debarment_check(p):
    debarment.import_debarred(act(p["admin"]), DEBARRED_CSV)
    supplier = propose(p, tax_id=valid_dui(7654321))
    assert supplier.checks["debarred"] == {"ok": True, "code": "not_debarred", "params": {},
                                           "detail": "No figura en la lista de inhabilitados."}


def test_a_later_import_flags_an_already_proposed_supplier(p):
    supplier = propose(p)
    assert supplier.checks["debarred"]["ok"] is True
    summary = debarment.import_debarred(act(p["admin"]), DEBARRED_CSV)
    assert summary["suppliers_flagged"] == 1
    db.session.commit()
    assert db.session.get(Supplier, supplier.id).checks["debarred"]["ok"] is False
    assert "supplier.checks_refreshed" in events("supplier", supplier.id)


# --- conflict of interest --------------------------------------------------------------------

def _conflict(p, **overrides):
    supplier = propose(p, **overrides)
    result = supplier.checks["conflict_of_interest"]
    assert result["ok"] is False, result
    assert suppliers.failed_checks(supplier) == ["conflict_of_interest"]
    with pytest.raises(Conflict) as exc:
        suppliers.validate_supplier(act(p["financial"]), supplier.id)
    assert exc.value.code == "checks_failed"
    db.session.rollback()
    assert db.session.get(Supplier, supplier.id).status == "proposed"
    return result


def test_conflict_same_nit_as_the_organization(p):
    result = _conflict(p, tax_id=p["org"].nit)
    assert result["detail"] == "mismo NIT que la organización"
    assert [m["code"] for m in result["matches"]] == ["organization_tax_id"]


def test_conflict_same_dui_as_the_legal_representative(p):
    result = _conflict(p, tax_id=p["org"].legal_rep_dui.replace("-", ""))
    assert result["detail"] == "mismo DUI que el representante legal (Representante de Prueba)"


def test_conflict_same_dui_as_a_board_member(p):
    member = p["org"].board_members[0]
    result = _conflict(p, tax_id=member.dui)
    assert result["detail"] == "mismo DUI que un miembro de la junta directiva (Miembro Uno, Presidente)"


def test_conflict_same_bank_account_written_differently(p):
    account = p["org"].bank_account  # "000-000123"
    result = _conflict(p, bank_account=" " + account.replace("-", " ") + " ")
    assert result["detail"] == "misma cuenta bancaria que la organización"
    assert result["matches"][0]["field"] == "bank_account"


def test_conflict_same_address_in_other_case_and_accents(p):
    result = _conflict(p, address="  CALLE EL MIRADOR 12,  colonia ESCALON ")
    assert result["detail"] == "misma dirección que la organización"


def test_conflict_same_phone_in_another_format(p):
    result = _conflict(p, phone="+503 2222 3333")
    assert result["detail"] == "mismo teléfono que la organización (2222-3333)"


def test_several_conflicts_are_listed_together(p):
    result = _conflict(p, bank_account=p["org"].bank_account, phone="22223333")
    assert result["detail"] == "misma cuenta bancaria que la organización; mismo teléfono que la organización (2222-3333)"


def test_no_conflict_when_nothing_matches(p):
    supplier = propose(p)
    assert supplier.checks["conflict_of_interest"]["ok"] is True
    assert supplier.checks["conflict_of_interest"]["matches"] == []


# --- decisions -------------------------------------------------------------------------------

def test_validate_then_a_bank_account_change_makes_version_2(p):
    supplier = propose(p)
    suppliers.validate_supplier(act(p["financial"]), supplier.id)
    db.session.commit()
    assert supplier.status == "validated" and supplier.decided_by_id == p["financial"].id and supplier.is_payable
    assert "supplier.validated" in db.session.scalars(select(Notification.kind).where(
        Notification.user_id == p["ngo"].id)).all()

    same = suppliers.update_supplier(act(p["ngo"]), supplier.id, {"bank_account": "0011 22 333333"})
    assert same.id == supplier.id  # the same account with other separators is no change

    v2 = suppliers.update_supplier(act(p["ngo"]), supplier.id, {"bank_account": "0099-88-777777"})
    db.session.commit()
    assert v2.id != supplier.id
    assert (v2.version, v2.supersedes_id, v2.status) == (2, supplier.id, "proposed")
    assert v2.bank_account == "0099-88-777777" and v2.tax_id == supplier.tax_id
    assert [i.description for i in v2.items] == ["Refrigerios", "Alquiler de local"]
    assert set(v2.checks) == {"identity", "duplicate", "debarred", "conflict_of_interest"}
    assert not suppliers.failed_checks(v2)
    db.session.refresh(supplier)
    assert supplier.status == "superseded" and not supplier.is_payable
    assert [s.version for s in suppliers.versions_of(supplier)] == [1, 2]
    titles = db.session.scalars(select(Notification.title).where(Notification.user_id == p["financial"].id)).all()
    assert any("Cambio de cuenta bancaria" in t for t in titles)
    with pytest.raises(Conflict):
        suppliers.update_supplier(act(p["ngo"]), supplier.id, {"bank_account": "1"})
    db.session.rollback()

    suppliers.validate_supplier(act(p["financial2"]), v2.id)
    db.session.commit()
    assert v2.status == "validated"
    assert events("supplier", supplier.id) == ["supplier.proposed", "supplier.validated", "supplier.superseded"]
    assert events("supplier", v2.id) == ["supplier.version_created", "supplier.validated"]
    created = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "supplier.version_created"))
    assert created.after["bank_changed"] is True and created.before["supersedes_id"] == supplier.id
    assert verify_chain(db.session).ok


def test_a_bank_change_to_the_organizations_account_is_flagged_on_the_new_version(p):
    supplier = propose(p)
    suppliers.validate_supplier(act(p["financial"]), supplier.id)
    v2 = suppliers.update_supplier(act(p["ngo"]), supplier.id, {"bank_account": p["org"].bank_account})
    assert suppliers.failed_checks(v2) == ["conflict_of_interest"]
    with pytest.raises(Conflict):
        suppliers.validate_supplier(act(p["financial"]), v2.id)


def test_a_proposed_supplier_is_edited_in_place(p):
    supplier = propose(p)
    same = suppliers.update_supplier(act(p["ngo"]), supplier.id, {
        "tax_id": NIT_LOW, "items": [{"description": "Pupitres", "unit": "unidad", "unit_price": "45.00"}]})
    db.session.commit()
    assert same.id == supplier.id and same.version == 1 and same.tax_id == NIT_LOW
    assert [(i.description, i.unit_price) for i in same.items] == [("Pupitres", Decimal("45.00"))]
    assert events("supplier", supplier.id) == ["supplier.proposed", "supplier.updated"]
    update = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "supplier.updated"))
    assert update.before["tax_id"] == NIT_HIGH and update.after["tax_id"] == NIT_LOW


def test_the_tax_id_does_not_change_across_versions(p):
    supplier = propose(p)
    suppliers.validate_supplier(act(p["financial"]), supplier.id)
    with pytest.raises(ValidationFailed) as exc:
        suppliers.update_supplier(act(p["ngo"]), supplier.id, {"tax_id": NIT_LOW})
    assert "tax_id" in exc.value.errors


def test_reject_needs_a_reason_and_is_audited(p):
    supplier = propose(p)
    for reason in (None, "", "   "):
        with pytest.raises(ValidationFailed) as exc:
            suppliers.reject_supplier(act(p["financial"]), supplier.id, reason)
        assert "reason" in exc.value.errors
    suppliers.reject_supplier(act(p["financial"]), supplier.id, "Cotización sin firma del proveedor.")
    db.session.commit()
    assert supplier.status == "rejected" and supplier.decision_reason == "Cotización sin firma del proveedor."
    assert events("supplier", supplier.id) == ["supplier.proposed", "supplier.rejected"]
    with pytest.raises(Conflict):
        suppliers.validate_supplier(act(p["financial"]), supplier.id)
    db.session.rollback()
    # the NGO corrects it: a new version, proposed again
    v2 = suppliers.update_supplier(act(p["ngo"]), supplier.id, {"legal_name": "Distribuidora El Roble, S.A."})
    db.session.commit()
    assert (v2.version, v2.status) == (2, "proposed")
    db.session.refresh(supplier)
    assert supplier.status == "superseded" and supplier.decision_reason  # the rejection stays on record


def test_the_proposer_cannot_validate_or_reject(p):
    supplier = propose(p)
    supplier.proposed_by_id = p["financial"].id  # only reachable by data: an NGO user holds no ministry role
    db.session.flush()
    with pytest.raises(Conflict) as exc:
        suppliers.validate_supplier(act(p["financial"]), supplier.id)
    assert exc.value.code == "segregation_of_duties"
    with pytest.raises(Conflict):
        suppliers.reject_supplier(act(p["financial"]), supplier.id, "No")
    db.session.rollback()


def test_only_financial_reviewers_decide_and_only_the_ngo_proposes(p):
    supplier = propose(p)
    for who in ("ngo", "legal", "administrator", "admin"):
        with pytest.raises(Forbidden):
            suppliers.validate_supplier(act(p[who]), supplier.id)
    with pytest.raises(Forbidden):
        suppliers.propose_supplier(act(p["financial"]), p["agreement"].id, supplier_data(tax_id=NIT_LOW))


def test_another_ngo_cannot_see_or_change_the_suppliers(p):
    supplier = propose(p)
    other_org = make_organization()
    stranger = make_user(["ngo"], organization=other_org)
    with pytest.raises(NotFound):
        suppliers.propose_supplier(act(stranger), p["agreement"].id, supplier_data(tax_id=NIT_LOW))
    with pytest.raises(NotFound):
        suppliers.update_supplier(act(stranger), supplier.id, {"legal_name": "X"})
    assert not supplier.is_visible_to(stranger) and supplier.is_visible_to(p["ngo"])


def test_suppliers_need_a_signed_agreement(app):
    people = make_agreement_in_execution(status="signed")
    supplier = suppliers.propose_supplier(act(people["ngo"]), people["agreement"].id, supplier_data())
    assert supplier.status == "proposed"
    from grants.services import agreements

    agreements.terminate_agreement(act(people["legal"]), people["agreement"].id, "Incumplimiento")
    with pytest.raises(Conflict) as exc:
        suppliers.propose_supplier(act(people["ngo"]), people["agreement"].id, supplier_data(tax_id=NIT_LOW))
    assert exc.value.code == "agreement_not_active"


def test_audit_events_for_propose_validate_reject_and_version(p):
    a = propose(p)
    b = propose(p, tax_id=NIT_LOW)
    suppliers.validate_supplier(act(p["financial"]), a.id)
    suppliers.reject_supplier(act(p["financial"]), b.id, "Precios fuera de mercado")
    v2 = suppliers.update_supplier(act(p["ngo"]), a.id, {"bank_name": "Banco Cuscatlán", "bank_account": "5555"})
    db.session.commit()
    actions = db.session.scalars(select(AuditEvent.action).where(AuditEvent.entity_type == "supplier")).all()
    for expected in ("supplier.proposed", "supplier.validated", "supplier.rejected", "supplier.superseded",
                     "supplier.version_created"):
        assert expected in actions
    proposed = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "supplier.proposed",
                                                          AuditEvent.entity_id == str(a.id)))
    assert proposed.actor_id == p["ngo"].id and proposed.organization_id == p["org"].id
    assert proposed.after["items"][0] == {"description": "Refrigerios", "unit": "unidad", "unit_price": "2.50"}
    assert proposed.after["checks"]["identity"]["ok"] is True
    assert v2.bank_name == "Banco Cuscatlán"


# --- debarment import ------------------------------------------------------------------------

def test_a_bad_row_stores_nothing_and_is_reported_by_line(p):
    data = ("NIT;Nombre;Motivo;Fecha;Fuente\n"
            f"{NIT_HIGH};Distribuidora El Roble;Incumplimiento;15/03/2025;UNAC\n"
            "0614-050707-104-7;Mala;Fraude;01/01/2025;\n"
            f"{NIT_LOW};;Fraude;31/02/2025;\n"
            f"{NIT_HIGH};Repetida;Fraude;2025-01-01;\n").encode("cp1252")
    with pytest.raises(ValidationFailed) as exc:
        debarment.import_debarred(act(p["admin"]), data)
    errors = exc.value.errors
    assert set(errors) == {"rows.3.tax_id", "rows.4.name", "rows.4.listed_on", "rows.5.tax_id"}
    assert "línea 2" in str(errors["rows.5.tax_id"][0])
    db.session.rollback()
    assert db.session.scalar(select(func.count()).select_from(DebarredSupplier)) == 0
    general, rows = debarment.debarment_row_errors(errors)
    assert general == [] and [r["line"] for r in rows] == [3, 4, 4, 5]


def test_import_upserts_and_audits_each_entry(p):
    debarment.import_debarred(act(p["admin"]), DEBARRED_CSV)
    db.session.commit()
    again = ("DUI,nombre,motivo,fecha,fuente\n"
             f"{NIT_HIGH},Distribuidora El Roble,Incumplimiento de contrato,15/03/2025,UNAC\n"
             f"{NIT_LOW},Otra Empresa,Fraude comprobado,2024-11-02,FGR\n"
             f"{valid_dui(1234567)},Juan Pérez,Colusión,01/02/2024,\n").encode()
    summary = debarment.import_debarred(act(p["admin"]), again)
    db.session.commit()
    assert summary == {"rows": 3, "created": 1, "updated": 1, "unchanged": 1, "suppliers_flagged": 0}
    entry = db.session.scalar(select(DebarredSupplier).where(DebarredSupplier.tax_id == NIT_LOW))
    assert (entry.reason, entry.source) == ("Fraude comprobado", "FGR")
    assert events("debarred_supplier", entry.id) == ["debarred_supplier.listed", "debarred_supplier.updated"]
    imports = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "debarred_suppliers.imported")
                                 .order_by(AuditEvent.seq)).all()
    assert [e.after["created"] for e in imports] == [2, 1]
    assert verify_chain(db.session).ok


@pytest.mark.parametrize("data", [b"", b"nombre,motivo\nx,y\n", b"NIT,nombre,motivo,fecha\n", b"\xff\xfe\x00\x00"])
def test_files_that_are_not_a_debarment_list_are_refused(p, data):
    with pytest.raises(ValidationFailed) as exc:
        debarment.import_debarred(act(p["admin"]), data)
    assert "file" in exc.value.errors


def test_only_admins_import_the_debarment_list(p):
    with pytest.raises(Forbidden):
        debarment.import_debarred(act(p["financial"]), DEBARRED_CSV)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t"])
def test_a_supplier_name_that_begins_like_a_formula_is_refused(p, start):
    with pytest.raises(ValidationFailed) as exc:
        suppliers.propose_supplier(act(p["ngo"]), p["agreement"].id, supplier_data(legal_name=f"{start}SUM(A1)"))
    assert "no puede comenzar con" in str(exc.value.errors["legal_name"][0])
    data = (f"NIT,nombre,motivo,fecha\n{NIT_LOW},\"{start}Servicios\",Fraude,01/02/2024\n"
            f"{valid_dui(7654321)},Servicios Lopez,Fraude,01/02/2024\n").encode()
    with pytest.raises(ValidationFailed) as exc:
        debarment.import_debarred(act(p["admin"]), data)
    assert list(exc.value.errors) == ["rows.2.name"]
    assert "no puede comenzar con" in str(exc.value.errors["rows.2.name"][0])
