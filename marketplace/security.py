"""Security headers on every response, and the client address behind trusted proxies."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from flask import Flask, Response
from werkzeug.middleware.proxy_fix import ProxyFix

# Scripts and styles come only from our own static folder: no inline code, no CDN. The one
# outside origin a deployment may add is the payment provider's (Stripe.js and its API).
DIRECTIVES = {
    "default-src": "'self'",
    "script-src": "'self'",
    "style-src": "'self'",
    "img-src": "'self' data:",
    "font-src": "'self'",
    "connect-src": "'self'",
    "frame-src": "'self'",
    "object-src": "'none'",
    "base-uri": "'self'",
    "form-action": "'self'",
    "frame-ancestors": "'none'",
}
# Only these directives may name extra origins; everything else stays as strict as above.
EXTENSIBLE = frozenset({"script-src", "connect-src", "frame-src"})


def content_security_policy(extra_sources: Mapping[str, Sequence[str]] | None = None) -> str:
    """Return the policy, with the given origins added to script, connect or frame sources."""
    extra = extra_sources or {}
    unknown = set(extra) - EXTENSIBLE
    if unknown:
        raise ValueError(f"no extra sources allowed for {sorted(unknown)}")
    return "; ".join(
        " ".join([f"{name} {value}", *extra.get(name, ())]) for name, value in DIRECTIVES.items()
    )


CONTENT_SECURITY_POLICY = content_security_policy()
HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
}


HSTS = {"Strict-Transport-Security": "max-age=31536000; includeSubDomains"}


def init_security(
    app: Flask,
    trusted_proxy_hops: int,
    *,
    https: bool,
    extra_sources: Mapping[str, Sequence[str]] | None = None,
) -> None:
    """Add the headers, and read the client address from proxies we were told to trust."""
    policy = {"Content-Security-Policy": content_security_policy(extra_sources)}
    headers = {**policy, **HEADERS, **(HSTS if https else {})}

    def add_headers(response: Response) -> Response:
        for name, value in headers.items():
            response.headers.setdefault(name, value)
        return response

    app.after_request(add_headers)
    if trusted_proxy_hops > 0:
        hops = trusted_proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )
