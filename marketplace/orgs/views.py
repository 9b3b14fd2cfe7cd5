"""Pages of the orgs part."""

from flask import Blueprint

bp = Blueprint("orgs", __name__)
