"""Where receiving apps register what they handle, in their ``AppConfig.ready()``.

``integration`` imports no domain app; domain apps call these functions instead,
so the local adapter (same process) and the webhook views (other process) both
reach the same handler.

* A **handler** receives one asynchronous message (catalog sync, entitlement,
  revenue event, ...) as the topic's frozen dataclass (``TOPIC_CONTRACTS[topic].message``,
  built from the payload already validated against the topic's contract):
  ``handler(message, *, delivery: Delivery) -> WireModel | dict`` (the wire
  answer). Raise an :class:`integration.errors.ApplicationError` to reject it.
* A **reply handler** is the sender's callback once the receiver has answered
  (Commerce stores ``enrollmentId`` from the entitlement answer, say):
  ``reply_handler(message, answer) -> None``, both typed. It runs in the outbox
  delivery, so it must be idempotent. Any app on the sender's side may register one
  (payouts drops a payee's bank and tax details once ``identity.user_erased`` is delivered).
* A **hook** is a local plug-in called by a command of integration's
  (``seed.<app>`` for ``seed_demo``, ``reconcile.<name>`` for ``reconcile``):
  ``hook(**kwargs)``. Synchronous calls between apps are ports (``integration/ports/``), not hooks.
* An **extra handler** is a further app on the receiving side acting on a topic that
  another app answers (revenue erasing its copy of a person on ``identity.user_erased``,
  which learning answers): ``extra(message, *, delivery: Delivery) -> None``, run after
  the topic's handler, in registration order, in the same (inbox) transaction. Its return
  value is ignored; raising rejects the whole message (the handler's writes roll back too).
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
_extra_handlers: dict[str, list[Handler]] = {}
_reply_handlers: dict[str, list[ReplyHandler]] = {}
_providers: dict[str, Provider] = {}


class RegistryError(LookupError):
    pass


def register_handler(topic: str, handler: Handler) -> None:
    from integration.contracts import contract_of

    contract_of(topic)  # an unknown topic fails here, at start-up
    existing = _handlers.get(topic)
    if existing is not None and existing is not handler:
        raise RegistryError(f"a handler for {topic!r} is already registered")
    _handlers[topic] = handler


def register_extra_handler(topic: str, handler: Handler) -> None:
    from integration.contracts import contract_of

    contract_of(topic)
    handlers = _extra_handlers.setdefault(topic, [])
    if handler not in handlers:
        handlers.append(handler)


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
    """The topic's handler, called with the validated wire dict: it gets the typed message, answers wire."""
    from integration.contracts import message_of

    try:
        handler = _handlers[topic]
    except KeyError:
        raise RegistryError(f"no handler registered for {topic!r}") from None
    extras = tuple(_extra_handlers.get(topic, ()))

    def typed(validated: dict, *, delivery: Delivery) -> dict:
        message = message_of(topic, validated)
        answer = handler(message, delivery=delivery)
        for extra in extras:
            extra(message, delivery=delivery)
        return answer.to_wire() if hasattr(answer, "to_wire") else answer

    return typed


def get_reply_handlers(topic: str) -> list[ReplyHandler]:
    """The sender's callbacks, each called with the validated wire payload and the receiver's wire answer."""
    from integration.contracts import answer_of, message_of

    def typed(handler: ReplyHandler) -> ReplyHandler:
        return lambda validated, response: handler(message_of(topic, validated), answer_of(topic, response))

    return [typed(handler) for handler in _reply_handlers.get(topic, ())]


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
    """For tests that swap a handler or a port implementation and put the original back."""
    from integration.ports import base as ports

    return {"handlers": dict(_handlers), "extras": {k: list(v) for k, v in _extra_handlers.items()},
            "replies": {k: list(v) for k, v in _reply_handlers.items()},
            "providers": dict(_providers), "ports": ports.snapshot()}


def restore(state: dict[str, Any]) -> None:
    _handlers.clear()
    _handlers.update(state["handlers"])
    _extra_handlers.clear()
    _extra_handlers.update(state.get("extras", {}))
    _reply_handlers.clear()
    _reply_handlers.update(state["replies"])
    _providers.clear()
    _providers.update(state["providers"])
    from integration.ports import base as ports

    ports.restore(state["ports"])
