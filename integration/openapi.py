"""The OpenAPI schema class (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``): the errors every operation shares.

A view documents its own answers (``@extend_schema(responses=...)``); the answers that come from the
plumbing rather than the handler are added here, with the error catalogue's body, so that no operation
can answer with a status its schema does not name (``tests/test_schema_fuzz.py`` checks it):

- 401 and 403 where the operation takes credentials (missing, invalid, expired or revoked; a session
  write without its CSRF token, a service token without the scope);
- 400 and 413 where it takes a body (malformed JSON, too deep, too big) or query parameters;
- 404 where it takes a ``cursor`` (the paginator's answer to a cursor it did not give out);
- 429 where a throttle applies.
"""

from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema

from integration.contracts.base import ErrorSerializer

COMMON_ERRORS = {
    "400": "Invalid input: the error body names the fields (validation_error) or the request is malformed.",
    "401": "Not authenticated: the credentials are missing, invalid, expired or revoked.",
    "403": "Not allowed: the caller lacks the role, the scope or the CSRF token.",
    "404": "Not found (for a list: the cursor is not one this list gave out).",
    "413": "The body is larger than the deployment accepts.",
    "429": "Too many requests; Retry-After says when to try again.",
}


class AutoSchema(SpectacularAutoSchema):
    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return operation
        codes = []
        if any(operation.get("security", [])):
            codes += ["401", "403"]
        if "requestBody" in operation:
            codes += ["400", "413"]
        query = {parameter["name"] for parameter in operation.get("parameters", []) if parameter.get("in") == "query"}
        if query:
            codes.append("400")
        if "cursor" in query:
            codes.append("404")
        if self.view.get_throttles():
            codes.append("429")
        responses = operation.setdefault("responses", {})
        for code in codes:
            if code not in responses:
                responses[code] = {**self._get_response_for_code(ErrorSerializer, code),
                                   "description": COMMON_ERRORS[code]}
        operation["responses"] = dict(sorted(responses.items()))
        return operation
