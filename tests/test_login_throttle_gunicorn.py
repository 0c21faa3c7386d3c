"""The login throttle holds across worker processes and both faces: gunicorn with 4 workers on a
fresh PostgreSQL database, 25 wrong passwords for one account sent at once, alternating the web form
and the API. Exactly 10 are checked; the rest, and then the right password, get 429."""
from __future__ import annotations

import http.cookiejar
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from grants.extensions import db
from tests.conftest import dispose, make_app
from tests.factories import PASSWORD, make_user

ROOT = Path(__file__).resolve().parent.parent


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def _send(opener, url, data=None, headers=None):
    request = urllib.request.Request(url, data=data, headers=headers or {})
    try:
        with opener.open(request, timeout=60) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as error:
        return error.code, dict(error.headers), error.read().decode()


def web_attempt(base, email, password):
    opener = urllib.request.build_opener(
        urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect)
    _, _, page = _send(opener, f"{base}/login")
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    form = urllib.parse.urlencode({"email": email, "password": password, "csrf_token": token}).encode()
    return _send(opener, f"{base}/login", form)


def api_attempt(base, email, password):
    body = json.dumps({"email": email, "password": password}).encode()
    return _send(urllib.request.build_opener(), f"{base}/api/v1/auth/tokens", body,
                 {"Content-Type": "application/json"})


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _until_every_worker_answers(base, access_log, workers: int) -> None:
    """Each worker imports the app after it is forked: the first answer comes from the first one ready,
    and on a busy machine the burst could find the others still importing (then one worker would
    serve it all, and the test would prove nothing). Bursts of /healthz until every worker answered."""
    opener = urllib.request.build_opener()
    for _ in range(300):  # until they all answer (or gives up), not a timing assertion
        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(lambda _: _send(opener, f"{base}/healthz"), range(16)))
        pids = {line.split()[0] for line in access_log.read_text().splitlines() if line.strip()}
        if len(pids) >= workers:
            return
        time.sleep(0.2)
    pytest.fail(f"only {len(pids)} of {workers} gunicorn workers answered")


@pytest.fixture
def gunicorn(live_database, backend, tmp_path):
    """gunicorn, 4 workers, serving a fresh PostgreSQL database that holds one user."""
    if backend != "postgresql":
        pytest.skip("several processes on one database: PostgreSQL")
    app = make_app(live_database)
    with app.app_context():
        email = make_user(["auditor"]).email
        db.session.commit()
    dispose(app)
    port, access_log = free_port(), tmp_path / "access.log"
    env = {**os.environ, "FONDOS_ENV": "testing", "DATABASE_URL": live_database.url,
           "FONDOS_INSTANCE_DIR": str(tmp_path), "PYTHONPATH": str(ROOT)}
    server = subprocess.Popen(
        [sys.executable, "-m", "tests.on_test_day", "-m", "gunicorn", "--workers", "4",
         "--bind", f"127.0.0.1:{port}", "--access-logfile", str(access_log),
         "--access-logformat", "%(p)s %(m)s %(U)s %(s)s", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open(tmp_path / "gunicorn.err", "w"))
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(600):  # until it answers (or gives up), not a timing assertion
            if server.poll() is not None:
                pytest.fail("gunicorn stopped: " + (tmp_path / "gunicorn.err").read_text()[-2000:])
            try:
                if _send(urllib.request.build_opener(), f"{base}/healthz")[0] == 200:
                    break
            except OSError:
                pass
            time.sleep(0.1)
        else:
            pytest.fail("gunicorn did not answer /healthz")
        _until_every_worker_answers(base, access_log, 4)
        yield base, email, access_log
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_the_eleventh_wrong_password_is_refused_whichever_worker_and_face(gunicorn):
    base, email, access_log = gunicorn
    faces = [web_attempt, api_attempt]

    def attempt(n):
        face = faces[n % 2]
        status, headers, _ = face(base, email, f"wrong-{n}")
        return face.__name__, status, headers

    with ThreadPoolExecutor(max_workers=8) as pool:  # at once: the workers really race
        results = list(pool.map(attempt, range(25)))

    checked = [r for r in results if (r[0], r[1]) in {("web_attempt", 200), ("api_attempt", 401)}]
    refused = [r for r in results if r[1] == 429]
    assert len(checked) == 10, results
    assert len(refused) == 15, results
    assert {face for face, _, _ in refused} == {"web_attempt", "api_attempt"}
    assert all(int(headers["Retry-After"]) > 0 for _, _, headers in refused)

    status, _, body = api_attempt(base, email, PASSWORD)  # the right password waits for the window too
    assert status == 429 and json.loads(body)["code"] == "too_many_requests"
    status, headers, page = web_attempt(base, email, PASSWORD)
    assert status == 429 and "Demasiados intentos" in page and int(headers["Retry-After"]) > 0

    served = [line.split() for line in access_log.read_text().splitlines()]
    workers = {pid for pid, method, path, _ in served if method == "POST"}
    print(f"27 login attempts answered by {len(workers)} of the 4 workers")
    assert len(workers) > 1  # the counter was shared, not one worker's memory
