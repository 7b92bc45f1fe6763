"""Typed ports: one interface per port, implemented in process by the owning app and over HTTP from the route table.

The pattern (Sentry's hybrid-cloud services, in our shape):

* ``integration/ports/<owner>.py`` declares ``class XPort(Port)``: keyword-only
  abstract methods that take plain values and return frozen
  :class:`~integration.contracts.base.WireModel` dataclasses, never models.
* The owning app implements it (``class LocalX(XPort)`` in ``<app>/providers.py``)
  and calls :func:`implement` in its ``AppConfig.ready()``; registration refuses an
  implementation whose methods differ from the interface (names, parameters, kinds,
  defaults).
* A caller asks for the port (``x_port()``, i.e. :func:`port_for`) and calls it:
  in process when this deployment serves the owner's side, else through
  :class:`HttpPort`, which implements the same interface from the route table
  (``integration/routes.py``, ``PORT_CALLS["<port>.<method>"]``) and checks the
  answer against ``PORT_CONTRACTS`` like messages are checked. A side served here
  with no implementation registered raises :class:`PortNotImplementedError` at
  once instead of calling itself over HTTP.
* The owning app's HTTP endpoint for a method answers
  ``port_wire_answer(name, result)``, so both transports give the same shape.
"""

import inspect
from abc import ABC
from typing import Any, ClassVar, TypeVar, get_type_hints

from integration import routes
from integration.contracts import PORT_CONTRACTS, camel, validate_with
from integration.contracts.base import WireModel
from integration.errors import ApplicationError

P = TypeVar("P", bound="Port")


class PortUnavailable(ApplicationError):
    status_code = 503
    code = "service_unavailable"
    default_message = "The other service did not answer; try again shortly."


class PortMismatchError(TypeError):
    """An implementation whose methods do not match its interface (raised at start-up)."""


class PortNotImplementedError(RuntimeError):
    """A port whose side this deployment serves, but whose owning app registered no implementation."""


class Port(ABC):
    """Base of every port interface. Subclasses set ``name`` (the route prefix) and ``side``."""

    name: ClassVar[str]
    side: ClassVar[str]

    @classmethod
    def methods(cls) -> dict[str, inspect.Signature]:
        """The interface's operations: every abstract method, with its signature."""
        return {name: inspect.signature(getattr(cls, name)) for name in sorted(cls.__abstractmethods__)}


_implementations: dict[type[Port], Port] = {}
_http_clients: dict[type[Port], Port] = {}


def implement(interface: type[P], implementation: P) -> None:
    """Registers ``implementation`` as the in-process side of ``interface`` (from ``AppConfig.ready()``)."""
    check_implementation(interface, implementation)
    existing = _implementations.get(interface)
    if existing is not None and type(existing) is not type(implementation):
        raise PortMismatchError(f"{interface.__name__} already has an implementation: {type(existing).__name__}")
    _implementations[interface] = implementation


def check_implementation(interface: type[Port], implementation: Any) -> None:
    """Refuses an implementation that is not the interface's subclass or whose methods differ from it."""
    if not isinstance(implementation, interface):
        raise PortMismatchError(f"{type(implementation).__name__} does not implement {interface.__name__}")
    for name, expected in interface.methods().items():
        method = getattr(type(implementation), name, None)
        if method is None or getattr(method, "__isabstractmethod__", False):
            raise PortMismatchError(f"{type(implementation).__name__} lacks {interface.__name__}.{name}")
        actual = inspect.signature(method)
        if _shape(actual) != _shape(expected):
            raise PortMismatchError(
                f"{type(implementation).__name__}.{name}{actual} does not match {interface.__name__}.{name}{expected}")


def _shape(signature: inspect.Signature) -> list[tuple[str, Any, Any]]:
    return [(p.name, p.kind, p.default) for p in signature.parameters.values() if p.name != "self"]


def override(interface: type[P], implementation: P) -> None:
    """Replaces the registered implementation (tests' fakes); checked like :func:`implement`."""
    check_implementation(interface, implementation)
    _implementations[interface] = implementation


def implementation_of(interface: type[P]) -> P | None:
    return _implementations.get(interface)  # type: ignore[return-value]


