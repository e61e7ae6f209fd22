"""The boundary rule for text at the gRPC edge: every string of a request message, before the servicer.

Over the wire a proto `string` is valid UTF-8 (the runtime refuses anything else), but it may still hold
NUL and other control characters, and be of any length; the rule (`platform.validation`) refuses them
here, so another service's call is answered like the gateway's: `INVALID_ARGUMENT` with an `INVALID` or
`TOO_LONG` error naming the field (proto names: `lines.0.sku`, `attributes.color`).
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from typing import Any

from google.protobuf import json_format

from mercato.platform.errors import FieldError, InputRejected
from mercato.platform.validation import text_errors

MAX_ERRORS = 10
# Well-known types that hold JSON: checked as the plain data they stand for, named by its keys.
_JSON_TYPES = frozenset({"google.protobuf.Struct", "google.protobuf.Value", "google.protobuf.ListValue"})
_MAX_NESTING = 32


def check_request(message: Any) -> None:
    """Raise `InputRejected` if a string anywhere in `message` breaks the boundary rule for text."""
    errors = list(itertools.islice(message_text_errors(message), MAX_ERRORS))
    if errors:
        raise InputRejected(errors)


def message_text_errors(message: Any, path: str = "", depth: int = 0) -> Iterator[FieldError]:
    """The refused strings of a protobuf message (set fields only: unset ones are empty)."""
    for descriptor, value in message.ListFields():
        name = f"{path}.{descriptor.name}" if path else descriptor.name
        if descriptor.type == descriptor.TYPE_STRING:
            # A repeated field is a sequence of str: `text_errors` names each by its index.
            yield from text_errors(list(value) if descriptor.is_repeated else value, name)
        elif descriptor.type == descriptor.TYPE_MESSAGE:
            yield from _message_field(descriptor, value, name, depth)


def _message_field(descriptor: Any, value: Any, name: str, depth: int) -> Iterator[FieldError]:
    if depth >= _MAX_NESTING:
        return  # the rule's own walk stops at this depth too; proto messages here nest 3 levels at most
    message_type = descriptor.message_type
    if message_type.full_name in _JSON_TYPES:
        if descriptor.is_repeated:
            for index, item in enumerate(value):
                yield from text_errors(json_format.MessageToDict(item), f"{name}.{index}")
        else:
            yield from text_errors(json_format.MessageToDict(value), name)
    elif message_type.GetOptions().map_entry:
        for key, item in value.items():
            if isinstance(key, str):
                yield from text_errors({key: None}, name)
            entry = f"{name}.{key}"
            if hasattr(item, "ListFields"):
                yield from message_text_errors(item, entry, depth + 1)
            else:
                yield from text_errors(item, entry)
    elif descriptor.is_repeated:
        for index, item in enumerate(value):
            yield from message_text_errors(item, f"{name}.{index}", depth + 1)
    else:
        yield from message_text_errors(value, name, depth + 1)
