"""The event outbox: state changes announce themselves in the transaction that makes them."""
