"""Token hardening (pinned algorithm, type, audience, issuer, expiry), families, revocation and its cache."""

import base64
import json
import time
from datetime import timedelta

import jwt
import pytest
from django.conf import settings
from django.core.cache import cache, caches
from django.utils import timezone
from freezegun import freeze_time

from identity import caching
from identity.errors import TokenRefused
from identity.models import RefreshTokenRecord, TokenFamily
from identity.selectors import token_validate
from identity.services.tokens import family_revoke, token_pair_issue, token_refresh, user_tokens_revoke_all
from tests.identity.factories import UserFactory

pytestmark = pytest.mark.django_db


def claims_of(token: str) -> dict:
    return jwt.decode(token, options={"verify_signature": False})


def forge(claims: dict, *, key=None, algorithm="HS256", headers=None) -> str:
    return jwt.encode(claims, key or settings.JWT_SIGNING_KEY, algorithm=algorithm, headers=headers)


def unsigned(claims: dict) -> str:
    def part(data):
        return base64.urlsafe_b64encode(json.dumps(data).encode()).rstrip(b"=").decode()

    return f"{part({'alg': 'none', 'typ': 'JWT'})}.{part(claims)}."


def code_of(token: str) -> str:
    answer = token_validate(token=token)
    return "VALID" if answer["valid"] else answer["error"]["code"]


def test_access_tokens_carry_every_required_claim(user):
    pair = token_pair_issue(user=user)
    claims = claims_of(pair.access)
    assert claims["token_type"] == "access" and claims["sub"] == str(user.id)
    assert claims["fam"] == pair.family_id == claims_of(pair.refresh)["fam"]
    assert claims["aud"] == settings.JWT_AUDIENCE and claims["iss"] == settings.JWT_ISSUER
    assert claims["exp"] - claims["iat"] == settings.JWT_ACCESS_TTL_SECONDS
    assert jwt.get_unverified_header(pair.access)["alg"] == "HS256"


def test_alg_none_is_refused(user):
    claims = claims_of(token_pair_issue(user=user).access)
    assert code_of(unsigned(claims)) == "INVALID_TOKEN"


@pytest.mark.parametrize("change", [
    pytest.param({"key": "another-key-of-sufficient-length-0123456789"}, id="wrong key"),
    pytest.param({"algorithm": "HS512"}, id="other algorithm, same key"),
    pytest.param({"claims": {"aud": "someone-else"}}, id="wrong audience"),
    pytest.param({"claims": {"iss": "evil-issuer"}}, id="wrong issuer"),
    pytest.param({"claims": {"token_type": "refresh"}}, id="refresh token as access"),
    pytest.param({"claims": {"token_type": "service"}}, id="service token type"),
    pytest.param({"drop": "fam"}, id="no family"),
    pytest.param({"drop": "exp"}, id="no expiry"),
    pytest.param({"drop": "aud"}, id="no audience"),
])
def test_tampered_tokens_are_invalid(user, change):
    claims = claims_of(token_pair_issue(user=user).access)
    claims.update(change.get("claims", {}))
    claims.pop(change.get("drop", ""), None)
    token = forge(claims, key=change.get("key"), algorithm=change.get("algorithm", "HS256"))
    assert code_of(token) == "INVALID_TOKEN"


def test_a_modified_payload_breaks_the_signature(user):
    access = token_pair_issue(user=user).access
    header, payload, signature = access.split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = str(UserFactory().id)
    forged_payload = base64.urlsafe_b64encode(json.dumps(claims).encode()).rstrip(b"=").decode()
    assert code_of(f"{header}.{forged_payload}.{signature}") == "INVALID_TOKEN"


def test_service_tokens_are_not_user_tokens(service_token):
    assert code_of(service_token("tokens:validate").removeprefix("Bearer ")) == "INVALID_TOKEN"


def test_expired_tokens_are_reported_as_expired_not_invalid(user, settings):
    pair = token_pair_issue(user=user)
    with freeze_time(timezone.now() + timedelta(seconds=settings.JWT_ACCESS_TTL_SECONDS + 1)):
        assert code_of(pair.access) == "EXPIRED_TOKEN"


def test_an_expired_forgery_is_invalid_not_expired(user):
    claims = claims_of(token_pair_issue(user=user).access)
    claims["exp"] = int(time.time()) - 10
    assert code_of(forge(claims, key="x" * 40)) == "INVALID_TOKEN"


def test_refresh_tokens_have_an_absolute_lifetime_however_often_they_rotate(user, settings):
    settings.JWT_REFRESH_TTL_SECONDS = 3600
    settings.JWT_REFRESH_ABSOLUTE_SECONDS = 3 * 3600
    start = timezone.now()
    pair = token_pair_issue(user=user, now=start)
    for minutes in (50, 100, 150, 175):
        with freeze_time(start + timedelta(minutes=minutes)):
            pair = token_refresh(refresh=pair.refresh)
    assert claims_of(pair.refresh)["exp"] <= int((start + timedelta(hours=3)).timestamp())
    with freeze_time(start + timedelta(hours=3, seconds=1)), pytest.raises(TokenRefused) as refused:
        token_refresh(refresh=pair.refresh)
    assert refused.value.code == "token_expired"


def test_the_family_age_is_checked_in_the_database_too(user):
    pair = token_pair_issue(user=user)
    TokenFamily.objects.filter(pk=pair.family_id).update(absolute_expires_at=timezone.now() - timedelta(seconds=1))
    with pytest.raises(TokenRefused) as refused:
        token_refresh(refresh=pair.refresh)
    assert refused.value.code == "token_expired"


