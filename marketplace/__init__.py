"""The marketplace shell and its parties: settings, users, organizations, firms, audit."""
