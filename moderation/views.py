"""Content and review: the /api/v1 endpoints (``moderation.api_views``) and the pages
(``moderation.page_views``, the editor in ``moderation.editor_views``, on the same blueprint).
"""

from __future__ import annotations

from moderation import editor_views  # registers the editor's routes on ``pages``
from moderation.api_views import api
from moderation.page_views import pages

__all__ = ["api", "editor_views", "pages"]
