"""flask reports legislature --year Y [--out DIR] [--send --by EMAIL]."""
from __future__ import annotations

import json

from pypdf import PdfReader
from sqlalchemy import func, select

from grants.cli_reports import legislature_report
from grants.extensions import db
from grants.models import Agreement, LegislatureReport
from tests.closing import helpers as h
from tests.timeline import year


def run(app, *args):
    return app.test_cli_runner().invoke(legislature_report, list(args))


def test_writes_the_three_files_and_prints_paths_and_totals(app, tmp_path):
    ctx = h.setup(beneficiaries=False)
    h.pay(ctx, "999.99")
    result = run(app, "--year", str(year()), "--out", str(tmp_path / "informes"))
    assert result.exit_code == 0, result.output
    for kind in ("pdf", "xlsx", "json"):
        path = tmp_path / "informes" / f"informe-asamblea-{year()}.{kind}"
        assert path.exists() and f"{kind.upper()}: {path}" in result.output
    assert "pagado directo $999.99" in result.output and "legislado $100,000.00" in result.output
    document = json.loads((tmp_path / "informes" / f"informe-asamblea-{year()}.json").read_text())
    assert document["totals"]["paid_directly"] == "999.99"
    assert "INFORME A LA ASAMBLEA" in PdfReader(str(tmp_path / "informes" / f"informe-asamblea-{year()}.pdf")).pages[0] \
        .extract_text()
    assert db.session.scalar(select(func.count()).select_from(LegislatureReport)) == 0  # nothing recorded


def test_send_records_the_report_by_the_named_person(app, tmp_path):
    ctx = h.setup(beneficiaries=False)
    h.to_closing(ctx)
    h.liquidate(ctx)
    refused = run(app, "--year", str(year()), "--out", str(tmp_path), "--send")
    assert refused.exit_code != 0 and "--by" in refused.output
    result = run(app, "--year", str(year()), "--out", str(tmp_path), "--send", "--by", ctx["auditor"].email)
    assert result.exit_code == 0, result.output
    assert "registrado como enviado" in result.output
    report = db.session.scalar(select(LegislatureReport))
    assert (report.status, report.sent_by_id) == ("sent", ctx["auditor"].id)
    assert db.session.get(Agreement, ctx["agreement"].id).status == "reported"
    again = run(app, "--year", str(year()), "--out", str(tmp_path), "--send", "--by", ctx["auditor"].email)
    assert again.exit_code == 1 and "ya fue enviado" in again.output


def test_a_bad_year_is_refused(app, tmp_path):
    result = run(app, "--year", "1999", "--out", str(tmp_path))
    assert result.exit_code == 1 and "entre 2000 y 2100" in result.output
