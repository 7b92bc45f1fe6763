"""Orders' test rig: a catalog stand-in behind ``CatalogPort``'s methods, a scriptable LMS on the ``entitlement``
topic, buyers, and a helper that runs the outbox the way the worker would."""

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from integration import registry
from integration.contracts.catalog import (
    BundleItemSnapshot,
    CouponLineDiscount,
    CouponQuote,
    CouponRedemptionResult,
    CouponReleaseResult,
    ProductSnapshot,
)
from integration.errors import ApplicationError, ConflictError, NotFoundError, UnprocessableError
from integration.money import allocate, quantize
from integration.outbox import outbox_sweep
from integration.topics import Topic
from orders import remote
from tests.identity.factories import UserFactory


class FakeCouponNotFound(NotFoundError):
    code = "test_coupon_not_found"


class FakeCouponExpired(UnprocessableError):
    code = "test_coupon_expired"


class FakeCouponExhausted(ConflictError):
    code = "test_coupon_exhausted"


@dataclass
class FakeCoupon:
    code: str
    percent: Decimal
    max_redemptions: int | None = None
    valid_until: datetime | None = None
    redeemed: dict = field(default_factory=dict)  # order_id -> user_id


class FakeCatalog:
    """What orders asks ``CatalogPort`` (products, coupons), answered from memory with the port's dataclasses."""

    def __init__(self):
        self.products: dict[str, ProductSnapshot] = {}
        self.coupons: dict[str, FakeCoupon] = {}

    def add(self, *, id: str, price: str, currency: str = "USD", type: str = "course", status: str = "active",
            name: str | None = None, external_id: str | None = None, metadata: dict | None = None) -> ProductSnapshot:
        snapshot = ProductSnapshot(id=id, external_id=external_id or f"course-{id}", external_source="lms", type=type,
                                   name=name or f"Course {id}", description="", price=Decimal(price),
                                   suggested_price=Decimal(price), currency=currency, status=status,
                                   metadata=metadata or {}, purchasable=status == "active")
        self.products[id] = snapshot
        return snapshot

    def add_bundle(self, *, id: str, price: str, item_ids: list[str], currency: str = "USD") -> ProductSnapshot:
        items = [self.products[item_id] for item_id in item_ids]
        parts = allocate(Decimal(price), [item.price for item in items], currency)
        snapshot = ProductSnapshot(
            id=id, external_id=f"bundle-{id}", external_source="other", type="bundle", name=f"Bundle {id}",
            description="", price=Decimal(price), suggested_price=Decimal(price), currency=currency, status="active",
            metadata={}, purchasable=True,
            bundle_items=tuple(BundleItemSnapshot(product_id=item.id, external_id=item.external_id,
                                                  external_source="lms", type=item.type, name=item.name,
                                                  price=item.price, allocated_price=part)
                               for item, part in zip(items, parts, strict=True)))
        self.products[id] = snapshot
        return snapshot

    def products_get(self, *, product_ids):
        return tuple(self.products[pid] for pid in product_ids if pid in self.products)

    def _quote(self, code, lines, now):
        coupon = self.coupons.get(code.upper())
        if coupon is None:
            raise FakeCouponNotFound(details={"code": code})
        if coupon.valid_until and (now or timezone.now()) > coupon.valid_until:
            raise FakeCouponExpired(details={"code": code})
        currency = lines[0].currency
        discounts = [quantize(line.amount * coupon.percent / 100, currency) for line in lines]
        return CouponQuote(code=coupon.code, coupon_id=coupon.code, kind="percent", scope="cart", currency=currency,
                           discount=sum(discounts, Decimal(0)),
                           lines=tuple(CouponLineDiscount(line_id=line.line_id, product_id=line.product_id,
                                                          discount=discount)
                                       for line, discount in zip(lines, discounts, strict=True)))

    def coupon_quote(self, *, code, user_id, lines, now=None):
        quote = self._quote(code, lines, now)
        coupon = self.coupons[code.upper()]
        if coupon.max_redemptions is not None and len(coupon.redeemed) >= coupon.max_redemptions:
            raise FakeCouponExhausted(details={"code": code})
        return quote

    def coupon_redeem(self, *, code, user_id, order_id, lines, now=None):
        quote = self.coupon_quote(code=code, user_id=user_id, lines=lines, now=now)
        self.coupons[code.upper()].redeemed[order_id] = user_id
        return CouponRedemptionResult(redemption_id=order_id, order_id=order_id, user_id=user_id, quote=quote)

    def coupon_release(self, *, order_id, now=None):
        released = 0
        for coupon in self.coupons.values():
            released += coupon.redeemed.pop(order_id, None) is not None
        return CouponReleaseResult(order_id=order_id, released=released)


