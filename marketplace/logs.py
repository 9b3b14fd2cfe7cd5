"""Structured logs: one JSON object a line, with the request id on every line of a request."""

from __future__ import annotations

import logging
import sys
import uuid

import structlog
from flask import Flask, Response, g, request

REQUEST_ID_HEADER = "X-Request-ID"


def configure_logging(json_lines: bool) -> None:
    """Route stdlib and structlog records through one structured renderer."""
    renderer: structlog.types.Processor = (
        structlog.processors.JSONRenderer(ensure_ascii=False)
        if json_lines
        else structlog.dev.ConsoleRenderer(colors=False)
    )
    shared: list[structlog.types.Processor] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        cache_logger_on_first_use=True,
    )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            foreign_pre_chain=shared,
            processors=[
                structlog.stdlib.ProcessorFormatter.remove_processors_meta,
                structlog.processors.format_exc_info,
                renderer,
            ],
        )
    )
    root = logging.getLogger()
    root.handlers = [handler]
    root.setLevel(logging.INFO)


def _bind_request_id() -> None:
    incoming = request.headers.get(REQUEST_ID_HEADER, "")
    request_id = (
        incoming if 0 < len(incoming) <= 64 and incoming.isprintable() else uuid.uuid4().hex
    )
    g.request_id = request_id
    structlog.contextvars.clear_contextvars()
    structlog.contextvars.bind_contextvars(request_id=request_id)


def _echo_request_id(response: Response) -> Response:
    response.headers[REQUEST_ID_HEADER] = g.get("request_id", "")
    return response


def init_request_ids(app: Flask) -> None:
    """Give every request an id, log it with each line and return it in a header."""
    app.before_request(_bind_request_id)
    app.after_request(_echo_request_id)


def get_logger(name: str) -> structlog.stdlib.BoundLogger:
    """Return a structured logger."""
    return structlog.stdlib.get_logger(name)
