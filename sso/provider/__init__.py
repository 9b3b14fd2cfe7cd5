"""The OpenID Connect provider: signs SME users into the vendor apps their firm subscribed to."""
