"""Command-line tools of the firms part."""

from flask.cli import AppGroup

cli = AppGroup("firms", help="Commands of the firms part.")
