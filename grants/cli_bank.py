"""flask bank statement: the bank's answer to an issued payment batch, as a camt.053 file.

``flask bank statement --batch FONDOS-LOTE-000001 [--out FILE] [--fee 2.50] [--omit N] [--day YYYY-MM-DD]``
writes the end-of-day statement the bank would send for that batch (grants/services/bank_answer.py):
for the demo's round batch → bank → statement, and for rehearsing a reconciliation. Writes nothing to
the database.
"""
from __future__ import annotations

import sys
from datetime import date
from decimal import Decimal, InvalidOperation
from pathlib import Path

import click
from flask.cli import AppGroup
from sqlalchemy import select

from grants.extensions import db
from grants.models import PaymentBatch

bank_cli = AppGroup("bank", help="El banco: su respuesta a un lote de pago (demo y ensayos).")


@bank_cli.command("statement")
@click.option("--batch", "number", required=True, help="Batch number, e.g. FONDOS-LOTE-000001 (or its id).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="File to write (default: EC-<batch>.camt053.xml).")
@click.option("--fee", default=None, help="Add a bank fee debit of this amount (not Fondos': stays unmatched).")
@click.option("--omit", type=int, default=0, help="Leave the last N transfers out (the bank did not take them).")
@click.option("--day", default=None, help="Booking day, YYYY-MM-DD (default: the execution date, or today).")
def bank_statement(number: str, out: Path | None, fee: str | None, omit: int, day: str | None) -> None:
    """Write the camt.053 statement the bank would send for an issued batch."""
    from grants.services.bank_answer import statement_for_batch

    batch = db.session.scalar(select(PaymentBatch).where(
        PaymentBatch.number == number if not number.isdigit() else PaymentBatch.id == int(number)))
    if batch is None:
        click.echo(f"No existe el lote {number}.", err=True)
        sys.exit(1)
    try:
        amount = Decimal(fee).quantize(Decimal("0.01")) if fee else None
        booked = date.fromisoformat(day) if day else None
        data = statement_for_batch(batch, booked, amount, omit)
    except (InvalidOperation, ValueError) as exc:
        click.echo(f"No se puede: {exc}", err=True)
        sys.exit(1)
    out = out or Path(f"EC-{batch.number}.camt053.xml")
    out.write_bytes(data)
    click.echo(f"{out} ({len(data)} bytes): extracto de la cuenta {batch.debtor_account} para el lote {batch.number}")
