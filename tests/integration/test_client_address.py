"""One client-address rule for the whole project (issue 8 item 4): TRUSTED_PROXY_COUNT, DRF, allauth, the LMS."""

import pytest
from django.test import RequestFactory, override_settings
from django.urls import path
from rest_framework.response import Response
from rest_framework.settings import api_settings
from rest_framework.throttling import AnonRateThrottle
from rest_framework.views import APIView

from integration.client_address import client_address


class TightThrottle(AnonRateThrottle):
    rate = "2/min"


class ThrottledView(APIView):
    authentication_classes: list = []
    permission_classes: list = []
    throttle_classes = [TightThrottle]

    def get(self, request):
        return Response({"ok": True})


urlpatterns = [path("api/v1/test/throttled", ThrottledView.as_view())]

CASES = [
    # (trusted proxies, REMOTE_ADDR, X-Forwarded-For, the client)
    (0, "203.0.113.5", None, "203.0.113.5"),
    (0, "203.0.113.5", "198.51.100.1", "203.0.113.5"),  # nobody is trusted: the header is ignored
    (1, "10.0.0.1", "198.51.100.1", "198.51.100.1"),
    (1, "10.0.0.1", "192.0.2.99, 198.51.100.1", "198.51.100.1"),  # the client wrote the left entry
    (2, "10.0.0.2", "192.0.2.99, 198.51.100.1, 10.0.0.1", "198.51.100.1"),
    (2, "10.0.0.2", "198.51.100.1", "198.51.100.1"),  # fewer entries than proxies: the leftmost
    (1, "10.0.0.1", None, "10.0.0.1"),
]


def _request(remote: str, forwarded: str | None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.mark.parametrize(("trusted", "remote", "forwarded", "expected"), CASES)
def test_the_rule(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = trusted
    assert client_address(_request(remote, forwarded)) == expected


@pytest.mark.parametrize(("trusted", "remote", "forwarded", "expected"), CASES)
def test_drf_and_allauth_follow_the_same_rule(settings, trusted, remote, forwarded, expected):
    settings.TRUSTED_PROXY_COUNT = settings.ALLAUTH_TRUSTED_PROXY_COUNT = trusted
    with override_settings(REST_FRAMEWORK={**settings.REST_FRAMEWORK, "NUM_PROXIES": trusted}):
        assert trusted == api_settings.NUM_PROXIES
        assert TightThrottle().get_ident(_request(remote, forwarded)) == expected
    pytest.importorskip("allauth")
    from allauth.account.adapter import get_adapter

    request = _request(remote, forwarded)
    assert get_adapter(request).get_client_ip(request) == expected


def test_settings_wire_drf_and_allauth_to_the_one_count():
    from django.conf import settings

    assert settings.REST_FRAMEWORK["NUM_PROXIES"] == settings.TRUSTED_PROXY_COUNT
    assert settings.ALLAUTH_TRUSTED_PROXY_COUNT == settings.TRUSTED_PROXY_COUNT


def test_a_junk_address_falls_back_to_the_socket(settings):
    settings.TRUSTED_PROXY_COUNT = 1
    assert client_address(_request("10.0.0.1", "not-an-address")) == "10.0.0.1"
    assert client_address(_request("", None)) == "unknown"


@pytest.mark.urls(__name__)
def test_rotating_x_forwarded_for_does_not_escape_the_api_throttle(api_client):
    """With no trusted proxy, DRF used to key on whatever X-Forwarded-For said."""
    statuses = [api_client.get("/api/v1/test/throttled", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}").status_code
                for n in range(3)]
    assert statuses == [200, 200, 429]


def test_the_lms_uses_the_rule(settings):
    pytest.importorskip("learning")
    from learning.web import client_ip

    settings.TRUSTED_PROXY_COUNT = 1
    assert client_ip(_request("10.0.0.1", "192.0.2.99, 198.51.100.1")) == "198.51.100.1"
