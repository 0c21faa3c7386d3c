"""The acta de liquidación final as a PDF: the plain data of the latest revision (and the earlier ones)
read from the final liquidation, for ``grants.reports.final_liquidation_pdf``. Reading only; the
liquidation itself is prepared and signed off in ``grants.services.final_liquidation``."""
from __future__ import annotations

from datetime import date
from decimal import Decimal

from flask_babel import force_locale
from flask_babel import lazy_gettext as _l

from grants.clock import local_day, today
from grants.domain_errors import NotFound
from grants.labels import DISCIPLINE_LABELS
from grants.models import Agreement, FinalLiquidationSignOff
from grants.services.final_liquidation import (
    LIQUIDATION_STATE_LABELS,
    SIGNOFF_DECISION_LABELS,
    VERDICT_LABELS,
    revisions,
)
from grants.workflows.plan import Discipline


def _acta_signoff(discipline: str, signoff: FinalLiquidationSignOff | None):
    from grants.reports.final_liquidation_pdf import ActaSignOff

    if signoff is None:
        return ActaSignOff(str(DISCIPLINE_LABELS[discipline]), None, None, None)
    return ActaSignOff(str(DISCIPLINE_LABELS[discipline]), signoff.reviewer.full_name, local_day(signoff.signed_at),
                       str(SIGNOFF_DECISION_LABELS[signoff.decision]), signoff.observations or "")


def acta_pdf(agreement: Agreement, generated_on: date | None = None) -> bytes:
    """The acta de liquidación final of the latest revision (Spanish, whatever the reader's
    language): «NO APROBADA» on every page until the three disciplines approved it. 404 while
    nothing was prepared."""
    from grants.reports.final_liquidation_pdf import (
        ActaIndicator,
        ActaRevision,
        FinalLiquidationActa,
        build_final_liquidation_pdf,
    )

    revs = revisions(agreement.id)
    if not revs:
        raise NotFound(_l("Todavía no se ha preparado la liquidación final de este convenio."))
    latest, allocation = revs[-1], agreement.allocation

    def amount(value):
        return None if value is None else Decimal(value)

    with force_locale("es"):
        signoffs = tuple(_acta_signoff(d.value, next((s for s in latest.signoffs if s.discipline == d), None))
                         for d in Discipline)
        earlier = tuple(ActaRevision(
            r.revision, r.prepared_by.full_name, local_day(r.prepared_at), str(VERDICT_LABELS[r.verdict]),
            tuple(_acta_signoff(s.discipline, s) for s in r.signoffs)) for r in revs[:-1])
        doc = FinalLiquidationActa(
            agreement_number=agreement.number, organization_name=agreement.organization.legal_name,
            organization_nit=agreement.organization.nit, decree_number=allocation.decree_number,
            fiscal_year=allocation.fiscal_year, purpose=allocation.purpose, start_date=agreement.start_date,
            end_date=agreement.end_date, revision=latest.revision, status=latest.status,
            status_label=str(LIQUIDATION_STATE_LABELS[latest.status]),
            assigned=latest.assigned, paid_directly=latest.paid_directly, advanced=latest.advanced,
            liquidated=latest.liquidated, refunded=latest.refunded, unspent=latest.unspent,
            beneficiaries_target=latest.beneficiaries_target,
            beneficiaries_validated=latest.beneficiaries_validated,
            beneficiaries_reached=latest.beneficiaries_reached,
            indicators=tuple(ActaIndicator(i.get("name") or "", i.get("unit") or "", amount(i.get("baseline")),
                                           amount(i.get("target")), amount(i.get("achieved")))
                             for i in latest.indicators or []),
            findings=latest.findings or {}, verdict=str(VERDICT_LABELS[latest.verdict]), reasoning=latest.reasoning,
            prepared_by=latest.prepared_by.full_name, prepared_on=local_day(latest.prepared_at),
            signoffs=signoffs, earlier=earlier, decided_on=local_day(latest.closed_at),
            generated_on=generated_on or today())
    return build_final_liquidation_pdf(doc)
