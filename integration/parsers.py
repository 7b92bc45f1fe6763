"""DRF's JSON parser with a nesting limit: deep JSON is a 400 ``malformed_request``, never a RecursionError.

Python's decoder recurses once per level and gives up with ``RecursionError`` near a
thousand levels; our own code (serializers, camelCase and money conversions) recurses too.
No request of ours nests more than a handful of levels, so anything past
``MAX_JSON_DEPTH`` is refused outright.

A string escape of a lone UTF-16 surrogate (``"\\ud800"``) is valid JSON syntax but not
Unicode text: Python decodes it into a ``str`` that cannot be encoded as UTF-8, so the
first hash, log line or JSON answer that echoes it raises ``UnicodeEncodeError`` (a 500).
``"\\u0000"`` is Unicode but PostgreSQL stores it in neither text nor jsonb (``DataError``,
a 500 wherever an open object such as a catalog product's metadata is saved; DRF's
``CharField`` refuses it only in its own fields). A body holding either, in a key or a
value, is refused as malformed too (:func:`unstorable_text_in`).
"""

import codecs
import json
import re
from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError
from rest_framework.utils.json import strict_constant

MAX_JSON_DEPTH = 64
UNSTORABLE_TEXT_REASON = ("a string holds a NUL character (\\u0000) or a lone UTF-16 surrogate "
                          "(\\ud800-\\udfff), which cannot be stored as text")
_SURROGATE = re.compile("[\ud800-\udfff]")


class JSONNumber(float):
    """A JSON number with a fraction or an exponent, read as a float (what DRF's parser gives every field)
    that keeps its text as written: a money field reads ``literal``, so ``199.000000000000001`` is that
    number (refused: more than 4 decimal places), not the float 199.0 it rounds to."""

    __slots__ = ("literal",)

    def __new__(cls, literal):
        number = super().__new__(cls, literal)
        number.literal = literal if isinstance(literal, str) else repr(float(literal))
        return number


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            # DRF's own parse, with the numbers' text kept (JSONNumber); NaN and Infinity refused as there.
            decoded = codecs.getreader(parsers.get_encoding(parser_context or {}))(stream)
            data = json.load(decoded, parse_float=JSONNumber, parse_constant=strict_constant)
        except ValueError as exc:
            raise ParseError(f"JSON parse error - {exc}") from None
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.") from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.")
        if unstorable_text_in(data):
            raise ParseError(f"JSON parse error - {UNSTORABLE_TEXT_REASON}.")
        return data


def json_depth(data: Any, *, limit: int = MAX_JSON_DEPTH) -> int:
    """How deep ``data`` nests, counting stops one past ``limit`` (iterative: no recursion of its own)."""
    deepest, stack = 0, [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict | list):
            deepest = max(deepest, depth)
            if deepest > limit:
                return deepest
            children = value.values() if isinstance(value, dict) else value
            stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return deepest


def unstorable_text_in(data: Any) -> bool:
    """Whether a key or a string value anywhere in ``data`` holds NUL or a surrogate code point (iterative).

    A pair written as two escapes (``"\\ud83d\\udcb8"``) is decoded into one character by
    ``json``, so only an unpaired one is left in the ``str``."""
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, str):
            if "\x00" in value or (not value.isascii() and _SURROGATE.search(value)):
                return True
        elif isinstance(value, dict):
            stack.extend(value.keys())
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
    return False
