"""Pages of the firms part."""

from flask import Blueprint

bp = Blueprint("firms", __name__)
