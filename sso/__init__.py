"""The OpenID Connect provider for vendor apps and the vendor API's client credentials."""
