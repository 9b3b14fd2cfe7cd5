"""Pages of the accounts part."""

from flask import Blueprint

bp = Blueprint("accounts", __name__)


@bp.get("/signup")
def signup() -> str:
    """Show the sign-up form."""
    return "sign up"
