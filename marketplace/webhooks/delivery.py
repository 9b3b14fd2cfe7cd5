"""POST one webhook over HTTP: the URL rules, a hard timeout, no redirects.

Outside production an endpoint may use plain http on a loopback host (a vendor's laptop,
the test suite); anywhere else, and always in production, only https. In production the
host's addresses are resolved before each request and any private, loopback, link-local
or otherwise non-public address is refused, so a vendor cannot aim our workers at our own
network.
"""

from __future__ import annotations

import ipaddress
import socket
import time
from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests

from marketplace.webhooks.models import AttemptOutcome

EXCERPT_BYTES = 1024
LOOPBACK_NAMES = frozenset({"localhost"})
USER_AGENT = "Yunshi-Webhooks/1.0"


class UrlRefused(ValueError):
    """An endpoint URL that webhooks may not be sent to; code says which rule it broke."""

    def __init__(self, code: str, detail: str) -> None:
        super().__init__(detail)
        self.code = code


@dataclass(frozen=True)
class HttpResult:
    """What one POST came to."""

    outcome: AttemptOutcome
    status_code: int | None
    latency_ms: int
    excerpt: str
    error: str

    @property
    def succeeded(self) -> bool:
        """Tell whether the endpoint answered 2xx in time."""
        return self.outcome == AttemptOutcome.SUCCEEDED


def is_loopback_host(host: str) -> bool:
    """Tell whether a host name or address is this machine."""
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def check_url(url: str, *, production: bool) -> str:
    """Return the URL if webhooks may go there (by its form), else raise UrlRefused."""
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError:
        raise UrlRefused("invalid", "Enter a valid URL.") from None
    host = parts.hostname or ""
    if parts.scheme not in {"http", "https"} or not host or parts.username or parts.password:
        raise UrlRefused(
            "invalid", "Enter an http(s) URL with a host and no user name or password."
        )
    if port == 0:
        raise UrlRefused("invalid", "Enter a valid port.")
    if parts.scheme == "http" and (production or not is_loopback_host(host)):
        raise UrlRefused(
            "scheme", "Use https (plain http only for a loopback host outside production)."
        )
    if production and _is_literal_private(host):
        raise UrlRefused("private", "Webhooks cannot go to a private or loopback address.")
    return url


def _is_literal_private(host: str) -> bool:
    if host.lower() in LOOPBACK_NAMES:
        return True
    try:
        return not ipaddress.ip_address(host).is_global
    except ValueError:
        return False


def check_resolved_addresses(host: str, port: int) -> None:
    """Refuse a host any of whose addresses is not public (production only)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as error:
        raise UrlRefused("unresolvable", f"The host does not resolve: {error}") from None
    for info in infos:
        address = ipaddress.ip_address(str(info[4][0]).split("%", 1)[0])
        if not address.is_global:
            raise UrlRefused("private", f"The host resolves to a non-public address ({address}).")


def post_webhook(
    url: str,
    body: bytes,
    headers: Mapping[str, str],
    *,
    timeout: float,
    production: bool,
) -> HttpResult:
    """POST body to url; only a 2xx within timeout seconds counts as success."""
    started = time.monotonic()
    try:
        check_url(url, production=production)
        if production:
            parts = urlsplit(url)
            check_resolved_addresses(parts.hostname or "", parts.port or 443)
    except UrlRefused as refused:
        return HttpResult(AttemptOutcome.REFUSED, None, 0, "", str(refused))
    try:
        return _send(url, body, headers, timeout, started)
    except requests.Timeout:
        return _failure(AttemptOutcome.TIMEOUT, started, f"No answer within {timeout:g} s.")
    except requests.RequestException as error:
        return _failure(AttemptOutcome.CONNECTION_ERROR, started, _short(str(error)))


def _send(
    url: str, body: bytes, headers: Mapping[str, str], timeout: float, started: float
) -> HttpResult:
    all_headers = {"Content-Type": "application/json", "User-Agent": USER_AGENT, **headers}
    with requests.post(
        url,
        data=body,
        headers=all_headers,
        timeout=(timeout, timeout),
        allow_redirects=False,
        stream=True,
    ) as response:
        excerpt = _excerpt(response)
    latency = _elapsed_ms(started)
    if latency > timeout * 1000:
        # requests times each read, not the whole answer: a trickling reply counts as late.
        return HttpResult(
            AttemptOutcome.TIMEOUT, response.status_code, latency, excerpt, "Answered too late."
        )
    if 200 <= response.status_code < 300:
        return HttpResult(AttemptOutcome.SUCCEEDED, response.status_code, latency, excerpt, "")
    return HttpResult(
        AttemptOutcome.HTTP_ERROR,
        response.status_code,
        latency,
        excerpt,
        f"HTTP {response.status_code}",
    )


def _excerpt(response: requests.Response) -> str:
    chunk = next(response.iter_content(EXCERPT_BYTES), b"")
    return chunk.decode("utf-8", errors="replace") if isinstance(chunk, bytes) else str(chunk)


def _elapsed_ms(started: float) -> int:
    return int((time.monotonic() - started) * 1000)


def _failure(outcome: AttemptOutcome, started: float, error: str) -> HttpResult:
    return HttpResult(outcome, None, _elapsed_ms(started), "", error)


def _short(text: str) -> str:
    return text if len(text) <= 480 else text[:477] + "..."
