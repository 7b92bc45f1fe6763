"""The hourly reconciliation: the LMS's catalog export (spec 6.2.3) against our products.

Pushes (``catalog.sync``) are the primary path; this pull catches what they
missed (a dead-lettered sync, a product edited while the sync was down). Each
page of the export goes through the same :func:`catalog_sync_apply` a push
does, so the same rules hold (the LMS's fields win, Commerce's price override
stays). An incremental pass asks for what changed since the previous pass
began (minus a margin for clock skew); a full pass also archives LMS products
the export no longer lists.
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from django.db import transaction

from catalog.errors import ReconcileUnavailable
from catalog.models import ExternalSource, Product, ProductStatus, ReconcileRun
from catalog.services.products import SyncItem, catalog_sync_apply
from integration.errors import ApplicationError
from integration.logging import get_logger
from integration.ports.base import PortNotImplementedError
from integration.ports.learning import learning_port

logger = get_logger(__name__)

OVERLAP = timedelta(minutes=5)
PAGE_SIZE = 200
MAX_PAGES = 10_000


@dataclass(frozen=True)
class ReconcileReport:
    run_id: int
    full: bool
    updated_since: datetime | None
    checked: int
    created: int
    updated: int
    archived_missing: int
    failed: int
    failures: tuple[str, ...]

    @property
    def fixed(self) -> int:
        return self.created + self.updated + self.archived_missing

    def summary(self) -> str:
        since = f"since {self.updated_since.isoformat()}" if self.updated_since else "full export"
        text = (f"catalog: checked {self.checked} LMS products ({since}); fixed {self.fixed} "
                f"(created {self.created}, updated {self.updated}, archived as missing {self.archived_missing}); "
                f"failed {self.failed}")
        return text + "".join(f"\n  failed: {line}" for line in self.failures[:20])


def _since(*, full: bool) -> datetime | None:
    if full:
        return None
    last = (ReconcileRun.objects.filter(finished_at__isnull=False, error="").order_by("-started_at")
            .values_list("started_at", flat=True).first())
    return last - OVERLAP if last else None


def catalog_reconcile(*, now: datetime, full: bool = False, page_size: int = PAGE_SIZE) -> ReconcileReport:
    """One pass; raises :class:`ReconcileUnavailable` (503) when the LMS export does not answer."""
    since = _since(full=full)
    full = full or since is None
    run = ReconcileRun.objects.create(started_at=now, updated_since=since, full=full)
    checked = created = updated = failed = 0
    failures: list[str] = []
    seen: set[str] = set()
    cursor = None
    try:
        for _ in range(MAX_PAGES):
            page = learning_port().catalog_export(updated_since=since.isoformat() if since else None,
                                                  limit=page_size, cursor=cursor)
            items = [SyncItem(action="upsert" if product.status == "published" else "archive",
                              external_id=product.external_id, type=product.type, name=product.name,
                              suggested_price=product.suggested_price, currency=product.currency,
                              description=product.description, metadata=dict(product.metadata or {}),
                              source_updated_at=product.updated_at) for product in page.products]
            with transaction.atomic():
                results = catalog_sync_apply(items=items, now=now)
            for result in results:
                seen.add(result.external_id)
                checked += 1
                if result.status == "failed":
                    failed += 1
                    failures.append(f"{result.external_id}: {result.error}")
                elif result.created:
                    created += 1
                elif result.changed:
                    updated += 1
            cursor = page.pagination.next_cursor
            if not page.pagination.has_more or not cursor:
                break
    except (ApplicationError, PortNotImplementedError) as exc:
        code = getattr(exc, "code", "learning_port_not_served")
        run.error = f"{code}: {exc}"[:2000]
        run.finished_at = now
        run.checked, run.failed = checked, failed
        run.save(update_fields=["error", "finished_at", "checked", "failed"])
        logger.warning("catalog reconcile stopped", error=code, checked=checked)
        raise ReconcileUnavailable(details={"reason": code, "checked": checked}) from None
    archived_missing = 0
    if full:
        missing = (Product.objects.filter(external_source=ExternalSource.LMS, status=ProductStatus.ACTIVE)
                   .exclude(external_id__in=seen))
        archived_missing = missing.update(status=ProductStatus.ARCHIVED, updated_at=now)
    run.finished_at = now
    run.checked, run.fixed, run.failed = checked, created + updated + archived_missing, failed
    run.save(update_fields=["finished_at", "checked", "fixed", "failed"])
    report = ReconcileReport(run_id=run.pk, full=full, updated_since=since, checked=checked, created=created,
                             updated=updated, archived_missing=archived_missing, failed=failed,
                             failures=tuple(failures))
    logger.info("catalog reconciled", checked=checked, fixed=report.fixed, failed=failed)
    return report
