"""What every contract is made of: JSON on the wire, field types, and typed messages.

The per-app modules beside this one declare the spec's shapes (``000_…``
section 6, ``002_…`` connectors) as DRF serializers, which validate what comes
off the wire, and as frozen :class:`WireModel` dataclasses, which are what
handlers, reply handlers and port callers receive. Field names on the wire are
camelCase exactly as the spec writes them; the dataclasses use snake_case and
convert by rule (``commerce_user_id`` <-> ``commerceUserId``).

Money is ``Decimal`` end to end: JSON is parsed with ``parse_float=Decimal``,
money fields accept a number or a decimal string and come out as ``Decimal``,
and a Python ``float`` anywhere in a message is refused.
"""

import dataclasses
import functools
import hashlib
import json
import math
import threading
import types
import typing
from collections.abc import Mapping
from decimal import Decimal
from typing import Any, ClassVar, Self

from django.core.serializers.json import DjangoJSONEncoder
from rest_framework import serializers

from integration.errors import ApplicationError
from integration.parsers import UNSTORABLE_TEXT_REASON, unstorable_text_in


class InvalidPayloadError(ApplicationError):
    status_code = 400
    code = "invalid_payload"
    default_message = "The message does not match its contract."


class MalformedJsonError(ApplicationError):
    status_code = 400
    code = "malformed_json"
    default_message = "The body is not valid JSON."


class UnknownTopicError(ApplicationError):
    status_code = 400
    code = "unknown_topic"
    default_message = "No contract is known for this topic."


# --- JSON on the wire -------------------------------------------------------

def parse_json(body: bytes) -> Any:
    """Decodes a wire body; numbers with a fraction become ``Decimal``, NaN/Infinity and strings that cannot
    be stored as text (NUL, a lone surrogate escape: ``integration.parsers``) are refused."""

    def _reject_constant(name: str) -> Any:
        raise ValueError(f"{name} is not allowed")

    try:
        data = json.loads(body, parse_float=Decimal, parse_constant=_reject_constant)
    except (ValueError, UnicodeDecodeError) as exc:
        raise MalformedJsonError(details={"reason": str(exc)[:200]}) from None
    if unstorable_text_in(data):
        raise MalformedJsonError(details={"reason": UNSTORABLE_TEXT_REASON})
    return data


def encode_json(data: Any) -> bytes:
    """The bytes a message travels as: compact, keys sorted so a retry sends the same bytes.

    ``DjangoJSONEncoder`` writes ``Decimal`` as a string ("199.00", which the
    contracts accept) and datetimes as ISO 8601, so no float is ever produced.
    """
    return json.dumps(data, cls=DjangoJSONEncoder, separators=(",", ":"), sort_keys=True,
                      ensure_ascii=False).encode()


def to_json_types(data: Any) -> Any:
    """``data`` as it looks after one trip over the wire (Decimals and dates as strings)."""
    return json.loads(encode_json(data))


def body_sha256(data: Any) -> str:
    """Fingerprint of a parsed body, independent of key order and whitespace.

    The inbox compares it to tell a genuine retry from a reused idempotency key,
    and the local and HTTP adapters both compute it this way.
    """
    return hashlib.sha256(encode_json(data)).hexdigest()


# --- Field types ------------------------------------------------------------

class MoneyField(serializers.DecimalField):
    """A number or decimal string in, ``Decimal`` out (at most 4 decimal places, 15 whole digits).

    The wire contracts never see a float (``parse_json`` reads numbers as ``Decimal`` and
    :func:`validate_with` refuses a float before any field). DRF's JSON parser, on the
    APIs, reads ``199.00`` as a float, and shared/API.md accepts that number on input: the API's
    parser keeps each number's text (``integration.parsers.JSONNumber``), read here exactly. A plain
    float from elsewhere is taken as the decimal it was written as (``repr``, the shortest text that
    reads back as the same float, is that literal's value up to 15 significant digits); one with more
    digits than a float holds exactly is refused."""

    default_error_messages = {"float": "Send a decimal string or an exact number, not a binary float."}
    FLOAT_DIGITS = 15

    def __init__(self, **kwargs):
        kwargs.setdefault("coerce_to_string", True)
        super().__init__(max_digits=19, decimal_places=None, **kwargs)

    def to_internal_value(self, data):
        if isinstance(data, bool):
            self.fail("invalid")
        if isinstance(data, float) and isinstance(getattr(data, "literal", None), str):
            data = data.literal  # the API's JSON parser kept the number as written (integration.parsers.JSONNumber)
        elif isinstance(data, float):
            written = Decimal(repr(data)) if math.isfinite(data) else None
            if written is None or len(written.as_tuple().digits) > self.FLOAT_DIGITS:
                self.fail("float")
            data = written
        value = super().to_internal_value(data)
        exponent = value.as_tuple().exponent
        if isinstance(exponent, int) and exponent < -4:
            self.fail("max_decimal_places", max_decimal_places=4)
        if value.adjusted() >= 15:
            self.fail("max_whole_digits", max_whole_digits=15)
        return value


