"""A small certificate authority for the demo and the tests (``cryptography``), never committed.

``make_ca(folder)`` writes into ``folder``:

* ``ca.pem`` — the root certificate (the trust root ``/verificar`` checks signatures against);
* ``ministry.p12`` — the ministry's signing key and certificate (CN «Ministerio de Justicia y
  Seguridad Pública — Fondos (DEMO)», O, C=SV, key usage digitalSignature + nonRepudiation), with
  the root, encrypted with a random passphrase kept beside it in ``ministry.pass`` (mode 0600;
  ``grants.services.signing`` reads it when ``SIGNING_PASSPHRASE`` is empty).

``flask demo load`` calls ``ensure_demo_ca(app.config)``: made once where the app looks for its
certificate (by default ``instance/signing/``), kept afterwards (an existing certificate is never
replaced, or the files signed with it would stop verifying). The instance
folder is gitignored. A real deployment sets ``FONDOS_SIGNING_P12`` / ``FONDOS_SIGNING_PASSPHRASE``
/ ``FONDOS_SIGNING_TRUST_ROOTS`` to the ministry's own certificate instead.
"""
from __future__ import annotations

import os
import secrets
from datetime import datetime, timedelta, timezone
from pathlib import Path

DEMO_SUBJECT = "Ministerio de Justicia y Seguridad Pública — Fondos (DEMO)"
DEMO_ORGANIZATION = "Ministerio de Justicia y Seguridad Pública"
CA_FILE, P12_FILE = "ca.pem", "ministry.p12"


def _name(common_name: str, organization: str):
    from cryptography import x509
    from cryptography.x509.oid import NameOID

    return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "SV"),
                      x509.NameAttribute(NameOID.ORGANIZATION_NAME, organization),
                      x509.NameAttribute(NameOID.COMMON_NAME, common_name)])


def make_ca(folder: Path, *, subject: str = DEMO_SUBJECT, organization: str = DEMO_ORGANIZATION,
            ca_name: str = "Fondos DEMO — Autoridad certificadora raíz", years: int = 10,
            p12_file: str = P12_FILE, ca_file: str = CA_FILE, passphrase: str | None = None) -> dict[str, Path]:
    """Write a root CA and a signing certificate issued by it into ``folder`` (see the module)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.hazmat.primitives.serialization import pkcs12

    folder.mkdir(parents=True, exist_ok=True)
    now = datetime.now(timezone.utc) - timedelta(days=1)
    until = now + timedelta(days=365 * years)
    ca_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ca_subject = _name(ca_name, organization)
    ca_cert = (x509.CertificateBuilder().subject_name(ca_subject).issuer_name(ca_subject)
               .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
               .not_valid_before(now).not_valid_after(until)
               .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
               .add_extension(x509.KeyUsage(digital_signature=False, content_commitment=False,
                                            key_encipherment=False, data_encipherment=False, key_agreement=False,
                                            key_cert_sign=True, crl_sign=True, encipher_only=False,
                                            decipher_only=False), critical=True)
               .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
               .sign(ca_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(_name(subject, organization)).issuer_name(ca_subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now).not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.KeyUsage(digital_signature=True, content_commitment=True,
                                         key_encipherment=False, data_encipherment=False, key_agreement=False,
                                         key_cert_sign=False, crl_sign=False, encipher_only=False,
                                         decipher_only=False), critical=True)
            .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
            .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
            .sign(ca_key, hashes.SHA256()))
    passphrase = passphrase or secrets.token_urlsafe(24)
    p12 = pkcs12.serialize_key_and_certificates(
        b"fondos-ministry", key, cert, [ca_cert],
        serialization.BestAvailableEncryption(passphrase.encode()))
    paths = {"ca": folder / ca_file, "p12": folder / p12_file, "passphrase": (folder / p12_file).with_suffix(".pass")}
    _write(paths["ca"], ca_cert.public_bytes(serialization.Encoding.PEM), 0o644)
    _write(paths["p12"], p12, 0o600)
    _write(paths["passphrase"], passphrase.encode(), 0o600)
    return paths


def _write(path: Path, data: bytes, mode: int) -> None:
    tmp = path.with_suffix(path.suffix + ".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    with os.fdopen(fd, "wb") as out:
        out.write(data)
    os.replace(tmp, path)


def ensure_demo_ca(config) -> dict[str, Path] | None:
    """Make the demo CA where the app looks for its certificate (``SIGNING_P12``, by default
    instance/signing/ministry.p12) when there is no certificate there yet; the root goes to the
    first ``SIGNING_TRUST_ROOTS`` file if it does not exist either, else beside the PKCS#12.
    None when a certificate is already there: an existing one (the demo's or the ministry's real
    one) is never replaced."""
    import os as _os

    p12 = Path(config["SIGNING_P12"])
    if p12.exists():
        return None
    roots = [Path(p) for p in str(config.get("SIGNING_TRUST_ROOTS") or "").split(_os.pathsep) if p.strip()]
    ca = roots[0] if roots and not roots[0].exists() else p12.parent / CA_FILE
    if ca.parent != p12.parent:
        ca.parent.mkdir(parents=True, exist_ok=True)
    paths = make_ca(p12.parent, p12_file=p12.name, ca_file=CA_FILE if ca.parent != p12.parent else ca.name,
                    passphrase=config.get("SIGNING_PASSPHRASE") or None)
    if paths["ca"] != ca:
        os.replace(paths["ca"], ca)
        paths["ca"] = ca
    return paths
