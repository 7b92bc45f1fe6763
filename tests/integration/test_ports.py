"""Typed ports: registration checks the implementation against its interface; local and HTTP answer the same."""

from abc import abstractmethod
from datetime import UTC, datetime
from decimal import Decimal

import pytest

from integration.contracts.identity import IdentityPhase, TokenValidation
from integration.ports import PortMismatchError, PortNotImplementedError, implement, port_for
from integration.ports import base as ports
from integration.ports.identity import IdentityPort, identity_port, validate_token_cached
from integration.ports.learning import LearningPort, learning_port
from integration.routes import COMMERCE, PORT_CALLS


class EchoPort(ports.Port):
    name = "echo"
    side = COMMERCE

    @abstractmethod
    def phase(self, *, of: str, times: int = 1) -> IdentityPhase: ...


class GoodEcho(EchoPort):
    def phase(self, *, of: str, times: int = 1) -> IdentityPhase:
        return IdentityPhase(phase=times)


class PositionalEcho(EchoPort):
    def phase(self, of: str, times: int = 1) -> IdentityPhase:  # not keyword-only
        return IdentityPhase(phase=times)


class RenamedEcho(EchoPort):
    def phase(self, *, subject: str, times: int = 1) -> IdentityPhase:
        return IdentityPhase(phase=times)


class OtherDefaultEcho(EchoPort):
    def phase(self, *, of: str, times: int = 2) -> IdentityPhase:
        return IdentityPhase(phase=times)


def test_registration_accepts_a_matching_implementation():
    implement(EchoPort, GoodEcho())
    assert port_for(EchoPort).phase(of="x", times=3) == IdentityPhase(phase=3)


@pytest.mark.parametrize("implementation", [PositionalEcho(), RenamedEcho(), OtherDefaultEcho(), object()])
def test_registration_refuses_an_implementation_whose_methods_differ(implementation):
    with pytest.raises(PortMismatchError):
        implement(EchoPort, implementation)


def test_an_interface_method_left_abstract_cannot_even_be_instantiated():
    class Missing(EchoPort):
        pass

    with pytest.raises(TypeError):
        Missing()


def test_a_side_served_here_without_an_implementation_fails_loudly():
    ports.restore({})
    with pytest.raises(PortNotImplementedError, match="IdentityPort"):
        identity_port()


def test_every_port_method_has_a_route_and_a_contract():
    from integration.contracts import PORT_CONTRACTS

    for interface in (IdentityPort, LearningPort):
        for method in interface.methods():
            name = f"{interface.name}.{method}"
            assert name in PORT_CALLS, name
            assert name in PORT_CONTRACTS, name


@pytest.mark.django_db
def test_junk_tokens_are_refused_without_a_call_or_a_cache_entry(django_assert_num_queries):
    calls = []
    from identity.providers import LocalIdentity

    class Counting(LocalIdentity):
        def validate_token(self, *, token: str) -> TokenValidation:
            calls.append(token)
            return super().validate_token(token=token)

    ports.override(IdentityPort, Counting())
    with django_assert_num_queries(0):
        answer = validate_token_cached(token="not-a-jwt")
    assert answer.valid is False and answer.error_code == "INVALID_TOKEN"
    assert calls == []


def test_a_valid_answer_is_not_cached_past_the_token_expiry(settings):
    from identity.providers import LocalIdentity

    settings.TOKEN_VALIDATION_CACHE_SECONDS = 60
    calls = []

    class ShortLived(LocalIdentity):
        def validate_token(self, *, token: str) -> TokenValidation:
            calls.append(token)
            return TokenValidation.from_wire({"valid": True, "expiresAt": datetime.fromtimestamp(1_000_010, tz=UTC),
                                              "user": {"id": "u1", "email": "a@example.com", "commerceRoles": []}})

    ports.override(IdentityPort, ShortLived())
    validate_token_cached(token="a.b.c", now=1_000_009)  # one second left: cached for that second
    validate_token_cached(token="a.b.c", now=1_000_009)
    assert len(calls) == 1
    validate_token_cached(token="d.e.f", now=1_000_011)  # already past its expiry: not cached at all
    validate_token_cached(token="d.e.f", now=1_000_011)
    assert len(calls) == 3


