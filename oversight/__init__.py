"""Oversight: discovery, reconciliation, monitoring, findings and their remedies."""
