"""Money: subscriptions, usage, rating, invoicing, payments and subsidies."""
