"""Billing services: each function opens one unit of work on the session it is given."""
