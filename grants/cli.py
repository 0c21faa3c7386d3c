"""flask commands: demo data, users, audit verification, e-mail. Each command is one unit of work."""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask import Flask, current_app
from flask.cli import AppGroup
from sqlalchemy import func, select

from grants.audit import Actor, verify_chain
from grants.db import unit_of_work
from grants.extensions import db
from grants.models import Agreement, Enrollment, Organization, Plan, Supplier, User
from grants.permissions import Role
from grants.domain_errors import ValidationFailed
from grants.workflows.import_batch import BatchKind, BatchState

demo_cli = AppGroup("demo", help="Datos de demostración.")
users_cli = AppGroup("users", help="Usuarios.")
audit_cli = AppGroup("audit", help="Bitácora de auditoría.")
notifications_cli = AppGroup("notifications", help="Notificaciones por correo.")


@demo_cli.command("load")
@click.option("--if-empty", is_flag=True, help="Only when the database has no users yet.")
def demo_load(if_empty: bool) -> None:
    """Load three NGOs, 2026 allocations and one account per role (password demo-2026)."""
    from grants.demo import load_demo
    from grants.demo_signing import ensure_demo_ca

    made = ensure_demo_ca(current_app.config)
    if made:
        click.echo(f"Certificado de firma de demostración creado: {made['p12']} (raíz de confianza {made['ca']}; "
                   f"no se versiona).")
    if if_empty and db.session.scalar(select(func.count()).select_from(User)):
        click.echo("La base de datos ya tiene usuarios; no se cargan datos de demostración.")
        return
    with unit_of_work():
        summary = load_demo(Actor.system("cli:demo load"))
    click.echo(
        f"Demo cargada: {summary['organizations']} organizaciones, "
        f"{summary['allocations']} asignaciones, {summary['users']} usuarios, "
        f"{db.session.scalar(select(func.count()).select_from(Plan))} planes, "
        f"{db.session.scalar(select(func.count()).select_from(Agreement))} convenios, "
        f"{db.session.scalar(select(func.count()).select_from(Enrollment))} inscripciones, "
        f"{db.session.scalar(select(func.count()).select_from(Supplier))} proveedores."
    )


@users_cli.command("unblock")
@click.option("--email", default=None, help="The account whose failed logins are forgotten.")
@click.option("--address", default=None, help="The client address whose failed logins are forgotten.")
@click.option("--all", "everyone", is_flag=True, help="Forget every failed-login counter.")
def users_unblock(email, address, everyone) -> None:
    """Let a person whose logins are throttled in before the window ends (grants/throttle.py)."""
    from grants import throttle

    if not (email or address or everyone):
        raise click.UsageError("give --email, --address or --all")
    deleted = throttle.forget(email=email, address=address)
    click.echo(f"{deleted} contador de intentos fallidos borrado." if deleted == 1
               else f"{deleted} contadores de intentos fallidos borrados.")


@users_cli.command("create")
@click.option("--email", required=True)
@click.option("--name", "full_name", required=True)
@click.option("--role", "roles", multiple=True, required=True,
              type=click.Choice([r.value for r in Role]))
@click.option("--organization-nit", default=None, help="For ngo users: their organization's NIT.")
@click.password_option()
def users_create(email, full_name, roles, organization_nit, password) -> None:
    """Create a user with one or more roles."""
    from grants.services.users import create_user
    from grants.validation.identity import IdentityError, normalize_nit

    organization_id = None
    if organization_nit:
        try:
            nit = normalize_nit(organization_nit)
        except IdentityError as exc:
            raise click.BadParameter(str(exc.message), param_hint="--organization-nit") from None
        organization_id = db.session.scalar(select(Organization.id).where(Organization.nit == nit))
        if organization_id is None:
            raise click.BadParameter("no organization has this NIT", param_hint="--organization-nit")
    try:
        with unit_of_work():
            user = create_user(Actor.system("cli:users create"), {
                "email": email, "full_name": full_name, "roles": list(roles),
                "organization_id": organization_id, "password": password,
            })
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                click.echo(f"{field}: {message}", err=True)
        sys.exit(1)
    click.echo(f"Usuario creado: {user.email} ({', '.join(roles)})")


@audit_cli.command("verify")
def audit_verify() -> None:
    """Recompute the audit chain; exit 1 naming the first broken sequence number."""
    report = verify_chain(db.session)
    db.session.rollback()
    if report.ok:
        click.echo(f"Cadena de auditoría íntegra: {report.events} eventos verificados.")
        return
    click.echo(
        f"Cadena de auditoría ROTA en la secuencia {report.first_broken_seq}: {report.reason} "
        f"({report.events} eventos verificados antes).",
        err=True,
    )
    sys.exit(1)


