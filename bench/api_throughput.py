"""API throughput against a bare Flask endpoint, in one run (issue 12, "Speed").

Gunicorn (``--workers``, sync workers) serves Fondos on a fresh PostgreSQL schema loaded with the
demo (``flask demo load``), then, with the same gunicorn settings, a bare Flask app whose only
endpoint answers the same JSON body as the agreement read. wrk (Debian's ``wrk``) drives each
endpoint with ``--connections`` for ``--duration`` seconds after ``--warmup`` seconds, with a bearer
token. Printed: req/s, p50 and p99 of each, the ratios to bare Flask (target ≥ 40 %) and p99/p50
(target ≤ 10), PASS/FAIL each. Exit status 1 when a target is missed.

    .venv/bin/python bench/api_throughput.py                   # 10 s per endpoint, 16 connections
    .venv/bin/python bench/api_throughput.py --duration 3 --warmup 1   # a smoke run
    .venv/bin/python bench/api_throughput.py --profile         # plus cProfile of one agreement read in process
    .venv/bin/python bench/api_throughput.py --year            # then the generated year's lists (below)

``--year``: a generated fiscal year (``generate_year.generate``: 300 agreements, 1 M enrollments at
``--year-scale 1``) in a fresh schema, the liquidation checks run once (so findings exist), then the
same gunicorn and wrk on the agreement list, the findings list, and one agreement's enrollments at
page 1 and at page 2,000 (the agreement with the most enrollments; the page size that puts page
2,000 inside its list). Target: p99 ≤ 50 ms each at ``--connections``.
"""
from __future__ import annotations

import argparse
import contextlib
import cProfile
import io
import os
import pstats
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _common import ROOT, dispose, fresh_database, verdict  # noqa: E402

TARGET_SHARE = 0.40      # each read ≥ 40 % of bare Flask's req/s
TARGET_TAIL = 10.0       # p99 ≤ 10 × p50
READS = [("agreement balances", "/api/v1/agreements/{id}/balances"), ("agreement", "/api/v1/agreements/{id}")]
WHO = "auditor@fondos.example.org"
TARGET_YEAR_P99_MS = 50.0  # the generated year's lists: p99 ≤ 50 ms
YEAR_AUDITOR = ("auditor1@mjsp.bench.gob.sv", "bench-2026")  # bench/year/world.py, generate.py


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@contextlib.contextmanager
def gunicorn(target: str, env: dict, workers: int):
    """``gunicorn -w N`` serving ``bench._throughput_app:<target>`` on a free loopback port."""
    port = free_port()
    command = [str(ROOT / ".venv/bin/gunicorn"), "--workers", str(workers), "--bind", f"127.0.0.1:{port}",
               "--chdir", str(ROOT), "--log-level", "warning", f"bench._throughput_app:{target}"]
    process = subprocess.Popen(command, env={**os.environ, **env}, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/nothing-here", timeout=1)
            except urllib.error.HTTPError:
                break          # it answers (404)
            except OSError:
                if process.poll() is not None or time.monotonic() > deadline:
                    raise SystemExit(f"gunicorn did not start ({target})")
                time.sleep(0.2)
            else:
                break
        yield f"http://127.0.0.1:{port}"
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3}


def _ms(text: str) -> float:
    number, unit = re.fullmatch(r"([\d.]+)(us|ms|s)", text).groups()
    return float(number) * _UNITS[unit]


def wrk(url: str, seconds: float, connections: int, token: str | None) -> dict:
    command = ["wrk", "--threads", "2", "--connections", str(connections), "--duration", f"{max(1, round(seconds))}s",
               "--latency", "--timeout", "10s"]
    if token:
        command += ["--header", f"Authorization: Bearer {token}"]
    out = subprocess.run(command + [url], capture_output=True, text=True, check=True).stdout
    rate = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p50 = _ms(re.search(r"^\s+50%\s+(\S+)", out, re.M).group(1))
    p99 = _ms(re.search(r"^\s+99%\s+(\S+)", out, re.M).group(1))
    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {"rate": rate, "p50": p50, "p99": p99, "non_2xx": int(errors.group(1)) if errors else 0,
            "socket_errors": socket_errors.group(1) if socket_errors else None}


def measure(url: str, args, token: str | None) -> dict:
    if args.warmup > 0:
        wrk(url, args.warmup, args.connections, token)
    return wrk(url, args.duration, args.connections, token)


def load_demo(app) -> None:
    result = app.test_cli_runner().invoke(args=["demo", "load"])
    if result.exit_code != 0:
        raise SystemExit(f"flask demo load failed: {result.output}")


