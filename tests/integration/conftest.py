import json

import pytest

from integration import registry
from integration.signing import signed_headers


def use_handler(topic: str, handler) -> None:
    """Makes ``handler`` the only receiver of ``topic`` for this test (extra handlers too), and clears its reply handlers.

    The apps may have registered their own in ready(); tests/conftest.py restores them afterwards.
    """
    state = registry.snapshot()
    state["handlers"][topic] = handler
    state["extras"].pop(topic, None)
    state["replies"][topic] = []
    registry.restore(state)


def remove_handler(topic: str) -> None:
    state = registry.snapshot()
    state["handlers"].pop(topic, None)
    registry.restore(state)


class RecordingHandler:
    """A receiver that remembers what it got (the typed message, and as its wire dict) and answers like the spec's."""

    def __init__(self, answer=None, fail_times: int = 0, error=None):
        self.calls: list[tuple[dict, registry.Delivery]] = []
        self.messages: list = []
        self.answer = answer
        self.fail_times = fail_times
        self.error = error

    def __call__(self, message, *, delivery: registry.Delivery) -> dict:
        self.messages.append(message)
        payload = message.to_wire()
        self.calls.append((payload, delivery))
        if self.error is not None and len(self.calls) <= self.fail_times:
            raise self.error
        if self.answer is not None:
            return self.answer
        return {"success": True, "processed": len(payload.get("products", [])),
                "results": [{"externalId": p["externalId"], "productId": f"prod-{p['externalId']}",
                             "status": "created"} for p in payload.get("products", [])]}

    @property
    def keys(self) -> list[str]:
        return [delivery.idempotency_key for _, delivery in self.calls]


@pytest.fixture
def catalog_handler():
    handler = RecordingHandler()
    use_handler("catalog.sync", handler)
    return handler


def signed_post(client, path: str, body: bytes, *, key: str | None = None, source: str = "lms",
                now=None, drop: tuple[str, ...] = (), override: dict | None = None):
    """A signed webhook; the header key is the body's ``idempotencyKey`` (as a real sender's is) unless given."""
    headers = signed_headers(body, idempotency_key=key or _body_key(body) or "key-1", source_service=source, now=now)
    headers.update(override or {})
    extra = {f"HTTP_{name.upper().replace('-', '_')}": value for name, value in headers.items()
             if name not in drop and name != "Content-Type"}
    return client.post(path, data=body, content_type="application/json", **extra)


def _body_key(body: bytes) -> str | None:
    try:
        payload = json.loads(body)
    except ValueError:
        return None
    return str(payload["idempotencyKey"]) if isinstance(payload, dict) and "idempotencyKey" in payload else None
