"""Messages catalog receives through ``integration`` (local adapter or signed webhook)."""

from django.utils import timezone

from catalog.services.products import SyncItem, catalog_sync_apply
from integration.contracts.catalog import CatalogSync, CatalogSyncAnswer, CatalogSyncResult
from integration.registry import Delivery


def catalog_sync(message: CatalogSync, *, delivery: Delivery) -> CatalogSyncAnswer:
    """Topic ``catalog.sync`` (spec 6.1.2): one result per product, a bad product failing alone.

    Idempotent: the inbox answers a repeated key with the first answer, and applying the
    same products again changes nothing (the product is keyed by source and external id).
    """
    items = [SyncItem(action=product.action, external_id=product.external_id, type=product.type,
                      name=product.name, suggested_price=product.suggested_price, currency=product.currency,
                      description=product.description, metadata=product.metadata, invalid=product.invalid)
             for product in message.products]
    results = catalog_sync_apply(items=items, now=timezone.now(), source=message.source)
    failed = sum(1 for result in results if result.status == "failed")
    return CatalogSyncAnswer(
        success=failed == 0, processed=len(results) - failed,
        results=tuple(CatalogSyncResult(external_id=result.external_id, product_id=result.product_id,
                                        status=result.status, error=result.error) for result in results))
