from django.conf import settings

from integration.routes import url_for


def site(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SERVES_COMMERCE": settings.SERVES_COMMERCE,
        "SERVES_LMS": settings.SERVES_LMS,
        "TEST_GATEWAY": not settings.STRIPE_SECRET_KEY,
        # "My courses": the LMS starts the SSO handoff (same site in the monolith, LMS_BASE_URL when split).
        "LMS_SSO_BEGIN_URL": url_for("learning.sso_begin"),
    }