def profile_one_read(app, path: str, token: str, top: int) -> None:
    """cProfile of one read in process (after a first, untimed one), the ``top`` entries by own time."""
    client = app.test_client()
    headers = {"Authorization": f"Bearer {token}"}
    client.get(path, headers=headers)
    profiler = cProfile.Profile()
    profiler.enable()
    for _ in range(50):
        client.get(path, headers=headers)
    profiler.disable()
    out = io.StringIO()
    pstats.Stats(profiler, stream=out).sort_stats("tottime").print_stats(top)
    print(f"\ncProfile of 50 reads of {path} in process (by own time):")
    print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[:6000])


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--duration", type=float, default=10, help="seconds of each measurement (default 10)")
    parser.add_argument("--warmup", type=float, default=3, help="seconds of warm-up before each (default 3)")
    parser.add_argument("--connections", type=int, default=16)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2)")
    parser.add_argument("--profile", action="store_true", help="cProfile one agreement read in process")
    parser.add_argument("--keep", action="store_true", help="keep the schema (its URL is printed)")
    parser.add_argument("--year", action="store_true", help="also the generated year's lists (p99 ≤ 50 ms)")
    parser.add_argument("--year-scale", type=float, default=1.0, help="share of a full year (default 1)")
    parser.add_argument("--year-only", action="store_true", help="only the generated year's lists")
    parser.add_argument("--without-token-write", action="store_true",
                        help="what-if: leave out the token's last-use write on every request (bench/_throughput_app.py)")
    args = parser.parse_args(argv)
    if shutil.which("wrk") is None:
        sys.exit("wrk is not installed: apt-get install -y wrk")
    ok = True
    if not args.year_only:
        ok = demo_reads(args)
    if args.year or args.year_only:
        ok = year_reads(args) and ok
    return 0 if ok else 1


def demo_reads(args) -> bool:
    """The demo's agreement and balances reads against bare Flask, in one run."""
    uploads = Path(tempfile.mkdtemp(prefix="fondos-bench-uploads-"))
    database, app = fresh_database(uploads)
    workdir = Path(tempfile.mkdtemp(prefix="fondos-bench-throughput-"))
    try:
        load_demo(app)
        client = app.test_client()
        response = client.post("/api/v1/auth/tokens", json={"email": WHO, "password": "demo-2026"})
        token = response.get_json()["token"]
        with app.app_context():
            from sqlalchemy import select

            from grants.extensions import db
            from grants.models import Advance

            agreement_id = db.session.scalar(select(Advance.agreement_id).limit(1))  # the demo's agreement with money
        reads = [(name, path.format(id=agreement_id)) for name, path in READS]
        body = client.get(reads[1][1], headers={"Authorization": f"Bearer {token}"})
        assert body.status_code == 200, body.get_data(as_text=True)
        (workdir / "bare.json").write_bytes(body.get_data())
        size = len(body.get_data())
        if args.profile:
            profile_one_read(app, reads[1][1], token, 30)
        dispose(app)

        secret = "bench-only-" + os.urandom(16).hex()
        env = {"BENCH_DATABASE_URL": database.url, "BENCH_SECRET_KEY": secret,
               "DATABASE_URL": database.url, "SECRET_KEY": secret,  # what a production start checks, too
               "BENCH_UPLOAD_DIR": str(uploads), "BENCH_BARE_BODY": str(workdir / "bare.json"), "FONDOS_ENV": "production",
               "BENCH_TOKEN_WRITE": "off" if args.without_token_write else "on"}
        print(f"gunicorn {args.workers} sync workers, wrk {args.connections} connections, {args.duration:g} s each "
              f"after {args.warmup:g} s of warm-up; demo data on PostgreSQL; bare body {size:,} bytes "
              f"(the agreement read's)"
              + ("; WHAT-IF: without the token's last-use write" if args.without_token_write else ""))
        results = {}
        with gunicorn("bare", env, args.workers) as base:
            results["bare Flask"] = measure(f"{base}/bare", args, None)
        with gunicorn("app", env, args.workers) as base:
            for name, path in reads:
                results[name] = measure(f"{base}{path}", args, token)

        bare = results["bare Flask"]["rate"]
        ok = True
        print(f"\n   {'endpoint':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}{'of bare':>10}{'p99/p50':>9}")
        for name, r in results.items():
            share = r["rate"] / bare if bare else 0
            tail = r["p99"] / r["p50"] if r["p50"] else float("inf")
            line = f"   {name:<22}{r['rate']:>10,.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}{share:>9.0%}{tail:>8.1f}×"
            if r["non_2xx"] or r["socket_errors"]:
                line += f"   non-2xx {r['non_2xx']}, socket errors {r['socket_errors']}"
                ok = False
            print(line)
        print()
        for name, _ in reads:
            r = results[name]
            share, tail = r["rate"] / bare, r["p99"] / r["p50"]
            print(f"   {name:<22} {share:>5.0%} of bare Flask   target ≥ {TARGET_SHARE:.0%}   {verdict(share >= TARGET_SHARE)}")
            print(f"   {name:<22} p99 = {tail:.1f} × p50     target ≤ {TARGET_TAIL:g}×    {verdict(tail <= TARGET_TAIL)}")
            ok = ok and share >= TARGET_SHARE and tail <= TARGET_TAIL
        r = results["bare Flask"]
        print(f"   {'bare Flask':<22} p99 = {r['p99'] / r['p50']:.1f} × p50 (for reference)")
        return ok
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
        if args.keep:
            print(f"kept: {database.url}")
        else:
            database.drop()
            shutil.rmtree(uploads, ignore_errors=True)


