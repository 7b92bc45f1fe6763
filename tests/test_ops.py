import pytest


def test_healthz_answers_without_the_database(client, db, django_assert_num_queries):
    with django_assert_num_queries(0):
        response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_readyz_reports_database_and_migrations(client):
    response = client.get("/readyz")
    assert response.status_code == 200, response.content
    assert response.json()["checks"]["database"] == "ok"


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


def test_log_lines_carry_the_same_request_id_as_the_response(client, db, caplog):
    caplog.set_level("INFO", logger="django_structlog")
    response = client.get("/healthz")
    logged = {record.msg.get("request_id") for record in caplog.records
              if record.name.startswith("django_structlog") and isinstance(record.msg, dict)}
    assert logged == {response["X-Request-Id"]}
