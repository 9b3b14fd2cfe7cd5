"""The vendor API's OpenAPI 3 document, built from the registered routes and their schemas.

Each endpoint declares what it answers with `@documented(...)`; the scopes it needs come
from `require_token`, which marks the view it guards, and the optional request headers it
honours (such as Idempotency-Key) from the decorator that reads them, so the document
cannot drift from the check. The package that issues tokens registers the scopes it knows with
`register_scopes`, which keeps this module free of it.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

from apispec import APISpec
from apispec.ext.marshmallow import MarshmallowPlugin
from flask import Flask
from flask.sansio.app import App
from marshmallow import INCLUDE, Schema, fields

F = TypeVar("F", bound=Callable[..., Any])
SchemaLike = type[Schema] | Schema

OPERATION_ATTRIBUTE = "api_operation"
SCOPES_ATTRIBUTE = "api_required_scopes"
HEADERS_ATTRIBUTE = "api_header_parameters"
SECURITY_SCHEME = "oauth2"
TOKEN_URL = "/oauth/token"  # noqa: S105 (a URL, not a secret)
PROBLEM_JSON = "application/problem+json"
RATE_LIMIT_HEADERS = ("RateLimit-Limit", "RateLimit-Remaining", "RateLimit-Reset")

# The refusals every endpoint may answer with, by status: (component name, description).
ERROR_RESPONSES: dict[int, tuple[str, str]] = {
    400: ("BadRequest", "The request could not be read."),
    401: ("Unauthorized", "The access token is missing, unknown, expired or revoked."),
    403: ("Forbidden", "The access token lacks the scope this endpoint needs."),
    404: ("NotFound", "Nothing by that id exists for the calling vendor."),
    409: ("Conflict", "The request clashes with the current state."),
    422: ("ValidationFailed", "A parameter or field is invalid; errors names each one."),
    429: ("TooManyRequests", "The client used up its requests; retry after Retry-After seconds."),
}


class ProblemSchema(Schema):
    """An RFC 9457 problem: what went wrong, and which fields were wrong."""

    type = fields.String(required=True, metadata={"description": "A URI naming the problem."})
    title = fields.String(required=True, metadata={"description": "A short, stable summary."})
    status = fields.Integer(required=True, metadata={"description": "The HTTP status code."})
    detail = fields.String(required=True, metadata={"description": "What happened, for people."})
    code = fields.String(required=True, metadata={"description": "A stable code for programs."})
    errors = fields.Dict(
        keys=fields.String(),
        values=fields.List(fields.String()),
        metadata={"description": "Each invalid field or parameter, with its reasons."},
    )

    class Meta:
        # Some problems carry more members, e.g. `required_scopes` on a 403.
        unknown = INCLUDE


@dataclass(frozen=True)
class Operation:
    """What one endpoint answers and accepts, as the document states it."""

    summary: str
    description: str
    response: SchemaLike | None
    status: int
    body: SchemaLike | None
    query: SchemaLike | None
    errors: tuple[int, ...]
    tags: tuple[str, ...] = field(default=())
    # Other success statuses with the same answer (a PUT that creates answers 201).
    also: tuple[int, ...] = field(default=())


def documented(
    *,
    response: SchemaLike | None = None,
    status: int = 200,
    body: SchemaLike | None = None,
    query: SchemaLike | None = None,
    errors: Sequence[int] = (),
    tags: Sequence[str] = (),
    also: Sequence[int] = (),
) -> Callable[[F], F]:
    """Declare an API endpoint's answer, body, query and extra error statuses for the document.

    The summary and description come from the view's docstring.
    """

    def mark(view: F) -> F:
        lines = (view.__doc__ or "").strip().splitlines()
        operation = Operation(
            summary=lines[0] if lines else view.__name__,
            description="\n".join(line.strip() for line in lines[1:]).strip(),
            response=response,
            status=status,
            body=body,
            query=query,
            errors=tuple(errors),
            tags=tuple(tags),
            also=tuple(also),
        )
        setattr(view, OPERATION_ATTRIBUTE, operation)
        return view

    return mark


def mark_required_scopes(view: Callable[..., Any], scopes: Sequence[str]) -> None:
    """Record on a guarded view the scope sets that admit a token (any one of them)."""
    setattr(view, SCOPES_ATTRIBUTE, list(scopes))


def mark_header_parameter(
    view: Callable[..., Any], name: str, *, description: str, max_length: int
) -> None:
    """Record on a view an optional request header it honours (1 to max_length characters).

    Decorators above the view copy the mark along (functools.wraps copies __dict__).
    """
    parameter = {
        "in": "header",
        "name": name,
        "required": False,
        "description": description,
        "schema": {"type": "string", "minLength": 1, "maxLength": max_length},
    }
    setattr(view, HEADERS_ATTRIBUTE, [*getattr(view, HEADERS_ATTRIBUTE, []), parameter])


def register_scopes(app: App, scopes: Mapping[str, str]) -> None:
    """Add scopes, with what each allows, to the document's security scheme."""
    app.extensions.setdefault("api_scopes", {}).update(scopes)
    app.extensions.pop("openapi_document", None)


def openapi_document(app: Flask, prefix: str) -> dict[str, Any]:
    """Return the app's OpenAPI document for the routes under prefix, built once."""
    cached: dict[str, Any] | None = app.extensions.get("openapi_document")
    if cached is None:
        cached = build_document(app, prefix)
        app.extensions["openapi_document"] = cached
    return cached


