"""Organizations, memberships, roles and invitations."""
