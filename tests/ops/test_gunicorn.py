"""The production start for real: gunicorn from gunicorn.conf.py (as `make serve` runs it) with two
workers on PostgreSQL — alive, ready, JSON log lines with the request ids, and /metrics counting the
requests of both workers (prometheus-client's multiprocess mode)."""
import json
import os
import signal
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

ROOT = Path(__file__).resolve().parents[2]
TOKEN = "scrape-" + "t" * 40


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def get(url, headers=None):
    request = urllib.request.Request(url, headers=headers or {})
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, dict(response.headers), response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, dict(exc.headers), exc.read().decode()


@pytest.fixture
def gunicorn(live_app, live_database, backend, tmp_path):
    if backend != "postgresql":
        pytest.skip("production runs on PostgreSQL only")
    port = free_port()
    env = {**os.environ, "FONDOS_ENV": "production", "SECRET_KEY": "gunicorn-test-" + "k" * 40,
           "DATABASE_URL": live_database.url, "BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2",
           "GUNICORN_THREADS": "2", "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "prom"),
           "METRICS_TOKEN": TOKEN, "UPLOAD_DIR": str(tmp_path / "uploads")}
    env.pop("LOG_FORMAT", None)
    log_path = tmp_path / "gunicorn.log"
    with log_path.open("w") as log:
        proc = subprocess.Popen([str(Path(sys.executable).with_name("gunicorn")), "--config", "gunicorn.conf.py"],
                                cwd=ROOT, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                if get(base + "/healthz")[0] == 200:
                    break
            except OSError:
                pass
            assert proc.poll() is None, log_path.read_text()[-3000:]
            assert time.monotonic() < deadline, "gunicorn did not start: " + log_path.read_text()[-3000:]
            time.sleep(0.3)
        yield base, proc, log_path
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=40)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()


def healthz_count(text_body: str) -> float:
    for family in text_string_to_metric_families(text_body):
        for s in family.samples:
            if (s.name == "fondos_http_request_duration_seconds_count" and s.labels["endpoint"] == "/healthz"
                    and s.labels["status"] == "200"):
                return s.value
    return 0


def probes_by_worker(log_path) -> dict:
    """{worker pid: request ids of /healthz probes it logged}, from the JSON lines written so far."""
    served: dict = {}
    for line in log_path.read_text().splitlines():
        entry = json.loads(line)  # every line is JSON, gunicorn's own included
        if entry.get("logger") == "fondos.request" and str(entry.get("request_id", "")).startswith("probe-"):
            served.setdefault(entry["pid"], []).append(entry["request_id"])
    return served


def test_gunicorn_serves_logs_and_counts_across_workers(gunicorn):
    base, proc, log_path = gunicorn
    status, _, body = get(base + "/readyz")
    assert status == 200, body
    assert json.loads(body)["status"] == "ready"
    assert get(base + "/metrics")[0] == 401

    before = healthz_count(get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})[2])
    sent = 0
    with ThreadPoolExecutor(8) as pool:  # concurrent probes, until both workers have served some
        while len(probes_by_worker(log_path)) < 2 and sent < 400:
            ids = [f"probe-{sent + n}" for n in range(8)]
            for rid, (status, headers, _) in zip(ids, pool.map(
                    lambda rid: get(base + "/healthz", {"X-Request-Id": rid}), ids)):
                assert status == 200 and headers["X-Request-Id"] == rid
            sent += len(ids)
            time.sleep(0.05)
    served = probes_by_worker(log_path)
    assert len(served) == 2, "one worker took every request"
    assert sorted(sum(served.values(), [])) == sorted(f"probe-{n}" for n in range(sent))

    for _ in range(4):  # whichever worker answers the scrape counts both workers' requests
        status, _, body = get(base + "/metrics", {"Authorization": f"Bearer {TOKEN}"})
        assert status == 200
        assert healthz_count(body) - before == sent
        assert "fondos_ledger_check_ok 1.0" in body

    proc.send_signal(signal.SIGTERM)
    proc.wait(timeout=40)
    lines = [json.loads(line) for line in log_path.read_text().splitlines() if line.strip()]
    booted = {x["message"].rsplit(" ", 1)[-1] for x in lines
              if x["logger"] == "gunicorn.error" and "Booting worker" in x["message"]}
    assert booted == {str(pid) for pid in served}
