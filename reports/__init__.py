"""Cross-domain reports and exports: the compliance report, bulletin, annual table, the dashboard."""