def build_document(app: Flask, prefix: str) -> dict[str, Any]:
    """Build the OpenAPI 3 document from the app's documented routes under prefix."""
    plugin = MarshmallowPlugin()
    spec = APISpec(
        title="Yunshi vendor API",
        version="1",
        openapi_version="3.0.3",
        plugins=[plugin],
        info={"description": _API_DESCRIPTION},
    )
    _add_components(spec, app.extensions.get("api_scopes", {}))
    for path, operations in _paths(app, prefix).items():
        spec.path(path=path, operations=operations)
    _describe_schemas(spec, plugin)
    return spec.to_dict()


_API_DESCRIPTION = (
    "Vendors publish listings and plans, read subscriptions and report usage. "
    "Authenticate with OAuth 2.0 client credentials at /oauth/token and send the token in an "
    "Authorization: Bearer header. Errors are RFC 9457 problem+json documents; lists are "
    "paged with an opaque cursor; every client has a request budget per minute, reported in "
    "the RateLimit-* headers."
)


def _add_components(spec: APISpec, scopes: Mapping[str, str]) -> None:
    spec.components.schema("Problem", schema=ProblemSchema)
    problem = {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}}
    for header, description in _HEADERS.items():
        spec.components.header(header, {"schema": {"type": "integer"}, "description": description})
    for status, (name, description) in ERROR_RESPONSES.items():
        response = {"description": description, "content": problem}
        if status == 429:
            response["headers"] = {h: {"$ref": f"#/components/headers/{h}"} for h in _HEADERS}
        spec.components.response(name, response)
    flow = {"tokenUrl": TOKEN_URL, "scopes": dict(scopes)}
    spec.components.security_scheme(
        SECURITY_SCHEME, {"type": "oauth2", "flows": {"clientCredentials": flow}}
    )


_HEADERS = {
    "RateLimit-Limit": "Requests the client may make per window.",
    "RateLimit-Remaining": "Requests left in the current window.",
    "RateLimit-Reset": "Seconds until the window has room again.",
    "Retry-After": "Seconds to wait before the next request.",
}

_CONVERTER = re.compile(r"<(?:(?P<converter>\w+)(?:\([^)]*\))?:)?(?P<name>\w+)>")
_CONVERTER_TYPES = {"int": {"type": "integer"}, "float": {"type": "number"}}


def _paths(app: Flask, prefix: str) -> dict[str, dict[str, dict[str, Any]]]:
    paths: dict[str, dict[str, dict[str, Any]]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        view = app.view_functions.get(rule.endpoint)
        operation: Operation | None = getattr(view, OPERATION_ATTRIBUTE, None)
        if not rule.rule.startswith(prefix) or operation is None:
            continue
        path = _CONVERTER.sub(lambda m: "{" + m["name"] + "}", rule.rule)
        scopes: list[str] | None = getattr(view, SCOPES_ATTRIBUTE, None)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            entry = _operation(rule.endpoint, operation, scopes)
            parameters = _path_parameters(rule.rule) + entry.pop("parameters", [])
            parameters += [dict(p) for p in getattr(view, HEADERS_ATTRIBUTE, [])]
            if parameters:
                entry["parameters"] = parameters
            paths.setdefault(path, {})[method.lower()] = entry
    return paths


def _path_parameters(rule: str) -> list[dict[str, Any]]:
    return [
        {
            "in": "path",
            "name": match["name"],
            "required": True,
            "schema": _CONVERTER_TYPES.get(match["converter"] or "", {"type": "string"}),
        }
        for match in _CONVERTER.finditer(rule)
    ]


def _operation(endpoint: str, operation: Operation, scopes: list[str] | None) -> dict[str, Any]:
    guarded = scopes is not None
    entry: dict[str, Any] = {
        "operationId": endpoint.replace(".", "_"),
        "summary": operation.summary,
        "tags": list(operation.tags) or [endpoint.split(".")[0]],
        "responses": _responses(operation, scopes),
    }
    if operation.description:
        entry["description"] = operation.description
    if operation.query is not None:
        entry["parameters"] = [{"in": "query", "schema": operation.query}]
    if operation.body is not None:
        content = {"application/json": {"schema": operation.body}}
        entry["requestBody"] = {"required": True, "content": content}
    if guarded:
        entry["security"] = [{SECURITY_SCHEME: s.split()} for s in scopes or []] or [
            {SECURITY_SCHEME: []}
        ]
    return entry


def _responses(operation: Operation, scopes: list[str] | None) -> dict[str, Any]:
    guarded = scopes is not None
    statuses = set(operation.errors)
    if guarded:
        statuses |= {401, 429} | ({403} if scopes else set())
    if operation.query is not None or operation.body is not None:
        statuses.add(422)
    headers = {h: {"$ref": f"#/components/headers/{h}"} for h in RATE_LIMIT_HEADERS}
    success: dict[str, Any] = {"description": "Success."}
    if operation.response is not None:
        success["content"] = {"application/json": {"schema": operation.response}}
    if guarded:
        success["headers"] = headers
    responses: dict[str, Any] = {str(operation.status): success}
    responses.update({str(status): success for status in operation.also})
    for status in sorted(statuses):
        responses[str(status)] = {"$ref": f"#/components/responses/{ERROR_RESPONSES[status][0]}"}
    return responses


def _describe_schemas(spec: APISpec, plugin: MarshmallowPlugin) -> None:
    """Give each schema the first line of its class docstring as its description."""
    assert plugin.converter is not None
    schemas: dict[str, dict[str, Any]] = spec.components.schemas
    for key, name in plugin.converter.refs.items():
        doc = (key[0].__doc__ or "").strip().splitlines()
        if doc and name in schemas:
            schemas[name].setdefault("description", doc[0])
