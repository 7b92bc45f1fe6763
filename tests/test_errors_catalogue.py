"""The error catalogue (issue 7 item 3): every code declared once, by one class, with one status."""

import ast
import importlib
import pkgutil
from pathlib import Path

import pytest
from django.conf import settings

from integration import errors
from integration.errors import ApplicationError, ConflictError, RemoteServiceError, catalogue_entries

PROJECT_PACKAGES = ("integration", "identity", "catalog", "orders", "payouts", "learning", "revenue", "config")
# Django's form errors take a code of their own; they are not catalogue errors.
NOT_CATALOGUE_CALLS = {"ValidationError", "forms.ValidationError", "RemoteServiceError.relay"}


def _import_every_module() -> None:
    """Each error class registers when its module is imported: import them all."""
    for name in PROJECT_PACKAGES:
        package = importlib.import_module(name)
        for module in pkgutil.walk_packages(package.__path__, prefix=f"{name}."):
            if ".migrations" in module.name or module.name in {"config.wsgi", "config.asgi"}:
                continue
            importlib.import_module(module.name)


@pytest.fixture(scope="module")
def catalogue():
    _import_every_module()
    return catalogue_entries()


def test_every_code_is_declared_once_with_one_status(catalogue, capsys):
    for entry in catalogue:
        print(f"{entry.status_code}  {entry.code:40}  {entry.where}")
    assert len(catalogue) > 40
    assert errors.catalogue_problems() == []


def test_a_duplicate_code_or_a_class_reused_for_another_status_is_reported():
    declared = list(errors._DECLARATIONS)
    try:
        class AnotherConflict(ConflictError):  # same code as ConflictError, same status
            code = "conflict"

        class ConflictAsGone(ConflictError):  # ConflictError's code with another status
            status_code = 410

        class BadlyCased(ApplicationError):
            code = "BadlyCased"

        problems = errors.catalogue_problems()
    finally:
        errors._DECLARATIONS[:] = declared
    assert any("AnotherConflict" in problem and "again" in problem for problem in problems)
    assert any("ConflictAsGone" in problem and "status 410" in problem for problem in problems)
    assert any("BadlyCased" in problem and "snake_case" in problem for problem in problems)


def test_spec_fixed_codes_are_the_only_upper_case_ones(catalogue):
    upper = {entry.code for entry in catalogue if entry.code != entry.code.lower()}
    assert upper <= errors.SPEC_FIXED_CODES
    if settings.SERVES_LMS:
        assert upper == {"INVALID_TOKEN", "EXPIRED_TOKEN", "REVOKED_TOKEN"}


def test_a_raise_site_cannot_choose_a_code_or_a_status():
    with pytest.raises(TypeError):
        ApplicationError("x", code="made_up")
    with pytest.raises(TypeError):
        ConflictError("x", status_code=418)


def _call_name(node: ast.expr) -> str:
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return f"{_call_name(node.value)}.{node.attr}"
    return ""


def test_no_raise_site_in_the_tree_passes_code_or_status_code():
    offenders = []
    for name in PROJECT_PACKAGES:
        for path in sorted(Path(settings.BASE_DIR, name).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
                if not isinstance(node, ast.Raise) or not isinstance(node.exc, ast.Call):
                    continue
                called = _call_name(node.exc.func)
                if called in NOT_CATALOGUE_CALLS:
                    continue
                keywords = {keyword.arg for keyword in node.exc.keywords}
                if keywords & {"code", "status_code"}:
                    offenders.append(f"{path.relative_to(settings.BASE_DIR)}:{node.lineno} {called}")
    assert offenders == []


def test_a_relayed_remote_error_keeps_its_code_and_status_without_touching_the_class():
    relayed = RemoteServiceError.relay(code="course_not_found", status_code=404, message="No such course.")
    assert (relayed.code, relayed.status_code) == ("course_not_found", 404)
    assert relayed.as_body()["error"] == {"code": "course_not_found", "message": "No such course.", "details": {}}
    assert (RemoteServiceError.code, RemoteServiceError.status_code) == ("port_call_refused", 502)
    assert RemoteServiceError.relay(code=None, status_code=200).status_code == 502


def test_the_command_lists_the_catalogue():
    from io import StringIO

    from django.core.management import call_command

    out, err = StringIO(), StringIO()
    call_command("error_codes", stdout=out, stderr=err)
    assert "429  too_many_login_attempts" in out.getvalue()
    assert "integration.errors.LoginLocked" in out.getvalue()
    assert err.getvalue() == ""
