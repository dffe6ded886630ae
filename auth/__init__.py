"""Users, roles, sessions, API tokens and unit scoping."""
