"""Command-line tools of the console part."""

from flask.cli import AppGroup

cli = AppGroup("console", help="Commands of the console part.")
