"""The agreement PDF's plain data, read from the agreement and its approved plan version."""
from __future__ import annotations

from datetime import date

from flask_babel import force_locale
from flask_babel import gettext as _

from grants.clock import today
from grants.models import Agreement
from grants.reports.agreement_pdf import (
    AgreementDocument,
    BudgetLineRow,
    Signatory,
    TrancheRow,
    build_agreement_pdf,
)
from grants.labels import AGREEMENT_STATE_LABELS

MINISTRY = "Ministerio de Justicia y Seguridad Pública"


def agreement_document(agreement: Agreement, generated_on: date | None = None) -> AgreementDocument:
    version = agreement.plan_version
    org = agreement.organization
    with force_locale("es"):  # the legal document is Spanish whatever the reader's language
        status = _(str(AGREEMENT_STATE_LABELS[agreement.status]))
    signed = agreement.signed_on is not None
    return AgreementDocument(
        number=agreement.number,
        status_label=status,
        fiscal_year=agreement.year,
        decree_number=agreement.allocation.decree_number,
        budget_line_code=agreement.allocation.budget_line_code,
        organization_name=org.legal_name,
        organization_nit=org.nit,
        organization_address=org.address,
        legal_representative=org.legal_rep_name,
        legal_representative_dui=org.legal_rep_dui,
        object=agreement.object,
        ministry_obligations=agreement.ministry_obligations,
        ngo_obligations=agreement.ngo_obligations,
        control_mechanisms=agreement.control_mechanisms,
        liquidation_terms=agreement.liquidation_terms,
        liquidation_threshold=agreement.liquidation_threshold,
        amount=agreement.amount,
        start_date=agreement.start_date,
        end_date=agreement.end_date,
        budget_lines=tuple(BudgetLineRow(b.number, b.category, b.description, b.amount)
                           for b in version.budget_lines),
        tranches=tuple(TrancheRow(t.number, t.planned_date, t.amount, tuple(t.budget_line_numbers or ()))
                       for t in version.tranches),
        ministry_signatory=Signatory(agreement.ministry_signatory_name, agreement.ministry_signatory_title, MINISTRY),
        ngo_signatory=Signatory(agreement.ngo_signatory_name, agreement.ngo_signatory_title, org.legal_name),
        administrator_name=agreement.administrator.full_name if agreement.administrator else None,
        signed_on=agreement.signed_on if signed else None,
        generated_on=generated_on or today(),
    )


def agreement_pdf(agreement: Agreement, generated_on: date | None = None) -> bytes:
    """The agreement as printed on ``generated_on`` (today by default; the day its issued version was
    printed when ``grants.services.signing`` checks whether it changed)."""
    return build_agreement_pdf(agreement_document(agreement, generated_on))
