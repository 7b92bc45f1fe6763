"""Every identity endpoint is described in the OpenAPI schema, with its request and response shapes."""

import pytest

pytestmark = pytest.mark.django_db

PATHS = {
    "/api/v1/auth/registration/": ["post"],
    "/api/v1/auth/login/": ["post"],
    "/api/v1/auth/login/mfa/": ["post"],
    "/api/v1/auth/token/refresh/": ["post"],
    "/api/v1/auth/logout/": ["post"],
    "/api/v1/auth/user/": ["get"],
    "/api/v1/auth/me/export": ["get"],
    "/api/v1/auth/me": ["delete"],
    "/api/v1/auth/validate-token": ["post"],
    "/api/v1/users/{userId}/roles": ["post"],
    "/api/v1/users/{userId}/roles/{role}": ["delete"],
    "/api/v2/auth/service-token": ["post"],
    "/api/v1/identity/phase": ["get", "post"],
    "/api/v1/identity/import-user": ["post"],
}


def normalised(path: str) -> str:
    return path.replace("/?", "/").rstrip("/") or "/"


def test_the_schema_lists_identity_endpoints_with_their_shapes(client):
    response = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    paths = {normalised(path): ops for path, ops in schema["paths"].items()}
    for path, methods in PATHS.items():
        ops = paths.get(normalised(path))
        assert ops is not None, f"{path} missing from the schema"
        for method in methods:
            operation = ops[method]
            assert "200" in operation["responses"] or "201" in operation["responses"] or "204" in operation["responses"]
            if method == "post":
                assert "requestBody" in operation, path
    login = paths["/api/v1/auth/login"]["post"]
    assert "LoginResult" in str(login["responses"]["200"])
    validate = paths["/api/v1/auth/validate-token"]["post"]
    assert "ValidateTokenResponse" in str(validate["responses"]["200"])


def test_the_deletion_body_the_scope_enum_and_the_dj_rest_auth_endpoints_are_documented(client):
    """Issue 8, item 18."""
    from identity.models import SERVICE_SCOPES

    schema = client.get("/api/v1/schema/", HTTP_ACCEPT="application/json").json()
    delete = schema["paths"]["/api/v1/auth/me"]["delete"]
    body = str(delete["requestBody"])
    assert "DeleteAccountInput" in body
    assert set(schema["components"]["schemas"]["ScopeEnum"]["enum"]) == set(SERVICE_SCOPES)
    for path in ("/api/v1/auth/registration/verify-email/", "/api/v1/auth/password/change/",
                 "/api/v1/auth/password/reset/confirm/"):
        operation = schema["paths"][path]["post"]
        assert operation["tags"] == ["identity"] and operation.get("summary"), path
