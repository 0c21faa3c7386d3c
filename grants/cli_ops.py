"""flask commands for operators, cron-usable (exit 0 all good, 1 something to look at)."""
from __future__ import annotations

import sys

import click
from flask.cli import AppGroup
from sqlalchemy import func, select

from grants.extensions import db

ledger_cli = AppGroup("ledger", help="Libro de saldos de los convenios.")


@ledger_cli.command("check")
@click.option("--agreement", "agreement_id", type=int, default=None, help="Only this agreement (id).")
def ledger_check(agreement_id: int | None) -> None:
    """Recompute every balance from its transactions; print each difference, exit 1 if any.

    Compares each agreement's ledger row (committed, paid, advanced, refunded, declared refunds,
    fines) and each budget line's (committed, paid, liquidated) with the sums of its payments,
    advances, accepted receipts, refunds and fines; each advance's liquidated and refunded amounts
    with its receipts and refunds; each payment with its lines and deductions; and the ceilings
    (agreement amount, line amounts, nothing liquidated beyond what was disbursed).
    """
    from grants import metrics
    from grants.models import AgreementBalance
    from grants.services.ledger import check_invariants

    count = select(func.count()).select_from(AgreementBalance)
    if agreement_id is not None:
        count = count.where(AgreementBalance.agreement_id == agreement_id)
    agreements = db.session.scalar(count)
    problems = check_invariants(agreement_id)
    db.session.rollback()  # read only
    metrics.record_ledger_check(problems)
    if not problems:
        click.echo(f"Saldos íntegros: {agreements} convenios con libro abierto, sin diferencias.")
        return
    for problem in problems:
        click.echo(problem, err=True)
    click.echo(f"Saldos con DIFERENCIAS: {len(problems)} en {agreements} convenios con libro abierto.", err=True)
    sys.exit(1)
