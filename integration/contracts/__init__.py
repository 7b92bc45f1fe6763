"""The wire contracts, one module per receiving app, and the one table from topic to contract.

Every message is checked against its contract twice: by the sender before it is
written to the outbox, and by the receiver before its handler runs (local
adapter and webhook view alike), so both sides agree on what a valid message
is. Handlers get the message as the topic's frozen :class:`WireModel`.

Where is X declared? ``integration/topics.py`` names the topics,
``integration/routes.py`` says who receives each and at which path, and the
module named after the receiving app holds its shapes:

==================== ======================================== =========================
topic / port call    request -> answer                        module
==================== ======================================== =========================
catalog.sync         CatalogSync -> CatalogSyncAnswer         contracts/catalog.py
entitlement          Entitlement -> EntitlementAnswer         contracts/learning.py
enrollment.status    EnrollmentStatus -> EnrollmentStatusAnswer contracts/orders.py
revenue.events       RevenueEvents -> RevenueEventsAnswer     contracts/payouts.py
revenue.releases     RevenueReleases -> RevenueReleasesAnswer contracts/payouts.py
identity.*           RoleGrant, RoleRevoke, UserErased, ...   contracts/identity.py
==================== ======================================== =========================
"""

from typing import Any

from rest_framework import serializers

from integration import routes
from integration.contracts import catalog, identity, learning, orders, payouts
from integration.contracts.base import *  # noqa: F403  (the shared helpers: parse_json, encode_json, fields, WireModel)
from integration.contracts.base import Contract, UnknownTopicError, WireModel, has_field, validate_with
from integration.contracts.catalog import *  # noqa: F403
from integration.contracts.identity import *  # noqa: F403
from integration.contracts.learning import *  # noqa: F403
from integration.contracts.orders import *  # noqa: F403
from integration.contracts.payouts import *  # noqa: F403
from integration.topics import Topic

TOPIC_CONTRACTS: dict[str, Contract] = {
    Topic.CATALOG_SYNC: Contract(catalog.CatalogSyncRequestSerializer, catalog.CatalogSyncResponseSerializer,
                                 catalog.CatalogSync, catalog.CatalogSyncAnswer),
    Topic.ENTITLEMENT: Contract(learning.EntitlementGrantRequestSerializer,
                                learning.EntitlementGrantResponseSerializer,
                                learning.Entitlement, learning.EntitlementAnswer),
    Topic.ENROLLMENT_STATUS: Contract(orders.EnrollmentStatusSerializer, orders.EnrollmentStatusResponseSerializer,
                                      orders.EnrollmentStatus, orders.EnrollmentStatusAnswer),
    Topic.REVENUE_EVENTS: Contract(payouts.RevenueEventRequestSerializer, payouts.RevenueEventResponseSerializer,
                                   payouts.RevenueEvents, payouts.RevenueEventsAnswer),
    Topic.REVENUE_RELEASES: Contract(payouts.RevenueReleasesRequestSerializer,
                                     payouts.RevenueReleasesResponseSerializer,
                                     payouts.RevenueReleases, payouts.RevenueReleasesAnswer),
    Topic.USER_ERASED: Contract(identity.UserErasedSerializer, identity.UserErasedResponseSerializer,
                                identity.UserErased, identity.Acknowledged),
    Topic.ROLE_GRANT: Contract(identity.RoleGrantMessageSerializer, identity.GrantRoleResponseSerializer,
                               identity.RoleGrant, identity.RoleChange),
    Topic.ROLE_REVOKE: Contract(identity.RoleRevokeMessageSerializer, identity.GrantRoleResponseSerializer,
                                identity.RoleRevoke, identity.RoleChange),
    Topic.STAFF_ROLE_CHANGED: Contract(learning.StaffRoleChangedSerializer, learning.EnrollmentLifecycleResponseSerializer,
                                       learning.StaffRoleChanged, learning.EnrollmentLifecycleAnswer),
    Topic.ENROLLMENT_LIFECYCLE: Contract(learning.EnrollmentLifecycleSerializer,
                                         learning.EnrollmentLifecycleResponseSerializer,
                                         learning.EnrollmentLifecycle, learning.EnrollmentLifecycleAnswer),
}

