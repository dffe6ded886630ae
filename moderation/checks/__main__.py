"""``python -m moderation.checks`` — see cli.py."""

from moderation.checks.cli import main

raise SystemExit(main())
