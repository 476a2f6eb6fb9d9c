"""An OpenAPI 3.0 document for the JSON API, generated from the proto descriptors.

The proto files stay the one source of truth: every path is a gRPC method transcoded by
``ui_api``, every schema a message in proto3 JSON form, and every description the comment the
proto carries (read from ``descriptors.binpb``, which ``make proto`` writes with source info).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any, Final

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import Descriptor, FieldDescriptor, ServiceDescriptor

_INT32 = {"type": "integer", "format": "int32"}
_UINT32 = {**_INT32, "minimum": 0}
_INT64 = {"type": "string", "pattern": "^-?[0-9]{1,19}$"}  # proto3 JSON: 64-bit ints as text
_SCALARS: dict[int, dict[str, Any]] = {
    FieldDescriptor.TYPE_BOOL: {"type": "boolean"},
    FieldDescriptor.TYPE_STRING: {"type": "string"},
    FieldDescriptor.TYPE_BYTES: {"type": "string", "format": "byte"},
    FieldDescriptor.TYPE_INT32: _INT32,
    FieldDescriptor.TYPE_SINT32: _INT32,
    FieldDescriptor.TYPE_SFIXED32: _INT32,
    FieldDescriptor.TYPE_UINT32: _UINT32,
    FieldDescriptor.TYPE_FIXED32: _UINT32,
    FieldDescriptor.TYPE_INT64: _INT64,
    FieldDescriptor.TYPE_SINT64: _INT64,
    FieldDescriptor.TYPE_SFIXED64: _INT64,
    FieldDescriptor.TYPE_UINT64: _INT64,
    FieldDescriptor.TYPE_FIXED64: _INT64,
}
_WELL_KNOWN: dict[str, dict[str, Any]] = {
    "google.protobuf.Timestamp": {"type": "string", "format": "date-time"},
    "google.protobuf.FieldMask": {
        "type": "string",
        "description": "Comma-separated lowerCamelCase field paths.",
    },
}
# (status, description) of the problem+json answers every method may give.
_PROBLEMS = (
    ("400", "Invalid request, or not allowed in the current state (see `reason`)."),
    ("401", "The Pipedrive session token is missing, invalid or expired."),
    ("403", "The caller may not do this (another company, or admins only)."),
    ("404", "Not found."),
    ("409", "Changed concurrently, or already exists."),
    ("413", "The request body is larger than 256 KiB."),
    ("415", "The request body is not application/json."),
    ("503", "QuickBooks or Pipedrive is not answering; retry after `Retry-After` seconds."),
)


@cache
def _comments() -> dict[str, str]:
    """Leading comments by full name (``pkg.Message``, ``pkg.Message.field``, ``pkg.Svc.Rpc``)."""
    try:
        raw = resources.files("dealbooks.v1").joinpath("descriptors.binpb").read_bytes()
    except (FileNotFoundError, ModuleNotFoundError):
        return {}
    found: dict[str, str] = {}
    for file in descriptor_pb2.FileDescriptorSet.FromString(raw).file:
        names: dict[tuple[int, ...], str] = {}
        for i, message in enumerate(file.message_type):
            base = f"{file.package}.{message.name}"
            names[(4, i)] = base
            for j, fld in enumerate(message.field):
                names[(4, i, 2, j)] = f"{base}.{fld.name}"
        for i, enum in enumerate(file.enum_type):
            names[(5, i)] = f"{file.package}.{enum.name}"
        for i, service in enumerate(file.service):
            for j, method in enumerate(service.method):
                names[(6, i, 2, j)] = f"{file.package}.{service.name}.{method.name}"
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            if name and location.leading_comments.strip():
                found[name] = " ".join(location.leading_comments.split())
    return found


def _described(schema: dict[str, Any], full_name: str) -> dict[str, Any]:
    if text := _comments().get(full_name):
        schema["description"] = text
    return schema


def _ref(name: str) -> dict[str, str]:
    return {"$ref": f"#/components/schemas/{name}"}


_JSON: Final = "application/json"


def _content(name: str, media_type: str = _JSON) -> dict[str, Any]:
    return {media_type: {"schema": _ref(name)}}


def _problems(*leave_out: str) -> dict[str, Any]:
    return {
        status: {"$ref": f"#/components/responses/Problem{status}"}
        for status, _ in _PROBLEMS
        if status not in leave_out
    }


def _field_schema(field: FieldDescriptor, pending: list[Descriptor]) -> dict[str, Any]:
    schema: dict[str, Any]
    if field.message_type is not None and field.message_type.full_name in _WELL_KNOWN:
        schema = dict(_WELL_KNOWN[field.message_type.full_name])
    elif field.message_type is not None:
        pending.append(field.message_type)
        schema = _ref(field.message_type.name)
    elif field.enum_type is not None:
        schema = _ref(field.enum_type.name)
    else:
        schema = dict(_SCALARS.get(field.type, {"type": "number"}))  # float, double
    if field.is_repeated:
        schema = {"type": "array", "items": schema}
    if text := _comments().get(field.full_name):
        # A $ref cannot carry siblings in OpenAPI 3.0; wrap it.
        schema = {"allOf": [schema], "description": text} if "$ref" in schema else schema
        schema.setdefault("description", text)
    return schema


def _message_schemas(roots: Iterable[Descriptor]) -> dict[str, Any]:
    schemas: dict[str, Any] = {}
    pending = list(roots)
    while pending:
        message = pending.pop()
        if message.name in schemas:
            continue
        properties: dict[str, Any] = {}
        for field in message.fields:
            properties[field.json_name] = _field_schema(field, pending)
            if (enum := field.enum_type) is not None:
                values = [v.name for v in enum.values]
                schemas.setdefault(
                    enum.name, _described({"type": "string", "enum": values}, enum.full_name)
                )
        schema = {"type": "object", "properties": properties, "additionalProperties": False}
        schemas[message.name] = _described(schema, message.full_name)
    return dict(sorted(schemas.items()))


def openapi_document(
    services: list[ServiceDescriptor], *, server_url: str, prefix: str
) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    roots: list[Descriptor] = []
    for service in services:
        for method in service.methods:
            roots += [method.input_type, method.output_type]
            paths[f"{prefix}/{service.name}/{method.name}"] = {
                "post": {
                    "operationId": f"{service.name}.{method.name}",
                    "tags": [service.name],
                    "summary": _comments().get(method.full_name, method.name),
                    "requestBody": {"required": True, "content": _content(method.input_type.name)},
                    "responses": {
                        "200": {
                            "description": f"{method.output_type.name} as proto3 JSON"
                            + (", one a line." if method.server_streaming else "."),
                            "content": _content(
                                method.output_type.name,
                                "application/x-ndjson" if method.server_streaming else _JSON,
                            ),
                        },
                        **_problems(),
                    },
                }
            }
    paths[f"{prefix}/me"] = {
        "get": {
            "operationId": "Me",
            "tags": ["Session"],
            "summary": "Who the Pipedrive session token belongs to, and their language.",
            "responses": {
                "200": {"description": "The session.", "content": _content("Session")},
                "401": {"$ref": "#/components/responses/Problem401"},
            },
        }
    }
    paths[f"{prefix}/invoice-pdf"] = {
        "get": {
            "operationId": "DownloadInvoicePdf",
            "tags": ["InvoiceService"],
            "summary": "The invoice PDF as a download (token in the header or the query).",
            "parameters": [
                {
                    "name": "name",
                    "in": "query",
                    "required": True,
                    "schema": {"type": "string"},
                    "description": "`companies/{company}/deals/{deal}/invoices/{invoice}`.",
                }
            ],
            "responses": {
                "200": {
                    "description": "The PDF.",
                    "content": {"application/pdf": {"schema": {"type": "string"}}},
                },
                **_problems("413", "415"),  # a GET has no body
            },
        }
    }
    schemas = _message_schemas(roots)
    schemas["Session"] = {
        "type": "object",
        "properties": {
            "companyId": {"type": "string"},
            "userId": {"type": "string"},
            "name": {"type": "string"},
            "locale": {"type": "string", "description": "BCP 47, e.g. `fr-FR`."},
            "isAdmin": {"type": "boolean"},
            "settingsUrl": {"type": "string"},
        },
    }
    schemas["Problem"] = {
        "type": "object",
        "description": "RFC 9457 problem details, with the gRPC ErrorInfo reason.",
        "properties": {
            "type": {"type": "string"},
            "title": {"type": "string"},
            "status": {"type": "integer"},
            "detail": {"type": "string"},
            "instance": {"type": "string"},
            "reason": {"type": "string"},
            "domain": {"type": "string"},
            "metadata": {
                "type": "object",
                "description": "ErrorInfo metadata: lowerCamelCase keys (`vendorCode`, ...).",
                "additionalProperties": {"type": "string"},
            },
            "request_id": {"type": "string"},
            "errors": {
                "type": "array",
                "description": (
                    "One entry per invalid field (`lines[0].quantity`, ...): a stable `code` "
                    '(`TOO_LONG`) with its `params` (`{"max": "100"}`), and `detail` in '
                    "English."
                ),
                "items": {
                    "type": "object",
                    "properties": {
                        "field": {"type": "string"},
                        "detail": {"type": "string"},
                        "code": {"type": "string"},
                        "params": {"type": "object", "additionalProperties": {"type": "string"}},
                    },
                },
            },
        },
        "required": ["type", "title", "status", "detail", "reason"],
    }
    return {
        "openapi": "3.0.3",
        "info": {
            "title": "dealbooks UI API",
            "version": "v1",
            "description": (
                "The JSON API behind the dealbooks Pipedrive extension: each operation is the "
                "gRPC method of the same name (package dealbooks.v1) in proto3 JSON. "
                "Authenticate with the JWT Pipedrive signs for the extension."
            ),
        },
        "servers": [{"url": server_url}],
        "security": [{"pipedriveJwt": []}],
        "paths": paths,
        "components": {
            "securitySchemes": {
                "pipedriveJwt": {"type": "http", "scheme": "bearer", "bearerFormat": "JWT"}
            },
            "schemas": schemas,
            "responses": {
                f"Problem{status}": {
                    "description": text,
                    "content": _content("Problem", "application/problem+json"),
                }
                for status, text in _PROBLEMS
            },
        },
    }
