"""A vendor's demo app that signs Yunshi users in with OpenID Connect.

It is an independent relying party: it knows Yunshi only by its issuer URL and the client id
and secret the vendor registered, and talks to it through Authlib's Flask client (discovery,
the authorization code flow with PKCE S256, ID token and nonce checks, UserInfo, RP-initiated
logout). Settings come from the environment:

    YUNSHI_ISSUER   the provider's issuer, e.g. http://127.0.0.1:5000
    CLIENT_ID       the app's client id
    CLIENT_SECRET   the app's client secret
    SECRET_KEY      signs this app's session cookie
    PORT            where `python app.py` listens (default 5001)
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlsplit

from authlib.integrations.base_client import OAuthError
from authlib.integrations.flask_client import OAuth
from flask import (
    Flask,
    Response,
    abort,
    current_app,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask.typing import ResponseReturnValue
from werkzeug.exceptions import BadRequest

SCOPE = "openid profile email"
# Claims that are moments in time, shown also as a readable date.
TIME_CLAIMS = frozenset({"iat", "exp", "auth_time", "nbf", "updated_at"})
REQUIRED_SETTINGS = ("YUNSHI_ISSUER", "CLIENT_ID", "CLIENT_SECRET", "SECRET_KEY")


def settings_from_env(environ: Mapping[str, str]) -> dict[str, str]:
    """Return the app's settings from the environment, refusing to start without one."""
    missing = [name for name in REQUIRED_SETTINGS if not environ.get(name)]
    if missing:
        raise RuntimeError("Set these environment variables: " + ", ".join(missing))
    settings = {name: environ[name] for name in REQUIRED_SETTINGS}
    settings["YUNSHI_ISSUER"] = settings["YUNSHI_ISSUER"].rstrip("/")
    return settings


def create_app(settings: Mapping[str, str] | None = None) -> Flask:
    """Build the demo app from settings (read from the environment when none are given)."""
    config = settings_from_env(settings if settings is not None else os.environ)
    app = Flask(__name__)
    app.config.update(
        config,
        # Yunshi may run on the same host: cookies ignore ports, so use a name of our own.
        SESSION_COOKIE_NAME="vendor_app_session",
        SESSION_COOKIE_HTTPONLY=True,
        SESSION_COOKIE_SAMESITE="Lax",
    )
    oauth = OAuth(app)
    oauth.register(
        "yunshi",
        client_id=config["CLIENT_ID"],
        client_secret=config["CLIENT_SECRET"],
        server_metadata_url=config["YUNSHI_ISSUER"] + "/.well-known/openid-configuration",
        client_kwargs={"scope": SCOPE, "code_challenge_method": "S256"},
    )
    app.add_url_rule("/", view_func=home)
    app.add_url_rule("/login", view_func=login, methods=["GET", "POST"])
    app.add_url_rule("/callback", view_func=callback)
    app.add_url_rule("/logout", view_func=logout, methods=["POST"])
    app.register_error_handler(OAuthError, sign_in_failed)
    app.register_error_handler(BadRequest, bad_request)
    return app


def _yunshi() -> Any:
    return current_app.extensions["authlib.integrations.flask_client"].yunshi


def _same_origin_path(url: str | None) -> str | None:
    """Return url's path and query if it points into this app, else None (no open redirect)."""
    if not url:
        return None
    target, here = urlsplit(url), urlsplit(request.host_url)
    if (target.scheme, target.netloc) != (here.scheme, here.netloc):
        return None
    return (target.path or "/") + (f"?{target.query}" if target.query else "")


def login() -> ResponseReturnValue:
    """Start sign-in at Yunshi's request (OIDC Core 4, third-party initiated login)."""
    params = request.values
    if params.get("iss", "").rstrip("/") != current_app.config["YUNSHI_ISSUER"]:
        abort(400, description="The iss parameter does not name the provider this app trusts.")
    session["after_login"] = _same_origin_path(params.get("target_link_uri")) or "/"
    extra = {"login_hint": params["login_hint"]} if params.get("login_hint") else {}
    response: Response = _yunshi().authorize_redirect(url_for("callback", _external=True), **extra)
    return response


def callback() -> ResponseReturnValue:
    """Finish sign-in: exchange the code, check the ID token and nonce, then ask UserInfo."""
    client = _yunshi()
    token = client.authorize_access_token()
    if "userinfo" not in token:
        raise OAuthError(error="invalid_token", description="No verified ID token came back.")
    userinfo = client.userinfo(token=token)
    after = session.pop("after_login", "/")
    session.clear()
    session["id_token"] = token["id_token"]
    session["claims"] = dict(token["userinfo"])
    session["userinfo"] = dict(userinfo)
    return redirect(after)


def home() -> ResponseReturnValue:
    """Show who is signed in and every claim Yunshi gave, or offer to sign in."""
    signed_out = False
    if request.args.get("state"):
        try:
            _yunshi().validate_logout_response()
            signed_out = True
        except OAuthError:
            signed_out = False
    claims: dict[str, Any] | None = session.get("claims")
    userinfo: dict[str, Any] = session.get("userinfo", {})
    return render_template(
        "index.html",
        claims=claims,
        userinfo=userinfo,
        who=_who(claims or {}, userinfo),
        signed_out=signed_out,
        issuer=current_app.config["YUNSHI_ISSUER"],
        shown=shown,
    )


def _who(claims: Mapping[str, Any], userinfo: Mapping[str, Any]) -> str:
    name, email = userinfo.get("name"), userinfo.get("email")
    if name and email:
        return f"{name} <{email}>"
    return str(name or email or claims.get("sub", ""))


def shown(name: str, value: Any) -> str:
    """Return a claim's value as text, moments in time with their UTC date."""
    if name in TIME_CLAIMS and isinstance(value, int | float):
        moment = datetime.fromtimestamp(value, UTC).strftime("%Y-%m-%d %H:%M:%S UTC")
        return f"{value} ({moment})"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def logout() -> ResponseReturnValue:
    """Sign out here, then ask Yunshi to end its session too (RP-initiated logout).

    Only a POST signs out, and the session cookie is SameSite=Lax, so another site cannot
    sign the user out by a link or a cross-site form.
    """
    id_token = session.get("id_token")
    session.clear()
    if not id_token:
        return redirect(url_for("home"))
    response: Response = _yunshi().logout_redirect(
        post_logout_redirect_uri=url_for("home", _external=True),
        id_token_hint=id_token,
        client_id=current_app.config["CLIENT_ID"],
    )
    return response


def sign_in_failed(error: OAuthError) -> ResponseReturnValue:
    """Show why sign-in failed (a refusal, a bad state or token) instead of a stack trace."""
    session.pop("after_login", None)
    return render_template("error.html", error=error.error, description=error.description), 400


def bad_request(error: BadRequest) -> ResponseReturnValue:
    """Show a refused request, such as a login initiation from an unknown issuer."""
    return render_template("error.html", error="bad_request", description=error.description), 400


if __name__ == "__main__":
    create_app().run(host="127.0.0.1", port=int(os.environ.get("PORT", "5001")))
