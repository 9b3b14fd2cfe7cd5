"""Command-line tools of the orgs part."""

from flask.cli import AppGroup

cli = AppGroup("orgs", help="Commands of the orgs part.")
