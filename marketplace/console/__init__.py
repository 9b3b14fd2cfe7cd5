"""The operator console: organizations, users and credit-code review."""
