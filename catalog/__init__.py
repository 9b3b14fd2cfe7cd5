"""The storefront: listings, plans, review workflow and the catalog part of the vendor API."""
