"""One error hierarchy for the whole app, and the one place that renders it."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from flask import Flask, Response, current_app, jsonify, render_template, request, url_for
from flask_babel import gettext as _
from werkzeug.exceptions import HTTPException


class AppError(Exception):
    """A failure the user or client can act on: it carries an HTTP status and a stable code."""

    status = 400
    code = "bad_request"
    title = "Bad request"

    def __init__(self, detail: str | None = None, **extra: Any) -> None:
        super().__init__(detail or self.title)
        self.detail = detail or self.title
        self.extra = extra


class ValidationFailed(AppError):
    """Input failed validation; `errors` maps each field to its reasons."""

    status = 422
    code = "validation_failed"
    title = "Validation failed"

    def __init__(self, errors: Mapping[str, list[str] | str], detail: str | None = None) -> None:
        self.errors = {k: [v] if isinstance(v, str) else list(v) for k, v in errors.items()}
        summary = "; ".join(f"{k}: {', '.join(v)}" for k, v in self.errors.items())
        super().__init__(detail or summary)


class Unauthorized(AppError):
    """The request needs a signed-in user or a valid credential."""

    status = 401
    code = "unauthorized"
    title = "Authentication required"


class Forbidden(AppError):
    """The actor is known but may not do this."""

    status = 403
    code = "forbidden"
    title = "Forbidden"


class NotFound(AppError):
    """Nothing by that id exists for the acting organization."""

    status = 404
    code = "not_found"
    title = "Not found"


class Conflict(AppError):
    """The request clashes with the current state."""

    status = 409
    code = "conflict"
    title = "Conflict"


class RateLimited(AppError):
    """Too many attempts; try again after `retry_after` seconds."""

    status = 429
    code = "rate_limited"
    title = "Too many requests"

    def __init__(self, detail: str | None = None, retry_after: int = 60) -> None:
        super().__init__(detail)
        self.retry_after = retry_after


def _wants_problem_json() -> bool:
    if request.path.startswith("/api/"):
        return True
    best = request.accept_mimetypes.best_match(["text/html", "application/json"])
    return (
        best == "application/json"
        and request.accept_mimetypes[best] > request.accept_mimetypes["text/html"]
    )


def problem_response(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    """Build an RFC 9457 problem+json response."""
    body = {
        "type": f"https://yunshi.example/problems/{code}",
        "title": title,
        "status": status,
        "detail": detail,
        "code": code,
        **extra,
    }
    response = jsonify(body)
    response.status_code = status
    response.mimetype = "application/problem+json"
    return response


def _render(status: int, code: str, title: str, detail: str, **extra: Any) -> Response:
    if _wants_problem_json():
        return problem_response(status, code, title, detail, **extra)
    html = render_template("errors/error.html", status=status, title=_(title), detail=detail)
    return Response(html, status=status, mimetype="text/html")


def _login_redirect() -> Response:
    """Send a browser that must sign in to the login page, to come back here afterwards."""
    target = request.full_path if request.query_string else request.path
    response = Response(status=302)
    response.headers["Location"] = url_for("accounts.login", next=target)
    return response


def handle_app_error(error: AppError) -> Response:
    """Render an AppError for the browser or the API."""
    if isinstance(error, Unauthorized) and not _wants_problem_json():
        return _login_redirect()
    extra: dict[str, Any] = dict(error.extra)
    if isinstance(error, ValidationFailed):
        extra["errors"] = error.errors
    response = _render(error.status, error.code, error.title, error.detail, **extra)
    if isinstance(error, RateLimited):
        response.headers["Retry-After"] = str(error.retry_after)
    return response


def handle_http_exception(error: HTTPException) -> Response:
    """Render werkzeug's HTTP errors (404, 405, CSRF 400, …) the same way."""
    status = error.code or 500
    code = (error.name or "error").lower().replace(" ", "_")
    response = _render(status, code, error.name or "Error", error.description or "")
    valid_methods = getattr(error, "valid_methods", None)
    if valid_methods:
        response.headers["Allow"] = ", ".join(valid_methods)
    return response


def handle_unexpected(error: Exception) -> Response:
    """Log an unexpected failure and answer 500 without leaking its details."""
    current_app.logger.exception("unhandled error", exc_info=error)
    return _render(
        500, "internal_error", "Internal server error", "Something went wrong on our side."
    )


def register_error_handlers(app: Flask) -> None:
    """Attach the renderers to the app."""
    app.register_error_handler(AppError, handle_app_error)
    app.register_error_handler(HTTPException, handle_http_exception)
    app.register_error_handler(Exception, handle_unexpected)
