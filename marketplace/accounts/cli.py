"""Command-line tools of the accounts part."""

from flask.cli import AppGroup

cli = AppGroup("accounts", help="Commands of the accounts part.")
