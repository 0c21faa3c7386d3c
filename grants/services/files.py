"""Uploaded documents stored by SHA-256 (content-addressed). What a file is (its type, its size) is
checked in one place: ``grants.services.attachments.check_file``.

A file is written before the transaction commits; if it rolls back the file stays as an
unreferenced blob named by its hash (harmless, and reused if the same file comes again).

Several processes on several machines may share ``UPLOAD_DIR`` (NFS or similar): each writes to a
temporary name of its own (random, so two hosts with the same pid never share one), flushes it to
disk and renames it over the final name — a reader sees the whole file or none, and two writers of
the same file write the same bytes.
"""
from __future__ import annotations

import hashlib
import os
import uuid
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
        tmp = path.with_suffix(path.suffix + f".{uuid.uuid4().hex}.tmp")
        with tmp.open("wb") as out:
            out.write(data)
            out.flush()
            os.fsync(out.fileno())
        os.replace(tmp, path)
    return StoredFile(digest, len(data), path)


def stored_path(folder: str, digest: str, suffix: str) -> Path:
    return upload_dir() / folder / f"{digest}{suffix}"


def store_path(source: Path, folder: str, suffix: str) -> StoredFile:
    """``store`` for a file already on disk (a large generated file never held in memory): hashed a
    chunk at a time, then moved (or copied, across file systems) under its hash. ``source`` is gone."""
    import shutil

    digest, size = hashlib.sha256(), 0
    with source.open("rb") as handle:
        while chunk := handle.read(1024 * 1024):
            digest.update(chunk)
            size += len(chunk)
    target_dir = upload_dir() / folder
    target_dir.mkdir(parents=True, exist_ok=True)
    path = target_dir / f"{digest.hexdigest()}{suffix}"
    if path.exists():
        source.unlink()
    else:
        tmp = path.with_suffix(path.suffix + f".{uuid.uuid4().hex}.tmp")
        shutil.move(str(source), tmp)
        with tmp.open("rb+") as handle:
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    return StoredFile(digest.hexdigest(), size, path)
