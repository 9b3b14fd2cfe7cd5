"""Card payments through Stripe: the gateway, firms' Stripe customers and saved cards.

Cards are collected by Stripe.js into a SetupIntent; only Stripe ids and what Stripe reports
about a card (brand, last four digits, expiry) are kept here.
"""
