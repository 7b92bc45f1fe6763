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
