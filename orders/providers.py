"""Orders' side of integration: ``OrdersPort``, its handlers and its hooks (seed, reconcile)."""

from django.utils import timezone

from integration import registry
from integration.contracts.orders import OrdersPersonalData, PaidLinePage, PaidOrders
from integration.ports import implement
from integration.ports.orders import OrdersPort
from integration.topics import Topic
from orders import handlers
from orders.selectors import personal_data


class LocalOrders(OrdersPort):
    def personal_data(self, *, user_id: str) -> OrdersPersonalData:
        return OrdersPersonalData(user_id=str(user_id), orders=tuple(personal_data(user_id=user_id)))

    def paid_lines(self, *, after: str | None = None, limit: int | None = None) -> PaidLinePage:
        from orders.selectors import paid_lines_page

        return PaidLinePage.from_wire(paid_lines_page(after=after, limit=limit))

    def paid_orders(self, *, order_ids: list[str]) -> PaidOrders:
        from orders.selectors import paid_orders

        return PaidOrders.from_wire(paid_orders(order_ids=order_ids))


def personal_data_hook(*, user_id, **_: object) -> dict:
    """``orders.personal_data`` for identity's data download (IDENTITY_PERSONAL_DATA_PROVIDERS)."""
    return {"orders": personal_data(user_id=user_id)}


def reconcile_entitlements(*, stdout, full: bool = False, **_: object) -> None:
    """Hook ``reconcile.entitlements`` for ``manage.py reconcile entitlements``."""
    from datetime import timedelta

    from orders.services.reconcile import entitlements_reconcile

    report = entitlements_reconcile(now=timezone.now(), older_than=timedelta(0) if full else None)
    stdout.write(f"  {report.checked} paid order(s) waiting for the LMS; {report.delivered_now} grant(s) "
                 f"delivered now, {report.resent} sent again; {report.completed} completed.\n")


def seed_orders(*, stdout, **_: object) -> None:
    from orders.seed import seed_orders as seed

    seed(stdout=stdout)


def register() -> None:
    implement(OrdersPort, LocalOrders())
    registry.register_handler(Topic.ENROLLMENT_STATUS, handlers.handle_enrollment_status)
    registry.register_reply_handler(Topic.ENTITLEMENT, handlers.handle_entitlement_reply)
    registry.register_provider("orders.personal_data", personal_data_hook)
    registry.register_provider("reconcile.entitlements", reconcile_entitlements)
    registry.register_provider("seed.orders", seed_orders)