class CurrencyField(serializers.RegexField):
    def __init__(self, **kwargs):
        super().__init__(regex=r"^[A-Z]{3}$", max_length=3,
                         error_messages={"invalid": "An ISO 4217 code in capitals, e.g. USD."}, **kwargs)


def _id(**kwargs) -> serializers.CharField:
    """Every id on the wire is a string."""
    return serializers.CharField(max_length=255, **kwargs)


def _optional(field_class, *args, **kwargs):
    return field_class(*args, required=False, allow_null=True, **kwargs)


class OpenSerializer(serializers.Serializer):
    """An object whose known keys are checked and whose other keys pass through.

    The spec's ``metadata`` objects end with ``[key: string]: unknown``.
    """

    def to_internal_value(self, data):
        validated = super().to_internal_value(data)
        extras = {key: value for key, value in data.items() if key not in self.fields}
        return {**extras, **validated}


class ErrorDetailSerializer(serializers.Serializer):
    code = serializers.CharField()
    message = serializers.CharField()
    details = serializers.DictField(required=False)


class ErrorSerializer(serializers.Serializer):
    """Every error answer: ``{"error": {"code", "message", "details"}}``."""

    error = ErrorDetailSerializer()


PRODUCT_TYPES = ["course", "program", "class"]
LMS_SOURCE = ["lms"]




# --- Typed messages -----------------------------------------------------------

def camel(name: str) -> str:
    first, *rest = name.split("_")
    return first + "".join(part.capitalize() for part in rest)


@dataclasses.dataclass(frozen=True)
class WireModel:
    """A frozen dataclass that is one of the spec's JSON objects.

    ``from_wire`` takes the validated wire dict (camelCase keys, Decimals and
    datetimes already parsed by the serializer); ``to_wire`` gives it back,
    leaving out fields that are ``None``. A field's wire name is its camelCase
    name unless ``field(metadata={"wire": "..."})`` says otherwise. Nested
    models, ``tuple[Model, ...]`` and ``Model | None`` convert recursively;
    anything else (str, int, bool, Decimal, datetime, an open ``dict``) passes as is.
    """

    _wire_fields: ClassVar[tuple] = ()

    @classmethod
    def from_wire(cls, data: Mapping[str, Any]) -> Self:
        kwargs = {}
        for name, wire, kind, inner, has_default in _fields_of(cls):
            if wire not in data or data[wire] is None:
                if not has_default:
                    kwargs[name] = None
                continue
            value = data[wire]
            if kind == "model":
                value = inner.from_wire(value)
            elif kind == "models":
                value = tuple(inner.from_wire(item) for item in value)
            elif kind == "tuple":
                value = tuple(value)
            kwargs[name] = value
        return cls(**kwargs)

    def to_wire(self) -> dict[str, Any]:
        wire_dict = {}
        for name, wire, kind, _inner, _has_default in _fields_of(type(self)):
            value = getattr(self, name)
            if value is None:
                continue
            if kind == "model":
                value = value.to_wire()
            elif kind == "models":
                value = [item.to_wire() for item in value]
            elif kind == "tuple":
                value = list(value)
            wire_dict[wire] = value
        return wire_dict


@functools.cache
def _fields_of(cls: type[WireModel]) -> tuple[tuple[str, str, str, Any, bool], ...]:
    """(name, wire name, kind, inner type, has a default) per field, worked out once per class."""
    hints = typing.get_type_hints(cls)
    described = []
    for field in dataclasses.fields(cls):
        hint = _without_none(hints[field.name])
        kind, inner = "plain", None
        if isinstance(hint, type) and issubclass(hint, WireModel):
            kind, inner = "model", hint
        elif typing.get_origin(hint) is tuple:
            args = typing.get_args(hint)
            inner = args[0] if args else None
            kind = "models" if isinstance(inner, type) and issubclass(inner, WireModel) else "tuple"
        has_default = (field.default is not dataclasses.MISSING
                       or field.default_factory is not dataclasses.MISSING)
        described.append((field.name, field.metadata.get("wire", camel(field.name)), kind, inner, has_default))
    return tuple(described)


