"""Output shapes of the payouts API (camelCase, money as decimal strings)."""

from rest_framework import serializers

from integration.api_fields import AmountField
from payouts.models import Payout, RevenueLedgerEntry


class BalanceOutput(serializers.Serializer):
    availableBalance = AmountField(source="available")
    pendingBalance = AmountField(source="pending", help_text="waiting for its date, including heldBalance")
    heldBalance = AmountField(source="held", help_text="shares held until the learner completes")
    currency = serializers.CharField()
    lastUpdatedAt = serializers.DateTimeField(source="last_updated_at", allow_null=True)


class LedgerEntryOutput(serializers.ModelSerializer):
    id = serializers.CharField()
    postingId = serializers.CharField(source="posting_id")
    kind = serializers.CharField(source="posting.kind")
    eventId = serializers.CharField(source="event_id")
    orderId = serializers.CharField(source="order_id")
    productId = serializers.CharField(source="product_id")
    payeeUserId = serializers.CharField(source="payee_user_id")
    occurredAt = serializers.DateTimeField(source="posting.occurred_at")
    createdAt = serializers.DateTimeField(source="created_at")
    amount = AmountField()

    class Meta:
        model = RevenueLedgerEntry
        fields = ["id", "postingId", "kind", "eventId", "orderId", "productId", "type", "amount", "currency",
                  "account", "payeeUserId", "reason", "occurredAt", "createdAt"]


class PayoutOutput(serializers.ModelSerializer):
    id = serializers.CharField()
    payeeUserId = serializers.CharField(source="payee_user_id")
    transferId = serializers.CharField(source="transfer_id")
    failureReason = serializers.CharField(source="failure_reason")
    createdAt = serializers.DateTimeField(source="created_at")
    completedAt = serializers.DateTimeField(source="completed_at", allow_null=True)
    amount = AmountField()

    class Meta:
        model = Payout
        fields = ["id", "payeeUserId", "amount", "currency", "status", "method", "destination", "transferId",
                  "failureReason", "createdAt", "completedAt"]


class LedgerPageOutput(serializers.Serializer):
    results = LedgerEntryOutput(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)


class PayoutPageOutput(serializers.Serializer):
    results = PayoutOutput(many=True)
    next = serializers.URLField(allow_null=True)
    previous = serializers.URLField(allow_null=True)
