"""Small cross-cutting pieces: database base classes, API errors, pagination, working days."""
