"""Outgoing mail: every message is kept in an outbox table and logged."""
