"""The hourly reconciliation: the LMS export through LearningPort fixes drift; the override stays."""

import io
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.utils import timezone

from catalog.errors import ReconcileUnavailable
from catalog.models import Product, ReconcileRun
from catalog.services.products import product_price_override
from catalog.services.reconcile import catalog_reconcile
from catalog.tasks import catalog_reconcile_task
from integration.contracts.learning import CatalogExportPage, CatalogExportPagination, CatalogExportProduct
from integration.ports import base as ports
from integration.ports.base import PortUnavailable
from integration.ports.learning import LearningPort
from tests.catalog.factories import ProductFactory

pytestmark = pytest.mark.django_db
NOW = datetime(2026, 3, 1, 12, 0, tzinfo=UTC)


def exported(external_id: str, **overrides) -> CatalogExportProduct:
    values = {"external_id": external_id, "type": "course", "name": f"Course {external_id}", "description": "",
              "suggested_price": Decimal("199.00"), "currency": "USD", "status": "published",
              "metadata": {"departmentId": "d1", "departmentName": "Finance"},
              "updated_at": NOW - timedelta(minutes=30)}
    values.update(overrides)
    return CatalogExportProduct(**values)


class FakeLms(LearningPort):
    """The LMS side of the port, answering the export from a list, ``page_size`` at a time."""

    def __init__(self, products=(), fail: bool = False):
        self.products, self.fail, self.calls = list(products), fail, []

    def catalog_export(self, *, updated_since=None, type=None, department_id=None, limit=None, cursor=None):
        self.calls.append({"updated_since": updated_since, "limit": limit, "cursor": cursor})
        if self.fail:
            raise PortUnavailable(details={"port": "learning.catalog_export"})
        start = int(cursor or 0)
        page = self.products[start:start + limit]
        more = start + limit < len(self.products)
        return CatalogExportPage(products=tuple(page), pagination=CatalogExportPagination(
            has_more=more, next_cursor=str(start + limit) if more else None))



# Only the export is used here; the port's other methods (the learning app's) are not this fake's business.
FakeLms.__abstractmethods__ = frozenset()


@pytest.fixture
def lms():
    fake = FakeLms()
    ports.restore({**ports.snapshot(), LearningPort: fake})
    return fake


def test_a_missed_sync_is_created_drift_is_fixed_and_the_price_override_stays(lms):
    drifted = ProductFactory(external_id="c2", name="Stale name", suggested_price=Decimal("100.00"))
    overridden = ProductFactory(external_id="c3", suggested_price=Decimal("100.00"))
    product_price_override(product_id=overridden.pk, price=Decimal("50.00"), actor="admin", now=NOW)
    ProductFactory(external_id="c4", name="Course c4", suggested_price=Decimal("199.00"), description="",
                   metadata={"departmentId": "d1", "departmentName": "Finance"})
    lms.products = [exported("c1"), exported("c2"), exported("c3", suggested_price=Decimal("120.00")),
                    exported("c4"), exported("c5", status="archived")]
    report = catalog_reconcile(now=NOW, page_size=2)
    assert (report.checked, report.created, report.failed) == (5, 2, 0)
    assert report.updated == 3, "c2 (name), c3 (suggested price), c4 (export's updatedAt); c4 otherwise equal"
    assert len(lms.calls) == 3 and lms.calls[1]["cursor"] == "2"
    drifted.refresh_from_db()
    overridden.refresh_from_db()
    assert drifted.name == "Course c2" and drifted.price == Decimal("199.00")
    assert (overridden.price, overridden.suggested_price) == (Decimal("50.00"), Decimal("120.00"))
    assert Product.objects.get(external_id="c5").status == "archived"
    assert Product.objects.get(external_id="c1").status == "active"
    again = catalog_reconcile(now=NOW + timedelta(hours=1), page_size=50)
    assert again.fixed == 0 and again.checked == 5


def test_the_next_pass_asks_only_for_what_changed_since_the_last_one_began(lms):
    lms.products = [exported("c1")]
    first = catalog_reconcile(now=NOW)
    assert first.full and lms.calls[0]["updated_since"] is None
    catalog_reconcile(now=NOW + timedelta(hours=1))
    assert lms.calls[-1]["updated_since"] == (NOW - timedelta(minutes=5)).isoformat()


def test_a_full_pass_archives_lms_products_the_export_no_longer_lists(lms):
    gone = ProductFactory(external_id="gone")
    bundle_like = ProductFactory(external_id="bundle:x", external_source="other")
    lms.products = [exported("c1")]
    report = catalog_reconcile(now=NOW, full=True)
    assert report.archived_missing == 1
    gone.refresh_from_db()
    bundle_like.refresh_from_db()
    assert gone.status == "archived" and bundle_like.status == "active"


def test_an_lms_that_does_not_answer_is_recorded_and_retried_next_time(lms):
    lms.fail = True
    with pytest.raises(ReconcileUnavailable):
        catalog_reconcile(now=NOW)
    run = ReconcileRun.objects.get()
    assert run.error.startswith("service_unavailable")
    assert catalog_reconcile_task.apply().get() == 0, "the periodic task logs it and carries on"
    lms.fail = False
    lms.products = [exported("c1")]
    assert catalog_reconcile(now=NOW).full, "a failed pass does not move the incremental mark"


def test_the_reconcile_command_runs_the_catalog_job(lms):
    lms.products = [exported("c1")]
    out = io.StringIO()
    call_command("reconcile", "catalog", stdout=out)
    assert "checked 1 LMS products" in out.getvalue() and "created 1" in out.getvalue()
    lms.fail = True
    with pytest.raises(CommandError):
        call_command("reconcile", "catalog", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError):
        call_command("reconcile", "nothing-like-it", stdout=io.StringIO())


def test_the_periodic_task_is_scheduled_hourly():
    entry = settings.CELERY_BEAT_SCHEDULE["catalog-reconcile"]
    assert entry == {"task": "catalog.tasks.catalog_reconcile", "schedule": 3600.0}


def test_the_periodic_task_fixes_drift(lms):
    lms.products = [exported("c1")]
    assert catalog_reconcile_task.apply().get() == 1
    assert Product.objects.filter(external_id="c1", updated_at__lte=timezone.now()).exists()
