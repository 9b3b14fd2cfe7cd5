"""Language choice: Chinese first, English second."""

from __future__ import annotations

from flask import Flask, has_request_context, session
from flask_babel import get_locale
from flask_login import current_user

from marketplace.extensions import babel
from marketplace.settings import PROJECT_ROOT

LANGUAGES = {"zh_CN": "简体中文", "en": "English"}
TRANSLATIONS_DIR = PROJECT_ROOT / "marketplace" / "translations"


def select_locale() -> str:
    """Pick the session's choice, then the user's saved choice, then Chinese."""
    if not has_request_context():  # CLI commands and jobs speak the default language
        return "zh_CN"
    chosen = session.get("lang")
    if chosen in LANGUAGES:
        return str(chosen)
    saved = getattr(current_user, "locale", None) if current_user else None
    if saved in LANGUAGES:
        return str(saved)
    return "zh_CN"


def current_language() -> str:
    """Return the interface language of this request as a key of LANGUAGES."""
    return "zh_CN" if get_locale().language == "zh" else "en"


def html_lang() -> str:
    """Return the BCP 47 tag for the page's lang attribute."""
    return "zh-CN" if current_language() == "zh_CN" else "en"


def init_i18n(app: Flask) -> None:
    """Attach Flask-Babel with our catalogs and locale selector."""
    app.config["BABEL_TRANSLATION_DIRECTORIES"] = str(TRANSLATIONS_DIR)
    babel.init_app(app, locale_selector=select_locale)
    app.jinja_env.globals["LANGUAGES"] = LANGUAGES
    app.jinja_env.globals["current_language"] = current_language
    app.jinja_env.globals["html_lang"] = html_lang
