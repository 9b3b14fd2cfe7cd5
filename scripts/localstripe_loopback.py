"""Start localstripe (the fake Stripe server used in development and tests) on loopback only."""

from __future__ import annotations

import argparse
import logging

from aiohttp import web
from localstripe.server import app


def main() -> None:
    """Serve localstripe on 127.0.0.1:PORT from an empty store (no earlier pickle is loaded)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--port", type=int, default=8420)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING)
    web.run_app(app, host="127.0.0.1", port=args.port, access_log=None, print=None)


if __name__ == "__main__":
    main()
