"""Uploaded documents stored by SHA-256 (content-addressed). What a file is (its type, its size) is
checked in one place: ``grants.services.attachments.check_file``.

A file is written before the transaction commits; if it rolls back the file stays as an
unreferenced blob named by its hash (harmless, and reused if the same file comes again).
"""
from __future__ import annotations

import hashlib
import os
from pathlib import Path

from flask import current_app


class StoredFile:
    def __init__(self, sha256: str, size: int, path: Path):
        self.sha256, self.size, self.path = sha256, size, path


def upload_dir() -> Path:
    path = Path(current_app.config["UPLOAD_DIR"])
    path.mkdir(parents=True, exist_ok=True)
    return path


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
