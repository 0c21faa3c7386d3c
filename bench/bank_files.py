"""How the bank files and the signatures scale (issue 15), measured in one run, as ratios.

* pain.001.001.09: build + validation against the official XSD, for 50 and 2,000 transfers;
* camt.053.001.08: parsing (defusedxml) + validation against the vendored XSD, 50 and 2,000 entries;
* a statement upload with matching on PostgreSQL (fresh schema): 50 and 1,000 lines none of which is
  Fondos' (every rule tried: end-to-end id, amount + reference, deposit reference), so the cost per line
  of the matching itself;
* PAdES: signing and verifying one agreement-sized PDF (median of 5).

The verdicts ask for linear growth (the ratio of times at most 1.5 × the ratio of sizes) and for
signing + verifying under one second on this machine. Run: `.venv/bin/python bench/bank_files.py`."""
from __future__ import annotations

import statistics
import sys
import time
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import dispose, fresh_database, verdict  # noqa: E402


def _timed(work, repeat: int = 3) -> float:
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        work()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def _pain001(n: int) -> bytes:
    from grants.reports import pain001

    doc = pain001.Pain001(
        message_id="FONDOS-LOTE-000001", created_at=datetime(2026, 12, 1, 15, tzinfo=timezone.utc),
        initiating_party="Ministerio de Justicia y Seguridad Pública", debtor_name="MJSP - Fondos ONG",
        debtor_account="100-200-300-4", debtor_bank="Banco Central de Reserva", debtor_bic="BCRSSVSS",
        execution_date=date(2026, 12, 2), transfers=tuple(pain001.Transfer(
            f"FONDOS-PAG-{i:06d}", Decimal("1234.56"), f"Proveedor número {i}, S.A. de C.V.", f"0058-771-{i:05d}",
            "Banco Agrícola", f"Factura A-{i:05d} / Orden de pago OP-{i:06d}") for i in range(1, n + 1)))
    data = pain001.build(doc)
    pain001.validate(data)
    return data


def _camt(n: int) -> bytes:
    from grants.reports.camt053 import statement_xml

    return statement_xml("100-200-300-4", f"EXT-BENCH-{n}", date(2026, 12, 1), [
        {"direction": "debit" if i % 3 else "credit", "amount": Decimal("10.00") + i, "bank_reference": f"BR-{i}",
         "end_to_end_id": f"AJENO-{i}", "remittance": f"Concepto {i}", "counterparty": f"Contraparte {i}"}
        for i in range(1, n + 1)])


def main() -> None:
    from grants.services.bank_statement_files import parse

    print("pain.001 build + XSD validation")
    small, large = _timed(lambda: _pain001(50)), _timed(lambda: _pain001(2000))
    print(f"  50 transfers {small * 1000:.1f} ms · 2,000 transfers {large * 1000:.1f} ms · "
          f"ratio {large / small:.1f} for 40× the size")
    print(f"  {verdict(large / small <= 40 * 1.5)}: pain.001 grows linearly")

    print("camt.053 parse + XSD validation")
    files = {n: _camt(n) for n in (50, 2000)}
    small, large = _timed(lambda: parse(files[50])), _timed(lambda: parse(files[2000]))
    print(f"  50 entries {small * 1000:.1f} ms · 2,000 entries {large * 1000:.1f} ms ({len(files[2000]) // 1024} KiB) "
          f"· ratio {large / small:.1f} for 40× the size")
    print(f"  {verdict(large / small <= 40 * 1.5)}: camt.053 reading grows linearly")

    database, app = fresh_database()
    try:
        with app.app_context():
            from grants.audit import Actor
            from grants.extensions import db
            from grants.services import bank_statements
            from tests.factories import make_user

            officer = make_user(["treasury"])
            db.session.commit()
            spent = {}
            for n in (50, 1000):
                data = _camt(n)
                start = time.perf_counter()
                statement, _ = bank_statements.upload_statement(Actor.for_user(officer), "extracto.xml", data)
                db.session.commit()
                spent[n] = time.perf_counter() - start
                assert statement.line_count == n
            print("statement upload with matching (PostgreSQL), every line tried by every rule")
            print(f"  50 lines {spent[50] * 1000:.0f} ms · 1,000 lines {spent[1000] * 1000:.0f} ms "
                  f"({spent[1000] / 1000 * 1000:.2f} ms per line) · ratio {spent[1000] / spent[50]:.1f} for 20×")
            print(f"  {verdict(spent[1000] / spent[50] <= 20 * 1.5)}: statement matching grows linearly")

            from grants.services import signing, verification
            from tests.pdfs import tiny_pdf

            pdf = tiny_pdf("Convenio de cooperación " * 200)
            the_signer = signing.signer()
            from grants.services import pades

            sign_time = _timed(lambda: pades.sign(pdf, the_signer, field_name="Bench", reason="bench",
                                                  location="San Salvador"), 5)
            signed = pades.sign(pdf, the_signer, field_name="Bench", reason="bench", location="San Salvador")
            verify_time = _timed(lambda: verification.verify(signed), 5)
            print(f"PAdES: sign {sign_time * 1000:.0f} ms · verify {verify_time * 1000:.0f} ms "
                  f"({len(signed) // 1024} KiB signed)")
            print(f"  {verdict(sign_time + verify_time < 1.0)}: sign + verify under one second")
    finally:
        dispose(app)
        database.drop()


if __name__ == "__main__":
    main()