@audit_cli.command("run")
@click.option("--agreement", "agreement_ref", default=None, help="Agreement id or number (MJSP-CONV-2026-0001).")
@click.option("--year", "fiscal_year", type=int, default=None, help="Fiscal year of the allocations.")
def audit_run(agreement_ref: str | None, fiscal_year: int | None) -> None:
    """Run the liquidation checks (every rule) and keep the findings; one line per rule."""
    from grants.models import Agreement
    from grants.services.audit_checks import run_checks

    agreement_id = None
    if agreement_ref:
        agreement_id = db.session.scalar(select(Agreement.id).where(
            Agreement.id == int(agreement_ref) if agreement_ref.isdigit() else Agreement.number == agreement_ref))
        if agreement_id is None:
            raise click.BadParameter("no such agreement", param_hint="--agreement")

    def progress(code: str, index: int, total: int) -> None:
        click.echo(f"[{index}/{total}] {code}")

    try:
        with unit_of_work():
            run = run_checks(Actor.system("cli:audit run"), agreement_id, fiscal_year, progress)
            summary = (run.id, run.rules_run, run.findings_new, run.findings_seen, dict(run.counts))
    except ValidationFailed as exc:
        for field, messages in exc.errors.items():
            for message in messages:
                click.echo(f"{field}: {message}", err=True)
        sys.exit(1)
    run_id, rules_run, new, seen, counts = summary
    for code, count in counts.items():
        if count:
            click.echo(f"  {code}: {count}")
    click.echo(f"Revisión {run_id} terminada: {rules_run} reglas, {sum(counts.values())} hallazgos "
               f"({new} hallazgos nuevos, {seen} ya conocidos).")


@notifications_cli.command("send")
@click.option("--limit", default=500, show_default=True, help="At most this many e-mails per run.")
def notifications_send(limit: int) -> None:
    """Send the e-mails that are due, retries included (run it from cron, e.g. every minute)."""
    from grants.services.mail import deliver_pending
    from grants.services.notifications import smtp_configured

    if not smtp_configured():
        click.echo("SMTP_HOST no está configurado: no se envían correos.", err=True)
    counts = deliver_pending(limit=limit)
    click.echo(f"Correos: {counts['sent']} enviados, {counts['retried']} por reintentar, "
               f"{counts['failed']} fallidos.")


beneficiaries_cli = AppGroup("beneficiaries", help="Listas de beneficiarios.")


def _estimate_rows(path) -> int | None:
    if path.suffix.lower() in (".csv", ".txt"):
        with path.open("rb") as handle:
            return max(sum(chunk.count(b"\n") for chunk in iter(lambda: handle.read(1 << 20), b"")) - 1, 1)
    return None


@beneficiaries_cli.command("import")
@click.argument("file", type=click.Path(exists=True, dir_okay=False, path_type=Path))
@click.option("--agreement", "agreement_ref", required=True, help="Agreement id or number (MJSP-CONV-2026-0001).")
@click.option("--kind", type=click.Choice([k.value for k in BatchKind]), default=BatchKind.ENROLLMENT.value, show_default=True)
@click.option("--user", "email", default=None, help="The NGO user it is uploaded for (default: the first one).")
@click.option("--confirm", is_flag=True, help="Confirm the batch when it has no errors.")
def beneficiaries_import(file: Path, agreement_ref: str, kind: str, email: str | None, confirm: bool) -> None:
    """Check and store a beneficiary list (CSV or XLSX) for an agreement, with a progress bar."""
    from grants.models import Agreement, ImportBatch
    from grants.permissions import Role
    from grants.services import beneficiary_imports as imports

    query = select(Agreement).where(
        Agreement.id == int(agreement_ref) if agreement_ref.isdigit() else Agreement.number == agreement_ref)
    agreement = db.session.scalar(query)
    if agreement is None:
        raise click.BadParameter("no such agreement", param_hint="--agreement")
    users = [u for u in db.session.scalars(select(User).where(User.organization_id == agreement.organization_id,
                                                               User.active).order_by(User.id))
             if Role.NGO in u.roles and (email is None or u.email == email.lower())]
    if not users:
        raise click.BadParameter("no active NGO user of that organization", param_hint="--user")
    actor = Actor.for_user(users[0])
    actor = Actor(user=actor.user, label=actor.label, roles=actor.roles, request_id="cli:beneficiaries import")
    total = _estimate_rows(file)
    with click.progressbar(length=total or 0, label=f"Revisando {file.name}", show_pos=True) as bar:
        seen = {"n": 0}

        interactive = sys.stdout.isatty()

        def progress(count: int) -> None:
            bar.update(count - seen["n"])
            if not interactive and count // 10000 > seen["n"] // 10000:
                click.echo(f"{count} filas revisadas")  # logs and pipes get a line now and then
            seen["n"] = count

        try:
            with unit_of_work():
                batch = imports.import_file(actor, agreement.id, file.name, file.read_bytes(), kind, progress)
                batch_id = batch.id
                if confirm and batch.status == BatchState.READY and batch.rows_error == 0:
                    imports.confirm_batch(actor, batch.id)
        except ValidationFailed as exc:
            click.echo()
            for field, messages in exc.errors.items():
                for message in messages:
                    click.echo(f"{field}: {message}", err=True)
            sys.exit(1)
    batch = db.session.get(ImportBatch, batch_id)
    click.echo(f"Lista {batch.id}: {batch.status} — {batch.rows_total} filas, {batch.rows_valid} válidas, "
               f"{batch.rows_warning} con advertencias, {batch.rows_error} con errores.")
    if batch.failure:
        click.echo(f"Motivo: {batch.failure}", err=True)
    sys.exit(0 if batch.status in (BatchState.READY, BatchState.CONFIRMED) else 1)


def register_cli(app: Flask) -> None:
    app.cli.add_command(beneficiaries_cli)
    app.cli.add_command(demo_cli)
    app.cli.add_command(users_cli)
    app.cli.add_command(audit_cli)
    app.cli.add_command(notifications_cli)
    from grants.cli_reports import reports_cli
    app.cli.add_command(reports_cli)
    from grants.cli_ops import ledger_cli
    app.cli.add_command(ledger_cli)
    from grants.cli_documents import documents_cli
    app.cli.add_command(documents_cli)
    from grants.cli_bank import bank_cli
    app.cli.add_command(bank_cli)
