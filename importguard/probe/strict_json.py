"""Read JSON that something else wrote (a probe child, a shard file) without trusting it.

Standard JSON only: `NaN`, `Infinity`, integers longer than `MAX_INT_DIGITS`, nesting
deeper than `MAX_DEPTH` and files over the size cap are refused with one sentence
(`BadJSON`), never a RecursionError, an OverflowError or unbounded memory. The shape
helpers raise `BadJSON` too, naming the key that is wrong.
"""

from __future__ import annotations

import json
import math
import os
from typing import Any, Optional

MAX_DEPTH = 32
MAX_INT_DIGITS = 20


class BadJSON(ValueError):
    pass


def _refuse_constant(name: str) -> Any:
    raise BadJSON(f"non-standard JSON constant {name}")


def _bounded_int(text: str) -> int:
    if len(text.lstrip("-")) > MAX_INT_DIGITS:
        raise BadJSON(f"an integer of {len(text)} digits")
    return int(text)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise BadJSON(f"a number out of range ({text[:20]})")
    return value


def _depth_ok(text: str, limit: int) -> bool:
    """Nesting measured on the text, outside strings, before json builds anything."""
    depth = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > limit:
                return False
        elif char in "]}":
            depth -= 1
    return True


def loads(text: str, max_depth: int = MAX_DEPTH) -> Any:
    if not _depth_ok(text, max_depth):
        raise BadJSON(f"nested more than {max_depth} deep")
    try:
        return json.loads(
            text, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite_float
        )
    except BadJSON:
        raise
    except (ValueError, RecursionError) as error:
        raise BadJSON(f"not valid JSON ({str(error)[:120]})") from None


def read_file(path: str, max_bytes: int, max_depth: int = MAX_DEPTH) -> Any:
    """The JSON in a regular file of at most `max_bytes`; OSError if it cannot be read."""
    with open(path, "rb") as handle:
        if not os.path.isfile(path):
            raise BadJSON("not a regular file")
        data = handle.read(max_bytes + 1)
    if len(data) > max_bytes:
        raise BadJSON(f"larger than {max_bytes} bytes")
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        raise BadJSON("not UTF-8") from None
    return loads(text, max_depth)


def dumps(value: Any, **options: Any) -> str:
    """json.dumps that can only produce standard JSON (ValueError on NaN/Infinity)."""
    return json.dumps(value, allow_nan=False, **options)


# --- shape checks --------------------------------------------------------------------


def need_dict(value: Any, what: str) -> dict[str, Any]:
    if not isinstance(value, dict):
        raise BadJSON(f"{what} is not an object")
    return value


def need_list(value: Any, what: str, max_items: int = 1 << 20) -> list[Any]:
    if not isinstance(value, list):
        raise BadJSON(f"{what} is not a list")
    if len(value) > max_items:
        raise BadJSON(f"{what} has more than {max_items} items")
    return value


def need_str(value: Any, what: str, max_length: int = 1 << 20) -> str:
    if not isinstance(value, str):
        raise BadJSON(f"{what} is not a string")
    if len(value) > max_length:
        raise BadJSON(f"{what} is longer than {max_length} characters")
    return value


def optional_str(value: Any, what: str, max_length: int = 1 << 20) -> Optional[str]:
    return None if value is None else need_str(value, what, max_length)


def need_bool(value: Any, what: str) -> bool:
    if not isinstance(value, bool):
        raise BadJSON(f"{what} is not true or false")
    return value


def optional_bool(value: Any, what: str) -> Optional[bool]:
    return None if value is None else need_bool(value, what)


def optional_int(value: Any, what: str) -> Optional[int]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise BadJSON(f"{what} is not an integer")
    return value


def optional_number(value: Any, what: str) -> Optional[float]:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise BadJSON(f"{what} is not a finite number")
    return float(value)
