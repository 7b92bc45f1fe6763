"""Configs made through the service (as the pages and API make them)."""

from decimal import Decimal

from revenue.services.configs import ConfigChange, revenue_config_set
from tests.revenue.conftest import NOW, on


def config_set(*, external_id: str = "course-1", product_type: str = "course", instructor: str = "0.30",
               creator: str = "0.40", platform: str = "0.30", affiliate: str = "0", instructor_email: str = "",
               creator_email: str = "make@example.com", affiliate_email: str = "", basis: str = "net",
               release_policy: str = "on_sale", effective: str = "2026-01-01", now=NOW, title: str = "Course one"):
    return revenue_config_set(
        product_type=product_type, external_id=external_id, now=now, product_title=title,
        change=ConfigChange(instructor_split=Decimal(instructor), creator_split=Decimal(creator),
                            platform_split=Decimal(platform), affiliate_split=Decimal(affiliate),
                            instructor_email=instructor_email, creator_email=creator_email,
                            affiliate_email=affiliate_email, basis=basis, release_policy=release_policy,
                            effective_date=on(effective)))
