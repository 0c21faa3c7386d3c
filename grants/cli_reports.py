"""flask reports: the yearly report to the Legislative Assembly from the command line.

``flask reports legislature --year 2026 [--out DIR] [--send]`` writes the PDF, XLSX and JSON
into DIR (default: the current directory), prints their paths and the year's totals, and with
``--send --by EMAIL`` records the report as sent by that person (the year's liquidated agreements
become ``reported``).
Without ``--send`` nothing is written to the database.
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from grants import formats
from grants.audit import Actor
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import User
from grants.domain_errors import DomainError

reports_cli = AppGroup("reports", help="Informes.")


@reports_cli.command("legislature")
@click.option("--year", type=int, required=True, help="Fiscal year.")
@click.option("--out", "out_dir", type=click.Path(file_okay=False, path_type=Path), default=Path("."),
              show_default=True, help="Folder for the three files.")
@click.option("--send", is_flag=True, help="Record the report as sent and mark liquidated agreements reported.")
@click.option("--by", "by_email", default=None,
              help="With --send: e-mail of the auditor or admin who sends it (recorded in the audit log).")
def legislature_report(year: int, out_dir: Path, send: bool, by_email: str | None) -> None:
    """Write the report to the legislature for a fiscal year (PDF, XLSX, JSON)."""
    from grants.services import legislature

    sender = None
    if send:
        if not by_email:
            raise click.UsageError("--send needs --by EMAIL: the person who sends the report.")
        sender = db.session.scalar(select(User).where(func.lower(User.email) == by_email.strip().lower()))
        if sender is None or not sender.active:
            raise click.BadParameter("no active user has this e-mail", param_hint="--by")
    try:
        year = legislature.check_year(year)
        data = legislature.report_data(year)
        click.echo(f"Ejercicio {year}: {len(data['rows'])} asignaciones; generando PDF, XLSX y JSON…")
        built = legislature.build_files(data)
        if send:
            with unit_of_work():
                report = legislature.send_report(Actor.for_user(sender, request_id="cli:reports legislature"), year)
            built = {kind: legislature.stored_file(report, kind).read_bytes() for kind in built}
    except DomainError as exc:
        click.echo(f"Error: {exc.detail}", err=True)
        for field, messages in exc.errors.items():
            click.echo(f"{field}: {', '.join(str(m) for m in messages)}", err=True)
        sys.exit(1)
    out_dir.mkdir(parents=True, exist_ok=True)
    for kind, content in built.items():
        path = out_dir / f"informe-asamblea-{year}.{kind}"
        path.write_bytes(content)
        click.echo(f"{kind.upper()}: {path} ({len(content):,} bytes)")
    t, h = data["totals"], data["reconciliation"]["totals"]
    click.echo(f"Totales {year}: legislado {formats.usd(h['legislated'])} · bajo convenio {formats.usd(h['under_agreements'])} · "
               f"pagado directo {formats.usd(t['paid_directly'])} · anticipado {formats.usd(t['advanced'])} · "
               f"liquidado {formats.usd(t['liquidated'])} · reintegrado {formats.usd(h['refunded'])} · "
               f"no ejecutado {formats.usd(h['not_executed'])}")
    click.echo(f"Beneficiarios: meta {t['beneficiaries_target']}, validados {t['beneficiaries_validated']}, "
               f"alcanzados {t['beneficiaries_reached']} · convenios {t['agreements']}")
    if send:
        click.echo(f"Informe {year} registrado como enviado a la Asamblea Legislativa.")
