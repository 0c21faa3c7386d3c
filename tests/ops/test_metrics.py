"""/metrics: hidden unless METRICS_TOKEN is set, then only with that bearer token; request latency by
endpoint and status, the job queue through its hook, the ledger check."""
import pytest
from prometheus_client.parser import text_string_to_metric_families
from sqlalchemy import text

from grants import metrics
from grants.db import unit_of_work
from grants.extensions import db
from tests.factories import make_agreement_in_execution

TOKEN = "metrics-" + "s" * 40


@pytest.fixture
def scrape(app, client, monkeypatch):
    monkeypatch.setitem(app.config, "METRICS_TOKEN", TOKEN)
    monkeypatch.setattr(metrics, "_ledger_checked", 0.0)  # each test sees its own check

    def get() -> dict:
        response = client.get("/metrics", headers={"Authorization": f"Bearer {TOKEN}"})
        assert response.status_code == 200
        assert response.content_type.startswith("text/plain; version=")
        return {(s.name, tuple(sorted(s.labels.items()))): s.value
                for family in text_string_to_metric_families(response.get_data(as_text=True))
                for s in family.samples}
    return get


def test_no_token_configured_no_metrics(client):
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", headers={"Authorization": "Bearer anything"}).status_code == 404


def test_only_the_token_opens_it(scrape, client):
    assert client.get("/metrics").status_code == 401
    assert client.get("/metrics", headers={"Authorization": "Bearer wrong"}).status_code == 401
    assert client.get("/metrics", headers={"Authorization": TOKEN}).status_code == 401
    scrape()


def _count(samples, endpoint, status):
    key = ("fondos_http_request_duration_seconds_count",
           tuple(sorted({"method": "GET", "endpoint": endpoint, "status": status}.items())))
    return samples.get(key, 0)


def test_request_latency_by_endpoint_and_status(scrape, client):
    before = scrape()
    for _ in range(3):
        client.get("/healthz")
    client.get("/api/v1/agreements/12345")   # 401: no token
    client.get("/no/such/page")
    after = scrape()
    assert _count(after, "/healthz", "200") - _count(before, "/healthz", "200") == 3
    assert _count(after, "/api/v1/agreements/<int:agreement_id>", "401") - \
        _count(before, "/api/v1/agreements/<int:agreement_id>", "401") == 1
    assert _count(after, "<none>", "404") - _count(before, "<none>", "404") == 1
    buckets = [k for k in after if k[0] == "fondos_http_request_duration_seconds_bucket"
               and dict(k[1])["endpoint"] == "/healthz"]
    assert {dict(k[1])["le"] for k in buckets} >= {"0.005", "0.1", "1.0", "+Inf"}


def test_job_queue_depth_and_failures_through_the_hook(scrape):
    metrics.set_queue_stats(lambda: {"default": (7, 2), "reports": (0, 0)})
    try:
        samples = scrape()
    finally:
        metrics.set_queue_stats(None)
    assert samples[("fondos_job_queue_depth", (("queue", "default"),))] == 7
    assert samples[("fondos_job_queue_failed", (("queue", "default"),))] == 2
    assert samples[("fondos_job_queue_depth", (("queue", "reports"),))] == 0


def test_the_ledger_check_result(scrape, app):
    agreement = make_agreement_in_execution()["agreement"]
    db.session.commit()
    assert scrape()[("fondos_ledger_check_ok", ())] == 1
    assert scrape()[("fondos_ledger_check_differences", ())] == 0

    with unit_of_work():  # a ledger figure that its transactions do not explain
        db.session.execute(text("UPDATE agreement_balances SET committed = committed + 5 WHERE agreement_id = :a"),
                           {"a": agreement.id})
    metrics._ledger_checked = 0.0
    samples = scrape()
    assert samples[("fondos_ledger_check_ok", ())] == 0
    assert samples[("fondos_ledger_check_differences", ())] >= 1