@pytest.mark.django_db(transaction=True)
def test_the_http_adapter_answers_what_the_implementation_answers(live_server, settings):
    """Each port method over real HTTP (signed service token, the route table's paths) equals the local call."""
    from identity.models import SERVICE_SCOPES
    from tests.identity.factories import ServiceClientFactory, UserFactory
    from tests.learning.factories import LegacyUserFactory, LmsUserFactory

    user = UserFactory(email="port@example.com")
    lms_user = LmsUserFactory(commerce_user_id=str(user.id))
    LegacyUserFactory()
    ServiceClientFactory(client_id="port-test", scopes=list(SERVICE_SCOPES))
    settings.SERVICE_CLIENT_ID, settings.SERVICE_CLIENT_SECRET = "port-test", "s3cret-s3cret-s3cret"
    from identity.services.tokens import token_pair_issue

    access = token_pair_issue(user=user).access
    from django.utils import timezone

    from learning.services.catalog import course_create, course_publish, department_create
    from learning.services.enrollments import enrollment_create_manual

    now = timezone.now()
    course = course_create(department=department_create(name="Ports"), title="Round trip", now=now,
                           suggested_price=Decimal("10.00"), currency="USD")
    course = course_publish(course=course, now=now)
    enrollment = enrollment_create_manual(user=lms_user, course=course, now=now).enrollment
    from learning.models import Enrollment

    Enrollment.objects.filter(pk=enrollment.pk).update(commerce_order_item_id="oi-round-trip", status="completed",
                                                       completed_at=now)
    from learning.models import EntitlementLine

    EntitlementLine.objects.create(line_key="item:oi-round-trip", order_id="o-round-trip", order_item_id="oi-round-trip",
                                   product_type="course", external_id=str(course.id), commerce_user_id=str(user.id),
                                   state="granted", enrollment=enrollment, created_enrollment=True)
    identity_calls = {
        "validate_token": lambda port: port.validate_token(token=access),
        "validate_token_family": lambda port: port.validate_token_family(token=access),
        "phase": lambda port: port.phase(),
        "set_phase": lambda port: port.set_phase(phase=1, reason="round trip"),
        "import_user": None,  # phase 3 only; its refusal is compared below
        "issue_service_token": lambda port: port.issue_service_token(
            client_id="port-test", client_secret="s3cret-s3cret-s3cret", scope=("users:read",)).scope,
        "user_find": lambda port: port.user_find(email="PORT@example.com"),
        "user_get": lambda port: port.user_get(user_id=str(user.id)),
        "platform_payee": lambda port: port.platform_payee(),
    }
    learning_calls = {
        "sso_user": lambda port: port.sso_user(commerce_user_id=str(user.id)),
        "legacy_report": lambda port: port.legacy_report(),
        "catalog_export": lambda port: port.catalog_export(limit=5),
        "personal_data": lambda port: port.personal_data(commerce_user_id=str(user.id)),
        "course_get": lambda port: port.course_get(external_id=str(course.id)),
        "access_check": lambda port: port.access_check(lms_user_id=str(lms_user.id), right="content:courses:manage",
                                                       course_id=str(course.id)),
        "interaction_status": lambda port: port.interaction_status(enrollment_id=str(enrollment.id)),
        "enrollments_completed": lambda port: port.enrollments_completed(
            commerce_user_id=str(user.id), order_item_ids=["oi-round-trip", "oi-unknown"]),
        "entitlement_lines": lambda port: port.entitlement_lines(limit=2),
    }
    payouts_calls = {"personal_data": lambda port: port.personal_data(user_id=str(user.id)),
                     "ledger_sales": lambda port: port.ledger_sales(limit=2)}
    from integration.ports.payouts import PayoutsPort, payouts_port

    suites = [(IdentityPort, identity_port, identity_calls), (LearningPort, learning_port, learning_calls),
              (PayoutsPort, payouts_port, payouts_calls)]
    for interface, _, calls in suites:
        assert set(calls) == set(interface.methods()), f"every {interface.__name__} method is compared"
    local = {(interface, name): call(get()) for interface, get, calls in suites for name, call in calls.items()
             if call}

    settings.INTEGRATION_FORCE_HTTP = True
    settings.COMMERCE_BASE_URL = settings.LMS_BASE_URL = live_server.url
    for interface, get, calls in suites:
        remote_port = get()
        assert type(remote_port).__name__ == f"Http{interface.__name__}"
        for name, call in calls.items():
            if call:
                assert call(remote_port) == local[(interface, name)], name
    assert local[(LearningPort, "sso_user")].lms_user_id == str(lms_user.id)
    assert [p.external_id for p in local[(LearningPort, "catalog_export")].products] == [str(course.id)]
    assert [(i.completed, i.enrollment_id) for i in local[(LearningPort, "enrollments_completed")].items] == [
        (True, str(enrollment.id)), (False, None)]
    assert [(line.order_item_id, line.enrollment_status) for line in
            local[(LearningPort, "entitlement_lines")].lines] == [("oi-round-trip", "completed")]
    remote_identity = identity_port()
    from identity.errors import WrongPhase

    with pytest.raises(WrongPhase):
        remote_identity.import_user(email="x@example.com", password_hash="bcrypt$$2b$04$x", lms_user_id="l-1")

    from identity.errors import UserNotFound

    with pytest.raises(UserNotFound):
        remote_identity.user_find(email="nobody@example.com")
