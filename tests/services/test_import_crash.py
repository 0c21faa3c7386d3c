"""G8: a list is stored whole or not at all, even when the process dies in the middle."""
import os
import signal
import subprocess
import sys
from pathlib import Path

from sqlalchemy import func, select

from grants.audit import verify_chain
from grants.extensions import db
from grants.models import Enrollment, ImportBatch, ImportRow
from grants.validation.identity import dui_check_digit
from tests.agreement_helpers import ENROLLED_ON, agreement_in_execution, born
from tests.timeline import iso

ROOT = Path(__file__).resolve().parents[2]
HEADER = "Tipo de documento,DUI,Nombres,Apellidos,Fecha de nacimiento,Sexo,Municipio,Fecha de inscripción\n"


def big_list(path: Path, rows: int) -> None:
    birth, enrolled = born(25).strftime("%d/%m/%Y"), iso(ENROLLED_ON)  # an adult, enrolled inside the term
    with path.open("w", encoding="utf-8") as out:
        out.write(HEADER)
        for n in range(1, rows + 1):
            digits = f"{n:08d}"
            out.write(f"DUI,{digits}-{dui_check_digit(digits)},Ana,López,{birth},F,0623,{enrolled}\n")


def test_a_killed_import_leaves_no_partial_batch(live_app, live_database, tmp_path):
    with live_app.app_context():
        agreement_id = agreement_in_execution()["agreement"].id
        events_before = verify_chain(db.session).events
    path = tmp_path / "lista.csv"
    big_list(path, 200_000)
    env = {**os.environ, "FONDOS_ENV": "testing", "DATABASE_URL": live_database.url,
           "UPLOAD_DIR": str(tmp_path / "uploads"), "FONDOS_INSTANCE_DIR": str(tmp_path / "instance")}
    child = subprocess.Popen(
        [sys.executable, "-m", "tests.on_test_day", "-m", "flask", "--app", "wsgi", "beneficiaries", "import",
         str(path), "--agreement", str(agreement_id)], cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
        text=True)
    seen = []
    try:
        for line in child.stdout:
            seen.append(line)
            if "filas revisadas" in line and int(line.split()[0]) >= 20000:
                child.send_signal(signal.SIGKILL)  # rows are being written: die now
                break
    finally:
        child.kill()
        child.wait(timeout=60)
    assert any("filas revisadas" in line for line in seen), "".join(seen)
    assert child.returncode == -signal.SIGKILL
    with live_app.app_context():
        db.session.remove()
        assert db.session.scalar(select(func.count()).select_from(ImportBatch)) == 0
        assert db.session.scalar(select(func.count()).select_from(ImportRow)) == 0
        assert db.session.scalar(select(func.count()).select_from(Enrollment)) == 0
        report = verify_chain(db.session)
        assert report.ok and report.events == events_before
