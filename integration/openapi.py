"""The OpenAPI schema class (``REST_FRAMEWORK["DEFAULT_SCHEMA_CLASS"]``): the errors every operation shares.

A view documents its own answers (``@extend_schema(responses=...)``); the answers that come from the
plumbing rather than the handler are added here, with the error catalogue's body, so that no operation
can answer with a status its schema does not name (``tests/test_schema_fuzz.py`` checks it):

- 401 and 403 where the operation takes credentials (missing, invalid, expired or revoked; a session
  write without its CSRF token, a service token without the scope);
- 400 and 413 where it takes a body (malformed JSON, too deep, too big) or query parameters;
- 404 where it takes a ``cursor`` (the paginator's answer to a cursor it did not give out);
- 429 where a throttle applies.

It also adds the OpenAPI links (``LINKS``): the id a create answers is the path parameter of the
operations on what it created, so a client generator (and schemathesis's stateful phase) can chain them.
"""

from drf_spectacular.extensions import OpenApiSerializerFieldExtension
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


class MoneyFieldSchema(OpenApiSerializerFieldExtension):
    """``MoneyField`` as it parses: a decimal string of at most 15 whole digits and 4 places (unsigned when
    its minimum is 0), or the JSON number a wire contract writes; so generated amounts reach the handler."""

    target_class = "integration.contracts.base.MoneyField"
    match_subclasses = True

    def map_serializer_field(self, auto_schema, direction):
        field = self.target
        if not field.coerce_to_string and direction == "response":
            return {"type": "number"}
        unsigned = field.min_value is not None and field.min_value >= 0
        return {"type": "string", "format": "decimal", "description": "A decimal string (an exact JSON number is "
                "accepted too, a binary float is not).", "pattern": ("^" if unsigned else "^-?") + r"[0-9]{1,15}(\.[0-9]{1,4})?$"}


# operationId of a create -> {operationId of an operation on what it made: {its path parameter: expression}}
_ID = "$response.body#/id"
LINKS = {
    "lms_departments_create": {"lms_memberships_list": {"department_id": _ID},
                               "lms_memberships_create": {"department_id": _ID}},
    "lms_memberships_create": {"lms_memberships_delete": {"membership_id": _ID}},
    "lms_courses_create": {name: {"course_id": _ID} for name in (
        "lms_courses_publish", "lms_courses_archive", "lms_lessons_list", "lms_lessons_create", "lms_exams_list",
        "lms_exams_create", "lms_courses_staff_add")} | {"course_revenue_config_get": {"external_id": _ID},
                                                          "course_revenue_config_put": {"external_id": _ID}},
    "lms_programs_create": {"program_revenue_config_get": {"external_id": _ID},
                            "program_revenue_config_put": {"external_id": _ID}},
    "lms_exams_create": {"lms_exams_attempt": {"exam_id": _ID}},
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
        links = LINKS.get(operation.get("operationId"))
        created = next((code for code in operation["responses"] if code.startswith("2")), None)
        if links and created:
            operation["responses"][created]["links"] = {
                target: {"operationId": target, "parameters": parameters} for target, parameters in links.items()}
        return operation