def test_revocation_is_stored_and_cached_with_the_remaining_lifetime(user):
    pair = token_pair_issue(user=user)
    family_revoke(family_id=pair.family_id, reason="test")

    family = TokenFamily.objects.get(pk=pair.family_id)
    assert family.revoked_at is not None and family.revoke_reason == "test"
    assert caches["security"].get(caching.family_key(pair.family_id)) == caching.REVOKED
    assert cache.get(caching.family_key(pair.family_id)) is None  # never in the shared default cache
    expected = caching.family_revocation_ttl(family.absolute_expires_at, now=timezone.now())
    assert settings.JWT_REFRESH_ABSOLUTE_SECONDS < expected <= settings.JWT_REFRESH_ABSOLUTE_SECONDS + \
        settings.JWT_ACCESS_TTL_SECONDS + 1


def test_an_emptied_cache_falls_back_to_one_read_then_caches(user, empty_cache, django_assert_num_queries):
    pair = token_pair_issue(user=user)
    family_revoke(family_id=pair.family_id, reason="logout")
    empty_cache()  # Redis restarted, or the entry was evicted: the revocation is only in the database now

    with django_assert_num_queries(1):
        assert code_of(pair.access) == "REVOKED_TOKEN"
    with django_assert_num_queries(0):
        assert code_of(pair.access) == "REVOKED_TOKEN"


def test_the_warm_command_loads_live_revocations_only(user, settings):
    from django.core.management import call_command

    live, old = token_pair_issue(user=user), token_pair_issue(user=user)
    family_revoke(family_id=live.family_id, reason="logout")
    family_revoke(family_id=old.family_id, reason="logout")
    TokenFamily.objects.filter(pk=old.family_id).update(absolute_expires_at=timezone.now() - timedelta(days=1))
    caches["security"].clear()

    call_command("identity_revocations_warm", stdout=open("/dev/null", "w"))  # noqa: SIM115

    assert caches["security"].get(caching.family_key(live.family_id)) == caching.REVOKED
    assert caches["security"].get(caching.family_key(old.family_id)) is None


def test_with_a_per_process_cache_a_live_answer_expires_so_other_processes_catch_up(user, settings):
    # The case under test is a per-process cache (no Redis); freezegun cannot age a Redis TTL anyway.
    settings.CACHES = {**settings.CACHES, "security": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache",
                                                       "LOCATION": "per-process-test"}}
    settings.IDENTITY_USER_CACHE_SECONDS = 60
    pair = token_pair_issue(user=user)
    assert code_of(pair.access) == "VALID"  # "live" is cached
    # Another process revokes: its database write lands, its cache entry does not reach this process.
    TokenFamily.objects.filter(pk=pair.family_id).update(revoked_at=timezone.now(), revoke_reason="elsewhere")
    assert code_of(pair.access) == "VALID"
    with freeze_time(timezone.now() + timedelta(seconds=61)):
        assert code_of(pair.access) == "REVOKED_TOKEN"


def test_revoking_all_of_a_users_tokens(user):
    first, second = token_pair_issue(user=user), token_pair_issue(user=user)
    assert user_tokens_revoke_all(user_id=user.pk, reason="password_reset") == 2
    assert code_of(first.access) == code_of(second.access) == "REVOKED_TOKEN"


def test_every_refresh_token_is_recorded_and_marked_when_used(user):
    pair = token_pair_issue(user=user)
    token_refresh(refresh=pair.refresh)
    records = RefreshTokenRecord.objects.filter(family_id=pair.family_id).order_by("issued_at")
    assert records.count() == 2
    assert records.filter(used_at__isnull=False).count() == 1


def test_refresh_for_a_deactivated_user_is_refused(user):
    pair = token_pair_issue(user=user)
    user.is_active = False
    user.save()
    with pytest.raises(TokenRefused):
        token_refresh(refresh=pair.refresh)


def non_canonical_last(signature: str) -> str:
    """The last character with its unused low bits set: the same bytes, spelled differently."""
    alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
    return alphabet[alphabet.index(signature[-1]) | 1]


def test_the_strict_decoder_refuses_what_pyjwt_refuses_and_more(user):
    access = token_pair_issue(user=user).access
    header, payload, signature = access.split(".")
    claims = claims_of(access)
    variants = {
        "extra segment": access + ".x",
        "padding": f"{header}.{payload}.{signature}=",
        "whitespace": f"{header}.{payload}.{signature} ",
        "non-canonical signature": f"{header}.{payload}.{signature[:-1]}{non_canonical_last(signature)}",
        "empty signature": f"{header}.{payload}.",
        "crit header": forge(claims, headers={"crit": ["exp"]}),
        "typ not JWT": forge(claims, headers={"typ": "at+jwt"}),
        "exp as a string": forge({**claims, "exp": str(claims["exp"])}),
        "exp as a boolean": forge({**claims, "exp": True}),
        "iat in the future": forge({**claims, "iat": int(time.time()) + 3600}),
        "nbf in the future": forge({**claims, "nbf": int(time.time()) + 3600}),
        "audience list": forge({**claims, "aud": [settings.JWT_AUDIENCE, "other"]}),
        "empty subject": forge({**claims, "sub": ""}),
        "payload not an object": forge(claims).split(".")[0] + ".WzFd." + signature,
    }
    assert base64.urlsafe_b64decode(variants["non-canonical signature"].split(".")[2] + "=") == \
        base64.urlsafe_b64decode(signature + "=")
    for name, token in variants.items():
        assert code_of(token) == "INVALID_TOKEN", name


def test_genuine_tokens_decode_the_same_as_with_pyjwt(user):
    from identity.tokens import ACCESS, decode

    access = token_pair_issue(user=user).access
    expected = jwt.decode(access, settings.JWT_SIGNING_KEY, algorithms=["HS256"], audience=settings.JWT_AUDIENCE,
                          issuer=settings.JWT_ISSUER)
    assert decode(access, token_type=ACCESS) == expected
