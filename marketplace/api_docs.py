"""The API's own description: the OpenAPI document, and a page that reads it to people."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from flask import Blueprint, Response, current_app, jsonify, render_template
from flask.blueprints import BlueprintSetupState

from marketplace.openapi import openapi_document

# Registered under the API's base path by marketplace.api.init_api.
bp = Blueprint("api_docs", __name__)

METHOD_ORDER = ("get", "post", "put", "patch", "delete")


@dataclass(frozen=True)
class TypeLabel:
    """How a schema reads on the page: a type name, and the schema it links to, if any."""

    text: str
    ref: str | None = None


@dataclass(frozen=True)
class Field:
    """A parameter or a schema property, as the page lists it."""

    name: str
    type: TypeLabel
    required: bool
    description: str = ""
    location: str = ""
    constraints: str = ""


@dataclass(frozen=True)
class ResponseDoc:
    """One answer of an endpoint: its status, meaning and body."""

    status: str
    description: str
    body: TypeLabel | None
    media_type: str = ""


@dataclass(frozen=True)
class EndpointDoc:
    """One operation of the API, as the page lists it."""

    method: str
    path: str
    anchor: str
    summary: str
    description: str
    scope_sets: list[list[str]]
    parameters: list[Field]
    body: TypeLabel | None
    responses: list[ResponseDoc]


@dataclass(frozen=True)
class SchemaDoc:
    """A schema of the document, with its properties."""

    name: str
    description: str
    properties: list[Field] = field(default_factory=list)


def ref_name(ref: str) -> str:
    """Return the last part of a JSON reference, e.g. "Problem"."""
    return ref.rsplit("/", 1)[-1]


def type_label(schema: dict[str, Any] | None) -> TypeLabel:
    """Say in a few words what type a JSON schema describes."""
    if not schema:
        return TypeLabel("any")
    if "$ref" in schema:
        name = ref_name(schema["$ref"])
        return TypeLabel(name, name)
    kind = schema.get("type", "object")
    if kind == "array":
        inner = type_label(schema.get("items"))
        return TypeLabel(f"array of {inner.text}", inner.ref)
    if kind == "object" and "additionalProperties" in schema:
        values = schema["additionalProperties"]
        if isinstance(values, dict):
            inner = type_label(values)
            return TypeLabel(f"map of {inner.text}", inner.ref)
    text = f"{kind} ({schema['format']})" if "format" in schema else str(kind)
    return TypeLabel(f"{text} or null" if schema.get("nullable") else text)


def constraints_of(schema: dict[str, Any]) -> str:
    """Describe a schema's bounds, choices and default in one short line."""
    parts = []
    if "minimum" in schema or "maximum" in schema:
        parts.append(f"{schema.get('minimum', '…')}–{schema.get('maximum', '…')}")
    if "enum" in schema:
        parts.append(" | ".join(str(v) for v in schema["enum"]))
    if "maxLength" in schema:
        parts.append(f"≤ {schema['maxLength']} chars")
    if "default" in schema:
        parts.append(f"default {schema['default']}")
    return "; ".join(parts)


def _body(content: dict[str, Any] | None) -> tuple[TypeLabel | None, str]:
    for media_type, entry in (content or {}).items():
        return type_label(entry.get("schema")), media_type
    return None, ""


def _response(status: str, entry: dict[str, Any], components: dict[str, Any]) -> ResponseDoc:
    if "$ref" in entry:
        entry = components.get("responses", {}).get(ref_name(entry["$ref"]), {})
    body, media_type = _body(entry.get("content"))
    return ResponseDoc(status, entry.get("description", ""), body, media_type)


def _parameter(entry: dict[str, Any]) -> Field:
    schema = entry.get("schema", {})
    return Field(
        name=entry["name"],
        type=type_label(schema),
        required=bool(entry.get("required")),
        description=entry.get("description", ""),
        location=entry["in"],
        constraints=constraints_of(schema),
    )


def endpoints_of(document: dict[str, Any]) -> list[EndpointDoc]:
    """List the document's operations by path, then by method."""
    components = document.get("components", {})
    endpoints = []
    for path, operations in sorted(document.get("paths", {}).items()):
        for method in (m for m in METHOD_ORDER if m in operations):
            entry = operations[method]
            body, _ = _body(entry.get("requestBody", {}).get("content"))
            endpoints.append(
                EndpointDoc(
                    method=method.upper(),
                    path=path,
                    anchor=entry.get("operationId", f"{method}-{path}"),
                    summary=entry.get("summary", ""),
                    description=entry.get("description", ""),
                    scope_sets=[s for req in entry.get("security", []) for s in req.values()],
                    parameters=[_parameter(p) for p in entry.get("parameters", [])],
                    body=body,
                    responses=[
                        _response(status, response, components)
                        for status, response in sorted(entry.get("responses", {}).items())
                    ],
                )
            )
    return endpoints


def schemas_of(document: dict[str, Any]) -> list[SchemaDoc]:
    """List the document's schemas with their properties, by name."""
    schemas = document.get("components", {}).get("schemas", {})
    listed = []
    for name, schema in sorted(schemas.items()):
        required = set(schema.get("required", []))
        properties = [
            Field(
                name=prop,
                type=type_label(spec),
                required=prop in required,
                description=spec.get("description", ""),
                constraints=constraints_of(spec),
            )
            for prop, spec in schema.get("properties", {}).items()
        ]
        listed.append(SchemaDoc(name, schema.get("description", ""), properties))
    return listed


def scopes_of(document: dict[str, Any]) -> tuple[str, dict[str, str]]:
    """Return the token URL and the scopes of the document's OAuth 2.0 scheme."""
    schemes = document.get("components", {}).get("securitySchemes", {})
    for scheme in schemes.values():
        flow = scheme.get("flows", {}).get("clientCredentials")
        if flow:
            return flow["tokenUrl"], dict(flow.get("scopes", {}))
    return "", {}


@bp.record_once
def _remember_prefix(state: BlueprintSetupState) -> None:
    state.app.extensions["api_prefix"] = state.url_prefix or ""


def _document() -> dict[str, Any]:
    app = current_app._get_current_object()  # type: ignore[attr-defined]
    return openapi_document(app, app.extensions["api_prefix"])


@bp.get("/openapi.json")
def openapi_json() -> Response:
    """Serve the OpenAPI 3 document of the vendor API."""
    return jsonify(_document())


@bp.get("/docs")
def docs() -> str:
    """Show the vendor API's endpoints, parameters, schemas and scopes to people."""
    document = _document()
    token_url, scopes = scopes_of(document)
    return render_template(
        "marketplace/api/docs.html",
        info=document["info"],
        endpoints=endpoints_of(document),
        schemas=schemas_of(document),
        token_url=token_url,
        scopes=scopes,
    )
