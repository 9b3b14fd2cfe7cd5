"""What vendors and the operator change in the catalog: listings, plans and their review."""
