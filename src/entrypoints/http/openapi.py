"""An OpenAPI 3.0 document for the JSON API, generated from the proto descriptors.

The proto files stay the one source of truth: every path is a gRPC method transcoded by
``ui_api``, every schema a message in proto3 JSON form, and every description the comment the
proto carries (read from ``descriptors.binpb``, which ``make proto`` writes with source info).
"""

from __future__ import annotations

from collections.abc import Iterable
from functools import cache
from importlib import resources
from typing import Any

from google.protobuf import descriptor_pb2
from google.protobuf.descriptor import (
    Descriptor,
    EnumDescriptor,
    FieldDescriptor,
    ServiceDescriptor,
)

_INT32 = {
    FieldDescriptor.TYPE_INT32,
    FieldDescriptor.TYPE_SINT32,
    FieldDescriptor.TYPE_SFIXED32,
}
_UINT32 = {FieldDescriptor.TYPE_UINT32, FieldDescriptor.TYPE_FIXED32}
_INT64 = {
    FieldDescriptor.TYPE_INT64,
    FieldDescriptor.TYPE_SINT64,
    FieldDescriptor.TYPE_SFIXED64,
    FieldDescriptor.TYPE_UINT64,
    FieldDescriptor.TYPE_FIXED64,
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
            names[(6, i)] = f"{file.package}.{service.name}"
            for j, method in enumerate(service.method):
                names[(6, i, 2, j)] = f"{file.package}.{service.name}.{method.name}"
        for location in file.source_code_info.location:
            name = names.get(tuple(location.path))
            if name and location.leading_comments.strip():
                found[name] = " ".join(location.leading_comments.split())
    return found


def _enum_schema(enum: EnumDescriptor) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string", "enum": [v.name for v in enum.values]}
    if text := _comments().get(enum.full_name):
        schema["description"] = text
    return schema


def _field_schema(field: FieldDescriptor, pending: list[Descriptor]) -> dict[str, Any]:
    schema: dict[str, Any]
    if field.type == FieldDescriptor.TYPE_MESSAGE:
        name = field.message_type.full_name
        if name in _WELL_KNOWN:
            schema = dict(_WELL_KNOWN[name])
        else:
            pending.append(field.message_type)
            schema = {"$ref": f"#/components/schemas/{field.message_type.name}"}
    elif field.type == FieldDescriptor.TYPE_ENUM:
        pending_enum = field.enum_type
        schema = {"$ref": f"#/components/schemas/{pending_enum.name}"}
    elif field.type == FieldDescriptor.TYPE_BOOL:
        schema = {"type": "boolean"}
    elif field.type == FieldDescriptor.TYPE_STRING:
        schema = {"type": "string"}
    elif field.type == FieldDescriptor.TYPE_BYTES:
        schema = {"type": "string", "format": "byte"}
    elif field.type in _INT32:
        schema = {"type": "integer", "format": "int32"}
    elif field.type in _UINT32:
        schema = {"type": "integer", "format": "int32", "minimum": 0}
    elif field.type in _INT64:
        schema = {"type": "string", "pattern": "^-?[0-9]{1,19}$"}  # proto3 JSON: 64-bit as text
    else:
        schema = {"type": "number"}
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
            if field.type == FieldDescriptor.TYPE_ENUM:
                schemas.setdefault(field.enum_type.name, _enum_schema(field.enum_type))
        schema: dict[str, Any] = {
            "type": "object",
            "properties": properties,
            "additionalProperties": False,
        }
        if text := _comments().get(message.full_name):
            schema["description"] = text
        schemas[message.name] = schema
    return dict(sorted(schemas.items()))


def openapi_document(
    services: list[ServiceDescriptor], *, server_url: str, prefix: str
) -> dict[str, Any]:
    paths: dict[str, Any] = {}
    roots: list[Descriptor] = []
    for service in services:
        for method in service.methods:
            roots += [method.input_type, method.output_type]
            summary = _comments().get(method.full_name, method.name)
            responses: dict[str, Any] = {
                "200": {
                    "description": f"{method.output_type.name} as proto3 JSON.",
                    "content": {
                        "application/json": {
                            "schema": {"$ref": f"#/components/schemas/{method.output_type.name}"}
                        }
                    },
                }
            }
            for status, _text in _PROBLEMS:
                responses[status] = {"$ref": f"#/components/responses/Problem{status}"}
            paths[f"{prefix}/{service.name}/{method.name}"] = {
                "post": {
                    "operationId": f"{service.name}.{method.name}",
                    "tags": [service.name],
                    "summary": summary,
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {"$ref": f"#/components/schemas/{method.input_type.name}"}
                            }
                        },
                    },
                    "responses": responses,
                }
            }
    paths[f"{prefix}/me"] = {
        "get": {
            "operationId": "Me",
            "tags": ["Session"],
            "summary": "Who the Pipedrive session token belongs to, and their language.",
            "responses": {
                "200": {
                    "description": "The session.",
                    "content": {
                        "application/json": {"schema": {"$ref": "#/components/schemas/Session"}}
                    },
                },
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
                **{
                    s: {"$ref": f"#/components/responses/Problem{s}"}
                    for s, _ in _PROBLEMS
                    if s not in ("413", "415")  # a GET has no body
                },
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
            "metadata": {"type": "object", "additionalProperties": {"type": "string"}},
            "request_id": {"type": "string"},
            "errors": {
                "type": "array",
                "description": "One entry per invalid field (`lines[0].quantity`, ...).",
                "items": {
                    "type": "object",
                    "properties": {"field": {"type": "string"}, "detail": {"type": "string"}},
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
                    "content": {
                        "application/problem+json": {
                            "schema": {"$ref": "#/components/schemas/Problem"}
                        }
                    },
                }
                for status, text in _PROBLEMS
            },
        },
    }