def _without_none(hint: Any) -> Any:
    if typing.get_origin(hint) in (typing.Union, types.UnionType):
        args = [arg for arg in typing.get_args(hint) if arg is not type(None)]
        if len(args) == 1:
            return args[0]
    return hint


@dataclasses.dataclass(frozen=True)
class Contract:
    """One topic's or port call's wire shapes: the request (or query) and the answer, checked and typed."""

    request: type[serializers.Serializer]
    response: type[serializers.Serializer]
    message: type[WireModel] | None = None  # what a handler receives (topics) or a caller passes
    answer: type[WireModel] | None = None  # what a reply handler or a port caller gets back


def validate_with(serializer_class: type[serializers.Serializer], payload: Any) -> dict:
    """``payload`` checked against ``serializer_class``: Decimals, datetimes, plain dicts.

    Raises :class:`InvalidPayloadError` (400 ``invalid_payload``) with the field errors as details.
    """
    float_path = _find_float(payload)
    if float_path is not None:
        raise InvalidPayloadError(details={float_path or "payload": ["A binary float is not allowed; "
                                                                    "use Decimal or a decimal string."]})
    try:
        validated = _prototype(serializer_class).run_validation(payload)
    except serializers.ValidationError as exc:
        details = _plain(exc.detail)
        # A body that is not an object at all (``null``) fails as a whole, with a list of messages.
        raise InvalidPayloadError(details=details if isinstance(details, dict) else {"payload": details}) from None
    return _plain(validated)


def has_field(serializer_class: type[serializers.Serializer], name: str) -> bool:
    """Whether the contract has the field ``name`` (asked of the thread's prototype: no field is copied)."""
    return name in _prototype(serializer_class).fields


_prototypes = threading.local()


def _prototype(serializer_class: type[serializers.Serializer]) -> serializers.Serializer:
    """One serializer per contract and thread, reused: building one deep-copies every declared field,
    which cost a fifth of an outbox delivery when done per message (bench/bench_outbox.py --profile)."""
    built = _prototypes.__dict__.setdefault("by_class", {})
    serializer = built.get(serializer_class)
    if serializer is None:
        serializer = built[serializer_class] = serializer_class()
    return serializer


def _find_float(data: Any, path: str = "") -> str | None:
    """The path of the first binary float in ``data`` ("" for ``data`` itself), or None if there is none."""
    return _float_path(data, path) if _has_float(data) else None


def _has_float(data: Any) -> bool:
    """Whether ``data`` holds a float anywhere: the usual answer (no) without building a path per value."""
    if isinstance(data, dict):
        data = data.values()
    elif not isinstance(data, list | tuple):
        return isinstance(data, float)
    for value in data:
        if isinstance(value, str | int):
            continue
        if isinstance(value, float) or _has_float(value):
            return True
    return False


def _float_path(data: Any, path: str) -> str | None:
    if isinstance(data, float):
        return path
    if isinstance(data, dict):
        items = ((f"{path}.{key}" if path else str(key), value) for key, value in data.items())
    elif isinstance(data, list | tuple):
        items = ((f"{path}[{index}]", value) for index, value in enumerate(data))
    else:
        return None
    for item_path, value in items:
        found = _float_path(value, item_path)
        if found is not None:
            return found
    return None


# Values ``_plain`` keeps as they are, told by their exact type (an ErrorDetail is a str subclass, not a str).
_PLAIN_LEAVES = frozenset({str, int, bool, Decimal, type(None)})


def _plain(data: Any) -> Any:
    """DRF's nested ``OrderedDict``/``ReturnDict``/``ErrorDetail`` as plain dicts, lists and strings."""
    if type(data) in _PLAIN_LEAVES:
        return data
    if isinstance(data, dict):
        return {str(key): _plain(value) for key, value in data.items()}
    if isinstance(data, list | tuple):
        return [_plain(value) for value in data]
    if isinstance(data, serializers.ErrorDetail):
        return str(data)
    return data
