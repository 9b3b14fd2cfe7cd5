"""Webhooks to vendors: endpoints, signed deliveries of outbox events, retries and their log."""
