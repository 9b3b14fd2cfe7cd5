"""Pages that belong to no party: home, health, language."""
