"""Helpers shared by tests/ and bench/: real services, worker/sandbox processes, test apps and seed data."""
