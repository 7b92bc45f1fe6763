import pytest
from django.utils import timezone

from revenue.services.lifecycle import lifecycle_event_record
from tests.identity.factories import UserFactory
from tests.revenue.conftest import activated
from tests.revenue.factories import config_set

pytestmark = pytest.mark.django_db


@pytest.fixture
def staff_client(client):
    user = UserFactory(is_staff=True, is_superuser=True)
    client.force_login(user)
    return client


def test_admin_lists_configs_and_sales_with_search_and_filters(staff_client, people):
    config_set(title="Data science")
    payload = activated(activated_at=timezone.now())
    lifecycle_event_record(idempotency_key="a", event="enrollment.activated", payload=payload, now=timezone.now())
    for url in ["/admin/revenue/revenueconfig/?q=data", "/admin/revenue/revenuesale/?state__exact=active",
                "/admin/revenue/revenueshare/?status__exact=clearing", "/admin/revenue/enrollmentfacts/",
                "/admin/revenue/rolemapping/"]:
        answer = staff_client.get(url)
        assert answer.status_code == 200, url
    assert payload["orderId"] in staff_client.get(f"/admin/revenue/revenuesale/?q={payload['orderId']}").content.decode()


def test_the_revenue_lists_cost_the_same_for_two_sales_as_for_six(staff_client, people,
                                                                  django_assert_max_num_queries):
    from tests.admin_lists import assert_lists_flat

    config_set(title="Data science")

    def sell(count):
        for n in range(count):
            lifecycle_event_record(idempotency_key=f"k-{count}-{n}", event="enrollment.activated",
                                   payload=activated(activated_at=timezone.now()), now=timezone.now())

    names = ["revenueconfig", "revenuesale", "revenueshare", "enrollmentfacts", "rolemapping"]
    sell(2)
    assert_lists_flat(staff_client, [f"/admin/revenue/{name}/" for name in names], more=lambda: sell(4),
                      max_queries=django_assert_max_num_queries)
    for name in ("revenuesale", "revenueconfig"):
        assert b'class="toplinks"' in staff_client.get(f"/admin/revenue/{name}/").content, name  # by date
