import pytest


def test_healthz_answers_without_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_migrations(client, settings):
    settings.REDIS_URL = ""
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["database"] == "ok"
    assert response.json()["checks"]["redis"] == "not configured"
    assert response.json()["warnings"]["outbox_sweep"].startswith("the outbox sweep has never run")


@pytest.mark.django_db
def test_readyz_names_what_failed(client, monkeypatch):
    from integration import ops

    monkeypatch.setattr(ops, "_check_redis", lambda: "redis unreachable: ConnectionError")
    response = client.get("/readyz")
    assert response.status_code == 503
    assert response.json()["failed"] == {"redis": "redis unreachable: ConnectionError"}


def test_unknown_api_path_answers_json_404(client, db):
    response = client.get("/api/v1/does-not-exist/")
    assert response.status_code == 404
    assert response.json()["error"]["code"] == "not_found"


def test_metrics_hidden_without_token(client, settings):
    settings.METRICS_PUBLIC = False
    settings.METRICS_TOKEN = "metrics-secret"
    assert client.get("/metrics").status_code == 404
    assert client.get("/metrics", HTTP_AUTHORIZATION="Bearer wrong").status_code == 404
    response = client.get("/metrics", HTTP_AUTHORIZATION="Bearer metrics-secret")
    assert response.status_code == 200
    assert b"django_http_requests" in response.content


def test_request_id_is_echoed_or_made(client, db):
    assert client.get("/healthz", HTTP_X_REQUEST_ID="abc-123")["X-Request-Id"] == "abc-123"
    assert len(client.get("/healthz", HTTP_X_REQUEST_ID="bad id!")["X-Request-Id"]) == 32


def test_each_request_writes_one_log_line_with_the_request_id_of_the_response(client, db, caplog):
    caplog.set_level("INFO")
    response = client.get("/api/v1/does-not-exist/")
    lines = [record.msg for record in caplog.records if isinstance(record.msg, dict)]
    request_lines = [line for line in lines if line.get("event") == "request"]
    assert len(request_lines) == 1, lines
    line = request_lines[0]
    assert line["request_id"] == response["X-Request-Id"]
    assert (line["method"], line["path"], line["status"]) == ("GET", "/api/v1/does-not-exist/", 404)
    assert line["duration_ms"] >= 0
    assert not [record for record in caplog.records if record.name.startswith("django_structlog")]


def test_healthz_is_answered_before_the_other_middleware(client, db, caplog, django_assert_num_queries,
                                                         monkeypatch):
    from integration import ops

    monkeypatch.setattr(ops, "healthz", lambda request: (_ for _ in ()).throw(AssertionError("view reached")))
    caplog.set_level("INFO")
    with django_assert_num_queries(0):
        response = client.get("/healthz", HTTP_X_REQUEST_ID="probe-1")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}
    assert response["X-Request-Id"] == "probe-1"
    assert "Set-Cookie" not in response
    assert not [record for record in caplog.records if isinstance(record.msg, dict)], "probes are not logged"


def test_readyz_warns_when_the_outbox_sweep_is_stale(client, db, settings):
    from datetime import timedelta

    from django.utils import timezone

    from integration import outbox

    outbox.heartbeat_record(name=outbox.SWEEP_HEARTBEAT, now=timezone.now())
    body = client.get("/readyz").json()
    assert (body["status"], body["checks"]["outbox_sweep"]) == ("ok", "ok")
    outbox.heartbeat_record(name=outbox.SWEEP_HEARTBEAT,
                            now=timezone.now() - timedelta(seconds=settings.OUTBOX_SWEEP_STALE_SECONDS + 30))
    response = client.get("/readyz")
    assert response.status_code == 200, "the site still serves; deliveries wait"
    body = response.json()
    assert (body["status"], body["checks"]["outbox_sweep"]) == ("degraded", "stale")
    assert "celery beat" in body["warnings"]["outbox_sweep"]
