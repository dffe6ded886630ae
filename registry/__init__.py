"""台账: units, accounts, lifecycle events, deadlines, import/export."""
