"""互动回应 (comments, private messages, a per-unit inbox, unanswered-age findings) — not built.

This is the place it goes (issue 21, DOMAIN.md R11/§7.3): a reader per platform of comments and
messages through the same ``sources`` (own authorisation first), stored next to ``LivePost`` (a
comment belongs to a post), an inbox per unit, and findings for "no interaction channel" and
"unanswered past the limit" written through ``oversight.findings.upsert_many`` as the other
inspection findings are. Nothing here runs today; no page or API claims it does.
"""