def port_for(interface: type[P]) -> P:
    """The port to call: the registered implementation when its side runs here, else the HTTP client."""
    if routes.calls_in_process(interface.side):
        implementation = _implementations.get(interface)
        if implementation is None:
            raise PortNotImplementedError(
                f"{interface.__name__} is served by this deployment ({interface.side}) but no app registered an "
                "implementation; is the owning app installed and does its AppConfig.ready() call implement()?")
        return implementation  # type: ignore[return-value]
    client = _http_clients.get(interface)
    if client is None:
        client = _http_clients[interface] = http_client(interface)
    return client  # type: ignore[return-value]


def snapshot() -> dict:
    return dict(_implementations)


def restore(state: dict) -> None:
    _implementations.clear()
    _implementations.update(state)
    _http_clients.clear()


# --- The HTTP side, generated from the route table ----------------------------

def http_client(interface: type[P]) -> P:
    """An object implementing ``interface`` whose every method is a call to the route of the same name."""
    members = {name: _http_method(interface, name, signature) for name, signature in interface.methods().items()}
    client_class = type(f"Http{interface.__name__}", (interface,), members)
    return client_class()


def _http_method(interface: type[Port], method: str, signature: inspect.Signature):
    route_name = f"{interface.name}.{method}"
    route = routes.PORT_CALLS[route_name]
    contract = PORT_CONTRACTS[route_name]
    answer_type = get_type_hints(getattr(interface, method)).get("return")

    def call(self, **kwargs: Any) -> WireModel:
        bound = signature.bind(self, **kwargs)
        bound.apply_defaults()
        arguments = {name: value for name, value in bound.arguments.items() if name != "self"}
        answer = _http_call(route, arguments)
        if route.envelope:
            answer = answer.get(route.envelope) if isinstance(answer, dict) else None
        return answer_type.from_wire(validate_with(contract.response, answer))

    call.__name__ = method
    call.__signature__ = signature
    return call


def _http_call(route: routes.Route, arguments: dict[str, Any]) -> Any:
    from integration import transport

    headers = {route.headers[name]: str(value) for name, value in arguments.items()
               if name in route.headers and value is not None}
    path_names = transport.path_fields(route)
    path_params = {name: str(arguments[_snake_of(name, arguments)]) for name in path_names}
    wire = {camel(name): value for name, value in arguments.items()
            if name not in route.headers and value is not None and camel(name) not in path_names}
    try:
        status, answer = transport.http_call(route, path_params=path_params,
                                             body=wire if route.method != "GET" else None,
                                             params=wire if route.method == "GET" else None, headers=headers)
    except OSError as exc:  # requests' ConnectionError and Timeout are OSErrors
        raise PortUnavailable(details={"port": route.name, "reason": exc.__class__.__name__}) from None
    if status >= 500 or status in {408, 429}:
        raise PortUnavailable(details={"port": route.name, "status": status})
    if status >= 400:
        raise _remote_error(route.name, status, answer)
    return answer


def _snake_of(wire_name: str, arguments: dict[str, Any]) -> str:
    return next(name for name in arguments if camel(name) == wire_name)


def _remote_error(port: str, status: int, answer: Any) -> ApplicationError:
    """The other side's error as the same class of our catalogue (or a relay of its code and status)."""
    from integration import errors

    error = answer.get("error", {}) if isinstance(answer, dict) else {}
    code, message = str(error.get("code") or ""), error.get("message") or None
    details = {"port": port, **(error.get("details") or {})} if isinstance(error.get("details"), dict) else {
        "port": port}
    known = errors.error_for_code(code)
    if known is not None and known.status_code == status:
        return known(message, details=details)
    return errors.RemoteServiceError.relay(code=code or "port_call_refused", status_code=status,
                                           message=message, details=details)


def port_wire_answer(route_name: str, result: WireModel) -> dict[str, Any]:
    """What the owning app's HTTP endpoint answers for ``result``: the same shape the HTTP client reads."""
    route = routes.PORT_CALLS[route_name]
    body = result.to_wire()
    return {"success": True, route.envelope: body} if route.envelope else body
