"""Builders for the signing tests: a signed agreement downloaded as a person would, bytes changed
in chosen places, and a PDF signed by a CA nobody trusts."""
from __future__ import annotations

import re
import tempfile
from pathlib import Path

from grants.demo_signing import make_ca
from grants.services import pades
from tests.factories import make_agreement_in_execution
from tests.helpers import login


def agreement_people():
    return make_agreement_in_execution()


def download_agreement(client, people) -> bytes:
    login(client, people["legal"])
    response = client.get(f"/agreements/{people['agreement'].id}/document.pdf")
    assert response.status_code == 200 and response.mimetype == "application/pdf"
    return response.data


def byte_range(signed: bytes) -> tuple[int, int, int, int]:
    found = re.findall(rb"/ByteRange\s*\[\s*(\d+)\s+(\d+)\s+(\d+)\s+(\d+)\s*\]", signed)
    return tuple(int(x) for x in found[-1])


def flipped(data: bytes, at: int) -> bytes:
    changed = bytearray(data)
    changed[at] = ord("1") if changed[at] == ord("0") else ord("0") if chr(changed[at]) in "0123456789ABCDEF" \
        else changed[at] ^ 0x01
    return bytes(changed)


def first_content_stream_byte(signed: bytes) -> int:
    """A byte inside the first page content stream of the original (signed) revision."""
    start = signed.index(b"stream", signed.index(b"/Length")) + len(b"stream\n") + 5
    assert start < byte_range(signed)[1]
    return start


def untrusted_signed(pdf: bytes) -> bytes:
    """``pdf`` signed by a certificate with the ministry's very name, issued by a CA nobody configured."""
    paths = make_ca(Path(tempfile.mkdtemp(prefix="fondos-untrusted-")), ca_name="Otra autoridad")
    signer = pades.load_signer(paths["p12"], paths["passphrase"].read_text())
    return pades.sign(pdf, signer, field_name="Impostor", reason="Falsificación", location="Otra parte")
