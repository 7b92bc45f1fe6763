"""Where receiving apps register what they handle, in their ``AppConfig.ready()``.

``integration`` imports no domain app; domain apps call these functions instead,
so the local adapter (same process) and the webhook views (other process) both
reach the same handler.

* A **handler** receives an asynchronous message (catalog sync, entitlement,
  revenue event, ...): ``handler(payload: dict, *, delivery: Delivery) -> dict``.
  ``payload`` is the wire shape (camelCase), already validated against the
  topic's contract; the returned dict is the wire response. Raise an
  :class:`integration.errors.ApplicationError` to reject it.
* A **reply handler** is the sender's callback once the receiver has answered
  (Commerce stores ``enrollmentId`` from the entitlement answer, say):
  ``reply_handler(payload: dict, response: dict) -> None``. It runs in the
  outbox delivery, so it must be idempotent.
* A **provider** answers a synchronous port call (token validation, SSO user
  look-up, catalog export): ``provider(**kwargs) -> dict`` (the wire response).
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

Handler = Callable[..., dict]
ReplyHandler = Callable[[dict, dict], None]
Provider = Callable[..., dict]


@dataclass(frozen=True)
class Delivery:
    """What a handler may know about how a message reached it."""

    idempotency_key: str
    source_service: str
    request_id: str = ""
    transport: str = "local"  # or "http"
    path_params: dict[str, str] = field(default_factory=dict)


_handlers: dict[str, Handler] = {}
_reply_handlers: dict[str, list[ReplyHandler]] = {}
_providers: dict[str, Provider] = {}


class RegistryError(LookupError):
    pass


def register_handler(topic: str, handler: Handler) -> None:
    existing = _handlers.get(topic)
    if existing is not None and existing is not handler:
        raise RegistryError(f"a handler for {topic!r} is already registered")
    _handlers[topic] = handler


def register_reply_handler(topic: str, handler: ReplyHandler) -> None:
    handlers = _reply_handlers.setdefault(topic, [])
    if handler not in handlers:
        handlers.append(handler)


def register_provider(name: str, provider: Provider) -> None:
    existing = _providers.get(name)
    if existing is not None and existing is not provider:
        raise RegistryError(f"a provider for {name!r} is already registered")
    _providers[name] = provider


def get_handler(topic: str) -> Handler:
    try:
        return _handlers[topic]
    except KeyError:
        raise RegistryError(f"no handler registered for {topic!r}") from None


def get_reply_handlers(topic: str) -> list[ReplyHandler]:
    return list(_reply_handlers.get(topic, ()))


def get_provider(name: str) -> Provider:
    try:
        return _providers[name]
    except KeyError:
        raise RegistryError(f"no provider registered for {name!r}") from None


def has_handler(topic: str) -> bool:
    return topic in _handlers


def has_provider(name: str) -> bool:
    return name in _providers


def providers_named(prefix: str) -> dict[str, Provider]:
    return {name: provider for name, provider in _providers.items() if name.startswith(prefix)}


def snapshot() -> dict[str, Any]:
    """For tests that swap a handler and put the original back."""
    return {"handlers": dict(_handlers), "replies": {k: list(v) for k, v in _reply_handlers.items()},
            "providers": dict(_providers)}


def restore(state: dict[str, Any]) -> None:
    _handlers.clear()
    _handlers.update(state["handlers"])
    _reply_handlers.clear()
    _reply_handlers.update(state["replies"])
    _providers.clear()
    _providers.update(state["providers"])
