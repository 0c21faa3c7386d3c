"""A timestamp authority (RFC 3161) makes the signature PAdES B-T: with ``SIGNING_TSA_URL`` set, the
issued file carries a timestamp token from that TSA, and verification reports the TSA's time. The TSA
here is a real HTTP server on this machine answering timestamp queries (pyHanko's DummyTimeStamper
signs the answers with a TSA certificate of its own root, which the verifier trusts)."""
from __future__ import annotations

import threading
from datetime import datetime, time, timedelta, timezone
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from grants import clock, formats

from grants.services import signing, verification
from tests.pdfs import tiny_pdf

# The TSA's clock, on purpose not the server's: 10 days before the suite's day, at 16:30 UTC.
FIXED = datetime.combine(clock.today() - timedelta(days=10), time(16, 30), timezone.utc)


def _tsa_certificate(folder: Path):
    """A root and a TSA certificate (extended key usage timeStamping, critical) issued by it."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import rsa
    from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COUNTRY_NAME, "SV"),
                          x509.NameAttribute(NameOID.COMMON_NAME, cn)])
    start, until = clock.utcnow() - timedelta(days=400), clock.utcnow() + timedelta(days=900)
    root_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    root = (x509.CertificateBuilder().subject_name(name("TSA de prueba — raíz")).issuer_name(name("TSA de prueba — raíz"))
            .public_key(root_key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .sign(root_key, hashes.SHA256()))
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    cert = (x509.CertificateBuilder().subject_name(name("Sellado de tiempo de prueba")).issuer_name(root.subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(start).not_valid_after(until)
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.TIME_STAMPING]), critical=True)
            .sign(root_key, hashes.SHA256()))
    root_pem = folder / "tsa-root.pem"
    root_pem.write_bytes(root.public_bytes(serialization.Encoding.PEM))
    der_key = key.private_bytes(serialization.Encoding.DER, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption())
    return root_pem, cert.public_bytes(serialization.Encoding.DER), der_key, root.public_bytes(serialization.Encoding.DER)


@pytest.fixture
def tsa(tmp_path):
    from asn1crypto import keys, tsp, x509
    from pyhanko.sign.timestamps.dummy_client import DummyTimeStamper

    root_pem, cert_der, key_der, root_der = _tsa_certificate(tmp_path)
    stamper = DummyTimeStamper(tsa_cert=x509.Certificate.load(cert_der), tsa_key=keys.PrivateKeyInfo.load(key_der),
                               certs_to_embed=[x509.Certificate.load(root_der)], fixed_dt=FIXED)
    asked = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):
            body = self.rfile.read(int(self.headers["Content-Length"]))
            asked.append(self.headers.get("Content-Type"))
            answer = stamper.request_tsa_response(tsp.TimeStampReq.load(body)).dump()
            self.send_response(200)
            self.send_header("Content-Type", "application/timestamp-reply")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield {"url": f"http://127.0.0.1:{server.server_address[1]}/tsa", "root": root_pem, "asked": asked}
    server.shutdown()


def test_with_a_tsa_the_signature_carries_its_timestamp_and_verifies(app, tsa, monkeypatch):
    monkeypatch.setitem(app.config, "SIGNING_TSA_URL", tsa["url"])
    monkeypatch.setitem(app.config, "SIGNING_TRUST_ROOTS",
                        f"{app.config['SIGNING_TRUST_ROOTS']}:{tsa['root']}")
    signed = signing.issue("payment_order", ("payments", "515151"), tiny_pdf("Orden con sello de tiempo"))
    assert tsa["asked"] and set(tsa["asked"]) == {"application/timestamp-query"}  # the TSA was really asked
    verdict = verification.verify(signed)
    assert verdict.valid and verdict.timestamped
    assert verdict.signed_at == FIXED  # the time is the TSA's, not the server's own claim
    local = FIXED.astimezone(clock.EL_SALVADOR)
    assert f"{formats.day(local.date())} 10:30" in " ".join(verdict.lines())  # El Salvador's clock (UTC−6)


def test_a_tsa_that_does_not_answer_issues_nothing(app, monkeypatch):
    from grants.domain_errors import DomainError

    monkeypatch.setitem(app.config, "SIGNING_TSA_URL", "http://127.0.0.1:9/tsa")  # discard port: refused
    with pytest.raises(DomainError) as refused:
        signing.issue("payment_order", ("payments", "525252"), tiny_pdf("Sin sello"))
    assert (refused.value.status, refused.value.code) == (503, "timestamp_unavailable")
    assert signing.latest("payment_order", "payments", "525252") is None
