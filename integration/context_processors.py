from django.conf import settings


def site(request):
    return {
        "SITE_NAME": settings.SITE_NAME,
        "SERVES_COMMERCE": settings.SERVES_COMMERCE,
        "SERVES_LMS": settings.SERVES_LMS,
        "TEST_GATEWAY": not settings.STRIPE_SECRET_KEY,
    }
