"""Platform-limit checks run at submit, registered per app (moderation imports no publishers).

A lower layer cannot know the platforms' limits, so whoever knows them (publishers) registers a
checker in its ``init_app``: ``register_target_checker(app, fn)``. The checkers live in
``app.extensions``, so nothing is registered by importing a module and two apps never share them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, Any

from flask import Flask, current_app

if TYPE_CHECKING:
    from moderation.checks import CheckFinding

TargetChecker = Callable[[Any], Iterable["CheckFinding"]]
EXTENSION = "moderation.target_checkers"


def _checkers(app: Flask) -> list[TargetChecker]:
    checkers: list[TargetChecker] = app.extensions.setdefault(EXTENSION, [])
    return checkers


def register_target_checker(app: Flask, fn: TargetChecker) -> Callable[[], None]:
    """Add a platform-limit check run at submit (and by POST /checks); returns an unregister function.

    ``fn(content)`` returns findings (``moderation.checks.make_finding(kind="platform_limit", …)``)
    for the content's targets. For ``POST /checks`` the content is transient (never saved): its
    ``targets`` are unsaved ``Account`` objects carrying only ``platform`` and ``name``.
    """
    checkers = _checkers(app)
    if fn not in checkers:
        checkers.append(fn)

    def _unregister() -> None:
        unregister_target_checker(app, fn)

    return _unregister


def unregister_target_checker(app: Flask, fn: TargetChecker) -> None:
    checkers = _checkers(app)
    if fn in checkers:
        checkers.remove(fn)


def target_checkers() -> tuple[TargetChecker, ...]:
    """The current app's checkers."""
    return tuple(_checkers(current_app))  # type: ignore[arg-type]
