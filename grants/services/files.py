"""Uploaded documents: checked for size and real type, stored by SHA-256 (content-addressed).

A file is written before the transaction commits; if it rolls back the file stays as an
unreferenced blob named by its hash (harmless, and reused if the same file comes again).
"""
from __future__ import annotations

import hashlib
import io
import os
from pathlib import Path

from flask import current_app
from flask_babel import lazy_gettext as _l

from grants.services.errors import ValidationFailed


class StoredFile:
    def __init__(self, sha256: str, size: int, path: Path):
        self.sha256, self.size, self.path = sha256, size, path


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


def check_pdf(data: bytes, field: str, max_bytes: int) -> None:
    if not data:
        raise ValidationFailed(errors={field: [_l("Adjunte el archivo.")]})
    if len(data) > max_bytes:
        raise ValidationFailed(errors={field: [_l("El archivo supera el máximo de %(mb)s MB.",
                                                   mb=max_bytes // (1024 * 1024))]})
    if not data.startswith(b"%PDF-"):
        raise ValidationFailed(errors={field: [_l("El archivo no es un PDF.")]})
    from pypdf import PdfReader
    from pypdf.errors import PdfReadError

    try:
        pages = len(PdfReader(io.BytesIO(data)).pages)
    except (PdfReadError, ValueError, KeyError, TypeError, OSError):
        raise ValidationFailed(errors={field: [_l("El PDF está dañado o no se puede leer.")]}) from None
    if pages < 1:
        raise ValidationFailed(errors={field: [_l("El PDF no tiene páginas.")]})


def store(data: bytes, folder: str, suffix: str) -> StoredFile:
    digest = hashlib.sha256(data).hexdigest()
    target_dir = upload_dir() / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{digest}{suffix}"
    if not path.exists():
        tmp = path.with_suffix(path.suffix + f".{os.getpid()}.tmp")
        tmp.write_bytes(data)
        os.replace(tmp, path)
    return StoredFile(digest, len(data), path)


def stored_path(folder: str, digest: str, suffix: str) -> Path:
    return upload_dir() / folder / f"{digest}{suffix}"
