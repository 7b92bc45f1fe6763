"""The Sites row that allauth names in emails and page titles, kept equal to the settings."""

from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.sites.models import Site


def site_sync(*, using: str = "default") -> Site:
    """SITE_NAME and COMMERCE_BASE_URL's host, so emails never say "example.com"; idempotent."""
    domain = urlsplit(settings.COMMERCE_BASE_URL).netloc or "localhost"
    site, _ = Site.objects.using(using).update_or_create(
        pk=settings.SITE_ID, defaults={"domain": domain[:100], "name": settings.SITE_NAME[:50]})
    return site
