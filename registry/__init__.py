"""台账: units, accounts, lifecycle events, discovery and reconciliation findings."""
