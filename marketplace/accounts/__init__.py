"""User accounts: sign-up, email confirmation, sign-in, passwords."""