def year_reads(args) -> bool:
    """The generated year's lists on gunicorn: p99 of each against TARGET_YEAR_P99_MS."""
    from generate_year import generate

    uploads = Path(tempfile.mkdtemp(prefix="fondos-bench-uploads-"))
    database, app = fresh_database(uploads)
    try:
        print(f"\nGenerating a year at scale {args.year_scale:g} …", flush=True)
        started = time.perf_counter()
        summary = generate(app, args.year_scale, 2026)
        print(f"   generated in {time.perf_counter() - started:.0f} s: {summary['counts']['agreements']:,} agreements, "
              f"{summary['counts']['enrollments']:,} enrollments", flush=True)
        with app.app_context():
            from sqlalchemy import func, select

            from grants.audit import Actor
            from grants.db import unit_of_work
            from grants.extensions import db
            from grants.models import Enrollment
            from grants.services.audit_checks import run_checks

            with unit_of_work():
                run = run_checks(Actor.system("bench: api_throughput --year"))
                findings = sum(run.counts.values())
            agreement_id, enrolled = db.session.execute(
                select(Enrollment.agreement_id, func.count()).group_by(Enrollment.agreement_id)
                .order_by(func.count().desc()).limit(1)).one()
            db.session.remove()
        size = max(1, min(200, enrolled // 2000))
        deep = min(2000, enrolled // size)  # 2,000 on a full year; the last page of a smaller one
        client = app.test_client()
        email, password = YEAR_AUDITOR
        token = client.post("/api/v1/auth/tokens", json={"email": email, "password": password}).get_json()["token"]
        reads = [("agreement list", "/api/v1/agreements"), ("findings list", "/api/v1/audit/findings"),
                 ("enrollments p.1", f"/api/v1/agreements/{agreement_id}/enrollments?page=1&page_size={size}"),
                 (f"enrollments p.{deep:,}", f"/api/v1/agreements/{agreement_id}/enrollments?page={deep}&page_size={size}")]
        for name, path in reads:
            response = client.get(path, headers={"Authorization": f"Bearer {token}"})
            assert response.status_code == 200 and response.get_json()["items"], (path, response.status_code)
        dispose(app)
        print(f"   {findings:,} findings; the largest agreement has {enrolled:,} enrollments: page size {size}")

        secret = "bench-only-" + os.urandom(16).hex()
        env = {"BENCH_DATABASE_URL": database.url, "BENCH_SECRET_KEY": secret, "DATABASE_URL": database.url,
               "SECRET_KEY": secret, "BENCH_UPLOAD_DIR": str(uploads), "FONDOS_ENV": "production", "BENCH_TOKEN_WRITE": "on"}
        results = {}
        with gunicorn("app", env, args.workers) as base:
            for name, path in reads:
                results[name] = measure(f"{base}{path}", args, token)
        ok = True
        print(f"\n   {'generated year':<22}{'req/s':>10}{'p50 ms':>10}{'p99 ms':>10}   target p99 ≤ {TARGET_YEAR_P99_MS:g} ms")
        for name, r in results.items():
            passed = r["p99"] <= TARGET_YEAR_P99_MS and not r["non_2xx"] and not r["socket_errors"]
            print(f"   {name:<22}{r['rate']:>10,.0f}{r['p50']:>10.2f}{r['p99']:>10.2f}   {verdict(passed)}")
            ok = ok and passed
        return ok
    finally:
        database.drop()
        shutil.rmtree(uploads, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
