"""flask documents verify FILE: is this PDF a document the ministry issued through Fondos, unaltered?

Prints the verdict in Spanish (the same lines as ``/verificar``) and exits 0 when the signature is
valid, 1 otherwise (altered, untrusted, unsigned, not a PDF, or the file cannot be read).
"""
from __future__ import annotations

import sys
from pathlib import Path

import click
from flask.cli import AppGroup
from flask_babel import force_locale

documents_cli = AppGroup("documents", help="Documentos emitidos y su firma.")


@documents_cli.command("verify")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
def verify_document(file: Path) -> None:
    """Verify the signature of a PDF Fondos issued (exit code 0 = valid)."""
    from grants.services import verification

    try:
        data = file.read_bytes()
    except OSError as exc:
        click.echo(f"No se puede leer {file}: {exc.strerror or exc}", err=True)
        sys.exit(1)
    with force_locale("es"):
        verdict = verification.verify(data)
        for line in verdict.lines():
            click.echo(line)
    sys.exit(0 if verdict.valid else 1)
