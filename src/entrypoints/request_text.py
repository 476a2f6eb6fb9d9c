"""The text of every request, checked once at the edge for the NUL character.

No person types a NUL, and Postgres refuses it in any text it stores or compares ("invalid byte
sequence for encoding UTF8: 0x00"), so a NUL that got past the edge ended its request INTERNAL.
Rather than a check per field in the domain (names, ids, filters and settings reach the database
without passing any text check), every string of a request message is walked here, at any
depth, repeated fields and map keys included: a field added to any message is covered without
a line of its own. The gRPC interceptor and the UI's JSON API both call :func:`ensure_no_nul`
before the servicer, so both answer INVALID_ARGUMENT with the field's path.

A batch's items are judged one by one (AIP-233): the walk leaves them to the bulk servicer,
which checks each item and answers that item alone, as it does its other errors.
"""

from __future__ import annotations

import json
from typing import Final

from google.protobuf.descriptor import FieldDescriptor
from google.protobuf.message import Message

from domain.errors import FieldViolation, InvalidValueError
from domain.messages import MessageCode

NUL: Final = "\x00"
# Request message (full name) -> its field of items, each answered on its own.
BATCH_ITEMS: Final = {
    "dealbooks.v1.BatchCreateInvoicesRequest": "requests",
    "dealbooks.v1.InvoiceDealsRequest": "deals",
}


def ensure_no_nul(message: Message) -> None:
    """Refuse ``message`` when one of its strings holds a NUL (one violation per field)."""
    skip = BATCH_ITEMS.get(message.DESCRIPTOR.full_name)
    violations = nul_violations(message, skip=skip)
    if violations:
        raise InvalidValueError.many(violations)


def nul_violations(
    message: Message, prefix: str = "", skip: str | None = None
) -> list[FieldViolation]:
    """A NOT_TEXT violation for each string of ``message`` that holds a NUL, named by its path
    (``invoice.lines[0].name``, ``labels["key"]``); ``skip`` names a field left alone."""
    found: list[FieldViolation] = []
    for field, value in message.ListFields():
        if field.name == skip:
            continue
        path = f"{prefix}{field.name}"
        entry_type = field.message_type  # a map's entries are messages of their own type
        if entry_type is not None and entry_type.GetOptions().map_entry:
            value_field = entry_type.fields_by_name["value"]
            for key, item in value.items():
                entry = f"{path}[{json.dumps(key)}]"
                if isinstance(key, str) and NUL in key:
                    found.append(FieldViolation(entry, MessageCode.NOT_TEXT))
                found.extend(_of_value(value_field, item, entry))
        elif field.is_repeated:
            for index, item in enumerate(value):
                found.extend(_of_value(field, item, f"{path}[{index}]"))
        else:
            found.extend(_of_value(field, value, path))
    return found


def _of_value(field: FieldDescriptor, value: object, path: str) -> list[FieldViolation]:
    if isinstance(value, Message):
        return nul_violations(value, f"{path}.")
    if field.type == FieldDescriptor.TYPE_STRING and NUL in str(value):
        return [FieldViolation(path, MessageCode.NOT_TEXT)]
    return []
