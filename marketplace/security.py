"""Security headers on every response, and the client address behind trusted proxies."""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from urllib.parse import urlsplit

from flask import Flask, Response, current_app, g
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
# A form whose answer redirects to another site (a consent page sending the code to the app)
# needs that site in form-action: browsers apply it to every redirect after the post.
EXTRA_SOURCES_KEY = "extra_sources"
RESOLVERS_KEY = "form_target_resolvers"
ORIGIN = re.compile(
    r"^https?://[A-Za-z0-9.\-]+(:[0-9]{1,5})?$|^https?://\[[0-9A-Fa-f:.]+\](:[0-9]{1,5})?$"
)
FormTargetResolver = Callable[[str], Sequence[str]]


def origin_of(url: str) -> str | None:
    """Return the http(s) origin of an absolute URL, or None when it has none or looks odd."""
    try:
        parts = urlsplit(url)
    except ValueError:
        return None
    origin = f"{parts.scheme}://{parts.netloc}"
    if "@" in parts.netloc or not ORIGIN.match(origin):
        return None
    return origin


def _allow(directive: str, urls: Sequence[str]) -> None:
    extra: dict[str, set[str]] = g.setdefault(EXTRA_SOURCES_KEY, {})
    extra.setdefault(directive, set()).update(o for o in map(origin_of, urls) if o is not None)


def allow_form_targets(*urls: str) -> None:
    """Let this response's forms lead (through redirects) to the origins of these URLs."""
    _allow("form-action", urls)


def allow_images(*urls: str) -> None:
    """Let this response show images from the origins of these URLs (an app's logo)."""
    _allow("img-src", urls)


def register_form_target_resolver(app: Flask, resolver: FormTargetResolver) -> None:
    """Register how to find where a sign-in returning to `next` will finally send the user."""
    app.extensions.setdefault(RESOLVERS_KEY, []).append(resolver)


def allow_form_targets_for_next(next_url: str | None) -> None:
    """Let a sign-in form lead on to where its `next` page redirects (an app, after SSO)."""
    if not next_url:
        return
    for resolver in current_app.extensions.get(RESOLVERS_KEY, []):
        allow_form_targets(*resolver(next_url))


def _with_sources(policy: str, extra: Mapping[str, set[str]]) -> str:
    """Add this response's extra origins to the directives they were allowed for."""
    parts = []
    for part in policy.split("; "):
        name = part.split(" ", 1)[0]
        parts.append(" ".join([part, *sorted(extra.get(name, ()))]))
    return "; ".join(parts)


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
        extra = g.get(EXTRA_SOURCES_KEY)
        for name, value in headers.items():
            if extra and name == "Content-Security-Policy":
                value = _with_sources(value, extra)
            response.headers.setdefault(name, value)
        return response

    app.after_request(add_headers)
    if trusted_proxy_hops > 0:
        hops = trusted_proxy_hops
        app.wsgi_app = ProxyFix(  # type: ignore[method-assign]
            app.wsgi_app, x_for=hops, x_proto=hops, x_host=hops, x_prefix=hops
        )
