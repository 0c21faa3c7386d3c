"""Signed documents (issue 15): an agreement downloaded from Fondos is signed by the ministry and
verifies; any byte changed makes it fail; unsigned, untrusted and garbage files are said as such;
the same content is issued once (same file, same hash), a changed one is version 2 and version 1
then says a later one exists; the CLI's exit codes; the service without a certificate."""
from __future__ import annotations

import hashlib
from datetime import timedelta

import pytest
from sqlalchemy import select

from grants import clock, formats
from grants.audit import Actor
from grants.domain_errors import SigningUnavailable
from grants.extensions import db
from grants.models import AuditEvent, IssuedDocument
from grants.services import agreements, signing, verification
from tests.factories import make_user
from tests.pdfs import pdf_text, tiny_pdf
from tests.signing import helpers as sh

MINISTRY_CN = "Ministerio de Justicia y Seguridad Pública — Fondos (DEMO)"


@pytest.fixture
def people(app):
    return sh.agreement_people()


def test_a_downloaded_agreement_is_signed_by_the_ministry_and_verifies(client, people):
    pdf = sh.download_agreement(client, people)
    agreement = people["agreement"]
    assert agreement.number in pdf_text(pdf)  # the signature is an incremental update: the text is there
    verdict = verification.verify(pdf)
    assert verdict.state == "valid" and verdict.valid
    assert verdict.signer_name == MINISTRY_CN
    assert verdict.signer_organization == "Ministerio de Justicia y Seguridad Pública"
    assert verdict.signed_at is not None
    assert verdict.document.kind == "agreement" and verdict.document.object_type == "agreements"
    assert verdict.document.object_key == str(agreement.id) and verdict.document.version == 1
    assert verdict.document.sha256 == hashlib.sha256(pdf).hexdigest() and verdict.document.signed
    assert verdict.later is None
    lines = verdict.lines()
    assert lines[0] == "Firma válida: documento emitido por el ministerio."
    assert f"Documento: Convenio de cooperación {agreement.number}, versión 1" in " ".join(lines)
    assert "Es la versión más reciente de este documento." in lines
    event = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "document.issued")
                               .order_by(AuditEvent.seq.desc())).first()
    assert event.entity_id == str(verdict.document.id) and event.after["sha256"] == verdict.sha256
    assert verdict.document.issued_by_id == people["legal"].id


