"""Home page, health check and the language switch."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint, current_app, jsonify, redirect, render_template, request, session
from flask_login import current_user
from werkzeug.wrappers import Response

from marketplace.accounts.services import update_settings
from marketplace.clock import current_clock
from marketplace.extensions import db, redis_store
from marketplace.i18n import LANGUAGES
from marketplace.urls import safe_next

bp = Blueprint("web", __name__)


@bp.get("/")
def home() -> str:
    """Show the storefront's front page."""
    return render_template("marketplace/web/home.html")


def _database_status() -> str:
    try:
        db.session.execute(sa.text("SELECT 1"))
    except sa.exc.SQLAlchemyError as exc:
        return f"down: {type(exc).__name__}"
    return "ok"


@bp.get("/healthz")
def healthz() -> tuple[Any, int]:
    """Report whether the database and Redis answer."""
    checks = {"database": _database_status(), "redis": redis_store.status()}
    healthy = checks["database"] == "ok" and not checks["redis"].startswith("down")
    body = {
        "status": "ok" if healthy else "degraded",
        "checks": checks,
        "dialect": db.engine.dialect.name,
        "version": current_app.config.get("APP_VERSION", "dev"),
    }
    return jsonify(body), 200 if healthy else 503


@bp.post("/lang")
def set_language() -> Response:
    """Switch the interface language and go back where the user was."""
    lang = request.form.get("lang", "")
    if lang in LANGUAGES:
        session["lang"] = lang
        if current_user.is_authenticated:
            update_settings(
                db.session(),
                current_clock(),
                current_user,
                display_name=current_user.display_name,
                locale=lang,
            )
    return redirect(safe_next(request.form.get("next")))
