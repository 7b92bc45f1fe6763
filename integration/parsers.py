"""DRF's JSON parser with a nesting limit: deep JSON is a 400 ``malformed_request``, never a RecursionError.

Python's decoder recurses once per level and gives up with ``RecursionError`` near a
thousand levels; our own code (serializers, camelCase and money conversions) recurses too.
No request of ours nests more than a handful of levels, so anything past
``MAX_JSON_DEPTH`` is refused outright.
"""

from typing import Any

from rest_framework import parsers
from rest_framework.exceptions import ParseError

MAX_JSON_DEPTH = 64


class JSONParser(parsers.JSONParser):
    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.") from None
        if json_depth(data) > MAX_JSON_DEPTH:
            raise ParseError(f"JSON parse error - nested more than {MAX_JSON_DEPTH} levels deep.")
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