class FakeLms:
    """The LMS's ``entitlement`` receiver, scripted: answers per item, or is down."""

    def __init__(self):
        self.down = False
        self.answers: dict[str, str] = {}  # external id -> granted | pending_approval | failed
        self.received: list = []
        self.enrollments: dict[tuple[str, str], str] = {}  # (order id, external id) -> enrollment id

    def __call__(self, message, *, delivery):
        if self.down:
            raise LmsDown()
        self.received.append(message)
        results = []
        for item in message.items:
            status = self.answers.get(item.external_id, "granted")
            if message.event == "entitlement.revoked":
                status = "revoked"
            key = (message.order_id, item.external_id)
            enrollment = self.enrollments.setdefault(key, f"enr-{len(self.enrollments) + 1}")
            result = {"externalId": item.external_id, "status": status, "orderItemId": item.order_item_id}
            if status != "failed":
                result["enrollmentId"] = enrollment
            else:
                result["error"] = "course is full"
            results.append(result)
        return {"success": True, "results": results, "lmsUserId": f"lms-{message.commerce_user_id[:8]}"}

    def grants(self, order_id=None) -> list:
        return [m for m in self.received if m.event == "entitlement.granted"
                and (order_id is None or m.order_id == str(order_id))]


class LmsDown(ApplicationError):
    status_code = 503
    code = "test_lms_down"
    default_message = "The LMS is down (test)."


@pytest.fixture
def catalog():
    fake = FakeCatalog()
    remote.use_catalog(fake)
    yield fake
    remote.use_catalog(None)


@pytest.fixture
def lms():
    fake = FakeLms()
    registry._handlers[Topic.ENTITLEMENT] = fake  # replaced for the test; the autouse fixture restores it
    return fake


@pytest.fixture
def buyer(db):
    return UserFactory(verified=True)


@pytest.fixture
def commerce_admin(db):
    from identity.models import Role, UserRole

    admin = UserFactory(verified=True)
    UserRole.objects.create(user=admin, role=Role.COMMERCE_ADMIN, granted_by="system:tests")
    return admin


@pytest.fixture
def deliver():
    """Runs the outbox like the worker does: every due message, until none is left (``at`` travels in time)."""

    def run(at: datetime | None = None) -> int:
        total = 0
        for _ in range(20):
            tried = outbox_sweep(now=at or timezone.now() + timedelta(seconds=1))
            total += tried
            if not tried:
                break
        return total

    return run


@pytest.fixture
def products(catalog):
    catalog.add(id="p1", price="199.00", external_id="course-1")
    catalog.add(id="p2", price="50.00", external_id="course-2")
    catalog.add(id="p3", price="0.10", external_id="course-3")
    return catalog


@pytest.fixture
def buy(products, deliver):
    """``buy(user, "p1", ...)``: cart → checkout → pay with the test gateway; answers the order after delivery."""
    from orders.models import Order
    from orders.services.carts import cart_get_or_create, cart_item_add
    from orders.services.checkout import checkout_create
    from orders.services.payments import order_pay

    def run(user, *product_ids, country: str = "", coupon: str | None = None, card: str = "pm_card_visa",
            deliver_now: bool = True):
        now = timezone.now()
        cart = cart_get_or_create(user_id=user.pk, now=now)
        for product_id in product_ids:
            cart_item_add(cart=cart, product_id=product_id, user_id=user.pk, now=now)
        order = checkout_create(user_id=user.pk, now=now, billing_country=country, coupon_code=coupon)
        order_pay(order_id=order.pk, user_id=user.pk, now=now, payment_method=card)
        if deliver_now:
            deliver()
        return Order.objects.get(pk=order.pk)

    return run
