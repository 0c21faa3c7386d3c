"""Prometheus metrics at ``/metrics`` (prometheus-client).

* ``fondos_http_request_duration_seconds`` — histogram by ``method``, ``endpoint`` (the URL rule,
  e.g. ``/api/v1/agreements/<int:agreement_id>``, so a handful of series, never one per id; ``<none>``
  for paths no rule matched) and ``status``.
* ``fondos_job_queue_depth`` / ``fondos_job_queue_failed`` — by ``queue``, read at scrape time from
  the provider the job queue registers with ``set_queue_stats(provider)`` (or, when nobody
  registered one, ``grants.jobs.queue_stats`` if that module exists). The provider returns
  ``{queue name: (jobs waiting, jobs failed)}``. Without one (SQLite, jobs in-process) the series
  are absent.
* ``fondos_ledger_check_ok`` (1 no differences, 0 differences), ``fondos_ledger_check_differences``
  and ``fondos_ledger_check_timestamp_seconds`` — ``grants.services.ledger.check_invariants`` run at
  scrape time, at most once every ``LEDGER_CHECK_METRICS_SECONDS`` (default 300; 0 = never, leave it
  to ``flask ledger check`` in cron) per process.

Protected: a bearer token (``METRICS_TOKEN``); without that setting the endpoint does not exist
(404), with a wrong token it answers 401.

Several gunicorn workers: set ``PROMETHEUS_MULTIPROC_DIR`` to an empty directory writable by the
workers before gunicorn starts (``gunicorn.conf.py`` empties it at start and marks dead workers);
each worker then writes its samples there and any worker's ``/metrics`` answers for all of them
(prometheus-client's multiprocess mode). Without it each worker reports only its own requests.
"""
from __future__ import annotations

import hmac
import logging
import os
import time
from typing import Callable, Mapping

from prometheus_client import (CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, Counter, Gauge, Histogram,
                               generate_latest)

log = logging.getLogger(__name__)

BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)

DOCUMENT_VERIFICATIONS = Counter(
    "fondos_document_verifications_total", "PDFs checked on /verificar and the API, by result "
    "(valid, invalid, unsigned, not_pdf).", ["result"])


def count_verification(result: str) -> None:
    DOCUMENT_VERIFICATIONS.labels(result=result).inc()


REQUEST_LATENCY = Histogram(
    "fondos_http_request_duration_seconds", "Time to produce a response, by endpoint (URL rule) and status.",
    ["method", "endpoint", "status"], buckets=BUCKETS)
QUEUE_DEPTH = Gauge("fondos_job_queue_depth", "Jobs waiting in the queue.", ["queue"],
                    multiprocess_mode="livemostrecent")
QUEUE_FAILED = Gauge("fondos_job_queue_failed", "Jobs that failed (kept for inspection).", ["queue"],
                     multiprocess_mode="livemostrecent")
LEDGER_OK = Gauge("fondos_ledger_check_ok", "1 when every balance equals its transactions, 0 otherwise.",
                  multiprocess_mode="livemostrecent")
LEDGER_DIFFERENCES = Gauge("fondos_ledger_check_differences", "Differences found by the last ledger check.",
                           multiprocess_mode="livemostrecent")
LEDGER_CHECKED_AT = Gauge("fondos_ledger_check_timestamp_seconds", "When the last ledger check ran (Unix time).",
                          multiprocess_mode="livemostrecent")

QueueStats = Mapping[str, tuple[int, int]]
_queue_stats_provider: Callable[[], QueueStats] | None = None
_ledger_checked = 0.0


def set_queue_stats(provider: Callable[[], QueueStats] | None) -> None:
    """The job queue's hook: ``provider()`` → ``{queue: (waiting, failed)}``, called at each scrape."""
    global _queue_stats_provider
    _queue_stats_provider = provider


def _queue_provider():
    if _queue_stats_provider is not None:
        return _queue_stats_provider
    from grants.health import jobs_module

    jobs = jobs_module()
    return getattr(jobs, "queue_stats", None) if jobs is not None else None


def refresh_queue() -> None:
    provider = _queue_provider()
    if provider is None:
        return
    try:
        stats = provider()
    except Exception as exc:  # a scrape reports what it can
        log.warning("metrics: job queue statistics unavailable: %s", exc)
        return
    for queue, (waiting, failed) in stats.items():
        QUEUE_DEPTH.labels(queue=queue).set(waiting)
        QUEUE_FAILED.labels(queue=queue).set(failed)


def record_ledger_check(problems: list[str]) -> None:
    global _ledger_checked
    _ledger_checked = time.time()
    LEDGER_OK.set(0 if problems else 1)
    LEDGER_DIFFERENCES.set(len(problems))
    LEDGER_CHECKED_AT.set(_ledger_checked)


def refresh_ledger(every_seconds: float) -> None:
    if every_seconds <= 0 or time.time() - _ledger_checked < every_seconds:
        return
    from grants.extensions import db
    from grants.services.ledger import check_invariants

    try:
        problems = check_invariants()
    except Exception as exc:
        db.session.rollback()
        log.warning("metrics: ledger check failed: %s", exc)
        return
    db.session.rollback()  # read only: end the transaction the check opened
    record_ledger_check(problems)
    if problems:
        log.error("ledger check: %d differences (run `flask ledger check`)", len(problems))


def exposition() -> bytes:
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        from prometheus_client import multiprocess

        registry = CollectorRegistry()
        multiprocess.MultiProcessCollector(registry)
        return generate_latest(registry)
    return generate_latest(REGISTRY)


def _endpoint_label(request) -> str:
    return request.url_rule.rule if request.url_rule is not None else "<none>"


def install(app) -> None:
    from flask import Response, abort, g, request

    @app.after_request
    def _observe(response):
        started = g.get("request_started")
        if started is not None:
            REQUEST_LATENCY.labels(method=request.method, endpoint=_endpoint_label(request),
                                   status=str(response.status_code)).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics")
    def metrics():
        token = app.config.get("METRICS_TOKEN") or ""
        if not token:
            abort(404)
        given = request.headers.get("Authorization", "")
        if not hmac.compare_digest(given.encode(), f"Bearer {token}".encode()):
            return Response("unauthorized\n", 401, {"WWW-Authenticate": 'Bearer realm="metrics"'},
                            mimetype="text/plain")
        refresh_queue()
        refresh_ledger(float(app.config.get("LEDGER_CHECK_METRICS_SECONDS", 300)))
        return Response(exposition(), content_type=CONTENT_TYPE_LATEST)