# Synchronous port calls, by route name ("<port>.<method>"): the query or body, and the answer.
PORT_CONTRACTS: dict[str, Contract] = {
    "identity.validate_token": Contract(identity.ValidateTokenRequestSerializer,
                                        identity.ValidateTokenResponseSerializer, answer=identity.TokenValidation),
    "identity.validate_token_family": Contract(identity.ValidateTokenRequestSerializer,
                                               identity.ValidateTokenResponseSerializer,
                                               answer=identity.TokenValidation),
    "identity.phase": Contract(identity.PhaseQuerySerializer, identity.PhaseSerializer,
                               answer=identity.IdentityPhase),
    "identity.set_phase": Contract(identity.SetPhaseRequestSerializer, identity.PhaseSerializer,
                                   answer=identity.IdentityPhase),
    "identity.import_user": Contract(identity.ImportUserRequestSerializer, identity.ImportUserResponseSerializer,
                                     answer=identity.ImportedIdentity),
    "identity.issue_service_token": Contract(identity.ServiceTokenRequestSerializer,
                                             identity.ServiceTokenResponseSerializer, answer=identity.ServiceToken),
    "identity.user_find": Contract(identity.UserFindQuerySerializer, identity.UserRefSerializer,
                                   answer=identity.UserRef),
    "identity.user_get": Contract(identity.UserGetQuerySerializer, identity.UserRefSerializer,
                                  answer=identity.UserRef),
    "identity.platform_payee": Contract(identity.PhaseQuerySerializer, identity.UserRefSerializer,
                                        answer=identity.UserRef),
    "learning.sso_user": Contract(serializers.Serializer, learning.SSOUserDataSerializer, answer=learning.SsoUser),
    "learning.catalog_export": Contract(learning.CatalogExportQuerySerializer, learning.CatalogExportDataSerializer,
                                        answer=learning.CatalogExportPage),
    "learning.legacy_report": Contract(serializers.Serializer, learning.LegacyReportSerializer,
                                       answer=learning.LegacyReport),
    "learning.personal_data": Contract(learning.PersonalDataQuerySerializer, learning.LearningPersonalDataSerializer,
                                       answer=learning.LearningPersonalData),
    "learning.course_get": Contract(learning.CourseGetQuerySerializer, learning.CourseInfoSerializer,
                                    answer=learning.CourseInfo),
    "learning.access_check": Contract(learning.AccessCheckQuerySerializer, learning.AccessAnswerSerializer,
                                      answer=learning.AccessAnswer),
    "learning.interaction_status": Contract(learning.InteractionStatusQuerySerializer,
                                            learning.InteractionStatusSerializer, answer=learning.InteractionStatus),
    "learning.enrollments_completed": Contract(learning.EnrollmentsCompletedQuerySerializer,
                                               learning.EnrollmentsCompletedSerializer,
                                               answer=learning.EnrollmentsCompleted),
    "learning.entitlement_lines": Contract(learning.EntitlementLinesQuerySerializer,
                                           learning.EntitlementLinePageSerializer, answer=learning.EntitlementLinePage),
}


def register_port_contract(name: str, contract: Contract) -> None:
    """For a port module declared elsewhere in integration (``integration/ports/<owner>.py``)."""
    existing = PORT_CONTRACTS.get(name)
    if existing is not None and existing != contract:
        raise RuntimeError(f"port call {name!r} already has a contract")
    PORT_CONTRACTS[name] = contract


def check_topics() -> None:
    """Every topic has exactly one route and one contract with its message type (checked at import)."""
    missing = {str(topic) for topic in Topic} ^ set(map(str, TOPIC_CONTRACTS))
    unrouted = {str(topic) for topic in Topic} ^ set(map(str, routes.TOPICS))
    untyped = [str(topic) for topic, contract in TOPIC_CONTRACTS.items() if contract.message is None]
    if missing or unrouted or untyped:
        raise RuntimeError(f"topics without a contract {sorted(missing)}, without a route {sorted(unrouted)}, "
                           f"without a message type {untyped}")


check_topics()


def contract_of(topic: str) -> Contract:
    try:
        return TOPIC_CONTRACTS[topic]
    except KeyError:
        raise UnknownTopicError(details={"topic": str(topic)}) from None


def request_serializer(topic: str) -> type[serializers.Serializer]:
    return contract_of(topic).request


def response_serializer(topic: str) -> type[serializers.Serializer]:
    return contract_of(topic).response


def has_idempotency_key_field(topic: str) -> bool:
    return has_field(request_serializer(topic), "idempotencyKey")


def validate_message(topic: str, payload: Any) -> dict:
    """``payload`` checked against the topic's request contract (400 ``invalid_payload`` if not)."""
    return validate_with(request_serializer(topic), payload)


def message_of(topic: str, validated: dict) -> WireModel:
    """The validated wire dict of ``topic`` as its frozen message dataclass."""
    return contract_of(topic).message.from_wire(validated)


def answer_of(topic: str, response: dict) -> WireModel:
    """A receiver's answer to ``topic``, checked against the response contract, as its dataclass."""
    contract = contract_of(topic)
    return contract.answer.from_wire(validate_with(contract.response, response))


def validate_query(name: str, params: dict) -> dict:
    """Query parameters or body of a synchronous port call, checked against its contract."""
    return validate_with(PORT_CONTRACTS[name].request, params)