def test_one_byte_changed_in_the_content_stream_or_the_middle_fails(client, people):
    pdf = sh.download_agreement(client, people)
    in_content = verification.verify(sh.flipped(pdf, sh.first_content_stream_byte(pdf)))
    assert in_content.state == "invalid" and in_content.problem == "altered"
    assert in_content.lines()[:2] == ["Firma NO válida.", "El archivo fue modificado después de firmarse: la firma "
                                                          "no corresponde a su contenido."]
    middle = verification.verify(sh.flipped(pdf, len(pdf) // 2))
    assert middle.state in ("invalid", "not_pdf") and not middle.valid


def test_no_single_byte_anywhere_can_be_changed_unnoticed(client, people):
    """Bytes across the whole file, the signature container (certificates, padding) included:
    where no signature reaches, the registered hash of what it covers catches the change."""
    pdf = sh.download_agreement(client, people)
    _, gap_start, gap_end, _ = sh.byte_range(pdf)
    positions = set(range(0, len(pdf), max(1, len(pdf) // 60)))
    positions |= set(range(gap_start + 1, gap_end - 1, max(1, (gap_end - gap_start) // 80)))
    positions |= {gap_end - 3, len(pdf) - 3}
    for at in sorted(positions):
        assert not verification.verify(sh.flipped(pdf, at)).valid, at


def test_appending_after_the_signature_is_not_the_signed_file(client, people):
    pdf = sh.download_agreement(client, people)
    verdict = verification.verify(pdf + b"\n% a comment added later\n")
    assert verdict.state == "invalid" and verdict.problem == "not_whole_file"


def test_unsigned_untrusted_and_garbage(app):
    assert verification.verify(tiny_pdf("Sin firma")).state == "unsigned"
    assert verification.verify(tiny_pdf("Sin firma")).lines()[0] == "El documento no está firmado."
    impostor = verification.verify(sh.untrusted_signed(tiny_pdf("Convenio falso")))
    assert impostor.state == "invalid" and impostor.problem == "untrusted"
    assert impostor.signer_name == MINISTRY_CN  # the same name, another CA: not the ministry
    for garbage in (b"", b"hola", b"%PDF-1.7\nnada que leer", bytes(range(256)) * 10):
        verdict = verification.verify(garbage)
        assert verdict.state == "not_pdf" and verdict.lines()[0] == "El archivo no es un PDF."


def test_the_same_content_is_issued_once_and_a_change_is_version_2(client, people):
    first = sh.download_agreement(client, people)
    again = sh.download_agreement(client, people)
    assert first == again
    agreement = people["agreement"]
    rows = db.session.scalars(select(IssuedDocument).where(IssuedDocument.object_key == str(agreement.id))).all()
    assert [(r.kind, r.version) for r in rows] == [("agreement", 1)]
    other = make_user(["administrator"], full_name="Otra Administradora")
    agreements.designate_administrator(Actor.for_user(people["legal"]), agreement.id, other.id)
    db.session.commit()
    second = sh.download_agreement(client, people)
    assert second != first and "Otra Administradora" in pdf_text(second)
    newer = verification.verify(second)
    assert newer.valid and newer.document.version == 2 and newer.later is None
    older = verification.verify(first)
    assert older.valid and older.document.version == 1 and older.later.version == 2
    assert "Existe una versión posterior de este documento: versión 2" in " ".join(older.lines())
    assert sh.download_agreement(client, people) == second


def test_a_later_day_gives_the_same_file_while_nothing_changed(client, people):
    """The printed «Generado el …» day alone is not a new version: a month later the agreement
    downloads as the same signed file; a real change is version 2, printed on its own day."""
    first = sh.download_agreement(client, people)
    later_day = clock.today() + timedelta(days=40)
    with clock.at(later_day):
        assert sh.download_agreement(client, people) == first
        other = make_user(["administrator"], full_name="Otra Administradora")
        agreements.designate_administrator(Actor.for_user(people["legal"]), people["agreement"].id, other.id)
        db.session.commit()
        second = sh.download_agreement(client, people)
    assert second != first and f"Generado el {formats.day(later_day)}" in pdf_text(second)
    assert f"Generado el {formats.day(later_day)}" not in pdf_text(first)
    assert verification.verify(second).document.version == 2
    assert verification.verify(first).later.version == 2


def test_a_valid_signature_on_a_file_fondos_never_issued(app):
    pdf = signing.issue("agreement", ("agreements", "999999"), tiny_pdf("Borrador"))
    db.session.query(IssuedDocument).filter_by(object_key="999999").delete()
    verdict = verification.verify(pdf)
    assert verdict.state == "valid" and verdict.document is None
    assert verdict.lines()[0] == "Firma válida: firmado por el ministerio pero no registrado en Fondos."


def test_the_cli_exit_codes(app, client, people, tmp_path):
    pdf = sh.download_agreement(client, people)
    files = {"valid.pdf": pdf, "altered.pdf": sh.flipped(pdf, sh.first_content_stream_byte(pdf)),
             "unsigned.pdf": tiny_pdf(), "garbage.pdf": b"not a pdf"}
    runner = app.test_cli_runner()
    results = {}
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
        result = runner.invoke(args=["documents", "verify", str(tmp_path / name)])
        results[name] = (result.exit_code, result.output.splitlines()[0])
    assert results == {"valid.pdf": (0, "Firma válida: documento emitido por el ministerio."),
                       "altered.pdf": (1, "Firma NO válida."),
                       "unsigned.pdf": (1, "El documento no está firmado."),
                       "garbage.pdf": (1, "El archivo no es un PDF.")}
    valid = runner.invoke(args=["documents", "verify", str(tmp_path / "valid.pdf")]).output
    assert f"Firmado por: {MINISTRY_CN}" in valid and people["agreement"].number in valid
    assert "hora de El Salvador" in valid
    missing = runner.invoke(args=["documents", "verify", str(tmp_path / "missing.pdf")])
    assert missing.exit_code == 1 and "No se puede leer" in missing.output


def test_without_a_certificate_development_issues_unsigned_and_production_refuses(app, tmp_path, caplog):
    saved = {k: app.config[k] for k in ("SIGNING_P12", "SIGNING_REQUIRED")}
    try:
        app.config.update(SIGNING_P12=str(tmp_path / "none.p12"), SIGNING_REQUIRED=False)
        pdf = tiny_pdf("Sin certificado")
        out = signing.issue("payment_order", ("payments", "424242"), pdf)
        assert out == pdf and "UNSIGNED" in caplog.text
        row = db.session.scalar(select(IssuedDocument).where(IssuedDocument.object_key == "424242"))
        assert row.signed is False and row.signer_subject is None
        unsigned = verification.verify(out)
        assert unsigned.state == "unsigned" and unsigned.document.id == row.id  # Fondos says it issued it unsigned
        app.config["SIGNING_REQUIRED"] = True
        with pytest.raises(SigningUnavailable):
            signing.issue("payment_order", ("payments", "434343"), tiny_pdf("Otro"))
        app.config.update(saved)
        signed = signing.issue("payment_order", ("payments", "424242"), pdf)  # a certificate again: signed, v2
        assert verification.verify(signed).document.version == 2
    finally:
        app.config.update(saved)
